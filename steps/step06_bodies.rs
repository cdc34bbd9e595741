//! Step 06: message bodies done right. New since step05: chunked request
//! bodies, `Expect: 100-continue`, and a streamed route (`/stream`) whose
//! body goes out chunked. Book: book/src/ch06-bodies.md.
use anyhow::Context;
use rawhttp::{conn, demo, limits::Limits, server, shutdown::Shutdown};

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .init();
    let limits = Limits::from_env()?;
    let listener = server::bind_from_env("127.0.0.1:7878")?;
    // Signals first: once "listening" is printed, a SIGTERM must drain.
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = demo::router().get("/stream", demo::stream);
    let service = conn::keep_alive(app).chunked().expect_continue();
    let drained = server::run_until(listener, limits, service, &shutdown)?;
    anyhow::ensure!(
        drained.forced == 0,
        "drain deadline passed with {} connections open",
        drained.forced
    );
    Ok(())
}
// ANCHOR_END: main

//! Step 05: graceful shutdown, the complete minimal server. New since
//! step04: `Shutdown::on_signals` and `server::run_until`, which drains on
//! SIGINT/SIGTERM. Book: book/src/ch05-graceful-shutdown.md.
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
    let service = conn::keep_alive(demo::router());
    let drained = server::run_until(listener, limits, service, &shutdown)?;
    anyhow::ensure!(
        drained.forced == 0,
        "drain deadline passed with {} connections open",
        drained.forced
    );
    Ok(())
}
// ANCHOR_END: main

//! Step 01: a TCP echo server. A listener, an accept loop, a thread per
//! connection (capped), every byte sent back. Book: book/src/ch01-echo.md.
use anyhow::Context;
use rawhttp::{echo::Echo, limits::Limits, server};

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .init();
    let limits = Limits::from_env()?;
    let listener = server::bind_from_env("127.0.0.1:7878")?;
    println!("listening on http://{}", listener.local_addr()?);
    server::run(listener, limits, Echo).context("server stopped")
}
// ANCHOR_END: main

//! Step 04: persistent connections. New since step03: `conn::keep_alive`
//! serves many requests per connection, pipelined ones too, with idle and
//! head timeouts. Book: book/src/ch04-keep-alive.md.
use anyhow::Context;
use rawhttp::{conn, demo, limits::Limits, server};

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .init();
    let limits = Limits::from_env()?;
    let listener = server::bind_from_env("127.0.0.1:7878")?;
    println!("listening on http://{}", listener.local_addr()?);
    let service = conn::keep_alive(demo::router());
    server::run(listener, limits, service).context("server stopped")
}
// ANCHOR_END: main

//! Step 02: parse one HTTP request and answer it. New since step01: the
//! request parser, the response writer, and a handler that reports what it
//! parsed. Book: book/src/ch02-parsing.md.
use anyhow::Context;
use rawhttp::{conn, inspect, limits::Limits, server};

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .init();
    let limits = Limits::from_env()?;
    let listener = server::bind_from_env("127.0.0.1:7878")?;
    println!("listening on http://{}", listener.local_addr()?);
    let service = conn::one_request(inspect::report);
    server::run(listener, limits, service).context("server stopped")
}
// ANCHOR_END: main

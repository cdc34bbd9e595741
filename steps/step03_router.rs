//! Step 03: the router and the demo application. New since step02: requests
//! are dispatched by method and path instead of all getting the same report.
//! Book: book/src/ch03-routing.md.
use anyhow::Context;
use rawhttp::{conn, demo, limits::Limits, server};

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .init();
    let limits = Limits::from_env()?;
    let listener = server::bind_from_env("127.0.0.1:7878")?;
    println!("listening on http://{}", listener.local_addr()?);
    let service = conn::one_request(demo::router());
    server::run(listener, limits, service).context("server stopped")
}
// ANCHOR_END: main

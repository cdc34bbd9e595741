//! Step 07: static files and uploads. New since step06: a directory served
//! at `/` (`files::Site`: validators, conditional and range requests, bodies
//! sent from the file, uploads), over the demo's routes. Book:
//! book/src/ch08-static-files.md.
//!
//! `cargo run --bin step07 -- ./public`: the root is the first argument, or
//! `ROOT`, or `./public`. Uploads go to `UPLOADS` (default `./uploads`,
//! created if missing). `--no-listing` answers directories without an
//! `index.html` with 404 instead of a listing.
use anyhow::Context;
use rawhttp::files::{Overlay, Site};
use rawhttp::{conn, demo, limits::Limits, server, shutdown::Shutdown};

// ANCHOR: main
fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .init();
    let limits = Limits::from_env()?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let listing = !args.iter().any(|a| a == "--no-listing");
    let root = args.iter().find(|a| !a.starts_with("--")).cloned();
    let root = root
        .or_else(|| std::env::var("ROOT").ok())
        .unwrap_or("public".into());
    let uploads = std::env::var("UPLOADS").unwrap_or("uploads".into());
    std::fs::create_dir_all(&uploads).with_context(|| format!("creating {uploads}"))?;
    let site = Site::new(&root, limits.clone())
        .listing(listing)
        .uploads(&uploads);
    let listener = server::bind_from_env("127.0.0.1:7878")?;
    // Signals first: once "listening" is printed, a SIGTERM must drain.
    let shutdown = Shutdown::on_signals().context("installing signal handlers")?;
    println!("listening on http://{}", listener.local_addr()?);
    let app = demo::router().get("/stream", demo::stream);
    let service = conn::keep_alive(Overlay { site, app })
        .chunked()
        .expect_continue();
    let drained = server::run_until(listener, limits, service, &shutdown)?;
    anyhow::ensure!(
        drained.forced == 0,
        "drain deadline passed: {} cut",
        drained.forced
    );
    Ok(())
}
// ANCHOR_END: main

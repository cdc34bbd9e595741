//! Fuzz the connection core (`rawhttp::http1::Connection`): arbitrary bytes
//! fed in arbitrary pieces, with time jumping between them, through the
//! same calls a driver makes. Byte 0 picks the options and the limits; then
//! each control byte either feeds the next 1..=64 bytes or moves the clock.
//! Checks, besides "no panic, no endless loop":
//! - responses go out in the order the handler was called (every response
//!   carries its call's number, and they appear in the output as 0, 1, 2…);
//! - the read buffer stays within the limits (head + body + framing), and
//!   the output never holds more than the responses to what was fed.
#![no_main]

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use rawhttp::http1::{Connection, Handler, Options, Persistence, Want};
use rawhttp::limits::Limits;
use rawhttp::request::Request;
use rawhttp::response::{BodyStream, Response};
use rawhttp::status::StatusCode;

/// Numbers its responses (`X-Seq`), never echoes request bytes (so the
/// numbers in the output are all ours), streams on `/stream`, and refuses
/// `/nope` before its body.
struct Numbered(AtomicUsize);

impl Handler for Numbered {
    fn handle(&self, request: &Request<'_>) -> Response {
        let n = self.0.fetch_add(1, Relaxed);
        let response = if request.path() == "/stream" {
            let pieces = [b"ab".to_vec(), b"c".to_vec()].into_iter();
            Response::stream(StatusCode::OK, "text/plain", BodyStream::new(pieces))
        } else {
            Response::text(StatusCode::OK, format!("{} bytes\n", request.body.len()))
        };
        response.with_header("X-Seq", n.to_string())
    }

    fn preflight(&self, request: &Request<'_>) -> Option<Response> {
        (request.path() == "/nope").then(|| Response::error(StatusCode::NOT_FOUND))
    }
}

/// The `X-Seq` numbers in `out`, in order.
fn numbers(out: &[u8]) -> Vec<usize> {
    let text = String::from_utf8_lossy(out);
    text.split("X-Seq: ")
        .skip(1)
        .filter_map(|rest| rest.split("\r\n").next()?.parse().ok())
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [setup, script @ ..] = data else {
        return;
    };
    let options = Options {
        persistence: match setup & 1 {
            0 => Persistence::KeepAlive,
            _ => Persistence::OneRequest,
        },
        chunked: setup & 2 != 0,
        expect_continue: setup & 4 != 0,
    };
    let small = setup & 8 != 0;
    let limits = Limits {
        max_head_bytes: if small { 256 } else { 16 * 1024 },
        max_request_line: if small { 64 } else { 8 * 1024 },
        max_headers: if small { 4 } else { 64 },
        max_body_bytes: if small { 64 } else { 64 * 1024 },
        max_requests_per_connection: if setup & 16 != 0 { 2 } else { 1000 },
        linger_bytes: 256,
        ..Limits::default()
    };
    let max_buf = 2 * (8 * 1024 + limits.max_head_bytes + limits.max_body_bytes + 16 * 1024 + 64);
    let handler = Numbered(AtomicUsize::new(0));
    let peer = "127.0.0.1:9".parse().expect("an address");
    let start = Instant::now();
    let mut now = start;
    let draining = Box::new(move || false);
    let mut core = Connection::new(limits, options, (0, peer), draining, now);
    let mut written = Vec::new();
    let mut fed_since_write = 0usize;
    let mut rest = script;
    'script: while let [control, after @ ..] = rest {
        rest = after;
        if control & 0xc0 == 0 {
            // Move the clock by up to 6.3 s (every timeout is 0.5–15 s).
            now += Duration::from_millis(u64::from(*control) * 100);
        } else {
            let n = usize::from(control & 0x3f) + 1;
            let (piece, after) = rest.split_at(n.min(rest.len()));
            rest = after;
            core.feed(piece, now);
            fed_since_write += piece.len();
        }
        // Do what the core asks until it waits for input (or is done).
        for _ in 0..10_000 {
            let (buf, _) = core.buffered();
            assert!(buf <= max_buf, "read buffer {buf} over {max_buf}");
            match core.poll(now, &handler) {
                Want::Write { .. } => {
                    let out = core.output();
                    let bound = 64 * fed_since_write + 1024;
                    assert!(out.len() <= bound, "{} bytes queued for {fed_since_write} fed", out.len());
                    written.extend_from_slice(out);
                    let n = out.len();
                    core.wrote(n, now);
                    fed_since_write = 0;
                }
                Want::Produce => core.produce(now),
                Want::SendFile { .. } => panic!("this handler sends no files"),
                Want::Read { .. } | Want::Linger { .. } => continue 'script,
                Want::Close(_) => break 'script,
            }
        }
        panic!("the core never waited for input");
    }
    let seen = numbers(&written);
    let expected: Vec<usize> = (0..seen.len()).collect();
    assert_eq!(seen, expected, "responses out of order");
    let _ = start;
});

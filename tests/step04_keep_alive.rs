//! step04: persistent connections (RFC 9112 §9.3), pipelining (§9.3.2),
//! closing after errors, and the connection timeouts. Every case runs the
//! real `step04` binary; timing cases shrink the limits through `RAWHTTP_*`
//! variables and wait for events (a close, a log line), never for seconds.
mod common;

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Exchange, spawn_step, spawn_step_with};

const HELLO_A: &[u8] = b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n";
const HELLO_B: &[u8] = b"GET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n";

// ANCHOR: two_requests_one_connection
#[test]
fn two_requests_one_connection() {
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    // No `Connection` field in either response: HTTP/1.1 persists by default.
    x.send(HELLO_A).recv().send(HELLO_B).recv();
    // The client hangs up between requests: the server closes quietly.
    x.shutdown_write().recv_until_close();
    snap!("two_requests_one_connection", x.transcript());
}
// ANCHOR_END: two_requests_one_connection

#[test]
fn client_says_connection_close() {
    let srv = spawn_step("step04");
    let t =
        srv.exchange(b"GET /hello/a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    snap!("client_says_connection_close", t);
}

#[test]
fn connection_is_a_token_list() {
    // `close` among other tokens, in another case, still means close.
    let srv = spawn_step("step04");
    let t = srv
        .exchange(b"GET /hello/a HTTP/1.1\r\nHost: x\r\nConnection: TE, Close\r\n\r\n");
    snap!("connection_is_a_token_list", t);
}

#[test]
fn http_1_0_closes_by_default() {
    let srv = spawn_step("step04");
    let t = srv.exchange(b"GET /hello/old HTTP/1.0\r\n\r\n");
    snap!("http_1_0_closes_by_default", t);
}

#[test]
fn http_1_0_keep_alive() {
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    // Asked for: the response says `Connection: keep-alive` and the
    // connection stays open for the next request...
    x.send(b"GET /hello/old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .recv()
        // ...which does not ask again, so it is the last one.
        .send(b"GET /hello/again HTTP/1.0\r\n\r\n")
        .recv_until_close();
    snap!("http_1_0_keep_alive", x.transcript());
}

#[test]
fn pipelined_three_in_one_write() {
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    x.send(
        b"GET /hello/one HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nping\
          GET /hello/three HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .recv()
    .recv()
    .recv();
    snap!("pipelined_three_in_one_write", x.transcript());
}

#[test]
fn pipelined_with_the_next_head_half_sent() {
    // The first response must not wait for the second request to complete.
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    x.send(b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b HTT")
        .recv()
        .send(b"P/1.1\r\nHost: x\r\n\r\n")
        .recv();
    snap!("pipelined_with_the_next_head_half_sent", x.transcript());
}

#[test]
fn ignored_body_on_405_then_next_request() {
    // /hello/:name has no POST route: the router answers 405 without
    // looking at the body. The connection must still skip its 5 bytes.
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    x.send(b"POST /hello/a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde")
        .recv()
        .send(HELLO_B)
        .recv();
    snap!("ignored_body_on_405_then_next_request", x.transcript());
}

#[test]
fn get_with_body_that_looks_like_a_request() {
    // The body of the first request is a complete request. A server that
    // forgot to skip an unread body would answer `/smuggled` here.
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    x.send(
        b"GET /hello/a HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n\
          GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .recv()
    .recv();
    snap!("get_with_body_that_looks_like_a_request", x.transcript());
    assert!(
        !x.transcript().contains("smuggled\\n"),
        "the body was parsed as a request"
    );
}

#[test]
fn error_mid_pipeline() {
    // Good, bad, good in one write: the first is answered, the bad one gets
    // 400 and `Connection: close`, and nothing after it is even parsed.
    let srv = spawn_step("step04");
    let t = srv.exchange(
        b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n\
          NONSENSE\r\n\r\n\
          GET /hello/b HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    snap!("error_mid_pipeline", t);
}

#[test]
fn max_requests_per_connection() {
    let srv = spawn_step_with("step04", &[("RAWHTTP_MAX_REQUESTS_PER_CONNECTION", "2")]);
    let mut x = Exchange::new(&srv);
    x.send(HELLO_A).recv().send(HELLO_B).recv_until_close();
    snap!("max_requests_per_connection", x.transcript());
}

#[test]
fn server_error_closes_the_connection() {
    // After a 500 the server cannot vouch for the connection's state.
    let srv = spawn_step("step04");
    let mut x = Exchange::new(&srv);
    x.send(HELLO_A)
        .recv()
        .send(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv_until_close();
    snap!("server_error_closes_the_connection", x.transcript());
}

#[test]
fn idle_timeout_closes_quietly() {
    let srv = spawn_step_with("step04", &[("RAWHTTP_IDLE_TIMEOUT_MS", "200")]);
    let mut x = Exchange::new(&srv);
    x.send(HELLO_A).recv();
    let idle_since = Instant::now();
    // No 408: the client asked nothing, so it gets no answer, just a close.
    x.recv_until_close();
    assert!(
        idle_since.elapsed() >= Duration::from_millis(150),
        "closed before the idle timeout"
    );
    srv.wait_for_log("IdleTimeout");
    snap!("idle_timeout_closes_quietly", x.transcript());
}

#[test]
fn head_deadline_gets_408() {
    let srv = spawn_step_with("step04", &[("RAWHTTP_HEAD_TIMEOUT_MS", "300")]);
    let mut x = Exchange::new(&srv);
    let first_byte = Instant::now();
    x.send(b"GET /hello/slow HTTP/1.1\r\n");
    thread::sleep(Duration::from_millis(100)); // a second write, well inside the deadline
    x.send(b"Host: x\r\n").recv_until_close();
    assert!(
        first_byte.elapsed() >= Duration::from_millis(250),
        "408 came before the deadline"
    );
    snap!("head_deadline_gets_408", x.transcript());
}

#[test]
fn slowloris_is_cut_at_the_head_deadline() {
    // A byte every 20 ms never trips a per-read timeout; the head deadline
    // counts from the first byte, so the server answers 408 around 300 ms.
    let srv = spawn_step_with("step04", &[("RAWHTTP_HEAD_TIMEOUT_MS", "300")]);
    let mut x = Exchange::new(&srv);
    let started = Instant::now();
    x.send(b"GET / HTTP/1.1\r\nHost: x\r\n");
    let mut dribbler = x.stream().try_clone().expect("clone the client socket");
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    let writer = thread::spawn(move || {
        while !stopped.load(Ordering::SeqCst) && dribbler.write_all(b"X").is_ok() {
            thread::sleep(Duration::from_millis(20));
        }
    });
    x.recv_until_close();
    stop.store(true, Ordering::SeqCst);
    let _ = writer.join();
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250),
        "408 came before the deadline: {took:?}"
    );
    // Generous bound for a busy machine; a per-read timeout would never fire.
    assert!(
        took < Duration::from_secs(5),
        "the dribble kept the connection for {took:?}"
    );
    let t = x.transcript();
    assert!(t.contains("HTTP/1.1 408 Request Timeout\\r\\n"), "{t}");
}

#[test]
fn body_stall_gets_408() {
    let srv = spawn_step_with("step04", &[("RAWHTTP_BODY_TIMEOUT_MS", "200")]);
    let mut x = Exchange::new(&srv);
    let sent = Instant::now();
    x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .recv_until_close();
    assert!(
        sent.elapsed() >= Duration::from_millis(150),
        "408 came before the body timeout"
    );
    snap!("body_stall_gets_408", x.transcript());
}

/// Regression: a client that reconnects the moment it has read a
/// `Connection: close` response must not get a 503 because our side of the
/// old connection is still closing (lingering). Seen as a few 503s per
/// million requests in the 256-connection benchmark, where wrk replaces each
/// connection after its 1000th request.
#[test]
fn reconnecting_right_after_a_last_response_is_not_refused() {
    let srv = spawn_step_with(
        "step04",
        &[
            ("RAWHTTP_MAX_CONNECTIONS", "1"),
            ("RAWHTTP_MAX_REQUESTS_PER_CONNECTION", "1"),
        ],
    );
    let mut first = Exchange::new(&srv);
    // The answer says `Connection: close`; we keep our end open, so the
    // server lingers on this connection for up to `linger_timeout`.
    first
        .send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv();
    let mut second = Exchange::new(&srv);
    second
        .send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv();
    let t = second.transcript();
    assert!(t.contains("HTTP/1.1 200 OK"), "{t}");
}

/// The appendix "Limits and their defaults": a typo in a limit stops the
/// server at startup, with this message, instead of falling back to the
/// default.
#[test]
fn a_typo_in_a_limit_is_an_error_at_startup() {
    let out = std::process::Command::new(common::exe("step04"))
        .env("ADDR", "127.0.0.1:0")
        .env("RAWHTTP_IDLE_TIMEOUT_MS", "5s")
        .env("RUST_BACKTRACE", "0")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run step04");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.lines().next(),
        Some(
            r#"Error: RAWHTTP_IDLE_TIMEOUT_MS="5s" is not a valid limit (a positive whole number)"#
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "it must not say it is listening");
}

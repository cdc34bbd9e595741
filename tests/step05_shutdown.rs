//! step05: graceful shutdown, on the real process with real signals.
//!
//! Each test starts its own server, puts it in a known state (a request in
//! its handler, an idle keep-alive connection, a stream of requests), sends
//! SIGTERM or SIGINT with `kill`, and checks what the clients see and how
//! the process ends. Nothing sleeps in place of an event: the tests wait for
//! log lines (RUST_LOG=debug) and for the process to exit, always bounded.
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::thread;
use std::time::{Duration, Instant};

use common::{Exchange, Server, WAIT, response_len, spawn_step, spawn_step_with, wire};

const SLOW_1S: &[u8] = b"GET /slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n";
const SLOW_5S: &[u8] = b"GET /slow?ms=5000 HTTP/1.1\r\nHost: x\r\n\r\n";

/// Wait until a `GET /slow` is in its handler: `conn.rs` logs
/// `conn N: GET /slow` (debug) once the request is complete, just before it
/// calls the handler. From then on the request is in flight, and the
/// shutdown must let it finish.
fn wait_in_handler(srv: &Server) {
    srv.wait_for_log(": GET /slow\n");
}

/// Read until the server closes. Returns the bytes read; a reset counts as
/// a close (what matters is whether any bytes came first).
fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) => panic!("read failed ({e}); got so far:\n{}", wire(&got)),
        }
    }
}

// (a)
#[test]
fn in_flight_request_finishes() {
    let mut srv = spawn_step("step05");
    let mut x = Exchange::new(&srv);
    x.send(SLOW_1S);
    wait_in_handler(&srv);
    let signalled = Instant::now();
    srv.signal("TERM");
    x.recv_until_close();
    let answered = signalled.elapsed();
    let transcript = x.transcript();
    drop(x); // our close ends the server's lingering close at once
    let (code, exited) = srv.wait_exit(WAIT);
    let log = srv.log();
    assert_eq!(code, Some(0), "a clean drain exits 0:\n{log}");
    assert!(
        transcript.contains("HTTP/1.1 200 OK\\r\\n")
            && transcript.contains("Connection: close\\r\\n")
            && transcript.contains("slept 1000 ms"),
        "the request in flight gets its whole answer, marked as the last:\n{transcript}"
    );
    assert!(
        exited < Duration::from_secs(1),
        "exit {exited:?} after the response, not soon"
    );
    srv.wait_for_log("signal 15: shutting down");
    srv.wait_for_log("draining: 1 connections open");
    srv.wait_for_log("drained; all connections closed");
    eprintln!("(a) answered {answered:?} after SIGTERM, exited {exited:?} later");
    snap!("in_flight_request_finishes", transcript);
}

// (b)
#[test]
fn idle_keep_alive_connection_does_not_delay_exit() {
    let mut srv = spawn_step("step05");
    let mut x = Exchange::new(&srv);
    x.send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n").recv();
    assert!(
        !x.transcript().contains("Connection: close"),
        "the connection stays open:\n{}",
        x.transcript()
    );
    // The server has answered; its thread is idle in `read` or about to be
    // (the `idle_race` argument in src/shutdown.rs covers both). The idle
    // timeout is the default, 15 s: the drain must not wait for it.
    srv.signal("INT");
    let (code, took) = srv.wait_exit(WAIT);
    let log = srv.log();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        // The idle timeout is 15 s; a busy machine may add a little.
        took < Duration::from_secs(5),
        "exit took {took:?} with an idle connection open:\n{log}"
    );
    srv.wait_for_log("signal 2: shutting down");
    // The server closed it, and its debug log says so (ch05 "Run it").
    srv.wait_for_log("conn 0 ended: Shutdown after 1 requests");
    let rest = read_to_close(x.stream());
    assert!(
        rest.is_empty(),
        "the idle client sees a close, nothing else:\n{}",
        wire(&rest)
    );
    eprintln!("(b) exit {took:?} after SIGINT with an idle keep-alive connection");
}

// (c)
#[test]
fn new_connections_are_refused_during_the_drain() {
    let mut srv = spawn_step("step05");
    let mut x = Exchange::new(&srv);
    x.send(SLOW_1S);
    wait_in_handler(&srv);
    srv.signal("TERM");
    // `run_until` closes the listener, then logs this line.
    srv.wait_for_log("draining: 1 connections open");
    let err = TcpStream::connect_timeout(&srv.addr, WAIT)
        .expect_err("a connect during the drain must fail");
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    // The server was still running when it refused: the request in flight
    // is answered afterwards.
    x.recv_until_close();
    let transcript = x.transcript();
    assert!(
        transcript.contains("HTTP/1.1 200 OK\\r\\n")
            && transcript.contains("Connection: close"),
        "{transcript}"
    );
    drop(x);
    let (code, _) = srv.wait_exit(WAIT);
    assert_eq!(code, Some(0), "{}", srv.log());
}

// (d)
#[test]
fn drain_deadline_cuts_what_is_left() {
    let grace = Duration::from_millis(300);
    let mut srv = spawn_step_with(
        "step05",
        &[
            ("RAWHTTP_SHUTDOWN_GRACE_MS", "300"),
            // anyhow would capture and print a backtrace of the error when
            // RUST_BACKTRACE is set, which takes ~100 ms: not what we time.
            ("RUST_LIB_BACKTRACE", "0"),
        ],
    );
    let mut client = srv.connect();
    client.write_all(SLOW_5S).expect("send");
    wait_in_handler(&srv);
    // Timed from before the signal: the grace starts when the signal
    // arrives, which is after this instant however slow `kill` is to run.
    let signalled = Instant::now();
    srv.signal("TERM");
    let (code, _) = srv.wait_exit(WAIT);
    let took = signalled.elapsed();
    let log = srv.log();
    assert_eq!(
        code,
        Some(1),
        "step05 returns an error when it had to cut connections:\n{log}"
    );
    // Well before the 5 s request would have finished, with room for a
    // busy machine.
    assert!(
        took >= grace && took < Duration::from_millis(4000),
        "exit {took:?} after the signal, with a {grace:?} grace and a 5 s request:\n{log}"
    );
    srv.wait_for_log("draining: 1 connections open, waiting up to 300ms");
    srv.wait_for_log("drain deadline passed: cut 1 connections");
    srv.wait_for_log("Error: drain deadline passed with 1 connections open");
    let got = read_to_close(&mut client);
    assert!(
        got.is_empty(),
        "a cut connection gets no partial response:\n{}",
        wire(&got)
    );
    eprintln!(
        "(d) grace {grace:?}: exit {took:?} after SIGTERM ({:?} past the deadline)",
        took - grace
    );
}

// (e)
fn second_signal_exits_at_once(signal: &str, number: i32) {
    let mut srv = spawn_step("step05");
    let mut client = srv.connect();
    client.write_all(SLOW_5S).expect("send");
    wait_in_handler(&srv);
    srv.signal(signal);
    srv.wait_for_log("draining: 1 connections open");
    srv.signal(signal);
    let (code, took) = srv.wait_exit(WAIT);
    let log = srv.log();
    assert_eq!(code, Some(128 + number), "128 + the signal number:\n{log}");
    assert!(
        // The request in flight needs 5 s; "at once" is well before that.
        took < Duration::from_secs(3),
        "exit {took:?} after the second signal:\n{log}"
    );
    srv.wait_for_log(&format!("signal {number} during the drain: exiting now"));
    eprintln!("(e) SIG{signal} twice: status {code:?}, {took:?} after the second");
}

#[test]
fn second_sigterm_exits_at_once() {
    second_signal_exits_at_once("TERM", 15);
}

#[test]
fn second_sigint_exits_at_once() {
    second_signal_exits_at_once("INT", 2);
}

// (f)
/// Requests per client at most. The shutdown ends every loop long before.
const MAX_REQUESTS: usize = 20_000;
/// Each client asks for `Connection: close` on every this many requests and
/// reconnects, so some connects land during the drain.
const PER_CONNECTION: usize = 20;
const CLIENTS: usize = 6;

/// How one client's loop ended, and what it saw.
#[derive(Debug, Default)]
struct Tally {
    responses: usize,
    after_signal: usize,
    /// `Connection: close` that the client did not ask for: the drain's.
    drain_closes: usize,
    ended: &'static str,
}

/// A keep-alive client: requests in a loop, each response checked whole.
/// The server may close between responses (EOF, reset, refused connect),
/// and then the client stops; a response cut anywhere is a failure.
fn client(
    id: usize,
    srv: &Server,
    answered: &AtomicUsize,
    signalled: &AtomicBool,
) -> Tally {
    let (target, body) = match id % 3 {
        0 => ("/plaintext".to_string(), "Hello, world!".to_string()),
        1 => ("/slow?ms=5".to_string(), "slept 5 ms\n".to_string()),
        _ => (format!("/hello/c{id}"), format!("Hello, c{id}!\n")),
    };
    let mut tally = Tally::default();
    let mut stream: Option<TcpStream> = None;
    let mut on_conn = 0;
    for _ in 0..MAX_REQUESTS {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => match TcpStream::connect_timeout(&srv.addr, WAIT) {
                Ok(s) => {
                    s.set_read_timeout(Some(WAIT)).expect("read timeout");
                    s.set_write_timeout(Some(WAIT)).expect("write timeout");
                    on_conn = 0;
                    stream.insert(s)
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => {
                    tally.ended = "connect refused";
                    return tally;
                }
                Err(e) => panic!("client {id}: connect: {e}"),
            },
        };
        on_conn += 1;
        let close = on_conn == PER_CONNECTION;
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\n{}\r\n",
            if close { "Connection: close\r\n" } else { "" }
        );
        if let Err(e) = s.write_all(request.as_bytes()) {
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "client {id}: write: {e}"
            );
            tally.ended = "closed before a request";
            return tally;
        }
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let len = loop {
            if let Some(len) = response_len(&got, false) {
                break len;
            }
            match s.read(&mut buf) {
                Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                Ok(_) | Err(_) if got.is_empty() => {
                    // EOF or reset with nothing of this response: the server
                    // closed between two responses and never took this request.
                    tally.ended = "closed between responses";
                    return tally;
                }
                Ok(_) => panic!(
                    "client {id}: response cut after {} bytes:\n{}",
                    got.len(),
                    wire(&got)
                ),
                Err(e) => panic!(
                    "client {id}: read failed ({e}) mid-response:\n{}",
                    wire(&got)
                ),
            }
        };
        assert_eq!(len, got.len(), "client {id}: bytes after the response");
        let text = String::from_utf8_lossy(&got);
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\n")
                && text.ends_with(&format!("\r\n\r\n{body}")),
            "client {id}: wrong response:\n{}",
            wire(&got)
        );
        tally.responses += 1;
        if signalled.load(SeqCst) {
            tally.after_signal += 1;
        }
        answered.fetch_add(1, SeqCst);
        if text.contains("\r\nConnection: close\r\n") {
            // The server closes after this response; nothing may follow it.
            let rest = read_to_close(s);
            assert!(
                rest.is_empty(),
                "client {id}: bytes after Connection: close:\n{}",
                wire(&rest)
            );
            stream = None;
            if !close {
                tally.drain_closes += 1;
                tally.ended = "Connection: close from the drain";
                return tally;
            }
        }
    }
    tally.ended = "ran out of requests (no shutdown seen)";
    tally
}

#[test]
fn under_load_no_response_is_cut() {
    let mut srv = spawn_step("step05");
    let answered = AtomicUsize::new(0);
    let signalled = AtomicBool::new(false);
    let (tallies, took) = thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| {
                let (srv, answered, signalled) = (&srv, &answered, &signalled);
                scope.spawn(move || client(id, srv, answered, signalled))
            })
            .collect();
        // Signal once the clients are well under way.
        let deadline = Instant::now() + WAIT;
        while answered.load(SeqCst) < 200 {
            assert!(Instant::now() < deadline, "clients made no progress");
            thread::sleep(Duration::from_millis(1));
        }
        signalled.store(true, SeqCst);
        srv.signal("TERM");
        let start = Instant::now();
        let tallies: Vec<Tally> = clients
            .into_iter()
            .map(|c| c.join().expect("a client failed"))
            .collect();
        (tallies, start.elapsed())
    });
    let (code, exited) = srv.wait_exit(WAIT);
    let log = srv.log();
    assert_eq!(code, Some(0), "every connection drained in time:\n{log}");
    for (id, t) in tallies.iter().enumerate() {
        assert!(
            !t.ended.starts_with("ran out"),
            "client {id} never saw the shutdown: {t:?}"
        );
    }
    let total: usize = tallies.iter().map(|t| t.responses).sum();
    let after: usize = tallies.iter().map(|t| t.after_signal).sum();
    let closes: usize = tallies.iter().map(|t| t.drain_closes).sum();
    eprintln!(
        "(f) {CLIENTS} clients, {total} complete responses ({after} after SIGTERM, \
         {closes} ended by the drain's Connection: close); clients done {took:?} \
         after the signal, process exit {exited:?} later"
    );
    for (id, t) in tallies.iter().enumerate() {
        eprintln!("    client {id}: {t:?}");
    }
}

/// What ch05 "Run it" shows: Ctrl-C (SIGINT) while a client waits for
/// `/slow`; the client gets its answer and the process exits 0.
#[test]
fn sigint_drains_like_sigterm() {
    let mut srv = spawn_step("step05");
    let mut x = Exchange::new(&srv);
    x.send(SLOW_1S);
    wait_in_handler(&srv);
    srv.signal("INT");
    x.recv_until_close();
    let transcript = x.transcript();
    assert!(
        transcript.contains("HTTP/1.1 200 OK\\r\\n")
            && transcript.contains("Connection: close"),
        "{transcript}"
    );
    drop(x);
    let (code, _) = srv.wait_exit(WAIT);
    let log = srv.log();
    assert_eq!(code, Some(0), "{log}");
    srv.wait_for_log("signal 2: shutting down");
}

/// The address line is the contract "ready": a SIGTERM sent the moment it
/// appears must drain (exit 0), not kill the process with the default
/// action. Regression: step05 once printed the line before installing its
/// signal handlers. The window was microseconds, so this test could only
/// catch it by luck; it pins the contract down for every step that drains.
#[test]
fn sigterm_right_after_the_address_line_drains() {
    for step in ["step05", "step06"] {
        let mut srv = spawn_step(step);
        srv.signal("TERM");
        let (code, _) = srv.wait_exit(WAIT);
        assert_eq!(code, Some(0), "{step} was killed instead of draining");
    }
}

// Before any signal, step05 is step04: the complete minimal server. These
// snapshots are what `compare --step 05` replays against your own server.
snapshot_cases! {
    "step05";
    keep_alive_then_close: b"GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    head_then_post_pipelined: b"HEAD /hello/ada HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    http_1_0_keep_alive_then_close: b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /plaintext HTTP/1.0\r\n\r\n";
    bad_request_mid_pipeline_closes: b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost : x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    // `close` wins over `keep-alive` (RFC 9112 §9.6), in one line or two.
    http_1_0_close_wins_over_keep_alive: b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n";
    http_1_0_close_on_a_second_line: b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n";
    // An error answering HEAD has no content either (RFC 9110 §9.3.2).
    head_chunked_gets_501_without_content: b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
}

/// Every step that reads a body meets RFC 9110 §10.1.1's MUST: a client
/// that asks `Expect: 100-continue` gets `100 Continue` at once, not a wait
/// for a body it holds back (ch06 adds refusing the body first, and 417).
#[test]
fn expect_continue_gets_100_before_the_body() {
    for step in ["step02", "step03", "step04", "step05"] {
        let srv = spawn_step(step);
        let mut x = Exchange::new(&srv);
        x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
            .recv() // the client waits for this before it sends the body
            .send(b"hello")
            .recv_until_close();
        let t = x.transcript();
        assert!(
            t.contains("HTTP/1.1 100 Continue\\r\\n\n\\r\\n\n--> client sends (5 bytes)"),
            "{step}: no 100 before the body:\n{t}"
        );
        if step == "step05" {
            snap!("expect_continue_gets_100", t);
        }
    }
}

/// The access log tells what was sent: the target with its query, the body
/// bytes really written (none for HEAD), once the last byte is out.
#[test]
fn access_log_shows_the_target_and_the_bytes_sent() {
    let srv = spawn_step("step05");
    let mut x = Exchange::new(&srv);
    x.send(b"GET /slow?ms=10 HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv()
        .send(b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv_head()
        .send(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .recv_until_close();
    srv.wait_for_log("\"GET /slow?ms=10\" 200 12B ");
    srv.wait_for_log("\"HEAD /plaintext\" 200 0B ");
    srv.wait_for_log("\"GET /plaintext\" 200 13B ");
}

/// A request that arrives on an idle keep-alive connection just as the
/// shutdown closes idle connections is either answered or never run: the
/// client that sees the connection close without a response may safely
/// retry it. Before the fix, the shutdown could close the socket between
/// the read and the handler, and the handler ran anyway (for a POST, the
/// client could not know whether it happened). A race, so it is run many
/// times, in-process (no signals, no child processes): 15 rounds of 60
/// connections whose requests are sent while the shutdown runs.
#[test]
fn a_request_racing_the_shutdown_is_answered_or_never_run() {
    use rawhttp::{conn, limits::Limits, request::Request, response::Response, server};
    use rawhttp::{shutdown::Shutdown, status::StatusCode};
    use std::net::TcpListener;
    use std::sync::{Arc, Barrier, Mutex};

    const CONNS: usize = 60;
    let mut lost = Vec::new();
    for round in 0..15 {
        let ran = Arc::new(Mutex::new(Vec::<String>::new()));
        let record = Arc::clone(&ran);
        let handler = move |r: &Request<'_>| {
            record.lock().unwrap().push(r.target.to_string());
            Response::text(StatusCode::OK, "ok\n")
        };
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let drain = shutdown.clone();
        let server = thread::spawn(move || {
            server::run_until(
                listener,
                Limits::default(),
                conn::keep_alive(handler),
                &drain,
            )
        });
        // Make every connection idle: one request answered, the next not sent.
        let mut clients: Vec<TcpStream> = (0..CONNS)
            .map(|_| {
                let mut c = TcpStream::connect(addr).unwrap();
                c.set_read_timeout(Some(WAIT)).unwrap();
                c.write_all(b"GET /warm HTTP/1.1\r\nHost: x\r\n\r\n")
                    .unwrap();
                let mut got = Vec::new();
                let mut buf = [0u8; 512];
                while response_len(&got, false).is_none() {
                    let n = c.read(&mut buf).unwrap();
                    assert!(n > 0, "closed before the warm-up response");
                    got.extend_from_slice(&buf[..n]);
                }
                c
            })
            .collect();
        let start = Arc::new(Barrier::new(2));
        let go = Arc::clone(&start);
        let trigger = shutdown.clone();
        let triggering = thread::spawn(move || {
            go.wait();
            trigger.trigger();
        });
        start.wait();
        for (i, c) in clients.iter_mut().enumerate() {
            let _ =
                c.write_all(format!("GET /c{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
        }
        triggering.join().unwrap();
        let answered: Vec<bool> = clients
            .iter_mut()
            .map(|c| {
                let mut got = Vec::new();
                let _ = c.read_to_end(&mut got);
                response_len(&got, false).is_some()
            })
            .collect();
        drop(clients);
        let drained = server.join().unwrap().unwrap();
        assert_eq!(drained.forced, 0, "round {round}: the drain was cut");
        let ran = ran.lock().unwrap();
        for (i, answered) in answered.iter().enumerate() {
            if !answered && ran.contains(&format!("/c{i}")) {
                lost.push(format!("round {round}: /c{i}"));
            }
        }
    }
    assert!(
        lost.is_empty(),
        "requests that ran but whose client got no response: {lost:?}"
    );
}

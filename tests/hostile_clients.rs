//! Abusive clients against the real binaries (ch07): a client that
//! connects and says nothing, slowloris, a body that never comes, a client
//! that never reads, resets in the middle, and more clients than the server
//! takes. Limits are shrunk through `RAWHTTP_*` variables so every attack
//! plays out in well under a second; every wait is bounded. After each
//! attack the server must still answer a normal request promptly.
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{Exchange, Server, WAIT, redact_date, spawn_step_with, wire};

/// Short limits: each timeout fires in a fraction of a second.
const SHORT: &[(&str, &str)] = &[
    ("RAWHTTP_IDLE_TIMEOUT_MS", "300"),
    ("RAWHTTP_HEAD_TIMEOUT_MS", "300"),
    ("RAWHTTP_BODY_TIMEOUT_MS", "300"),
    ("RAWHTTP_WRITE_TIMEOUT_MS", "300"),
];

fn spawn(step: &str, extra: &[(&str, &str)]) -> Server {
    let mut env: Vec<(&str, &str)> = SHORT
        .iter()
        .filter(|(name, _)| !extra.iter().any(|(n, _)| n == name))
        .copied()
        .collect();
    env.extend_from_slice(extra);
    spawn_step_with(step, &env)
}

/// The server answers a normal request, on a new connection, promptly.
fn still_serves(srv: &Server) {
    let started = Instant::now();
    let t =
        srv.exchange(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(
        t.contains("HTTP/1.1 200 OK") && t.contains("Hello, world!"),
        "{t}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "a normal request took {:?} after the attack",
        started.elapsed()
    );
}

/// Read until the server closes (or resets) the connection; everything read.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let deadline = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < deadline, "no close; got {}", wire(&got));
        match s.read(&mut buf) {
            Ok(0) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => return got,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server did not close; got {}", wire(&got))
            }
            Err(e) => panic!("read: {e}"),
        }
    }
}

/// Send `pieces` one write each, waiting up to `pause` between two for the
/// server to answer; stop early once it answers or closes. Returns all the
/// server sent until it closed, and how many pieces went out.
fn dribble<'a>(
    s: &mut TcpStream,
    pieces: impl IntoIterator<Item = &'a [u8]>,
    pause: Duration,
) -> (Vec<u8>, usize) {
    s.set_read_timeout(Some(pause)).expect("timeout");
    let mut got = Vec::new();
    let mut sent = 0;
    let mut buf = [0u8; 1024];
    for piece in pieces {
        if s.write_all(piece).is_err() {
            break; // closed under us: the response is already here
        }
        sent += 1;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            }
            Err(_) => break,
        }
    }
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    got.extend(read_to_close(s));
    (got, sent)
}

/// How many times `needle` appears in the server's log.
fn log_count(srv: &Server, needle: &str) -> usize {
    srv.log().matches(needle).count()
}

/// Wait until `needle` appears at least `n` times in the log.
fn wait_for_log_count(srv: &Server, needle: &str, n: usize) {
    let deadline = Instant::now() + WAIT;
    while log_count(srv, needle) < n {
        assert!(
            Instant::now() < deadline,
            "log never showed {needle:?} {n} times:\n{}",
            srv.log()
        );
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn connects_and_sends_nothing_is_closed_quietly() {
    let srv = spawn("step06", &[]);
    let mut s = srv.connect();
    let started = Instant::now();
    let got = read_to_close(&mut s);
    // RFC 9112 §9.5: a server may close an idle connection at any time; an
    // unasked-for 408 could be taken as the answer to a request in flight.
    assert_eq!(got, b"", "an idle connection gets no response");
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed after {:?}, before the idle timeout",
        started.elapsed()
    );
    // The debug line ch04 tells you to look for.
    srv.wait_for_log("conn 0 ended: IdleTimeout after 0 requests");
    still_serves(&srv);
}

#[test]
fn slowloris_dribbling_a_head_gets_408_at_the_head_deadline() {
    let srv = spawn("step06", &[]);
    let mut s = srv.connect();
    // An endless head, one byte every 100 ms: each byte is well within the
    // idle and read timeouts, so only a deadline for the whole head stops it.
    let head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "
        .iter()
        .chain(std::iter::repeat(&b'a'));
    let started = Instant::now();
    let bytes: Vec<[u8; 1]> = head.take(100).map(|&b| [b]).collect();
    let (got, sent) = dribble(
        &mut s,
        bytes.iter().map(|b| &b[..]),
        Duration::from_millis(100),
    );
    let elapsed = started.elapsed();
    // The transcript format has no way to say "one byte every 100 ms", and
    // how many bytes got in depends on timing: the snapshot shows only the
    // answer, and says (`raw stream`) that the sending is not recorded.
    common::note_for_replay("raw stream");
    let t = format!(
        "<-- server sends ({} bytes), then closes\n{}",
        got.len(),
        redact_date(&wire(&got))
    );
    assert!(
        t.contains("408 Request Timeout") && t.contains("Connection: close"),
        "{t}"
    );
    assert!(
        (250..3000).contains(&elapsed.as_millis()),
        "408 after {elapsed:?}, head timeout 300 ms"
    );
    assert!(sent < 30, "the server let {sent} bytes dribble in");
    srv.wait_for_log("408 (head timeout)");
    snap!("slowloris_gets_408", t);
    still_serves(&srv);
}

#[test]
fn announced_body_that_never_comes_gets_408() {
    let srv = spawn("step06", &[]);
    let mut x = Exchange::new(&srv);
    x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nhello")
        .recv_until_close();
    snap!("body_stall_gets_408", x.transcript());
    srv.wait_for_log("408 (body timeout)");

    // The same with a chunked body that stops in the middle of a chunk.
    let mut x = Exchange::new(&srv);
    x.send(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n100\r\nhel",
    )
    .recv_until_close();
    snap!("chunked_body_stall_gets_408", x.transcript());
    still_serves(&srv);
}

/// Slow POST (R-U-Dead-Yet): a body dribbled one byte every 50 ms. Each byte
/// comes well within the 300 ms between reads, so only the deadline for the
/// whole body stops it: 300 ms plus 10 ms per byte received at a minimum
/// rate of 100 B/s, so the 408 comes after about half a second, not after
/// the 50 s the announced 1000 bytes would take. Regression: before the
/// body deadline, this client held its thread until it chose to stop.
#[test]
fn slow_post_gets_408_at_the_body_deadline() {
    let srv = spawn("step06", &[("RAWHTTP_MIN_BODY_RATE", "100")]);
    let mut s = srv.connect();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n")
        .expect("write the head");
    let started = Instant::now();
    // At most 5 s of dribbling; the deadline should end it long before.
    let (got, _) = dribble(
        &mut s,
        std::iter::repeat_n(&b"a"[..], 100),
        Duration::from_millis(50),
    );
    let elapsed = started.elapsed();
    let t = String::from_utf8_lossy(&got);
    assert!(t.contains("408 Request Timeout"), "{t}");
    assert!(
        elapsed < Duration::from_millis(2500),
        "408 after {elapsed:?}; the deadline is about 500 ms"
    );
    srv.wait_for_log("408 (body timeout)");
    still_serves(&srv);
}

/// Slow read: the client reads its responses, but only 16 KiB every 30 ms
/// (at most about 0.5 MB/s), less than the 4 MB/s this server is told to
/// insist on. Every write makes some progress, so the 300 ms per-write
/// timeout never fires; the deadline for a whole batch (300 ms plus 1 s per
/// 4 MB) does, as soon as the socket buffers between us are full. Regression:
/// before that deadline the connection lived as long as the client liked.
#[test]
fn slow_reader_is_cut_off_at_the_send_deadline() {
    let srv = spawn(
        "step06",
        &[
            ("RAWHTTP_MAX_CONNECTIONS", "1"),
            ("RAWHTTP_MIN_SEND_RATE", "4000000"),
        ],
    );
    let mut s = srv.connect();
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".to_vec();
    request.resize(request.len() + 1_000_000, b'x');
    let writer = {
        let mut s = s.try_clone().expect("clone");
        thread::spawn(move || {
            for _ in 0..32 {
                if s.write_all(&request).is_err() {
                    return;
                }
            }
        })
    };
    let started = Instant::now();
    let mut buf = vec![0u8; 16 * 1024];
    let mut taken = 0usize;
    while !srv.log().contains("ended: Io(") {
        assert!(
            started.elapsed() < WAIT,
            "still served after {taken} bytes and {:?}",
            started.elapsed()
        );
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => taken += n,
        }
        thread::sleep(Duration::from_millis(30));
    }
    srv.wait_for_log("ended: Io(");
    assert!(
        taken < 32_000_000,
        "the whole {taken} bytes went through: nothing was cut"
    );
    drop(s);
    writer.join().expect("writer");
    still_serves(&srv);
}

/// Pipelined `POST /echo` requests with 1 MB bodies, written from another
/// thread and never read: the responses fill the socket buffers, the
/// server's write blocks, and the write timeout must end the connection.
#[test]
fn a_client_that_never_reads_is_cut_off_by_the_write_timeout() {
    // One connection at a time: the probe below only gets in once the
    // stuck connection's thread has really ended.
    let srv = spawn("step06", &[("RAWHTTP_MAX_CONNECTIONS", "1")]);
    let s = srv.connect();
    let body = vec![b'x'; 1_000_000];
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n".to_vec();
    request.extend_from_slice(&body);
    let writer = {
        let mut s = s.try_clone().expect("clone");
        thread::spawn(move || {
            // 16 MB: more than the loopback buffers hold both ways. Stops at
            // the first error (the server gave up on us) or after WAIT.
            for _ in 0..16 {
                if s.write_all(&request).is_err() {
                    return;
                }
            }
        })
    };
    // "conn 1 ended: Io(WouldBlock)" (or TimedOut): the thread is free.
    srv.wait_for_log("ended: Io(");
    let log = srv.log();
    assert!(
        log.contains("Io(WouldBlock)") || log.contains("Io(TimedOut)"),
        "not a write timeout:\n{log}"
    );
    // The only slot is free again: a new client is served, not refused.
    still_serves(&srv);
    drop(s);
    writer.join().expect("writer");
}

/// Close with unread data in our receive buffer: the kernel then sends a
/// reset (RST) instead of a clean FIN, which is what an aborting client does.
fn abort(s: TcpStream, expect_unread: usize) {
    let mut peek = [0u8; 64];
    let deadline = Instant::now() + WAIT;
    while s.peek(&mut peek).unwrap_or(0) < expect_unread.min(peek.len()) {
        assert!(Instant::now() < deadline, "nothing to leave unread");
        thread::sleep(Duration::from_millis(2));
    }
    drop(s);
}

#[test]
fn a_reset_in_the_middle_of_a_request_frees_the_connection() {
    let srv = spawn("step06", &[("RAWHTTP_BODY_TIMEOUT_MS", "5000")]);
    let mut s = srv.connect();
    // A whole request, so there is a response to leave unread, then half of
    // the next one: the server is reading a body when the reset comes.
    s.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nPOST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .expect("write");
    abort(s, 64);
    srv.wait_for_log("ended: Io(ConnectionReset)");
    still_serves(&srv);
}

#[test]
fn a_reset_in_the_middle_of_a_response_frees_the_connection() {
    let srv = spawn("step06", &[]);
    let mut s = srv.connect();
    // 100 pieces 20 ms apart: the client is gone long before the end.
    s.write_all(b"GET /stream?n=100&ms=20 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    abort(s, 64);
    // The next piece's write fails: a reset, or a broken pipe.
    srv.wait_for_log("ended: Io(");
    let log = srv.log();
    assert!(
        log.contains("Io(ConnectionReset)") || log.contains("Io(BrokenPipe)"),
        "{log}"
    );
    still_serves(&srv);
}

#[test]
fn more_clients_than_max_connections() {
    let srv = spawn(
        "step05",
        &[
            ("RAWHTTP_MAX_CONNECTIONS", "4"),
            ("RAWHTTP_IDLE_TIMEOUT_MS", "10000"),
        ],
    );
    let get = b"GET /hello/a HTTP/1.1\r\nHost: x\r\n\r\n";
    // Four clients, each served once and kept open (keep-alive): the server is full.
    let mut held: Vec<Exchange> = (0..4)
        .map(|_| {
            let mut x = Exchange::new(&srv);
            x.send(get).recv();
            x
        })
        .collect();

    // The fifth and sixth get a 503 with Retry-After, and a close.
    for i in 0..2 {
        let mut x = Exchange::new(&srv);
        x.recv_until_close();
        let t = x.transcript();
        assert!(
            t.contains("503 Service Unavailable")
                && t.contains("Retry-After: 1")
                && t.contains("Connection: close"),
            "{t}"
        );
        if i == 0 {
            snap!("over_capacity_gets_503", t);
        }
    }
    // A refused client that did send its request gets the same (or, if the
    // request arrived after the server had closed, a reset: nothing else).
    let mut s = srv.connect();
    let _ = s.write_all(get);
    let got = read_to_close(&mut s);
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 503 "),
        "{}",
        wire(&got)
    );

    // The four already in are unaffected.
    for x in &mut held {
        x.send(get).recv();
        assert!(
            x.transcript().ends_with("Hello, a!\\n\n"),
            "{}",
            x.transcript()
        );
    }

    // Two leave; their slots come back.
    let closed_before = log_count(&srv, " closed\n");
    held.truncate(2);
    wait_for_log_count(&srv, " closed\n", closed_before + 2);
    let mut in_again: Vec<Exchange> = (0..2)
        .map(|_| {
            let mut x = Exchange::new(&srv);
            x.send(get).recv();
            assert!(x.transcript().contains("200 OK"), "{}", x.transcript());
            x
        })
        .collect();
    // Full again.
    let mut x = Exchange::new(&srv);
    x.recv_until_close();
    assert!(x.transcript().contains("503"), "{}", x.transcript());
    in_again.clear();
    held.clear();
    wait_for_log_count(&srv, " closed\n", closed_before + 6);
    still_serves(&srv);
}

/// Many pipelined requests in one write, never reading the answers (a
/// "pipeline flood"). The server answers at most
/// `max_requests_per_connection` of them, the last with `Connection: close`,
/// and then closes: what it queues is bounded by that count, not by what
/// the client sends.
#[test]
fn a_pipeline_flood_is_cut_at_max_requests_per_connection() {
    let srv = spawn("step05", &[("RAWHTTP_MAX_REQUESTS_PER_CONNECTION", "100")]);
    let s = srv.connect();
    let flood: Vec<u8> = b"GET /hello/flood HTTP/1.1\r\nHost: x\r\n\r\n".repeat(20_000);
    let writer = {
        let mut s = s.try_clone().expect("clone");
        thread::spawn(move || {
            let _ = s.write_all(&flood); // fails once the server has closed
        })
    };
    srv.wait_for_log("ended: Closed after 100 requests");
    assert_eq!(log_count(&srv, "\"GET /hello/flood\" 200"), 100);
    drop(s);
    writer.join().expect("writer");
    still_serves(&srv);
}

/// Regression (ch07, "The bug these tests found"): a CRLF after a body,
/// which RFC 9112 §2.2 says to ignore, used to start the head deadline, so
/// an idle keep-alive connection got an unasked-for 408 after
/// `head_timeout`. Now it is just idle: the next request, sent after more
/// than the head timeout, is answered, and when nothing comes the
/// connection closes quietly.
#[test]
fn crlf_after_a_body_does_not_start_the_head_deadline() {
    let srv = spawn(
        "step06",
        &[
            ("RAWHTTP_HEAD_TIMEOUT_MS", "200"),
            ("RAWHTTP_IDLE_TIMEOUT_MS", "3000"),
        ],
    );
    let mut x = Exchange::new(&srv);
    x.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi\r\n")
        .recv();
    thread::sleep(Duration::from_millis(400)); // twice the head timeout
    x.send(b"GET /hello/again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .recv_until_close();
    let t = x.transcript();
    assert!(!t.contains("408"), "{t}");
    assert!(t.contains("Hello, again!"), "{t}");
}

/// The other side of the fix above: only a couple of empty lines are
/// ignored. A client that drips CRLFs to stay "idle" forever (each one
/// would restart the idle timeout) gets the head deadline: 408, close.
#[test]
fn dripping_empty_lines_gets_the_head_deadline() {
    let srv = spawn(
        "step06",
        &[
            ("RAWHTTP_HEAD_TIMEOUT_MS", "300"),
            ("RAWHTTP_IDLE_TIMEOUT_MS", "1000"),
        ],
    );
    let mut s = srv.connect();
    let started = Instant::now();
    let (got, _) = dribble(
        &mut s,
        std::iter::repeat_n(&b"\r\n"[..], 40),
        Duration::from_millis(150),
    );
    let t = wire(&got);
    assert!(t.starts_with("HTTP/1.1 408 Request Timeout"), "{t}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "408 only after {:?}",
        started.elapsed()
    );
    still_serves(&srv);
}

/// A connection sending its last response stops counting against
/// `max_connections` (so its client can reconnect at once), but it still
/// holds a thread and the response until the client takes it. Clients that
/// each leave a large last response unread used to get past the cap without
/// limit (each was "closing"); now closing connections have a cap of their
/// own (`RAWHTTP_MAX_CLOSING`), past which a closing connection still
/// counts as open. Here: a cap of 2 and 1; three such clients are served
/// (one closing, two counted), the fourth is refused.
#[test]
fn unread_last_responses_cannot_get_past_the_cap() {
    let srv = spawn(
        "step05",
        &[
            ("RAWHTTP_MAX_CONNECTIONS", "2"),
            ("RAWHTTP_MAX_CLOSING", "1"),
            // Long enough for the test to look while the writes are blocked.
            ("RAWHTTP_WRITE_TIMEOUT_MS", "5000"),
            ("RAWHTTP_MAX_BODY_BYTES", "8388608"),
        ],
    );
    // The echo of 8 MiB is more than the socket buffers on both sides hold
    // while we do not read (Linux lets a send buffer grow to 4 MiB).
    let body = vec![b'x'; 8 * 1024 * 1024];
    let head = format!(
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut request = head.into_bytes();
    request.extend_from_slice(&body);
    let mut held = Vec::new();
    for id in 0..3 {
        let mut c = srv.connect();
        c.write_all(&request).expect("send the upload");
        srv.wait_for_log(&format!("conn {id}: POST /echo"));
        held.push(c);
    }
    let mut fourth = srv.connect();
    let _ = fourth.write_all(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        match fourth.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&got);
    assert!(
        head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
        "three unread last responses, a cap of 2 + 1 closing, and a fourth got:\n{head}\n{}",
        srv.log()
    );
    drop(held); // the blocked writes fail; the threads come back
    for id in 0..3 {
        srv.wait_for_log(&format!("conn {id} closed"));
    }
    still_serves(&srv);
}

//! The wire trace (`RAWHTTP_TRACE=1`, `src/trace.rs`): the real step
//! binaries print every read and write on stderr, in the transcript
//! notation, one whole block per read or write.
//!
//! The expected blocks are written out here as the lines a learner sees.
//! Only `Date` changes from run to run: where a response is compared
//! whole, both sides go through `redact_date`, as the snapshots do. The one
//! snapshot (chapter 2 shows it) lives in `snapshots/traces/`, apart from
//! the transcripts in `snapshots/`: a trace is not one (its headings start
//! with the connection), and `compare` must not replay it.
mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

use common::{Exchange, Server, WAIT, redact_date, spawn_step, spawn_step_with, wire};

const TRACE_ON: (&str, &str) = ("RAWHTTP_TRACE", "1");

/// The start of each heading of connection number `id` (numbers count from
/// 0 in each server run), whose client is `x`.
fn prefix(id: u64, x: &mut Exchange) -> String {
    let me = x.stream().local_addr().expect("local address");
    format!("conn {id} {me}")
}

/// Fail unless the log, with dates redacted, contains `want` (redacted too).
fn assert_logged_redacted(srv: &Server, want: &str) {
    let log = redact_date(&srv.log());
    let want = redact_date(want);
    assert!(log.contains(&want), "log lacks\n{want}\nlog:\n{log}");
}

/// A response head as step05's demo writes it, with a stand-in date.
fn demo_head(content_type: &str, len: usize, cache: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawhttp\r\n\
         Content-Type: {content_type}\r\nContent-Length: {len}\r\n\
         Cache-Control: {cache}\r\n\r\n"
    )
}

#[test]
fn off_by_default() {
    let srv = spawn_step("step02");
    srv.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    srv.wait_for_log("conn 0 ended");
    let log = srv.log();
    for heading in ["client sends", "server sends", "closes its sending side"] {
        assert!(
            !log.contains(heading),
            "traced without RAWHTTP_TRACE:\n{log}"
        );
    }
}

/// What chapter 2 shows: curl's request to step02, the report, and the
/// lingering close. `RUST_LOG=warn`, as in the chapter, so that the log is
/// only the trace.
#[test]
fn step02_curl_get() {
    let srv = spawn_step_with("step02", &[TRACE_ON, ("RUST_LOG", "warn")]);
    let mut x = Exchange::new(&srv);
    x.send(b"GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:7878\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n")
        .recv_until_close();
    drop(x); // the client's end comes after the server's, which did not wait
    srv.wait_for_log("--> client closes its sending side\n");
    let log = srv.log();
    // The client's address, which changes every run, from the first heading.
    let me = log
        .lines()
        .find_map(|l| l.strip_prefix("conn 0 ")?.split(' ').next())
        .expect("a heading");
    let shown = log.replace(&format!("conn 0 {me} "), "conn 0 127.0.0.1:[port] ");
    snap_trace("step02_curl_get", redact_date(&shown));
}

/// Snapshot a trace into `snapshots/traces/`.
fn snap_trace(name: &str, trace: String) {
    let mut settings = common::snapshot_settings();
    settings.set_snapshot_path("../snapshots/traces");
    settings.bind(|| insta::assert_snapshot!(name, trace));
}

#[test]
fn step05_shows_each_read_and_each_write() {
    let srv = spawn_step_with("step05", &[TRACE_ON]);
    let mut x = Exchange::new(&srv);
    let p = prefix(0, &mut x);
    x.send(b"GET /hello/trace HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv();
    // The request as it was read: one block, every CRLF visible.
    srv.wait_for_log(&format!(
        "{p} --> client sends (38 bytes)\n\
         GET /hello/trace HTTP/1.1\\r\\n\n\
         Host: x\\r\\n\n\
         \\r\\n\n"
    ));
    // The answer as it was written, the real date in it.
    let answer = format!(
        "{p} <-- server sends (175 bytes)\n\
         HTTP/1.1 200 OK\\r\\n\n\
         Date: [date]\\r\\n\n\
         Server: rawhttp\\r\\n\n\
         Content-Type: text/plain; charset=utf-8\\r\\n\n\
         Content-Length: 14\\r\\n\n\
         Cache-Control: max-age=60\\r\\n\n\
         \\r\\n\n\
         Hello, trace!\\n\n"
    );
    srv.wait_for_log("Hello, trace!\\n\n");
    assert_logged_redacted(&srv, &answer);
    let log = srv.log();
    let date = log
        .lines()
        .find_map(|l| l.strip_prefix("Date: "))
        .expect("a Date line in the trace");
    assert!(
        date.len() == 29 + 4 && date.ends_with(" GMT\\r\\n"),
        "the date is shown as sent: {date}"
    );

    // Two pipelined requests, read at once: one block; both answers go out
    // in one write: one block.
    let two = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    x.send(two).recv().recv();
    srv.wait_for_log(&format!(
        "{p} --> client sends (72 bytes)\n\
         GET /plaintext HTTP/1.1\\r\\n\n\
         Host: x\\r\\n\n\
         \\r\\n\n\
         GET /plaintext HTTP/1.1\\r\\n\n\
         Host: x\\r\\n\n\
         \\r\\n\n"
    ));
    let plaintext = format!(
        "{}Hello, world!",
        demo_head("text/plain; charset=utf-8", 13, "max-age=60")
    );
    let both = plaintext.repeat(2);
    srv.wait_for_log(&format!("{p} <-- server sends ({} bytes)\n", both.len()));
    let want = format!(
        "{p} <-- server sends ({} bytes)\n{}",
        both.len(),
        wire(both.as_bytes())
    );
    assert_logged_redacted(&srv, &want);

    // The client's end, then ours.
    x.shutdown_write();
    srv.wait_for_log(&format!(
        "{p} --> client closes its sending side\n\
         {p} <-- server sends (0 bytes), then closes\n"
    ));
}

#[test]
fn a_long_body_shows_its_first_and_last_bytes() {
    let srv = spawn_step_with("step05", &[TRACE_ON]);
    let mut x = Exchange::new(&srv);
    let p = prefix(0, &mut x);
    let body: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 5000\r\n\r\n"
            .to_vec();
    request.extend_from_slice(&body);
    x.send(&request).recv();

    // 5080 bytes: the first 1024 and the last 1024 (TRACE_BYTES = 2048).
    let len = request.len();
    assert_eq!((len, len - 2048), (5080, 3032));
    srv.wait_for_log(&format!(
        "{p} --> client sends (5080 bytes)\n\
         POST /echo HTTP/1.1\\r\\n\n\
         Host: x\\r\\n\n\
         Content-Type: text/plain\\r\\n\n\
         Content-Length: 5000\\r\\n\n\
         \\r\\n\n\
         {}\n\
         ... [3032 bytes not shown] ...\n\
         {}\n",
        String::from_utf8_lossy(&body[..1024 - 80]),
        String::from_utf8_lossy(&body[5000 - 1024..]),
    ));

    // The echo, likewise.
    let mut response = demo_head("text/plain", 5000, "no-store").into_bytes();
    response.extend_from_slice(&body);
    let n = response.len();
    let want = format!(
        "{p} <-- server sends ({n} bytes)\n{}... [{} bytes not shown] ...\n{}",
        wire(&response[..1024]),
        n - 2048,
        wire(&response[n - 1024..]),
    );
    srv.wait_for_log(&format!("{p} <-- server sends ({n} bytes)\n"));
    assert_logged_redacted(&srv, &want);
}

/// `RAWHTTP_TRACE_BYTES` at N (a request of N bytes, shown whole) and N+1
/// (its middle byte left out).
#[test]
fn trace_bytes_at_n_and_n_plus_1() {
    let srv = spawn_step_with("step02", &[TRACE_ON, ("RAWHTTP_TRACE_BYTES", "27")]);
    let mut x = Exchange::new(&srv);
    let p = prefix(0, &mut x);
    x.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv_until_close();
    srv.wait_for_log(&format!(
        "{p} --> client sends (27 bytes)\n\
         GET / HTTP/1.1\\r\\n\n\
         Host: x\\r\\n\n\
         \\r\\n\n"
    ));
    let mut x = Exchange::new(&srv);
    let p = prefix(1, &mut x);
    x.send(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv_until_close();
    srv.wait_for_log(&format!(
        "{p} --> client sends (28 bytes)\n\
         GET /a HTTP/1.\n\
         ... [1 bytes not shown] ...\n\
         \\r\\n\n\
         Host: x\\r\\n\n\
         \\r\\n\n"
    ));
}

/// Several connections at once: each block is one piece in the log, whole,
/// never mixed with another connection's lines.
#[test]
fn blocks_of_concurrent_connections_stay_whole() {
    const CONNS: u64 = 4;
    const REQUESTS: usize = 10;
    let srv = spawn_step_with("step05", &[TRACE_ON]);
    // Connected one after the other, so they are numbered in this order.
    let clients: Vec<(String, Exchange)> = (0..CONNS)
        .map(|id| {
            let mut x = Exchange::new(&srv);
            (prefix(id, &mut x), x)
        })
        .collect();
    let request = |id: u64, i: usize| {
        // Many short lines, so that a block cut by another would show.
        let line = format!("connection {id}, request {i}: {}\n", "x".repeat(40));
        let body = line.repeat(25);
        format!(
            "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let threads: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(id, (p, mut x))| {
            let id = id as u64;
            thread::spawn(move || {
                for i in 0..REQUESTS {
                    x.send(request(id, i).as_bytes()).recv();
                }
                p
            })
        })
        .collect();
    let prefixes: Vec<String> = threads
        .into_iter()
        .map(|t| t.join().expect("client thread"))
        .collect();
    for (id, p) in prefixes.iter().enumerate() {
        for i in 0..REQUESTS {
            let sent = request(id as u64, i);
            assert!(sent.len() < 2048, "shown whole");
            let block = format!(
                "{p} --> client sends ({} bytes)\n{}",
                sent.len(),
                wire(sent.as_bytes())
            );
            srv.wait_for_log(&block);
        }
    }
}

#[test]
fn a_streamed_body_is_a_block_per_write() {
    let srv = spawn_step_with("step06", &[TRACE_ON]);
    let mut x = Exchange::new(&srv);
    let p = prefix(0, &mut x);
    x.send(b"GET /stream?n=2&ms=0 HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv();
    srv.wait_for_log(&format!(
        "{p} <-- server sends (18 bytes)\n\
         d\\r\\n\n\
         piece 1 of 2\\n\n\
         \\r\\n\n\
         {p} <-- server sends (18 bytes)\n\
         d\\r\\n\n\
         piece 2 of 2\\n\n\
         \\r\\n\n\
         {p} <-- server sends (5 bytes)\n\
         0\\r\\n\n\
         \\r\\n\n"
    ));
}

#[test]
fn step01_echo_is_traced_too() {
    let srv = spawn_step_with("step01", &[TRACE_ON]);
    let mut x = Exchange::new(&srv);
    let p = prefix(0, &mut x);
    x.send(b"hello\r\n\x00\xff").recv_exact(9).shutdown_write();
    srv.wait_for_log(&format!(
        "{p} --> client sends (9 bytes)\n\
         hello\\r\\n\n\
         \\x00\\xff\n\
         {p} <-- server sends (9 bytes)\n\
         hello\\r\\n\n\
         \\x00\\xff\n\
         {p} --> client closes its sending side\n\
         {p} <-- server sends (0 bytes), then closes\n"
    ));
}

/// A value other than 0 or 1 stops the server before it listens, as a bad
/// limit does.
#[test]
fn a_bad_switch_is_an_error_at_startup() {
    let mut child = Command::new(common::exe("step02"))
        .env("ADDR", "127.0.0.1:0")
        .env("RAWHTTP_TRACE", "yes")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start step02");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let Ok(text) = rx.recv_timeout(WAIT) else {
        let _ = child.kill();
        panic!("step02 kept running with RAWHTTP_TRACE=yes");
    };
    let status = child.wait().expect("wait for step02");
    assert!(!status.success(), "exit status {status}");
    assert!(
        text.contains(r#"Error: RAWHTTP_TRACE="yes" is not a valid switch (0 or 1)"#),
        "stderr: {text}"
    );
}

//! `compare` (issue 7), run as a real process: every step binary passes its
//! own and the earlier steps' applicable cases; deliberately wrong servers
//! fail with messages that say what is wrong. Every wait is bounded.
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// No run of `compare` here may take longer than this.
const COMPARE_LIMIT: Duration = Duration::from_secs(120);

/// Run `compare` with `args`; its exit code and stdout.
fn compare(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start compare");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > COMPARE_LIMIT {
            let _ = child.kill();
            panic!("compare {args:?} ran over {COMPARE_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    (status.code(), reader.join().expect("reader thread"))
}

/// The steps that have snapshots: 1 for `step01_*.snap`, …
fn steps_with_snapshots() -> Vec<u8> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots");
    let mut steps: Vec<u8> = std::fs::read_dir(dir)
        .expect("snapshots/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("step")?.get(..2)?.parse().ok()
        })
        .collect();
    steps.sort();
    steps.dedup();
    steps
}

#[test]
fn every_step_passes_its_own_and_the_earlier_cases() {
    let steps = steps_with_snapshots();
    assert!(!steps.is_empty());
    // One thread per step: the runs are independent and mostly waiting.
    let runs: Vec<_> = steps
        .into_iter()
        .map(|n| {
            thread::spawn(move || {
                let srv = common::spawn_step(&format!("step{n:02}"));
                let (step, addr) = (format!("{n:02}"), srv.addr.to_string());
                let (code, out) = compare(&["--upto", &step, &addr]);
                (n, code, out)
            })
        })
        .collect();
    for run in runs {
        let (n, code, out) = run.join().expect("a step's run panicked");
        let summary = out.lines().last().unwrap_or_default();
        assert!(
            !out.contains("\nFAIL") && summary.contains(" passed, 0 failed"),
            "step{n:02}:\n{out}"
        );
        assert_eq!(code, Some(0), "step{n:02}:\n{out}");
    }
}

/// A server that gets HTTP wrong in the given way: it reads a request head
/// (or gives up after a second) and writes `answer`; then it closes, or,
/// with `hold_open`, keeps the connection open for a while first.
fn wrong_server(answer: &'static [u8], hold_open: bool) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            thread::spawn(move || serve_wrongly(stream, answer, hold_open));
        }
    });
    addr
}

fn serve_wrongly(mut stream: TcpStream, answer: &[u8], hold_open: bool) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let _ = stream.write_all(answer);
    if hold_open {
        thread::sleep(Duration::from_secs(5));
    }
}

#[test]
fn a_server_without_content_length_fails_with_reasons() {
    // 200 to everything, no Date, no Content-Length: the body runs until close.
    let addr = wrong_server(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nhello",
        false,
    );
    let (code, out) = compare(&["--step", "02", "--timeout-ms", "3000", &addr.to_string()]);
    assert_eq!(code, Some(1), "{out}");
    let line = |case: &str| {
        out.lines()
            .find(|l| l.contains(case))
            .unwrap_or_else(|| panic!("no line for {case}:\n{out}"))
    };
    assert!(
        line("__missing_host").starts_with("FAIL")
            && line("__missing_host")
                .contains("status code: HTTP/1.1 400 Bad Request | HTTP/1.1 200 OK"),
        "{out}"
    );
    assert!(
        line("__post_with_body").starts_with("FAIL")
            && line("__post_with_body").contains(
                "framing: Content-Length: 183 | no Content-Length (body runs until close)"
            ),
        "{out}"
    );
    let summary = out.lines().last().unwrap_or_default();
    assert!(
        summary.ends_with(" skipped") && summary.contains(" failed"),
        "{out}"
    );
}

#[test]
fn a_server_that_never_closes_fails_in_bounded_time() {
    // A well-formed 400, but the connection stays open: a client that waits
    // for the close (as the snapshot does) would hang, compare does not.
    let addr = wrong_server(
        b"HTTP/1.1 400 Bad Request\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        true,
    );
    let start = Instant::now();
    let (code, out) = compare(&["--step", "02", "--timeout-ms", "300", &addr.to_string()]);
    assert_eq!(code, Some(1), "{out}");
    let missing_host = out
        .lines()
        .find(|l| l.contains("__missing_host"))
        .unwrap_or_default();
    assert!(
        missing_host.starts_with("FAIL")
            && missing_host.contains(
                "connection: closes after the response | still open when the time limit passed"
            ),
        "{out}"
    );
    // Every case has its own limit: ~30 cases × 300 ms, with room to spare.
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(compare(&["--step", "02"]).0, Some(2), "no address");
    assert_eq!(compare(&["127.0.0.1:1"]).0, Some(2), "no selection");
    assert_eq!(
        compare(&["--step", "xx", "127.0.0.1:1"]).0,
        Some(2),
        "bad step"
    );
}

/// Regression: with its stdout closed early (`compare … | head -1`),
/// `compare` panicked on the next line it printed (exit 101).
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let srv = common::spawn_step("step02");
    let mut child = Command::new(env!("CARGO_BIN_EXE_compare"))
        .args(["--step", "02", &srv.addr.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start compare");
    drop(child.stdout.take()); // the reader goes away before the first line
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        assert!(start.elapsed() < COMPARE_LIMIT, "compare did not finish");
        thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(status.code(), Some(0), "compare died instead of finishing");
}

//! Test harness: run a real step binary, talk raw bytes to it, and render
//! the exchange as a transcript for snapshots.
//!
//! A transcript shows every byte. Each section is one write by the client or
//! what the server sent until a response (or the connection) ended:
//!
//! ```text
//! --> client sends (27 bytes)
//! GET / HTTP/1.1\r\n
//! Host: a\r\n
//! \r\n
//! <-- server sends (117 bytes), then closes
//! HTTP/1.1 400 Bad Request\r\n
//! Date: [date]\r\n
//! ...
//! ```
//!
//! Bytes are escaped so the file is plain ASCII: `\r`, `\n`, `\t`, `\\` and
//! `\xNN`; each `\n` byte also ends the line in the file. The `Date` value
//! in a response head is the only thing redacted. `compare`
//! (src/bin/compare.rs) and the book read this format back, so the rules
//! here are a contract.
#![allow(dead_code)] // each test file uses a different part of the harness

use std::cell::RefCell;
use std::io::{BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

// The format lives in the library (`rawhttp::transcript`), so the tests, the
// book and `compare` share one implementation of it.
#[allow(unused_imports)] // not every test file uses both
pub use rawhttp::transcript::{redact_date, wire};

/// How long any single wait in a test may take before the test fails.
/// Generous: the machines are small and busy. Nothing waits this long
/// when things work.
pub const WAIT: Duration = Duration::from_secs(10);

// ANCHOR: exe
/// The path of a step binary, which Cargo builds for the integration tests.
pub fn exe(step: &str) -> &'static str {
    match step {
        "step01" => env!("CARGO_BIN_EXE_step01"),
        "step02" => env!("CARGO_BIN_EXE_step02"),
        "step03" => env!("CARGO_BIN_EXE_step03"),
        "step04" => env!("CARGO_BIN_EXE_step04"),
        "step05" => env!("CARGO_BIN_EXE_step05"),
        "step06" => env!("CARGO_BIN_EXE_step06"),
        "step07" => env!("CARGO_BIN_EXE_step07"),
        other => panic!("unknown step binary {other}"),
    }
}
// ANCHOR_END: exe

/// A running step binary. Killed when dropped, even if the test panics.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Everything it logged so far (stderr).
    log: Arc<Mutex<String>>,
}

// ANCHOR: spawn_step_with
/// Start `step` on a free loopback port with `env` added to its environment.
pub fn spawn_step_with(step: &str, env: &[(&str, &str)]) -> Server {
    for (name, value) in env {
        note_for_replay(&format!("env: {name}={value}"));
    }
    spawn_step_quietly(step, env)
}

/// Like [`spawn_step_with`], without noting `env` in the snapshots: for
/// variables that say *where* (a copy of the demo site, an upload folder),
/// so that a replay against a server with the defaults still holds.
pub fn spawn_step_quietly(step: &str, env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(exe(step));
    cmd.env("ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "debug")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {step}: {e}"));
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let log = Arc::new(Mutex::new(String::new()));
    let sink = Arc::clone(&log);
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let mut log = sink.lock().unwrap_or_else(|e| e.into_inner());
            log.push_str(&line);
            log.push('\n');
        }
    });
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().and_then(Result::ok);
        let _ = tx.send(first);
        for _ in lines {} // keep the pipe drained
    });
    let line = match rx.recv_timeout(WAIT) {
        Ok(Some(line)) => line,
        other => {
            let _ = child.kill();
            panic!("{step} did not print its address: {other:?}");
        }
    };
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| {
            panic!("{step} printed {line:?}, not `listening on http://ADDR`")
        });
    Server { child, addr, log }
}

/// Start `step` with the default limits.
pub fn spawn_step(step: &str) -> Server {
    spawn_step_with(step, &[])
}
// ANCHOR_END: spawn_step_with

impl Server {
    /// A new connection to the server.
    pub fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr).expect("connect to the server under test");
        s.set_read_timeout(Some(WAIT)).expect("set a read timeout");
        s.set_write_timeout(Some(WAIT))
            .expect("set a write timeout");
        s
    }

    // ANCHOR: server_helpers
    /// Send `request` on a new connection, read until the server closes,
    /// and return the transcript.
    pub fn exchange(&self, request: &[u8]) -> String {
        let mut x = Exchange::new(self);
        x.send(request).recv_until_close();
        x.transcript()
    }

    /// Fail the test unless the server still answers a normal request
    /// (after something that might have upset it).
    pub fn assert_still_serving(&self) {
        let after = self
            .exchange(b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert!(
            after.contains("HTTP/1.1 200 OK"),
            "server stopped serving:\n{after}"
        );
    }

    /// What the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Wait until the log contains `needle` (fails the test after [`WAIT`]).
    pub fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + WAIT;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "log never showed {needle:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }
    // ANCHOR_END: server_helpers

    /// Send a signal to the server process.
    pub fn signal(&self, signal: &str) {
        note_for_replay(&format!("signal: {signal}"));
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -s {signal} failed");
    }

    /// Wait for the process to exit; its exit code and how long it took.
    pub fn wait_exit(&mut self, within: Duration) -> (Option<i32>, Duration) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return (status.code(), start.elapsed());
            }
            assert!(
                start.elapsed() < within,
                "server still running after {within:?}:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ANCHOR: exchange
/// One connection, recorded as a transcript.
pub struct Exchange {
    stream: TcpStream,
    /// Bytes received but not yet attributed to a response.
    pending: Vec<u8>,
    transcript: String,
}

impl Exchange {
    /// Connect to `server`.
    pub fn new(server: &Server) -> Exchange {
        Exchange {
            stream: server.connect(),
            pending: Vec::new(),
            transcript: String::new(),
        }
    }

    /// Write `bytes` in one write.
    pub fn send(&mut self, bytes: &[u8]) -> &mut Exchange {
        self.stream.write_all(bytes).expect("write to the server");
        self.transcript
            .push_str(&format!("--> client sends ({} bytes)\n", bytes.len()));
        self.transcript.push_str(&wire(bytes));
        self
    }
    // ANCHOR_END: exchange

    /// Read exactly `n` bytes, whatever they are (the echo server).
    pub fn recv_exact(&mut self, n: usize) -> &mut Exchange {
        let deadline = Instant::now() + WAIT;
        while self.pending.len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} bytes arrived",
                self.pending.len()
            );
            self.read_more_or_panic();
        }
        let got: Vec<u8> = self.pending.drain(..n).collect();
        self.transcript
            .push_str(&format!("<-- server sends ({n} bytes)\n"));
        self.transcript.push_str(&wire(&got));
        self
    }

    /// Read exactly one complete response (framed by its Content-Length).
    pub fn recv(&mut self) -> &mut Exchange {
        self.recv_response(false)
    }

    /// Read one complete response to a HEAD request (no body, whatever
    /// Content-Length says).
    pub fn recv_head(&mut self) -> &mut Exchange {
        self.recv_response(true)
    }

    fn recv_response(&mut self, head: bool) -> &mut Exchange {
        let deadline = Instant::now() + WAIT;
        let len = loop {
            if let Some(len) = response_len(&self.pending, head) {
                break len;
            }
            assert!(
                Instant::now() < deadline,
                "no complete response; got so far:\n{}",
                wire(&self.pending)
            );
            self.read_more_or_panic();
        };
        let response: Vec<u8> = self.pending.drain(..len).collect();
        self.transcript
            .push_str(&format!("<-- server sends ({} bytes)\n", response.len()));
        self.transcript.push_str(&redact_date(&wire(&response)));
        self
    }

    /// Read until the server closes the connection; fails if it does not
    /// within [`WAIT`]. A reset after the data counts as a close.
    pub fn recv_until_close(&mut self) -> &mut Exchange {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut
                    ) =>
                {
                    panic!(
                        "server did not close the connection; got:\n{}",
                        wire(&self.pending)
                    )
                }
                Err(e) => panic!("read failed: {e}"),
            }
        }
        let rest = std::mem::take(&mut self.pending);
        self.transcript.push_str(&format!(
            "<-- server sends ({} bytes), then closes\n",
            rest.len()
        ));
        self.transcript.push_str(&redact_date(&wire(&rest)));
        self
    }

    /// Half-close: tell the server we will send nothing more.
    pub fn shutdown_write(&mut self) -> &mut Exchange {
        self.stream
            .shutdown(Shutdown::Write)
            .expect("shutdown(Write)");
        self.transcript
            .push_str("--> client closes its sending side\n");
        self
    }

    /// The transcript so far.
    pub fn transcript(&self) -> String {
        self.transcript.clone()
    }

    /// The underlying stream, for tests that need to do something unusual.
    pub fn stream(&mut self) -> &mut TcpStream {
        note_for_replay("raw stream");
        &mut self.stream
    }

    fn read_more_or_panic(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => panic!(
                "server closed before a full response; got:\n{}",
                wire(&self.pending)
            ),
            Ok(n) => self.pending.extend_from_slice(&buf[..n]),
            Err(e) => panic!("read failed ({e}); got so far:\n{}", wire(&self.pending)),
        }
    }
}

/// The length of the first complete response in `buf`, if it is all there.
/// Understands Content-Length, `Transfer-Encoding: chunked` and bodiless
/// statuses; a response framed by close is never "complete" here.
pub fn response_len(buf: &[u8], head_request: bool) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).expect("response head is ASCII");
    let status: u16 = head.get(9..12)?.parse().expect("status code digits");
    if head_request || status < 200 || status == 204 || status == 304 {
        return Some(head_end);
    }
    let field = |name: &str| {
        head.split("\r\n").skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
        })
    };
    if field("transfer-encoding").is_some_and(|te| te.eq_ignore_ascii_case("chunked")) {
        let mut at = head_end;
        loop {
            let line_end = buf.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at;
            let size_text = std::str::from_utf8(&buf[at..line_end]).ok()?;
            let size =
                usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
            at = line_end + 2;
            if size == 0 {
                // trailers, then the empty line
                loop {
                    let end = buf.get(at..)?.windows(2).position(|w| w == b"\r\n")? + at;
                    let empty = end == at;
                    at = end + 2;
                    if empty {
                        return Some(at);
                    }
                }
            }
            at += size + 2;
            if buf.len() < at {
                return None;
            }
        }
    }
    let len: usize = field("content-length")
        .map(|v| v.parse().expect("numeric Content-Length"))
        .expect("response has neither Content-Length nor chunked framing");
    (buf.len() >= head_end + len).then_some(head_end + len)
}

// ANCHOR: snapshot_settings
/// Insta settings for every snapshot: files in the top-level `snapshots/`,
/// named `<test file>__<case>.snap`, without the Rust expression in the header.
pub fn snapshot_settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path("../snapshots");
    s.set_prepend_module_to_snapshot(true);
    s.set_omit_expression(true);
    let notes = REPLAY_NOTES.with(|n| n.borrow().join("; "));
    if !notes.is_empty() {
        s.set_description(notes);
    }
    s
}
// ANCHOR_END: snapshot_settings

thread_local! {
    /// What this test did that its transcripts cannot show: server settings,
    /// signals, direct socket use. It goes into each snapshot's description
    /// (the format is in `rawhttp::transcript`), so `compare` knows which
    /// cases a server with default settings cannot reproduce. libtest runs
    /// each test on its own thread, so these are per test.
    static REPLAY_NOTES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Record `note` in the description of the snapshots this test takes.
pub fn note_for_replay(note: &str) {
    REPLAY_NOTES.with(|n| {
        let mut n = n.borrow_mut();
        if !n.iter().any(|have| have == note) {
            n.push(note.to_string());
        }
    });
}

/// Mark this test's snapshots `step-specific`: later steps answer them
/// differently, so `compare --upto` replays them only against this step.
pub fn step_specific() {
    note_for_replay("step-specific");
}

// ANCHOR: snapshot_macros
/// One snapshot test per case: start `$step`, send the bytes on a fresh
/// connection, read until the server closes, snapshot the transcript as
/// `<test file>__<case>`, then check the server still serves.
#[macro_export]
macro_rules! snapshot_cases {
    ($step:literal; $($name:ident: $bytes:expr;)*) => {$(
        #[test]
        fn $name() {
            let srv = $crate::common::spawn_step($step);
            let transcript = srv.exchange($bytes);
            snap!(stringify!($name), transcript);
            srv.assert_still_serving();
        }
    )*};
}

/// Assert a transcript against `snapshots/<test file>__<name>.snap`.
#[macro_export]
macro_rules! snap {
    ($name:expr, $transcript:expr) => {{
        let _guard = $crate::common::snapshot_settings().bind_to_scope();
        insta::assert_snapshot!($name, $transcript);
    }};
}
// ANCHOR_END: snapshot_macros

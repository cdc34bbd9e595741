//! Soak (ch07): many keep-alive clients against the real `step05` for a
//! few seconds. Every request must get exactly one complete, correct
//! response; afterwards every connection must have closed, the threads must
//! be back to the baseline plus at most one parked thread per client (they
//! are reused, ch04), and memory (RSS) must not grow with the requests.
//!
//! Bounded in time (two phases of ~1.5 s of load), and robust on a busy
//! machine: the clients count what they got done instead of expecting a
//! rate, and every wait has a deadline.
mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, WAIT, response_len, spawn_step_with};

const CLIENTS: usize = 16;
const PHASE: Duration = Duration::from_millis(1500);
/// Requests per connection before a client hangs up and connects again,
/// so threads come and go during the soak too.
const PER_CONNECTION: usize = 40;

/// `(VmRSS in KiB, Threads)` from `/proc/PID/status`.
fn usage(pid: u32) -> (u64, u64) {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read status");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmRSS:"), field("Threads:"))
}

/// Wait (bounded) until every connection opened so far has closed (the
/// accept loop logs both at debug level); the usage then.
fn settle(srv: &Server) -> (u64, u64) {
    let deadline = Instant::now() + WAIT;
    loop {
        let log = srv.log();
        let (opened, closed) = (
            log.matches(" opened\n").count(),
            log.matches(" closed\n").count(),
        );
        if opened == closed {
            return usage(srv.pid());
        }
        assert!(
            Instant::now() < deadline,
            "{} of {opened} connections still open",
            opened - closed
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// One client: a kept-alive connection, a mix of requests, each response
/// checked byte for byte. Returns how many requests it got answered.
fn client(srv: &Server, id: usize, until: Instant) -> usize {
    let mut done = 0;
    let mut buf = Vec::new();
    while Instant::now() < until {
        let mut s = srv.connect();
        for i in 0..PER_CONNECTION {
            if Instant::now() >= until {
                break;
            }
            let n = done + i;
            match n % 5 {
                0 => {
                    let name = format!("c{id}r{n}");
                    send(
                        &mut s,
                        format!("GET /hello/{name} HTTP/1.1\r\nHost: x\r\n\r\n")
                            .as_bytes(),
                    );
                    expect(
                        &mut s,
                        &mut buf,
                        false,
                        format!("Hello, {name}!\n").as_bytes(),
                    );
                }
                1 => {
                    let len = (n * 7919 + id * 104_729) % 65_536;
                    let body: Vec<u8> = (0..len).map(|k| (k * 31 + id) as u8).collect();
                    let mut req = format!(
                        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n"
                    )
                    .into_bytes();
                    req.extend_from_slice(&body);
                    send(&mut s, &req);
                    expect(&mut s, &mut buf, false, &body);
                }
                2 => {
                    send(&mut s, b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
                    expect(&mut s, &mut buf, false, b"Hello, world!");
                }
                3 => {
                    // Two pipelined in one write: two responses, in order.
                    send(
                        &mut s,
                        format!("GET /hello/a{n} HTTP/1.1\r\nHost: x\r\n\r\nGET /hello/b{n} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
                    );
                    expect(
                        &mut s,
                        &mut buf,
                        false,
                        format!("Hello, a{n}!\n").as_bytes(),
                    );
                    expect(
                        &mut s,
                        &mut buf,
                        false,
                        format!("Hello, b{n}!\n").as_bytes(),
                    );
                }
                _ => {
                    send(&mut s, b"HEAD /plaintext HTTP/1.1\r\nHost: x\r\n\r\n");
                    expect(&mut s, &mut buf, true, b"");
                }
            }
        }
        done += PER_CONNECTION;
        // Hang up; nothing more may arrive (exactly one response per request).
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut rest = Vec::new();
        match s.read_to_end(&mut rest) {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
            Err(e) => panic!("client {id}: reading the close: {e}"),
        }
        assert!(
            buf.is_empty() && rest.is_empty(),
            "client {id}: {} bytes more than the responses",
            buf.len() + rest.len()
        );
    }
    done
}

fn send(s: &mut TcpStream, bytes: &[u8]) {
    s.write_all(bytes).expect("send a request");
}

/// Read one whole response; it must be a 200 with exactly `body`.
fn expect(s: &mut TcpStream, buf: &mut Vec<u8>, head: bool, body: &[u8]) {
    let mut chunk = [0u8; 64 * 1024];
    let len = loop {
        if let Some(len) = response_len(buf, head) {
            break len;
        }
        let n = s.read(&mut chunk).expect("read a response");
        assert!(n > 0, "closed before a whole response");
        buf.extend_from_slice(&chunk[..n]);
    };
    let response: Vec<u8> = buf.drain(..len).collect();
    assert!(
        response.starts_with(b"HTTP/1.1 200 OK\r\n"),
        "{}",
        response.escape_ascii()
    );
    assert!(
        response.ends_with(body) && (head || response.len() - body.len() >= 4),
        "wrong body: {}",
        response.escape_ascii()
    );
    if head {
        assert!(
            response.windows(20).any(|w| w == b"Content-Length: 13\r\n"),
            "HEAD lost its Content-Length"
        );
    }
}

/// One phase: CLIENTS threads for PHASE. Returns the requests answered.
fn load(srv: &Server) -> usize {
    let until = Instant::now() + PHASE;
    thread::scope(|scope| {
        let clients: Vec<_> = (0..CLIENTS)
            .map(|id| scope.spawn(move || client(srv, id, until)))
            .collect();
        clients
            .into_iter()
            .map(|c| c.join().expect("a client failed"))
            .sum()
    })
}

#[test]
fn many_keep_alive_clients_then_back_to_baseline() {
    // Logging every request would make the soak measure stderr: only the
    // accept loop's "opened" / "closed" lines, which `settle` counts.
    let srv = spawn_step_with(
        "step05",
        &[
            ("RUST_LOG", "warn,rawhttp::server=debug"),
            // Parked threads exit soon, so the end of the test can see the
            // thread count come all the way back to where it started.
            ("RAWHTTP_THREAD_IDLE_TIMEOUT_MS", "300"),
        ],
    );
    let (_, threads_at_start) = usage(srv.pid());
    // Warm up (first-use allocations, the date cache), then take the baseline.
    let mut s = srv.connect();
    send(
        &mut s,
        b"GET /plaintext HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("warm-up");
    drop(s);
    let (rss0, threads) = settle(&srv);

    let started = Instant::now();
    let first = load(&srv);
    let (rss1, threads1) = settle(&srv);
    let second = load(&srv);
    let (rss2, threads2) = settle(&srv);
    let total = first + second;
    eprintln!(
        "soak: {total} requests in {:?}; RSS {rss0} -> {rss1} -> {rss2} KiB; threads {threads} -> {threads1} -> {threads2}",
        started.elapsed()
    );
    assert!(total >= 200, "only {total} requests were answered");
    // Threads: a finished connection's thread parks for a while to serve
    // the next one (ch04), so right after the soak there may be up to one
    // parked thread per client that was connected at once, and no more:
    // the second phase reuses the first one's threads instead of adding.
    assert!(
        threads2 <= threads + CLIENTS as u64 + 2,
        "{threads2} threads after the soak, baseline {threads}"
    );
    assert!(
        threads2 <= threads1 + 2,
        "threads grew from {threads1} to {threads2} between two equal phases"
    );
    // Memory: the second phase must not add to the first (no leak per
    // request), and both stay near the baseline (allocator arenas and
    // thread stacks that the allocator keeps are fine, growth is not).
    assert!(
        rss2 <= rss1 + 8 * 1024,
        "RSS grew from {rss1} to {rss2} KiB between two equal phases"
    );
    assert!(
        rss2 <= rss0 + 64 * 1024,
        "RSS {rss2} KiB is far above the baseline {rss0} KiB"
    );
    // And once the parked threads' idle timeout has passed, every connection
    // thread is gone: the process is back to its threads at start.
    let deadline = Instant::now() + WAIT;
    loop {
        let (_, now) = usage(srv.pid());
        if now <= threads_at_start {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{now} threads long after the soak; {threads_at_start} at start"
        );
        thread::sleep(Duration::from_millis(20));
    }
}

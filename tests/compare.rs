//! `compare` (the book's appendix "Check your own server"), run as a real
//! process: every step binary passes its own and the earlier steps'
//! applicable cases; deliberately wrong servers fail with messages that say
//! what is wrong. Every wait is bounded.
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

/// The snapshot files: `(step, name)`, with step `None` for the test files
/// that are about no one step (`smuggling__*`, `hostile_clients__*`).
fn snapshot_files() -> Vec<(Option<u8>, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots");
    std::fs::read_dir(dir)
        .expect("snapshots/")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            let name = name.strip_suffix(".snap")?.to_string();
            let step = name
                .strip_prefix("step")
                .and_then(|s| s.get(..2)?.parse().ok());
            Some((step, name))
        })
        .collect()
}

/// The cases recorded for steps 01..=`n`. The snapshots of the test files
/// that are about no one step were all recorded against step06 (their
/// tests spawn `step06`; compare's `RECORDED_AGAINST`), so they count as
/// step-06 cases: from `--upto 06` on, they are part of the total.
fn recorded_upto(n: u8) -> usize {
    snapshot_files()
        .iter()
        .filter(|(step, _)| step.unwrap_or(6) <= n)
        .count()
}

/// compare's counts: `(replayed, of how many)` from its first line, and
/// `(passed, failed, skipped)` from its last, which must be exactly
/// `N passed, N failed, N skipped` (CI reads it).
fn counts(out: &str) -> ((usize, usize), (usize, usize, usize)) {
    let first = out.lines().next().unwrap_or_default();
    let number = |s: Option<&str>| -> usize {
        s.and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no counts in {first:?}"))
    };
    let words: Vec<&str> = first.split(' ').collect();
    assert!(
        words.len() > 4
            && words[0] == "replaying"
            && words[2] == "of"
            && words[3] == "the",
        "first line: {first:?}"
    );
    let replaying = (number(words.get(1).copied()), number(words.get(4).copied()));
    let last = out.lines().last().unwrap_or_default();
    let parts: Vec<&str> = last.split(", ").collect();
    let count = |i: usize, what: &str| -> usize {
        let part = parts.get(i).copied().unwrap_or_default();
        part.strip_suffix(what)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| {
                panic!("last line is not `N passed, N failed, N skipped`: {last:?}")
            })
    };
    assert_eq!(parts.len(), 3, "{last:?}");
    let summary = (
        count(0, " passed"),
        count(1, " failed"),
        count(2, " skipped"),
    );
    (replaying, summary)
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
    let mut summaries = Vec::new();
    for run in runs {
        let (n, code, out) = run.join().expect("a step's run panicked");
        let summary = out.lines().last().unwrap_or_default();
        assert!(
            !out.contains("\nFAIL") && summary.contains(" passed, 0 failed"),
            "step{n:02}:\n{out}"
        );
        assert_eq!(code, Some(0), "step{n:02}:\n{out}");
        // Every case is replayed or skipped with a reason, and nine in ten
        // are replayed: a checkpoint after every chapter.
        let ((replayed, total), (passed, failed, skipped)) = counts(&out);
        assert_eq!(total, recorded_upto(n), "step{n:02}:\n{out}");
        assert_eq!(
            (passed + failed, skipped),
            (replayed, total - replayed),
            "step{n:02}"
        );
        assert!(
            replayed * 10 >= total * 9,
            "step{n:02}: {replayed} of {total}:\n{out}"
        );
        let reasons: usize = out
            .lines()
            .filter_map(|l| l.strip_prefix("NOTE  ")?.split_once(" skipped: "))
            .filter_map(|(n, _)| n.strip_suffix(" cases").or(n.strip_suffix(" case")))
            .filter_map(|n| n.parse::<usize>().ok())
            .sum();
        assert_eq!(
            reasons, skipped,
            "step{n:02}: a summary line for every skip:\n{out}"
        );
        // The book's table of counts says what this run says.
        let row = format!(
            "| {n:02} | {replayed} of {total} | {} |",
            skip_reasons(&out)
        );
        assert!(
            book().lines().any(|l| l == row),
            "the book lacks the row {row}"
        );
        summaries.push((n, summary.to_string()));
    }
    // Each chapter's "Check your server" shows the last line of this very
    // run against its step (chapter 7, which has no step, shows step 6's).
    let mut stale = Vec::new();
    for (n, summary) in summaries {
        // Chapter 7 has no step of its own (it hardens step 6); step 7 is
        // chapter 8's.
        let chapters: &[u8] = match n {
            6 => &[6, 7],
            7 => &[8],
            n => &[n],
        };
        for &ch in chapters {
            let (file, shown) = checkpoint_in_chapter(ch);
            if shown != summary {
                stale.push(format!(
                    "{file}: the checkpoint says {shown:?}, compare --upto {n:02} \
                     says {summary:?} (update the numbers marked checkpoint-count)"
                ));
            }
        }
    }
    assert!(stale.is_empty(), "{}", stale.join("\n"));
}

/// The pass line that chapter `ch`'s "Check your server" shows, without
/// the `<!-- checkpoint-count -->` markers: `**N passed, 0 failed**`.
fn checkpoint_in_chapter(ch: u8) -> (String, String) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/book/src");
    let file = std::fs::read_dir(dir)
        .expect("book/src")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .find(|f| f.starts_with(&format!("ch{ch:02}-")))
        .unwrap_or_else(|| panic!("no chapter {ch:02}"));
    let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("read chapter");
    let shown = text
        .split_once("## Check your server")
        .and_then(|(_, rest)| rest.split_once("this last line:\n\n**"))
        .and_then(|(_, rest)| rest.split_once("**"))
        .map(|(line, _)| line.replace("<!-- checkpoint-count -->", ""))
        .unwrap_or_else(|| panic!("{file}: no pass line in \"Check your server\""));
    (file, shown)
}

/// book/src/appendix-compare.md.
fn book() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/book/src/appendix-compare.md"
    ))
    .expect("the book's compare appendix")
}

/// compare's skip summary lines, as the book's table says them:
/// `2 echo server, 1 env override`, or `none`.
fn skip_reasons(out: &str) -> String {
    const SHORT: &[(&str, &str)] = &[
        ("echo server", "echo server"),
        ("env override", "env override"),
        ("signalled", "signal"),
        ("reads the request differently", "request read differently"),
    ];
    let reasons: Vec<String> = out
        .lines()
        .filter_map(|l| l.strip_prefix("NOTE  ")?.split_once(" skipped: "))
        .filter_map(|(n, why)| {
            let n = n.strip_suffix(" cases").or(n.strip_suffix(" case"))?;
            let short = SHORT.iter().find(|(long, _)| why.contains(long));
            Some(format!("{n} {}", short.map_or(why, |(_, s)| s)))
        })
        .collect();
    match reasons.is_empty() {
        true => "none".into(),
        false => reasons.join(", "),
    }
}

/// Where the book's sample of `--upto 06` is: the `text` block after this
/// line in book/src/appendix-compare.md.
const BOOK_SAMPLE: &str =
    "<!-- compare --upto 06 against step06; tests/compare.rs checks every line -->";

/// The task's bar: `--upto 06` against step06 replays at least nine in ten
/// of all the cases recorded for steps 01 to 06 (counted as in
/// [`recorded_upto`]) and passes; and the sample output in the book is
/// what a real run prints, line for line (`…` at the end of a line: the
/// line starts so; a line `…`: lines left out).
#[test]
fn upto_06_replays_nine_in_ten_of_the_recorded_cases() {
    let srv = common::spawn_step("step06");
    let (code, out) = compare(&["--upto", "06", &srv.addr.to_string()]);
    assert_eq!(code, Some(0), "{out}");
    let ((replayed, total), (passed, failed, skipped)) = counts(&out);
    let step_files = snapshot_files()
        .iter()
        .filter(|(s, _)| s.is_some_and(|s| s <= 6))
        .count();
    let others = snapshot_files().iter().filter(|(s, _)| s.is_none()).count();
    assert_eq!(total, step_files + others, "{out}");
    assert!(replayed * 10 >= total * 9, "{replayed} of {total}:\n{out}");
    assert_eq!(
        (passed, failed, skipped),
        (replayed, 0, total - replayed),
        "{out}"
    );

    assert_book_sample(BOOK_SAMPLE, &out);
}

/// The book's sample after `marker` (the next `text` block) is what this
/// run printed: every line, in order (`…` at the end of a line: the line
/// starts so; a line `…`: lines left out; `$ …`: the command).
fn assert_book_sample(marker: &str, out: &str) {
    let book = book();
    let sample = book
        .split_once(marker)
        .and_then(|(_, after)| after.split_once("```text\n"))
        .and_then(|(_, block)| block.split_once("```"))
        .map(|(block, _)| block)
        .unwrap_or_else(|| panic!("the book has no sample after {marker}"));
    let lines: Vec<&str> = out.lines().collect();
    let mut at = 0;
    for want in sample.lines().filter(|l| !l.starts_with("$ ") && *l != "…") {
        let found = match want.strip_suffix('…') {
            Some(prefix) => lines[at..].iter().position(|l| l.starts_with(prefix)),
            None => lines[at..].iter().position(|l| *l == want),
        };
        let Some(i) = found else {
            panic!(
                "the book shows {want:?}, which this run does not print (in order):\n{out}"
            );
        };
        at += i + 1;
    }
}

/// A server that forgot chapter 4 (keep-alive): step03, checked as a
/// step-04 server. The adapted cases say what is wrong.
#[test]
fn a_server_without_keep_alive_fails_the_adapted_cases() {
    let srv = common::spawn_step("step03");
    let (code, out) = compare(&[
        "--upto",
        "04",
        "--timeout-ms",
        "3000",
        &srv.addr.to_string(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    let line = |case: &str| {
        out.lines()
            .find(|l| l.contains(case))
            .unwrap_or_else(|| panic!("no line for {case}:\n{out}"))
    };
    assert_eq!(
        line("step03_router__unknown_path_not_found"),
        "FAIL  step03_router__unknown_path_not_found  connection: stays open | closed by the server  (adapted: keep-alive)",
        "{out}"
    );
    // What holds at both steps still passes: a parser error closes, a 500
    // closes, an HTTP/1.0 request closes.
    for case in [
        "step02_parse__missing_host",
        "step03_router__panic_becomes_500",
    ] {
        assert!(line(case).starts_with("PASS"), "{out}");
    }
    assert!(
        line("step02_parse__http_1_0_without_host").starts_with("PASS"),
        "{out}"
    );
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
    let (code, out) =
        compare(&["--step", "02", "--timeout-ms", "3000", &addr.to_string()]);
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
    // The book's "Reading the output" shows this run.
    assert_book_sample(
        "<!-- compare --step 02 against a 200-to-everything server; tests/compare.rs checks every line -->",
        &out,
    );
}

/// A first server, as a learner might write it after chapter 3: it
/// routes, but forgets `Content-Length` on its greetings and `Allow` on
/// its 405, and shouts its reason phrases. It reads one request head,
/// answers it, and closes.
fn first_server() -> SocketAddr {
    fn answer(request_line: &str) -> String {
        let date = "Date: Sun, 06 Nov 1994 08:49:37 GMT";
        let plain = "Server: rawhttp\r\nContent-Type: text/plain; charset=utf-8";
        let mut words = request_line.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        match (method, path.strip_prefix("/hello/")) {
            ("GET", Some(name)) => format!(
                "HTTP/1.1 200 OK\r\n{date}\r\n{plain}\r\nConnection: close\r\n\r\n\
                 Hello, {name}!\n"
            ),
            ("GET", None) if path == "/plaintext" => format!(
                "HTTP/1.1 200 OK\r\n{date}\r\n{plain}\r\nContent-Length: 13\r\n\
                 Cache-Control: max-age=60\r\nConnection: close\r\n\r\nHello, world!"
            ),
            ("DELETE", _) => format!(
                "HTTP/1.1 405 Method Not Allowed\r\n{date}\r\n{plain}\r\n\
                 Content-Length: 23\r\nConnection: close\r\n\r\n405 Method Not Allowed\n"
            ),
            _ => format!(
                "HTTP/1.1 404 NOT FOUND\r\n{date}\r\n{plain}\r\n\
                 Content-Length: 14\r\nConnection: close\r\n\r\n404 Not Found\n"
            ),
        }
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 64 * 1024 {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&got);
                let line = head.split("\r\n").next().unwrap_or_default();
                let _ = stream.write_all(answer(line).as_bytes());
            });
        }
    });
    addr
}

/// The lines the book's appendix "Check your own server" shows, from a
/// real run: `compare --step 03` against [`first_server`].
#[test]
fn the_appendix_sample_output_is_real() {
    let addr = first_server().to_string();
    let (code, out) = compare(&["--step", "03", "--timeout-ms", "3000", &addr]);
    assert_eq!(code, Some(1), "{out}");
    // The first and last lines as the book shows them (the case count, the
    // tally), whatever else compare prints around the numbers.
    let first = out.lines().next().unwrap_or_default();
    assert!(first.starts_with("replaying 21 "), "{out}");
    for line in [
        "PASS  step03_router__plaintext",
        "FAIL  step03_router__absolute_form_target  status code: HTTP/1.1 200 OK | HTTP/1.1 404 NOT FOUND",
        "FAIL  step03_router__hello_name  framing: Content-Length: 12 | no Content-Length (body runs until close)",
        "NOTE  step03_router__unknown_path_not_found  reason phrase: Not Found | NOT FOUND",
        "FAIL  step03_router__wrong_method_gets_405_with_allow  required field: Allow: … | (missing)",
    ] {
        assert!(out.lines().any(|l| l == line), "no line {line:?}:\n{out}");
    }
    let last = out.lines().last().unwrap_or_default();
    assert!(last.starts_with("2 passed, 19 failed"), "{out}");
    // The walk-through's second line: with keep-alive, the same mistake.
    let (_, out) = compare(&["--step", "04", "--timeout-ms", "3000", &addr]);
    let line = "FAIL  step04_keep_alive__two_requests_one_connection  framing: \
                Content-Length: 10 | no Content-Length (body runs until close)";
    assert!(out.lines().any(|l| l == line), "no line {line:?}:\n{out}");
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
    let (code, out) =
        compare(&["--step", "02", "--timeout-ms", "300", &addr.to_string()]);
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

/// What a hostile server does once it has sent everything.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// Close the connection (the case's snapshot shows a close).
    Close,
    /// Keep the connection open until compare hangs up (the snapshot
    /// shows it staying open, so compare reads by framing).
    WaitForHangUp,
}

/// A hostile server for exactly one connection; it ends by itself. It
/// reads the request head, writes `h.answer`, then `h.flood` over and over
/// until `h.flood_bytes` are out or compare hangs up, and then does `then`.
/// Every wait has a limit, so a compare that misbehaves cannot hang it.
fn hostile_server(h: &Hostile, then: Then) -> (SocketAddr, thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (answer, flood, flood_bytes) = (h.answer.clone(), h.flood, h.flood_bytes);
    let server = thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        drop(listener);
        let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(30)));
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.windows(4).any(|w| w == b"\r\n\r\n") && got.len() < 64 * 1024 {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        if stream.write_all(&answer).is_err() {
            return;
        }
        if !flood.is_empty() {
            let block = flood.repeat(64 * 1024 / flood.len());
            let mut sent = 0;
            while sent < flood_bytes {
                if stream.write_all(&block).is_err() {
                    return; // compare hung up: it stopped reading, as it should
                }
                sent += block.len();
            }
        }
        if let Then::WaitForHangUp = then {
            while matches!(stream.read(&mut buf), Ok(n) if n > 0) {}
        }
    });
    (addr, server)
}

/// A snapshot directory with one case: `GET /`, answered by a 200 with a
/// two-byte body, after which the server closes or keeps the connection.
fn one_case_snapshots(case: &str, then: Then) -> std::path::PathBuf {
    use rawhttp::transcript::{Step, Transcript};
    let dir =
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("compare_{case}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create the snapshot dir");
    let t = Transcript {
        description: None,
        steps: vec![
            Step::Send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
            Step::Expect {
                bytes: b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
                then_closes: matches!(then, Then::Close),
            },
        ],
    };
    let file = dir.join(format!("step06_hostile__{case}.snap"));
    std::fs::write(file, t.render()).expect("write the snapshot");
    dir
}

/// One way for a server to answer with something compare must not hold.
struct Hostile {
    case: &'static str,
    answer: Vec<u8>,
    /// Sent after `answer`, again and again, up to `flood_bytes` in all.
    flood: &'static [u8],
    flood_bytes: usize,
    /// What the FAIL line must say.
    reason: &'static str,
}

fn hostile(case: &'static str, answer: &str, reason: &'static str) -> Hostile {
    Hostile {
        case,
        answer: answer.as_bytes().to_vec(),
        flood: b"",
        flood_bytes: 0,
        reason,
    }
}

/// Regression: compare reads bytes from servers it does not trust.
/// Absurd sizes and endless bodies are a FAIL (exit 1) that
/// names the problem, found at once: not a panic (exit 101, which the
/// chunk sizes were: `end + 2` overflowed), not a wait until the time
/// limit, and not memory without bound. Each case is replayed once with
/// the connection kept open (compare reads by framing) and once with a
/// close (compare reads until the close).
#[test]
fn hostile_sizes_and_endless_bodies_fail_at_once_with_reasons() {
    const CHUNKED: &str = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    let many = 64 << 20; // 32 times what compare will hold
    let cases = [
        // 2^64 - 20: `at + size` fits, `+ 2` for the CRLF does not.
        hostile(
            "chunk_size_ffffffffffffffec",
            &format!("{CHUNKED}ffffffffffffffec\r\n"),
            // The whole reason, as the book's appendix shows it.
            "response: at most 2 MiB per response (compare reads no more) \
             | chunk size ffffffffffffffec",
        ),
        // After one good chunk (at = 25): at + size = 2^64 - 1, then + 2.
        hostile(
            "chunk_size_overflows_with_its_crlf",
            &format!("{CHUNKED}2\r\nok\r\nffffffffffffffe6\r\n"),
            "| chunk size ffffffffffffffe6, after 7 bytes of chunks",
        ),
        hostile(
            "content_length_u64_max",
            "HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\nok",
            "| Content-Length: 18446744073709551615",
        ),
        // Terminal control in the status line: shown escaped, never sent on
        // to the terminal (ESC [2J clears the screen).
        hostile(
            "escape_in_the_status_line",
            "HTTP/1.1 500 \x1b[2J\r\nContent-Length: 2\r\n\r\nok",
            "| HTTP/1.1 500 \\u{1b}[2J",
        ),
        // No framing: the body runs until a close that does not come soon.
        Hostile {
            flood: b"xxxxxxxx",
            flood_bytes: many,
            ..hostile(
                "endless_body",
                "HTTP/1.1 200 OK\r\n\r\n",
                "compare reads no more) | 2097152 bytes, and still no end",
            )
        },
        // One-byte chunks without end: also costly if decoded again and again.
        Hostile {
            flood: b"1\r\nx\r\n",
            flood_bytes: many,
            ..hostile("endless_chunks", CHUNKED, "compare reads no more) | ")
        },
    ];
    let limit = Duration::from_secs(10);
    let mut problems = Vec::new();
    for h in &cases {
        for then in [Then::WaitForHangUp, Then::Close] {
            let (case, reason) = (h.case, h.reason);
            let dir = one_case_snapshots(case, then);
            let (addr, server) = hostile_server(h, then);
            let start = Instant::now();
            let (code, out) = compare(&[
                "--step",
                "06",
                "--snapshots",
                &dir.to_string_lossy(),
                "--timeout-ms",
                &limit.as_millis().to_string(),
                &addr.to_string(),
            ]);
            let took = start.elapsed();
            let line = out
                .lines()
                .find(|l| l.contains(&format!("__{case}")))
                .unwrap_or_default();
            if code != Some(1) {
                problems
                    .push(format!("{case} ({then:?}): exit {code:?}, not 1 (a FAIL)"));
            }
            if !(line.starts_with("FAIL") && line.contains(reason)) {
                problems.push(format!("{case} ({then:?}): no FAIL line with {reason:?}"));
            }
            if took >= limit / 2 {
                problems.push(format!(
                    "{case} ({then:?}): took {took:?}, as if it waited for the {limit:?} limit"
                ));
            }
            if out.chars().any(|c| c.is_control() && c != '\n') {
                problems.push(format!(
                    "{case} ({then:?}): control characters in the output"
                ));
            }
            problems.extend(
                out.lines()
                    .skip(1)
                    .map(|l| format!("    {}", l.escape_debug())),
            );
            // compare has exited, so the server's reads end; a connect of
            // our own releases its accept if compare never connected.
            drop(TcpStream::connect(addr));
            server.join().expect("the hostile server panicked");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    let failed = problems.iter().any(|p| !p.starts_with("    "));
    assert!(!failed, "{}", problems.join("\n"));
}

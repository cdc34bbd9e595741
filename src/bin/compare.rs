//! `compare`: replay the recorded exchanges in `snapshots/` against any
//! running server (yours, in any language) and report, case by case, where
//! its answers differ and whether the difference matters. Book:
//! book/src/appendix-compare.md.
//!
//! ```text
//! cargo run --bin compare -- --step 05 127.0.0.1:8080
//! cargo run --bin compare -- --upto 04 --exact 127.0.0.1:8080
//! ```
//!
//! Each snapshot is one connection: compare connects to the address given
//! (and nothing else), performs the client's writes and half-closes in
//! order, reads each response the way a client would (by its framing), and
//! checks it against the recorded one. Differences a client would trip over
//! fail the case; differences the protocol allows are notes.
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use std::{env, fs, io, thread};

use anyhow::{Context, bail};
use rawhttp::limits::Limits;
use rawhttp::request::parse_head;
use rawhttp::transcript::{self, Step, Transcript, redact_date, wire};

const USAGE: &str = "\
usage: compare (--step NN | --upto NN) [--exact] [--snapshots DIR] [--timeout-ms MS] HOST:PORT

Replays snapshots/stepNN_*.snap against the server at HOST:PORT.
  --step NN        the cases of step NN
  --upto NN        the cases of steps 01..=NN that still apply to a step-NN server
  --exact          byte for byte (after redacting Date), not only what must match
  --snapshots DIR  where the .snap files are (default: this crate's snapshots/)
  --timeout-ms MS  time limit for each case (default 5000)
Exit status: 0 if every case passed, 1 if any failed, 2 on a usage error.";

/// Between two writes with no read in between, wait this long, so that
/// the server sees them as separate arrivals, as it did when the snapshot
/// was recorded (a request split across writes is the point of such cases).
const WRITE_GAP: Duration = Duration::from_millis(20);

/// After the last response of a case whose snapshot shows the connection
/// staying open, watch this long for an unexpected close.
const OPEN_CHECK: Duration = Duration::from_millis(200);

// ANCHOR: limits
/// A response head longer than this is not worth waiting for.
const MAX_HEAD: usize = 64 * 1024;

/// The most compare holds from a server at once: one response, or, where
/// the snapshot shows a close, everything before the close. Twice the
/// largest body our server accepts (`limits::MAX_BODY_BYTES`, which its
/// echo routes send back), and thousands of times the largest recorded
/// response. The server under test is not trusted: a `Content-Length` or
/// chunk size that would need more fails the case at once, and a server
/// that keeps sending fails it when this much has arrived, instead of
/// compare eating memory until the time limit.
const MAX_RESPONSE_BYTES: usize = 2 * rawhttp::limits::MAX_BODY_BYTES;

/// A chunk-size line (size and extensions) or a trailer field line longer
/// than this is not worth waiting for either.
const MAX_CHUNK_LINE: usize = MAX_HEAD;
// ANCHOR_END: limits

/// [`MAX_RESPONSE_BYTES`], as a FAIL line says it.
fn too_much() -> String {
    format!(
        "at most {} MiB per response (compare reads no more)",
        MAX_RESPONSE_BYTES >> 20
    )
}

/// `println!` that does not panic when stdout has gone away
/// (`compare … | head`): the report is lost, the run is not.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("compare: {e:#}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// Which snapshots to replay.
#[derive(Debug, Clone, Copy)]
enum Selection {
    /// `--step NN`: the cases recorded for step NN.
    Step(u8),
    /// `--upto NN`: step NN's cases, and earlier steps' cases that carry forward.
    Upto(u8),
}

struct Options {
    addr: SocketAddr,
    selection: Selection,
    exact: bool,
    dir: PathBuf,
    timeout: Duration,
}

fn parse_args() -> anyhow::Result<Options> {
    let mut selection = None;
    let mut exact = false;
    let mut dir = None;
    let mut timeout = Duration::from_millis(5000);
    let mut addr = None;
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value =
            |name: &str| args.next().with_context(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--step" => {
                selection = Some(Selection::Step(step_number(&value("--step")?)?))
            }
            "--upto" => {
                selection = Some(Selection::Upto(step_number(&value("--upto")?)?))
            }
            "--exact" => exact = true,
            "--snapshots" => dir = Some(PathBuf::from(value("--snapshots")?)),
            "--timeout-ms" => {
                let ms: u64 = value("--timeout-ms")?.parse().context("--timeout-ms")?;
                timeout = Duration::from_millis(ms.max(1));
            }
            "-h" | "--help" => {
                out!("{USAGE}");
                std::process::exit(0);
            }
            flag if flag.starts_with('-') => bail!("unknown option {flag}"),
            _ if addr.is_some() => bail!("give one address, not several"),
            _ => addr = Some(arg),
        }
    }
    let selection = selection.context("say which snapshots: --step NN or --upto NN")?;
    let addr = addr.context("give the server's address, e.g. 127.0.0.1:7878")?;
    // Resolve once; every connection goes to exactly this address.
    let addr = addr
        .to_socket_addrs()
        .with_context(|| format!("{addr} is not HOST:PORT"))?
        .next()
        .with_context(|| format!("{addr} resolves to no address"))?;
    let dir = match dir {
        Some(dir) => dir,
        None => default_snapshots_dir()?,
    };
    Ok(Options {
        addr,
        selection,
        exact,
        dir,
        timeout,
    })
}

fn step_number(text: &str) -> anyhow::Result<u8> {
    text.parse()
        .ok()
        .filter(|n| *n > 0)
        .with_context(|| format!("{text:?} is not a step number"))
}

/// This crate's `snapshots/`: found from `cargo run` (CARGO_MANIFEST_DIR),
/// the current directory, or where the binary was built.
fn default_snapshots_dir() -> anyhow::Result<PathBuf> {
    let candidates = [
        env::var_os("CARGO_MANIFEST_DIR").map(|d| Path::new(&d).join("snapshots")),
        Some(PathBuf::from("snapshots")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|d| d.is_dir())
        .context("cannot find the snapshots/ directory; pass --snapshots DIR")
}

/// One snapshot file.
struct Case {
    /// The file name without `.snap`: `step02_parse__missing_host`.
    name: String,
    /// NN in `stepNN_`.
    step: u8,
    transcript: Result<Transcript, transcript::FormatError>,
}

/// What to do with a case.
enum Plan {
    Run,
    /// Reported as a NOTE and counted as skipped: the recording depended on
    /// something a replay cannot reproduce.
    Skip(String),
    /// Not shown: an earlier step's case that does not apply to this step.
    LeaveOut,
}

// ANCHOR: carry_forward
/// Which cases to replay against a server of step `target`.
///
/// A step's own cases always apply. An earlier step's case carries forward
/// only if it is about message syntax: its request is one that our own
/// parser (`rawhttp::request::parse_head`, default limits) rejects, with
/// the very status the snapshot shows, or the server answered nothing at
/// all. Such answers come from RFC 9112 (syntax, framing, limits), and
/// every later step must keep them. What a server answers to a *valid*
/// request belongs to its own chapter: step02 reports the request, step03
/// routes it, step02 and 03 close after every response, step04 keeps the
/// connection open. A snapshot marked `step-specific` never carries forward.
fn plan(case: &Case, target: u8) -> Plan {
    let Ok(t) = &case.transcript else {
        return Plan::Run; // reported as a failure: the snapshot is unreadable
    };
    let needs: Vec<&str> = t.notes().filter(|n| *n != "step-specific").collect();
    let applies = case.step == target
        || (!t.notes().any(|n| n == "step-specific") && about_message_syntax(t));
    match (applies, needs.is_empty()) {
        (false, _) => Plan::LeaveOut,
        (true, true) => Plan::Run,
        (true, false) => Plan::Skip(format!(
            "skipped: recorded with {} (not reproducible against a server \
             with default settings)",
            needs.join(", ")
        )),
    }
}

/// Whether the case's only response is the parser's verdict on the request
/// bytes, or there is no response at all.
fn about_message_syntax(t: &Transcript) -> bool {
    let mut sent = Vec::new();
    let mut received = Vec::new();
    for step in &t.steps {
        match step {
            Step::Send(bytes) => sent.extend_from_slice(bytes),
            Step::Expect { bytes, .. } => received.extend_from_slice(bytes),
            Step::CloseWrite => {}
        }
    }
    if received.is_empty() {
        return true;
    }
    let Ok(responses) = split_responses(&received, &mut Methods::new(t), true) else {
        return false; // not HTTP: the echo server
    };
    let verdict = parse_head(&sent, &Limits::default())
        .err()
        .map(|e| e.status().as_u16());
    matches!(responses.as_slice(), [only] if Some(only.status) == verdict)
}
// ANCHOR_END: carry_forward

fn load_cases(dir: &Path, selection: Selection) -> anyhow::Result<Vec<Case>> {
    let (min, max) = match selection {
        Selection::Step(n) => (n, n),
        Selection::Upto(n) => (1, n),
    };
    let mut cases = Vec::new();
    for entry in
        fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?
    {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(name) = name.strip_suffix(".snap") else {
            continue;
        };
        let Some(step) = name
            .strip_prefix("step")
            .and_then(|s| s.get(..2)?.parse().ok())
        else {
            continue;
        };
        if !(min..=max).contains(&step) {
            continue;
        }
        let text = fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        cases.push(Case {
            name: name.to_string(),
            step,
            transcript: transcript::parse(&text),
        });
    }
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cases)
}

fn run() -> anyhow::Result<bool> {
    let opts = parse_args()?;
    let cases = load_cases(&opts.dir, opts.selection)?;
    let target = match opts.selection {
        Selection::Step(n) | Selection::Upto(n) => n,
    };
    let plans: Vec<Plan> = cases.iter().map(|c| plan(c, target)).collect();
    let left_out = plans.iter().filter(|p| matches!(p, Plan::LeaveOut)).count();
    if cases.len() == left_out {
        bail!(
            "no snapshots for step {target:02} in {}",
            opts.dir.display()
        );
    }
    out!(
        "replaying {} cases from {} against {} (each line: expected | got){}",
        cases.len() - left_out,
        opts.dir.display(),
        opts.addr,
        if left_out > 0 {
            format!(
                "; {left_out} cases of earlier steps do not apply to step {target:02}"
            )
        } else {
            String::new()
        }
    );
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (case, plan) in cases.iter().zip(&plans) {
        let verdict = match (plan, &case.transcript) {
            (Plan::LeaveOut, _) => continue,
            (Plan::Skip(why), _) => {
                skipped += 1;
                out!("NOTE  {}  {why}", case.name);
                continue;
            }
            (Plan::Run, Err(e)) => {
                Verdict::fail("snapshot unreadable", "", &e.to_string())
            }
            (Plan::Run, Ok(t)) => replay(t, &opts),
        };
        match verdict.fail {
            Some(d) => {
                failed += 1;
                out!("FAIL  {}  {d}", case.name);
            }
            None => {
                passed += 1;
                match verdict.notes.first() {
                    Some(d) => out!("NOTE  {}  {d}", case.name),
                    None => out!("PASS  {}", case.name),
                }
            }
        }
    }
    let skipped = if skipped > 0 {
        format!(", {skipped} skipped")
    } else {
        String::new()
    };
    out!("{passed} passed, {failed} failed{skipped}");
    Ok(failed == 0)
}

/// One difference: what differs, the snapshot's side, the server's side.
struct Diff {
    what: String,
    expected: String,
    got: String,
}

impl std::fmt::Display for Diff {
    /// Control characters are escaped: the status line, reason phrase and
    /// field values come from the server, and an ESC in them must not
    /// reach the terminal as one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} | {}",
            printable(&self.what),
            short(&printable(&self.expected)),
            short(&printable(&self.got))
        )
    }
}

/// `s` with its control characters escaped (`\u{1b}`); [`show`]'s output
/// has none, so it comes through unchanged.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| match c.is_control() {
            true => c.escape_default().to_string(),
            false => c.to_string(),
        })
        .collect()
}

/// Long values are cut, so that a case stays on one line.
fn short(s: &str) -> String {
    const MAX: usize = 60;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// Bytes on one line: [`wire`] escaping, without its line breaks.
fn show(bytes: &[u8]) -> String {
    wire(bytes).replace('\n', "")
}

fn diff(what: &str, expected: &str, got: &str) -> Diff {
    Diff {
        what: what.to_string(),
        expected: expected.to_string(),
        got: got.to_string(),
    }
}

/// The outcome of one case: the first must-match difference, if any, and
/// the may-differ ones.
#[derive(Default)]
struct Verdict {
    fail: Option<Diff>,
    notes: Vec<Diff>,
}

impl Verdict {
    fn fail(what: &str, expected: &str, got: &str) -> Verdict {
        Verdict {
            fail: Some(diff(what, expected, got)),
            notes: Vec::new(),
        }
    }
}

// ANCHOR: replay
/// Replay one case on a fresh connection, within `opts.timeout`.
fn replay(t: &Transcript, opts: &Options) -> Verdict {
    let deadline = Instant::now() + opts.timeout;
    let stream = match TcpStream::connect_timeout(&opts.addr, opts.timeout) {
        Ok(s) => s,
        Err(e) => return Verdict::fail("connect", "a connection", &e.to_string()),
    };
    let mut conn = Conn {
        stream,
        buf: Vec::new(),
        deadline,
    };
    let mut methods = Methods::new(t);
    let mut verdict = Verdict::default();
    let mut after_send = false;
    for step in &t.steps {
        let result = match step {
            Step::Send(bytes) => {
                if after_send {
                    thread::sleep(WRITE_GAP);
                }
                conn.send(bytes)
            }
            Step::CloseWrite => conn
                .stream
                .shutdown(Shutdown::Write)
                .map_err(|e| diff("half-close", "shutdown(Write)", &e.to_string())),
            Step::Expect { bytes, then_closes } => expect(
                &mut conn,
                bytes,
                *then_closes,
                &mut methods,
                opts.exact,
                &mut verdict.notes,
            ),
        };
        if let Err(d) = result {
            verdict.fail = Some(d);
            return verdict;
        }
        after_send = matches!(step, Step::Send(_));
    }
    // The snapshot ends with the connection open: it should stay open.
    if let Some(Step::Expect {
        then_closes: false, ..
    }) = t.steps.last()
    {
        if let Err(d) = conn.stays_open() {
            verdict.fail = Some(d);
        }
    }
    verdict
}

/// Read what one `<-- server sends` section recorded and compare.
fn expect(
    conn: &mut Conn,
    expected: &[u8],
    then_closes: bool,
    methods: &mut Methods,
    exact: bool,
    notes: &mut Vec<Diff>,
) -> Result<(), Diff> {
    if !expected.is_empty() && !expected.starts_with(b"HTTP/") {
        return expect_raw(conn, expected, then_closes);
    }
    let wanted = split_responses(expected, &mut methods.clone(), true)
        .map_err(|e| e.diff("snapshot"))?;

    // Read the server's responses the way a client would: by their framing,
    // or, where the snapshot shows a close, everything until the close.
    let (got, responses, closed) = if then_closes {
        let (got, closed) = conn.read_to_close()?;
        // If the server never closed, still read what it sent as if it had:
        // a response without Content-Length explains the hang better.
        let responses = split_responses(&got, methods, true);
        (got, responses, closed)
    } else {
        let (mut got, mut responses) = (Vec::new(), Vec::new());
        for _ in &wanted {
            let (response, raw) = conn.read_response(methods.peek_is_head())?;
            methods.answer(response.status);
            got.extend(raw);
            responses.push(response);
        }
        (got, Ok(responses), true)
    };

    if exact {
        let (e, g) = (wire(expected), redact_date(&wire(&got)));
        let (el, gl): (Vec<&str>, Vec<&str>) = (e.lines().collect(), g.lines().collect());
        if let Some(i) = (0..el.len().max(gl.len())).find(|&i| el.get(i) != gl.get(i)) {
            let line =
                |ls: &[&str]| ls.get(i).map_or("(end)".to_string(), |l| l.to_string());
            return Err(diff(
                &format!("line {} (--exact)", i + 1),
                &line(&el),
                &line(&gl),
            ));
        }
    } else if got.is_empty() && !closed {
        let first = wanted.first().map_or("a close", |r| r.status_line.as_str());
        return Err(diff(
            "response",
            first,
            "nothing, and no close, within the time limit",
        ));
    } else {
        let responses = responses.map_err(|e| e.diff("response"))?;
        compare_all(&wanted, &responses, notes)?;
    }
    if !closed {
        let waited = "still open when the time limit passed";
        return Err(diff("connection", "closes after the response", waited));
    }
    Ok(())
}

fn compare_all(
    wanted: &[Response],
    got: &[Response],
    notes: &mut Vec<Diff>,
) -> Result<(), Diff> {
    for (i, w) in wanted.iter().enumerate() {
        let Some(g) = got.get(i) else {
            let none = if i == 0 {
                "no response"
            } else {
                "no more responses"
            };
            return Err(diff("response", &show(w.status_line.as_bytes()), none));
        };
        compare(w, g, notes)?;
    }
    if let Some(extra) = got.get(wanted.len()) {
        return Err(diff(
            "response",
            "nothing more",
            &show(extra.status_line.as_bytes()),
        ));
    }
    Ok(())
}

/// Bytes that are not HTTP (the echo server): they must come back exactly.
fn expect_raw(conn: &mut Conn, expected: &[u8], then_closes: bool) -> Result<(), Diff> {
    let got = if then_closes {
        let (got, closed) = conn.read_to_close()?;
        if !closed {
            return Err(diff(
                "connection",
                "closes",
                "still open when the time limit passed",
            ));
        }
        got
    } else {
        conn.read_exact(expected.len())?
    };
    match expected.iter().zip(&got).position(|(e, g)| e != g) {
        Some(at) => {
            let from = at.saturating_sub(8);
            Err(diff(
                &format!("byte {at}"),
                &show(&expected[from..(at + 8).min(expected.len())]),
                &show(&got[from..(at + 8).min(got.len())]),
            ))
        }
        None if got.len() != expected.len() => Err(diff(
            "length",
            &format!("{} bytes", expected.len()),
            &format!("{} bytes", got.len()),
        )),
        None => Ok(()),
    }
}
// ANCHOR_END: replay

// ANCHOR: rules
/// Compare one response with the recorded one. The first difference a
/// client would trip over is returned as the failure; allowed differences
/// are added to `notes`.
fn compare(want: &Response, got: &Response, notes: &mut Vec<Diff>) -> Result<(), Diff> {
    // Must match: what every client acts on.
    if got.version != want.version {
        return Err(diff("version", &want.version, &got.version));
    }
    if got.status != want.status {
        return Err(diff("status code", &want.status_line, &got.status_line));
    }
    // Error bodies are prose, so their length may differ, but not the framing.
    let error = want.status >= 400;
    let (wf, gf) = (want.framing_label(), got.framing_label());
    if if error {
        wf.split(':').next() != gf.split(':').next()
    } else {
        wf != gf
    } {
        return Err(diff("framing", &wf, &gf));
    }
    if !error && got.body != want.body {
        return Err(first_line_diff("body", &want.body, &got.body));
    }
    let mut required = vec!["Date"];
    if want.status == 405 {
        required.push("Allow"); // RFC 9110 §15.5.6: MUST generate Allow
    }
    if matches!(want.status, 301 | 302 | 303 | 307 | 308) {
        required.push("Location"); // RFC 9110 §10.2.2
    }
    for name in required {
        if want.field(name).is_some() && got.field(name).is_none() {
            return Err(diff("required field", &format!("{name}: …"), "(missing)"));
        }
    }
    if want.has_close() && !got.has_close() {
        // RFC 9112 §9.6: a server that is going to close says so, or a
        // client may send its next request into a closing connection.
        return Err(diff("Connection: close", "Connection: close", "(missing)"));
    }
    may_differ(want, got, notes);
    Ok(())
}
// ANCHOR_END: rules

// ANCHOR: may_differ
/// What may differ between two responses that agree on everything a client
/// acts on: wording, extra fields, order and case, error prose. Each
/// difference is added to `notes`.
fn may_differ(want: &Response, got: &Response, notes: &mut Vec<Diff>) {
    let error = want.status >= 400;
    if got.reason != want.reason {
        notes.push(diff("reason phrase", &want.reason, &got.reason));
    }
    for (name, value) in &want.fields {
        let framing = ["date", "content-length", "transfer-encoding"];
        if framing.contains(&name.to_ascii_lowercase().as_str()) {
            continue;
        }
        match got.field(name) {
            None => notes.push(diff("field", &format!("{name}: {value}"), "(missing)")),
            Some(v) if v != value => notes.push(diff(name, value, v)),
            Some(_) => {}
        }
    }
    for (name, value) in &got.fields {
        if want.field(name).is_none() {
            notes.push(diff("extra field", "", &format!("{name}: {value}")));
        }
    }
    let names =
        |r: &Response| r.fields.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(want) != names(got) {
        notes.push(diff(
            "field order or case",
            &names(want).join(", "),
            &names(got).join(", "),
        ));
    }
    if error && got.body != want.body {
        notes.push(first_line_diff("error body", &want.body, &got.body));
    }
}
// ANCHOR_END: may_differ

/// The first line where two bodies differ.
fn first_line_diff(what: &str, want: &[u8], got: &[u8]) -> Diff {
    let (w, g) = (show(want), show(got));
    let (wl, gl): (Vec<&str>, Vec<&str>) = (
        w.split_inclusive("\\n").collect(),
        g.split_inclusive("\\n").collect(),
    );
    let at = wl
        .iter()
        .zip(&gl)
        .position(|(a, b)| a != b)
        .unwrap_or(wl.len().min(gl.len()));
    let line = |ls: &[&str]| ls.get(at).map_or("(end)".to_string(), |l| l.to_string());
    diff(&format!("{what} line {}", at + 1), &line(&wl), &line(&gl))
}

/// A response as a client sees it.
#[derive(Debug, Clone)]
struct Response {
    status_line: String,
    version: String,
    status: u16,
    reason: String,
    /// Name as sent, value trimmed.
    fields: Vec<(String, String)>,
    framing: Framing,
    /// After de-chunking.
    body: Vec<u8>,
}

// ANCHOR: framing
/// How the end of a response body is found (RFC 9112 §6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// A response to HEAD, 1xx, 204 and 304: the head is all there is.
    NoBody,
    /// `Transfer-Encoding: chunked`: chunks until one of size zero.
    Chunked,
    /// `Content-Length: N`: exactly N bytes.
    Length(usize),
    /// Neither: the body runs until the server closes the connection, so a
    /// client cannot tell a complete body from a cut one.
    UntilClose,
}
// ANCHOR_END: framing

impl Response {
    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn has_close(&self) -> bool {
        self.fields.iter().any(|(n, v)| {
            n.eq_ignore_ascii_case("connection")
                && v.split(',').any(|t| t.trim().eq_ignore_ascii_case("close"))
        })
    }

    /// The framing as the head announces it (also for a HEAD response).
    fn framing_label(&self) -> String {
        if self.framing == Framing::Chunked {
            "Transfer-Encoding: chunked".into()
        } else if let Some(n) = self.field("content-length") {
            format!("Content-Length: {n}")
        } else if self.framing == Framing::NoBody {
            "no body".into()
        } else {
            "no Content-Length (body runs until close)".into()
        }
    }
}

/// Which requests the client sent are HEAD: their responses have no body
/// whatever Content-Length says, so a reader must know (RFC 9110 §9.3.2).
#[derive(Debug, Clone)]
struct Methods {
    head: Vec<bool>,
    /// Final responses read so far; 1xx responses do not answer a request.
    answered: usize,
}

impl Methods {
    fn new(t: &Transcript) -> Methods {
        let sent: Vec<u8> = t
            .steps
            .iter()
            .filter_map(|s| {
                if let Step::Send(b) = s {
                    Some(b.as_slice())
                } else {
                    None
                }
            })
            .flatten()
            .copied()
            .collect();
        Methods {
            head: request_methods_are_head(&sent),
            answered: 0,
        }
    }

    fn peek_is_head(&self) -> bool {
        self.head.get(self.answered).copied().unwrap_or(false)
    }

    fn answer(&mut self, status: u16) {
        if status >= 200 {
            self.answered += 1;
        }
    }
}

/// For each request in `sent`, whether its method is HEAD. Good enough to
/// walk well-formed requests (head, then a Content-Length body); it stops at
/// anything else, where the server will have stopped too.
fn request_methods_are_head(mut sent: &[u8]) -> Vec<bool> {
    let mut head = Vec::new();
    loop {
        while let Some(rest) = sent.strip_prefix(b"\r\n") {
            sent = rest; // RFC 9112 §2.2: empty lines before a request
        }
        let Some(end) = find(sent, b"\r\n\r\n") else {
            break;
        };
        let text = String::from_utf8_lossy(sent.get(..end).unwrap_or_default());
        head.push(text.starts_with("HEAD "));
        let length = text
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| decimal(v.trim())?.ok())
            .unwrap_or(0);
        // Checked: a snapshot from `--snapshots DIR` can say anything.
        match end
            .checked_add(4)
            .and_then(|n| n.checked_add(length))
            .and_then(|n| sent.get(n..))
        {
            Some(rest) => sent = rest,
            None => break,
        }
    }
    head
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Why bytes cannot be read as a response: what a client needs there, and
/// what the server sent instead. Everything a server can send ends as a
/// response or as one of these (a FAIL), never as a panic, and never as a
/// wait for bytes that compare would refuse to hold anyway.
#[derive(Debug)]
struct Unreadable {
    expected: String,
    got: String,
}

fn unreadable(expected: impl Into<String>, got: impl Into<String>) -> Unreadable {
    Unreadable {
        expected: expected.into(),
        got: got.into(),
    }
}

impl Unreadable {
    /// As a [`Diff`] about `what` (the server's response, or the snapshot).
    fn diff(&self, what: &str) -> Diff {
        diff(what, &self.expected, &self.got)
    }
}

/// Split what a server sent into responses. `closed`: the server closed
/// after these bytes, so a body framed by close is complete.
fn split_responses(
    mut bytes: &[u8],
    methods: &mut Methods,
    closed: bool,
) -> Result<Vec<Response>, Unreadable> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        match frame(bytes, methods.peek_is_head(), closed, &mut 0)? {
            Some((response, used)) => {
                methods.answer(response.status);
                out.push(response);
                // `frame` never reports more than it was given; if it did,
                // the rest is simply not there.
                bytes = bytes.get(used..).unwrap_or_default();
            }
            None if closed => {
                return Err(unreadable(
                    "a complete response, then close",
                    cut_short(bytes),
                ));
            }
            None => return Err(unreadable("a complete response", cut_short(bytes))),
        }
    }
    Ok(out)
}

fn cut_short(bytes: &[u8]) -> String {
    let tail = bytes
        .get(bytes.len().saturating_sub(30)..)
        .unwrap_or_default();
    format!("{} bytes, ending …{}", bytes.len(), short(&show(tail)))
}

/// The first response in `buf`, and how many bytes it used; `None` if it is
/// not all there yet.
///
/// `buf` comes from a server that is not trusted: lengths are parsed digit
/// by digit with checked arithmetic, every slice is taken with `get`, and a
/// length that would take the response past [`MAX_RESPONSE_BYTES`] is an
/// error now, not a wait for bytes compare would never hold.
///
/// `checked` is [`dechunk`]'s progress through a chunked body: 0 for a new
/// response, and the same variable again when `buf` has only grown.
fn frame(
    buf: &[u8],
    head_request: bool,
    closed: bool,
    checked: &mut usize,
) -> Result<Option<(Response, usize)>, Unreadable> {
    let Some(head_len) = find(buf, b"\r\n\r\n") else {
        if find(buf, b"\n\n").is_some() {
            return Err(unreadable(
                "lines that end in CRLF (RFC 9112 §2.1)",
                "bare LF",
            ));
        }
        if buf.len() > MAX_HEAD {
            return Err(unreadable(
                format!("a response head of at most {} KiB", MAX_HEAD >> 10),
                format!("{} bytes without an empty line", buf.len()),
            ));
        }
        return Ok(None);
    };
    let head_end = head_len.saturating_add(4);
    let head = String::from_utf8_lossy(buf.get(..head_len).unwrap_or_default());
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let bad_status = || unreadable("a status line", show(status_line.as_bytes()));
    let (version, rest) = status_line.split_once(' ').ok_or_else(bad_status)?;
    let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
    // status-code = 3DIGIT (RFC 9112 §4); `str::parse` would take `+20`.
    let status: u16 = match code.parse() {
        Ok(s)
            if code.len() == 3
                && code.bytes().all(|b| b.is_ascii_digit())
                && version.starts_with("HTTP/") =>
        {
            s
        }
        _ => return Err(bad_status()),
    };
    let mut fields = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| unreadable("a field line", show(line.as_bytes())))?;
        fields.push((name.to_string(), value.trim().to_string()));
    }
    let mut response = Response {
        version: version.to_string(),
        status,
        reason: reason.to_string(),
        fields,
        framing: Framing::UntilClose,
        body: Vec::new(),
        status_line,
    };
    // What compare will hold of this response's body.
    let budget = MAX_RESPONSE_BYTES.saturating_sub(head_end);
    response.framing = if head_request || status < 200 || status == 204 || status == 304 {
        Framing::NoBody
    } else if response.field("transfer-encoding").is_some_and(|te| {
        // RFC 9112 §6.3, rule 4: chunked if it is the final coding (and
        // not merely a name that ends in `chunked`).
        te.rsplit(',')
            .next()
            .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
    }) {
        Framing::Chunked
    } else if let Some(n) = response.field("content-length") {
        let got = || format!("Content-Length: {}", show(n.as_bytes()));
        match decimal(n) {
            Some(Ok(len)) if len <= budget => Framing::Length(len),
            Some(_) => return Err(unreadable(too_much(), got())),
            None => return Err(unreadable("a Content-Length (1*DIGIT)", got())),
        }
    } else {
        Framing::UntilClose
    };
    let rest = buf.get(head_end..).unwrap_or_default();
    let (body, used) = match response.framing {
        Framing::NoBody => (Vec::new(), 0),
        Framing::Length(n) => match rest.get(..n) {
            Some(body) => (body.to_vec(), n),
            None => return Ok(None),
        },
        Framing::Chunked => match dechunk(rest, budget, checked)? {
            Some(done) => done,
            None => return Ok(None),
        },
        Framing::UntilClose if closed => (rest.to_vec(), rest.len()),
        Framing::UntilClose => return Ok(None),
    };
    response.body = body;
    Ok(Some((response, head_end.saturating_add(used))))
}

/// A Content-Length value (RFC 9110 §8.6: `1*DIGIT`), digit by digit:
/// `None` if it is not digits, `Some(Err(()))` if it does not fit a `usize`.
fn decimal(text: &str) -> Option<Result<usize, ()>> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().try_fold(0usize, |n, d| {
        n.checked_mul(10)
            .and_then(|n| n.checked_add(usize::from(d - b'0')))
            .ok_or(())
    }))
}

/// A chunk size (RFC 9112 §7.1: `chunk-size = 1*HEXDIG`), digit by digit:
/// `None` if it is not hex digits, `Some(Err(()))` if it does not fit a
/// `usize`. RFC 9112 §7.1:
///
/// > Recipients MUST anticipate potentially large hexadecimal numerals and
/// > prevent parsing errors due to integer conversion overflows or
/// > precision loss due to integer representation.
fn hexadecimal(text: &str) -> Option<Result<usize, ()>> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(text.bytes().try_fold(0usize, |n, d| {
        let d = char::from(d).to_digit(16).ok_or(())?;
        n.checked_mul(16)
            .and_then(|n| n.checked_add(d as usize))
            .ok_or(())
    }))
}

/// One step through a chunked body (RFC 9112 §7.1).
enum Chunk {
    /// A chunk whose data is `buf[data]`; the next chunk starts at `next`.
    Data {
        data: std::ops::Range<usize>,
        next: usize,
    },
    /// The last chunk and the trailer section: the body ends at `end`.
    Last { end: usize },
}

/// The chunk that starts at `at` in `buf`; `None` if it is not all there.
/// The chunked bytes may take at most `budget`: a chunk size that goes
/// past it is an error at once, whether or not its data has arrived.
fn next_chunk(buf: &[u8], at: usize, budget: usize) -> Result<Option<Chunk>, Unreadable> {
    // One line from `at`: its length without the CRLF; `None` if the CRLF
    // has not arrived yet.
    let line_at = |at: usize| -> Result<Option<usize>, Unreadable> {
        let rest = buf.get(at..).unwrap_or_default();
        match find(rest, b"\r\n") {
            Some(len) if len <= MAX_CHUNK_LINE => Ok(Some(len)),
            None if rest.len() <= MAX_CHUNK_LINE => Ok(None),
            _ => Err(unreadable(
                format!(
                    "a chunk-size or trailer line of at most {} KiB",
                    MAX_CHUNK_LINE >> 10
                ),
                format!("{} bytes without CRLF", rest.len()),
            )),
        }
    };
    let Some(line_len) = line_at(at)? else {
        return Ok(None);
    };
    let line_end = at.saturating_add(line_len);
    let line = String::from_utf8_lossy(buf.get(at..line_end).unwrap_or_default());
    // chunk = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
    let digits = line.split(';').next().unwrap_or_default().trim();
    let too_big = || {
        let after = match at {
            0 => String::new(),
            n => format!(", after {n} bytes of chunks"),
        };
        unreadable(too_much(), format!("chunk size {}{after}", short(digits)))
    };
    let size = match hexadecimal(digits) {
        Some(Ok(size)) => size,
        Some(Err(())) => return Err(too_big()),
        None => return Err(unreadable("a chunk size (1*HEXDIG)", show(line.as_bytes()))),
    };
    let data_start = line_end.saturating_add(2);
    if size == 0 {
        // last-chunk, then trailer fields, then the empty line.
        let mut at = data_start;
        loop {
            let Some(len) = line_at(at)? else {
                return Ok(None);
            };
            at = at.saturating_add(len).saturating_add(2);
            if at > budget {
                return Err(unreadable(too_much(), "trailer fields past that"));
            }
            if len == 0 {
                return Ok(Some(Chunk::Last { end: at }));
            }
        }
    }
    // The data and its CRLF end here. Past the budget, or past what a
    // `usize` can count (`ffffffffffffffec`), is the same answer.
    let data_end = data_start.checked_add(size).ok_or_else(too_big)?;
    let next = match data_end.checked_add(2) {
        Some(next) if next <= budget => next,
        _ => return Err(too_big()),
    };
    match buf.get(data_end..next) {
        None => Ok(None),
        Some(b"\r\n") => Ok(Some(Chunk::Data {
            data: data_start..data_end,
            next,
        })),
        Some(other) => Err(unreadable("CRLF after the chunk data", show(other))),
    }
}

/// Decode a chunked body: the body, and the bytes used; `None` if it is
/// not all there. `checked` is how far chunks are already known to be
/// good (a chunk boundary): a caller that calls again for the same
/// response with more bytes passes the same value, so that a body of many
/// small chunks costs time linear in its size, not quadratic.
fn dechunk(
    buf: &[u8],
    budget: usize,
    checked: &mut usize,
) -> Result<Option<(Vec<u8>, usize)>, Unreadable> {
    let end = loop {
        match next_chunk(buf, *checked, budget)? {
            None => return Ok(None),
            Some(Chunk::Data { next, .. }) => *checked = next,
            Some(Chunk::Last { end }) => break end,
        }
    };
    // All there and checked: collect the data, once.
    let mut body = Vec::new();
    let mut at = 0;
    while let Some(Chunk::Data { data, next }) = next_chunk(buf, at, budget)? {
        body.extend_from_slice(buf.get(data).unwrap_or_default());
        at = next;
    }
    Ok(Some((body, end)))
}

/// The connection under test, with what has been read but not used yet.
/// Every read waits at most until the case's deadline.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    deadline: Instant,
}

/// How a read ended when it returned no data.
enum Read {
    Data,
    Closed,
    TimedOut,
}

impl Conn {
    fn send(&mut self, bytes: &[u8]) -> Result<(), Diff> {
        let left = self
            .deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        let _ = self.stream.set_write_timeout(Some(left));
        io::Write::write_all(&mut self.stream, bytes).map_err(|e| {
            diff(
                "send",
                &format!("{} bytes written", bytes.len()),
                &describe(&e),
            )
        })
    }

    /// Read once more into `buf`, waiting at most until the deadline, and
    /// never past [`MAX_RESPONSE_BYTES`] in `buf`: a server that keeps
    /// sending fails the case here.
    fn fill(&mut self) -> Result<Read, Diff> {
        let room = MAX_RESPONSE_BYTES.saturating_sub(self.buf.len());
        if room == 0 {
            let got = format!("{} bytes, and still no end", self.buf.len());
            return Err(diff("response", &too_much(), &got));
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Read::TimedOut);
        }
        let _ = self.stream.set_read_timeout(Some(left));
        let mut chunk = [0u8; 16 * 1024];
        let want = chunk.len().min(room);
        match io::Read::read(&mut self.stream, chunk.get_mut(..want).unwrap_or_default())
        {
            Ok(0) => Ok(Read::Closed),
            Ok(n) => {
                self.buf
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                Ok(Read::Data)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(Read::TimedOut)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(Read::Data),
            Err(e) => Err(diff(
                "connection",
                "a response, or a clean close",
                &describe(&e),
            )),
        }
    }

    /// The first `n` bytes of `buf`. `frame` never reports more bytes
    /// used than it was given; `min` keeps even a mistake there from
    /// becoming a panic.
    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n.min(self.buf.len())).collect()
    }

    /// One response, by its framing, and its raw bytes.
    fn read_response(&mut self, head_request: bool) -> Result<(Response, Vec<u8>), Diff> {
        // The buffer only grows until this response is complete, so the
        // chunks checked so far stay checked.
        let mut checked = 0;
        loop {
            match frame(&self.buf, head_request, false, &mut checked) {
                Ok(Some((response, used))) => return Ok((response, self.take(used))),
                Ok(None) => {}
                Err(e) => return Err(e.diff("response")),
            }
            let how = match self.fill()? {
                Read::Data => continue,
                Read::Closed => "closed",
                Read::TimedOut => "timed out",
            };
            // The server closed or went quiet. A body framed by close ends
            // here; returning it lets `compare` name the framing problem.
            if let Ok(Some((response, used))) =
                frame(&self.buf, head_request, true, &mut checked)
            {
                return Ok((response, self.take(used)));
            }
            let got = match self.buf.is_empty() {
                true => format!("{how} without sending anything"),
                false => format!("{how} after {}", show(&self.buf)),
            };
            return Err(diff("response", "a complete response", &got));
        }
    }

    /// Exactly `n` bytes (the echo server).
    fn read_exact(&mut self, n: usize) -> Result<Vec<u8>, Diff> {
        while self.buf.len() < n {
            match self.fill()? {
                Read::Data => {}
                Read::Closed => {
                    return Err(diff(
                        "echo",
                        &format!("{n} bytes"),
                        &format!("close after {}", self.buf.len()),
                    ));
                }
                Read::TimedOut => {
                    return Err(diff(
                        "echo",
                        &format!("{n} bytes"),
                        &format!("{} bytes, then nothing (timed out)", self.buf.len()),
                    ));
                }
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Everything until the server closes; and whether it did close
    /// before the deadline.
    fn read_to_close(&mut self) -> Result<(Vec<u8>, bool), Diff> {
        loop {
            match self.fill()? {
                Read::Data => {}
                Read::Closed => return Ok((std::mem::take(&mut self.buf), true)),
                Read::TimedOut => return Ok((std::mem::take(&mut self.buf), false)),
            }
        }
    }

    /// The snapshot leaves the connection open: it must not close (or send
    /// anything) within [`OPEN_CHECK`].
    fn stays_open(&mut self) -> Result<(), Diff> {
        self.deadline = self.deadline.min(Instant::now() + OPEN_CHECK);
        match self.fill()? {
            Read::TimedOut => Ok(()),
            Read::Closed => Err(diff("connection", "stays open", "closed by the server")),
            Read::Data => Err(diff("connection", "nothing more", &show(&self.buf))),
        }
    }
}

/// A failed read or write, in words (a reset is the usual one).
fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionReset => "connection reset by the server (RST)".into(),
        io::ErrorKind::BrokenPipe => "the server had closed the connection".into(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "timed out".into(),
        _ => e.to_string(),
    }
}

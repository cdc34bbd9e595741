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
//!
//! `--upto NN` is the learner's checkpoint after chapter NN: every case
//! recorded for steps 01 to NN, each replayed as recorded, or adapted where
//! a later step legitimately answers differently ([`Adapt`]: the connection
//! stays open from step04 on, step02's report becomes the application's
//! answer, chunked bodies are decoded from step06 on), or skipped with its
//! reason ([`Skip`]). Both follow from [`Traits`], a table of what each step
//! does; the summary at the end counts the cases of each adaptation and of
//! each reason, and the last line is always `N passed, N failed, N skipped`.
use std::collections::BTreeMap;
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use std::{env, fs, io, thread};

use anyhow::{Context, bail};
use rawhttp::chunked::Decoder;
use rawhttp::limits::Limits;
use rawhttp::request::{
    Framing as RequestFraming, Status, Version, parse_head, trim_ows,
};
use rawhttp::transcript::{self, Step, Transcript, redact_date, wire};

const USAGE: &str = "\
usage: compare (--step NN | --upto NN) [--exact] [--snapshots DIR] [--timeout-ms MS] HOST:PORT

Replays snapshots/*.snap against the server at HOST:PORT.
  --step NN        the cases recorded for step NN
  --upto NN        the cases of steps 01..=NN, adapted to a step-NN server where a
                   later step answers differently; the others skipped, with reasons
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
    /// `--upto NN`: the cases of steps 01 to NN, adapted to step NN ([`plan`]).
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
    /// The step whose server recorded it ([`recorded_step`]).
    step: u8,
    transcript: Result<Transcript, transcript::FormatError>,
}

// ANCHOR: recorded_against
/// Test files that are about no one step, and the step binary their
/// snapshots were recorded against (the `spawn("step06", …)` in each). Their
/// cases count as that step's: `--step 06` replays them, and so does
/// `--upto NN` for every NN from 06 on. When a later step takes such a file
/// over, its number changes here, in the same change that records the
/// snapshots again. A unit test checks that every snapshot has a step.
const RECORDED_AGAINST: &[(&str, u8)] = &[("hostile_clients", 6), ("smuggling", 6)];
// ANCHOR_END: recorded_against

/// The step whose server recorded the snapshot `name`: NN in `stepNN_…`,
/// or its test file's step in [`RECORDED_AGAINST`].
fn recorded_step(name: &str) -> Option<u8> {
    let numbered = name
        .strip_prefix("step")
        .and_then(|s| s.get(..2)?.parse().ok());
    numbered.or_else(|| {
        let (file, _) = name.split_once("__")?;
        let (_, step) = RECORDED_AGAINST.iter().find(|(f, _)| *f == file)?;
        Some(*step)
    })
}

// ANCHOR: traits
/// What a step's server does, as far as replaying an earlier step's case
/// depends on it (read from `steps/stepNN_*.rs`). Every adaptation and every
/// skip in [`plan`] follows from a difference between two rows of this
/// table, never from a snapshot's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Traits {
    /// What answers the bytes a client sends.
    app: App,
    /// A connection carries many requests (ch04, `conn::keep_alive`).
    /// Before, one (`conn::one_request`): every response says
    /// `Connection: close`, and the server closes after it.
    keep_alive: bool,
    /// Chunked request bodies are decoded (ch06, `.chunked()`). Before, a
    /// chunked request gets 501 at its head (RFC 9112 §6.1: SHOULD).
    chunked: bool,
    /// Expectations are answered before the body (ch06,
    /// `.expect_continue()`): an unknown one gets 417, and a request the
    /// application refuses anyway gets the refusal instead of `100
    /// Continue`. Before, unknown expectations are ignored, and 100 is
    /// always sent (RFC 9110 §10.1.1).
    expect: bool,
}

/// What answers a request once the request layer has accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum App {
    /// Step01: no HTTP at all; every byte comes back.
    Echo,
    /// Step02: `inspect::report`, a 200 that describes the parsed request.
    Report,
    /// Step03 on: `demo::router()`. Step06 adds `/stream`, which no
    /// earlier step's case asks for (a unit test checks), so the table
    /// does not tell the two apart.
    Demo,
    /// Step07 on: a directory of files over the demo (`files::Overlay`).
    /// The demo's routes answer as before wherever the site has no file of
    /// that name; of the paths earlier cases ask for, only `/` has one (the
    /// site's `index.html` instead of the demo's page).
    Site,
}
// ANCHOR_END: traits

// ANCHOR: traits_rows
impl App {
    /// Whether `now` answers a request that `self` accepted differently:
    /// another application, except that the site leaves the demo's routes
    /// alone but for `/`.
    fn answers_differently(self, now: App, seen: &Seen) -> bool {
        match (self, now) {
            (App::Demo, App::Site) => seen.root,
            (was, now) => was != now,
        }
    }
}

/// The row for step `n`. Step05 adds graceful shutdown, which only a
/// signal shows (its cases say `signal: …` and are skipped), so it has
/// step04's row. Steps after 06 are step06 until one of them changes a
/// column.
const fn traits(n: u8) -> Traits {
    let (app, keep_alive, ch06) = match n {
        0 | 1 => (App::Echo, false, false),
        2 => (App::Report, false, false),
        3 => (App::Demo, false, false),
        4 | 5 => (App::Demo, true, false),
        6 => (App::Demo, true, true),
        _ => (App::Site, true, true),
    };
    Traits {
        app,
        keep_alive,
        chunked: ch06,
        expect: ch06,
    }
}
// ANCHOR_END: traits_rows

/// What a step's request layer makes of one request, before any
/// application sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// Parsed, framed and all there: the application answers it.
    Accepted,
    /// Refused with this status; the connection closes after it (RFC 9112
    /// §9.6: after a framing error the next request cannot be found).
    Rejected(u16),
    /// Not all sent: the server waits for the rest (or for its timeout).
    Incomplete,
}

impl std::fmt::Display for Reading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reading::Accepted => write!(f, "accepts it"),
            Reading::Rejected(status) => write!(f, "answers {status}"),
            Reading::Incomplete => write!(f, "waits for the rest of it (never sent)"),
        }
    }
}

/// One request as a step's server reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    reading: Reading,
    /// HTTP/1.0: a response that keeps the connection open says
    /// `Connection: keep-alive`.
    http10: bool,
    /// The client asked for this to be its last request (RFC 9112 §9.3):
    /// HTTP/1.1 with `Connection: close`, HTTP/1.0 without `keep-alive`
    /// (or with `close`, which wins).
    wants_close: bool,
    /// HTTP/1.1 with `Expect: 100-continue` (HTTP/1.0 ignores it).
    expects_continue: bool,
    /// The request's path is `/` (see [`App::Site`]).
    root: bool,
}

impl Seen {
    /// Whether a step closes the connection after answering this request
    /// (`keep_alive`: whether it keeps connections open at all); `status`
    /// is the answer's, when it is known (a 5xx closes: the server may have
    /// left the request half read). `None`: no answer is due, so the
    /// recording decides.
    fn closes(&self, keep_alive: bool, status: Option<u16>) -> Option<bool> {
        match self.reading {
            Reading::Rejected(_) => Some(true),
            Reading::Incomplete => None,
            Reading::Accepted => {
                Some(!keep_alive || self.wants_close || status.is_some_and(|s| s >= 500))
            }
        }
    }
}

// ANCHOR: read_requests
/// The requests a server with `traits` reads from `sent`, in order, up to
/// the one after which it closes. This classifies what the *recorded
/// client* sent, with this crate's own parser and chunked decoder at their
/// default limits, in the order step06's request layer applies them
/// (framing, then expectations, then the body); it never judges the server
/// under test.
fn read_requests(sent: &[u8], traits: Traits) -> Vec<Seen> {
    let limits = Limits::default();
    let mut seen = Vec::new();
    let mut rest = sent;
    // RFC 9112 §2.2: empty lines before a request are not a request.
    while !rest.iter().all(|b| matches!(b, b'\r' | b'\n')) {
        let (one, used) = read_request(rest, traits, &limits);
        let last =
            one.reading != Reading::Accepted || one.wants_close || !traits.keep_alive;
        seen.push(one);
        match used {
            Some(n) if !last => rest = rest.get(n..).unwrap_or_default(),
            _ => break,
        }
    }
    seen
}
// ANCHOR_END: read_requests

// ANCHOR: read_request
/// The request at the front of `bytes`, and how many bytes it took when it
/// was accepted.
fn read_request(bytes: &[u8], traits: Traits, limits: &Limits) -> (Seen, Option<usize>) {
    let mut seen = Seen {
        reading: Reading::Incomplete,
        http10: false,
        wants_close: false,
        expects_continue: false,
        root: false,
    };
    let (request, head_len) = match parse_head(bytes, limits) {
        Ok(Status::Complete(parsed)) => parsed,
        Ok(Status::Partial) => return (seen, None),
        Err(e) => {
            seen.reading = Reading::Rejected(e.status().as_u16());
            return (seen, None);
        }
    };
    let http11 = request.version == Version::Http11;
    seen.http10 = !http11;
    seen.root = request.path() == "/";
    seen.wants_close = request.has_token("connection", "close")
        || (!http11 && !request.has_token("connection", "keep-alive"));
    let expectations: Vec<&[u8]> = request
        .headers_named("expect")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|member| !member.is_empty() && http11)
        .collect();
    let continues = |m: &&[u8]| m.eq_ignore_ascii_case(b"100-continue");
    seen.expects_continue = expectations.iter().any(continues);
    let unknown = !expectations.iter().all(continues);
    let body = bytes.get(head_len..).unwrap_or_default();
    let used = match request.framing {
        RequestFraming::Chunked if !traits.chunked => Err(501),
        _ if traits.expect && unknown => Err(417),
        RequestFraming::None => Ok(Some(0)),
        RequestFraming::Length(n) => {
            Ok(usize::try_from(n).ok().filter(|n| *n <= body.len()))
        }
        RequestFraming::Chunked => {
            match Decoder::new().decode(&mut body.to_vec(), limits) {
                Ok(Status::Complete(done)) => Ok(Some(done.encoded_len)),
                Ok(Status::Partial) => Ok(None),
                Err(e) => Err(e.status().as_u16()),
            }
        }
    };
    match used {
        Err(status) => seen.reading = Reading::Rejected(status),
        Ok(None) => {}
        Ok(Some(n)) => {
            seen.reading = Reading::Accepted;
            return (seen, head_len.checked_add(n));
        }
    }
    (seen, None)
}
// ANCHOR_END: read_request

// ANCHOR: adapt
/// How an earlier step's case is changed so that it holds against a later
/// step. [`plan`] derives each from a difference in [`Traits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Adapt {
    /// Whether the connection stays open after each response is what the
    /// replayed step decides (RFC 9112 §9.3), not what the recording shows:
    /// it closes, with `Connection: close`, after a request that asked for
    /// it (HTTP/1.1 `close`; HTTP/1.0 without `keep-alive`), after the
    /// request layer's refusals (4xx/5xx from the parser) and after a 5xx,
    /// and at one-request steps after every response. Otherwise it stays
    /// open: the response loses its `Connection: close` (an HTTP/1.0 one
    /// says `keep-alive` instead), and compare reads it by its framing and
    /// then checks that the connection stays open. Needed from a
    /// one-request step (02, 03) to a keep-alive one (04 on), and where a
    /// refusal became an acceptance ([`Adapt::ChunkedDecoded`]).
    Persistence,
    /// The recorded answer to a request the parser accepted came from
    /// step02's report; from step03 on the demo application answers the
    /// same request instead (`GET /a?b=c` is a 404 there). What still holds
    /// is the parser's verdict: the request is accepted. So any status but
    /// the request layer's refusals (400, 408, 411, 413, 414, 417, 431) and
    /// 5xx passes, with a body a client can delimit, `Date`, `Allow` on a
    /// 405, `Location` on a redirect, and the persistence above; the body
    /// and the other fields are the application's, and not compared.
    AppAnswers,
    /// A chunked request body that the recorded step answered with 501
    /// (steps 02–05) is decoded from step06 on, so the request is accepted
    /// and the application answers it, compared as for
    /// [`Adapt::AppAnswers`].
    ChunkedDecoded,
}

impl Adapt {
    /// Its name on a case line: `(adapted: keep-alive, app answers)`.
    fn label(self) -> &'static str {
        match self {
            Adapt::Persistence => "keep-alive",
            Adapt::AppAnswers => "app answers",
            Adapt::ChunkedDecoded => "chunked decoded",
        }
    }

    /// Its summary line: `NOTE  31 cases adapted: …`.
    fn summary(self) -> &'static str {
        match self {
            Adapt::Persistence => {
                "the connection stays open where this step keeps it open \
                 (keep-alive from step 04)"
            }
            Adapt::AppAnswers => {
                "step 02's report is now the application's answer \
                 (only acceptance is compared)"
            }
            Adapt::ChunkedDecoded => {
                "a chunked body answered 501 before step 06 is decoded \
                 (the application answers)"
            }
        }
    }
}
// ANCHOR_END: adapt

// ANCHOR: skip
/// Why a case is not replayed. Each kind gets one summary line at the end
/// of the run; each case line gives the details.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Skip {
    /// Step01's echo exchanges, against an HTTP step.
    NotHttp,
    /// The server ran with a `RAWHTTP_*` override (`env: …` in the
    /// snapshot's description): a shorter timeout, a lower cap.
    Env,
    /// The test sent the server a signal mid-exchange (`signal: …`).
    Signal,
    /// The test did something to the socket that the transcript does not
    /// show (`raw stream`).
    RawStream,
    /// A description note compare does not know.
    UnknownNote,
    /// Its test says that later steps answer it differently
    /// (`step-specific`).
    StepSpecific,
    /// The replayed step's request layer reads a request differently, and
    /// nothing in the recording says what it answers instead: a chunked
    /// body the request never sends whole (refused at the head before
    /// step06, waited for from step06 on), one step06's decoder refuses,
    /// or an expectation step06 refuses (417).
    VerdictChanged,
    /// The replayed step reads a different number of the pipelined
    /// requests than the recorded one (a one-request step answers only the
    /// first), and the others' answers were never recorded.
    RequestCount,
    /// Step06 refuses a request with `Expect: 100-continue` before its
    /// body when the application would refuse it anyway; the recorded
    /// client waited for `100 Continue` and then sent the body, which no
    /// longer fits.
    RefusedBeforeBody,
    /// `--exact` and [`Adapt::AppAnswers`]: there are no bytes to match.
    ExactAppAnswer,
}
// ANCHOR_END: skip

// ANCHOR: skip_reason
impl Skip {
    /// Its summary line: `NOTE  2 cases skipped: …`.
    fn reason(self) -> &'static str {
        match self {
            Skip::NotHttp => "recorded against step 01's echo server (not HTTP)",
            Skip::Env => {
                "recorded with an env override (not reproducible against a default \
                 server)"
            }
            Skip::Signal => {
                "recorded while the test signalled the server (a replay sends no signal)"
            }
            Skip::RawStream => {
                "the test did to the socket what the snapshot does not record"
            }
            Skip::UnknownNote => "recorded with a note compare does not know",
            Skip::StepSpecific => {
                "marked step-specific by its test (later steps answer differently)"
            }
            Skip::VerdictChanged => {
                "this step's request layer reads the request differently (no recorded \
                 answer)"
            }
            Skip::RequestCount => {
                "this step reads more pipelined requests than were answered"
            }
            Skip::RefusedBeforeBody => {
                "step 06 refuses before the body instead of 100 Continue"
            }
            Skip::ExactAppAnswer => {
                "--exact, and the application answers instead (no bytes to match)"
            }
        }
    }
}
// ANCHOR_END: skip_reason

/// What to do with a case.
enum Plan {
    /// Replay it (adapted where [`Replay::adapts`] says).
    Run(Replay),
    /// Report it as a NOTE and count it as skipped: why, and the details.
    Skip(Skip, String),
}

/// A case as it is replayed.
struct Replay {
    /// The recording, with its expectations adapted.
    transcript: Transcript,
    /// Per final response (1xx do not count), in order: whether only its
    /// acceptance is checked ([`Adapt::AppAnswers`]).
    accepted: Vec<bool>,
    /// What was adapted, for the case line and the summary.
    adapts: Vec<Adapt>,
}

// ANCHOR: plan
/// Whether and how a case recorded at step `step` is replayed against a
/// server of step `target` (`exact`: `--exact`).
///
/// A step's own cases, and the cases of a step with the same [`Traits`],
/// are replayed as recorded (unless their test marks them
/// `step-specific`: then they are skipped at every later step). An earlier step's case is replayed with the
/// [`Adapt`]ations that the two steps' differences call for; it is skipped
/// ([`Skip`]) only where the recording cannot say what the later step
/// answers. Cases whose recording a replay cannot reproduce (an env
/// override, a signal) are skipped at every step.
fn plan(t: &Transcript, step: u8, target: u8, exact: bool) -> Plan {
    let (was, now) = (traits(step), traits(target));
    if was.app == App::Echo && now.app != App::Echo {
        let why = format!(
            "step {step:02} is an echo server; from step 02 on, the server speaks HTTP"
        );
        return Plan::Skip(Skip::NotHttp, why);
    }
    if let Some(skip) = recorded_with(t) {
        return skip;
    }
    let as_recorded = || {
        Plan::Run(Replay {
            transcript: t.clone(),
            accepted: Vec::new(),
            adapts: Vec::new(),
        })
    };
    // Its test knows better than the table: no later step answers alike.
    if step != target && t.notes().any(|n| n == "step-specific") {
        let why = format!(
            "its test marks it step-specific: step {target:02} answers differently"
        );
        return Plan::Skip(Skip::StepSpecific, why);
    }
    if was == now {
        return as_recorded();
    }
    let sent = sent_bytes(t);
    let (before, after) = (read_requests(&sent, was), read_requests(&sent, now));
    if before.len() != after.len() {
        let why = format!(
            "step {step:02} reads {} of its requests, step {target:02} {} (their answers were not recorded)",
            before.len(),
            after.len()
        );
        return Plan::Skip(Skip::RequestCount, why);
    }
    let Ok(recorded) = recorded_statuses(t) else {
        return as_recorded(); // the replay reports the unreadable snapshot
    };
    let mut adapts = Vec::new();
    let mut accepted = Vec::new();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        match (b.reading, a.reading) {
            (b, a) if b == a => {}
            (Reading::Rejected(501), Reading::Accepted)
                if !was.chunked && now.chunked =>
            {
                adapts.push(Adapt::ChunkedDecoded);
            }
            (b, a) => {
                let why = format!(
                    "request {}: step {step:02} {b}, step {target:02} {a}",
                    i + 1
                );
                return Plan::Skip(Skip::VerdictChanged, why);
            }
        }
        let app_answers =
            b.reading == Reading::Accepted && was.app.answers_differently(now.app, b);
        if app_answers {
            adapts.push(Adapt::AppAnswers);
        }
        accepted.push(
            a.reading == Reading::Accepted && (app_answers || b.reading != a.reading),
        );
        let refused = recorded.get(i).is_some_and(|status| *status >= 400);
        if now.expect && !was.expect && a.expects_continue && refused {
            let why = format!(
                "request {}: step {target:02} answers its `Expect: 100-continue` with the refusal",
                i + 1
            );
            return Plan::Skip(Skip::RefusedBeforeBody, why);
        }
    }
    if exact && accepted.contains(&true) {
        let why = format!("--exact: step {step:02}'s answer is not step {target:02}'s");
        return Plan::Skip(Skip::ExactAppAnswer, why);
    }
    let (transcript, changed) = with_persistence(t, &after, &accepted, now.keep_alive);
    if changed {
        adapts.push(Adapt::Persistence);
    }
    adapts.sort();
    adapts.dedup();
    Plan::Run(Replay {
        transcript,
        accepted,
        adapts,
    })
}
// ANCHOR_END: plan

/// A skip for a recording a replay cannot reproduce, from the snapshot's
/// description (see `rawhttp::transcript`); `None` if there is none.
fn recorded_with(t: &Transcript) -> Option<Plan> {
    let notes: Vec<&str> = t.notes().filter(|n| *n != "step-specific").collect();
    let with = |prefix: &str| -> Vec<&str> {
        let matching = notes.iter().filter(|n| n.starts_with(prefix));
        matching.copied().collect()
    };
    let (env, signal, raw) = (with("env: "), with("signal: "), with("raw stream"));
    let strip = |notes: Vec<&str>, prefix: &str| -> String {
        let names = notes.iter().map(|n| n.strip_prefix(prefix).unwrap_or(n));
        names.collect::<Vec<_>>().join(", ")
    };
    let skip = if !env.is_empty() {
        let why = format!(
            "recorded with {} (a default server behaves differently)",
            strip(env, "env: ")
        );
        (Skip::Env, why)
    } else if !signal.is_empty() {
        let why = format!(
            "recorded with a signal sent mid-exchange ({}; a replay sends none)",
            strip(signal, "signal: ")
        );
        (Skip::Signal, why)
    } else if !raw.is_empty() {
        let why = "its test used the socket in a way the transcript does not record (raw stream)";
        (Skip::RawStream, why.to_string())
    } else if !notes.is_empty() {
        (
            Skip::UnknownNote,
            format!("recorded with {}", notes.join(", ")),
        )
    } else {
        return None;
    };
    Some(Plan::Skip(skip.0, skip.1))
}

/// Everything the client sends in `t`, in order.
fn sent_bytes(t: &Transcript) -> Vec<u8> {
    let mut sent = Vec::new();
    for step in &t.steps {
        if let Step::Send(bytes) = step {
            sent.extend_from_slice(bytes);
        }
    }
    sent
}

/// The status of each final response in `t`, in order.
fn recorded_statuses(t: &Transcript) -> Result<Vec<u16>, Unreadable> {
    let mut methods = Methods::new(t);
    let mut statuses = Vec::new();
    for step in &t.steps {
        if let Step::Expect { bytes, then_closes } = step {
            if !bytes.starts_with(b"HTTP/") {
                continue;
            }
            for (response, _) in split_raw(bytes, &mut methods, *then_closes)? {
                if response.status >= 200 {
                    statuses.push(response.status);
                }
            }
        }
    }
    Ok(statuses)
}

// ANCHOR: with_persistence
/// [`Adapt::Persistence`]: `t` with each final response's `Connection`
/// field, and whether its section ends with a close, as a step that keeps
/// connections open (`keep_alive`) or not decides them for the requests in
/// `seen`; and whether anything changed. A section still ends with a close
/// after the client half-closed: the server reads the end of the stream.
fn with_persistence(
    t: &Transcript,
    seen: &[Seen],
    accepted: &[bool],
    keep_alive: bool,
) -> (Transcript, bool) {
    let mut out = t.clone();
    let mut changed = false;
    let mut methods = Methods::new(t);
    let mut half_closed = false;
    let mut index = 0; // final responses so far
    for step in &mut out.steps {
        let (bytes, then_closes) = match step {
            Step::CloseWrite => {
                half_closed = true;
                continue;
            }
            Step::Send(_) => continue,
            Step::Expect { bytes, then_closes } => (bytes, then_closes),
        };
        if !bytes.starts_with(b"HTTP/") {
            continue;
        }
        let Ok(responses) = split_raw(bytes, &mut methods, *then_closes) else {
            return (t.clone(), false); // the replay reports the unreadable snapshot
        };
        let mut rebuilt = Vec::with_capacity(bytes.len());
        let mut section_closes = None;
        for (response, range) in responses {
            let raw = bytes.get(range).unwrap_or_default();
            if response.status < 200 {
                rebuilt.extend_from_slice(raw);
                continue;
            }
            let (request, app) = (seen.get(index), accepted.get(index) == Some(&true));
            index += 1;
            let status = (!app).then_some(response.status);
            let close = request.and_then(|r| r.closes(keep_alive, status));
            match (close, request) {
                (Some(close), Some(r)) if close != response.has_close() => {
                    rebuilt.extend(set_connection(raw, close, r.http10));
                    changed = true;
                }
                _ => rebuilt.extend_from_slice(raw),
            }
            section_closes = close;
        }
        if let Some(close) = section_closes {
            let close = close || half_closed;
            changed |= close != *then_closes;
            *then_closes = close;
        }
        *bytes = rebuilt;
    }
    (out, changed)
}

/// One whole response (`raw`) with its `Connection` field as a server sends
/// it (RFC 9112 §9.3, §9.6): `close` on the last response of a connection,
/// `keep-alive` on an HTTP/1.0 one that stays open, none on an HTTP/1.1
/// one that stays open. The field keeps its place in the head (the end,
/// where this crate's server writes it, if there was none).
fn set_connection(raw: &[u8], close: bool, http10: bool) -> Vec<u8> {
    let Some(end) = find(raw, b"\r\n\r\n").and_then(|n| n.checked_add(2)) else {
        return raw.to_vec();
    };
    let (head, rest) = (raw.get(..end).unwrap_or_default(), raw.get(end..));
    let field = match (close, http10) {
        (true, _) => Some(&b"Connection: close\r\n"[..]),
        (false, true) => Some(&b"Connection: keep-alive\r\n"[..]),
        (false, false) => None,
    };
    let mut out = Vec::with_capacity(raw.len() + 24);
    let mut placed = false;
    for (i, line) in head.split_inclusive(|&b| b == b'\n').enumerate() {
        let name = line.split(|&b| b == b':').next().unwrap_or_default();
        if i == 0 || !name.eq_ignore_ascii_case(b"connection") {
            out.extend_from_slice(line);
        } else if !placed {
            out.extend_from_slice(field.unwrap_or_default());
            placed = true;
        }
    }
    if !placed {
        out.extend_from_slice(field.unwrap_or_default());
    }
    out.extend_from_slice(rest.unwrap_or_default());
    out
}
// ANCHOR_END: with_persistence

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
        let Some(step) = recorded_step(name) else {
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

/// `1 case`, `2 cases`.
fn n_cases(n: usize) -> String {
    match n {
        1 => "1 case".to_string(),
        n => format!("{n} cases"),
    }
}

fn run() -> anyhow::Result<bool> {
    let opts = parse_args()?;
    let cases = load_cases(&opts.dir, opts.selection)?;
    let (target, scope) = match opts.selection {
        Selection::Step(n) => (n, format!("recorded for step {n:02}")),
        Selection::Upto(n) => (n, format!("recorded for steps 01 to {n:02}")),
    };
    if cases.is_empty() {
        bail!(
            "no snapshots for step {target:02} in {}",
            opts.dir.display()
        );
    }
    let plans: Vec<Option<Plan>> = cases
        .iter()
        .map(|c| {
            let t = c.transcript.as_ref().ok()?;
            Some(plan(t, c.step, target, opts.exact))
        })
        .collect();
    let skipping = plans
        .iter()
        .filter(|p| matches!(p, Some(Plan::Skip(..))))
        .count();
    out!(
        "replaying {} of the {} {scope}, from {} against {} (each line: expected | got)",
        cases.len() - skipping,
        n_cases(cases.len()),
        opts.dir.display(),
        opts.addr,
    );
    let (mut passed, mut failed) = (0, 0);
    let mut skipped: BTreeMap<Skip, usize> = BTreeMap::new();
    let mut adapted: BTreeMap<Adapt, usize> = BTreeMap::new();
    for (case, plan) in cases.iter().zip(&plans) {
        let (verdict, adapts) = match (plan, &case.transcript) {
            (Some(Plan::Skip(kind, why)), _) => {
                *skipped.entry(*kind).or_default() += 1;
                out!("NOTE  {}  skipped: {why}", case.name);
                continue;
            }
            (Some(Plan::Run(r)), _) => (replay(r, &opts), r.adapts.as_slice()),
            (None, Err(e)) => (
                Verdict::fail("snapshot unreadable", "", &e.to_string()),
                &[][..],
            ),
            (None, Ok(_)) => continue, // a plan is made for every readable snapshot
        };
        for adapt in adapts {
            *adapted.entry(*adapt).or_default() += 1;
        }
        let adapted = match adapts {
            [] => String::new(),
            _ => {
                let labels: Vec<&str> = adapts.iter().map(|a| a.label()).collect();
                format!("  (adapted: {})", labels.join(", "))
            }
        };
        match verdict.fail {
            Some(d) => {
                failed += 1;
                out!("FAIL  {}  {d}{adapted}", case.name);
            }
            None => {
                passed += 1;
                match verdict.notes.first() {
                    Some(d) => out!("NOTE  {}  {d}{adapted}", case.name),
                    None => out!("PASS  {}{adapted}", case.name),
                }
            }
        }
    }
    for (adapt, n) in &adapted {
        out!("NOTE  {} adapted: {}", n_cases(*n), adapt.summary());
    }
    for (kind, n) in &skipped {
        out!("NOTE  {} skipped: {}", n_cases(*n), kind.reason());
    }
    let skipped: usize = skipped.values().sum();
    out!("{passed} passed, {failed} failed, {skipped} skipped");
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
fn replay(r: &Replay, opts: &Options) -> Verdict {
    let t = &r.transcript;
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
                &r.accepted,
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
/// `accepted`: which final responses of the case are checked only for
/// acceptance ([`Adapt::AppAnswers`]).
#[allow(clippy::too_many_arguments)]
fn expect(
    conn: &mut Conn,
    expected: &[u8],
    then_closes: bool,
    methods: &mut Methods,
    accepted: &[bool],
    exact: bool,
    notes: &mut Vec<Diff>,
) -> Result<(), Diff> {
    if !expected.is_empty() && !expected.starts_with(b"HTTP/") {
        return expect_raw(conn, expected, then_closes);
    }
    let wanted = split_responses(expected, &mut methods.clone(), true)
        .map_err(|e| e.diff("snapshot"))?;
    // Which of them answer an accepted request with the application's answer.
    let mut index = methods.answered;
    let checks: Vec<bool> = wanted
        .iter()
        .map(|w| {
            let final_ = w.status >= 200;
            let check = final_ && accepted.get(index) == Some(&true);
            index += usize::from(final_);
            check
        })
        .collect();

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
        compare_all(&wanted, &responses, &checks, notes)?;
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
    accepted: &[bool],
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
        match accepted.get(i) {
            Some(true) => compare_accepted(w, g)?,
            _ => compare(w, g, notes)?,
        }
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
    must_match(want, got)?;
    may_differ(want, got, notes);
    Ok(())
}

/// What every client acts on: the first difference is the failure.
fn must_match(want: &Response, got: &Response) -> Result<(), Diff> {
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
    for name in required_fields(want.status) {
        if want.field(name).is_some() && got.field(name).is_none() {
            return Err(diff("required field", &format!("{name}: …"), "(missing)"));
        }
    }
    if want.has_close() && !got.has_close() {
        // RFC 9112 §9.6: a server that is going to close says so, or a
        // client may send its next request into a closing connection.
        return Err(diff("Connection: close", "Connection: close", "(missing)"));
    }
    Ok(())
}
// ANCHOR_END: rules

// ANCHOR: required_fields
/// The fields RFC 9110 requires of a response with `status`: `Date` always
/// (§6.6.1), `Allow` on a 405 (§15.5.6: MUST generate), `Location` on a
/// redirect (§10.2.2).
fn required_fields(status: u16) -> impl Iterator<Item = &'static str> {
    let allow = (status == 405).then_some("Allow");
    let location = matches!(status, 301 | 302 | 303 | 307 | 308).then_some("Location");
    std::iter::once("Date").chain(allow).chain(location)
}
// ANCHOR_END: required_fields

// ANCHOR: may_differ
/// What may differ, reported as notes: wording, extra fields, order and
/// case, error prose.
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

// ANCHOR: accepted
/// Statuses with which a request layer refuses a request before any
/// application sees it: bad syntax or framing (400), too slow (408), no
/// length (411), too large (413, 414, 431), an expectation it cannot meet
/// (417). With 5xx, the answers that [`Adapt::AppAnswers`] does not accept.
const REFUSALS: [u16; 7] = [400, 408, 411, 413, 414, 417, 431];

/// [`Adapt::AppAnswers`]: `want` was another application's answer to a
/// request that the request layer accepted, so only what follows from the
/// acceptance must match: the version, a status that is no refusal, a body
/// a client can delimit, the fields RFC 9110 requires for `got`'s status,
/// and `Connection: close` where the connection closes.
fn compare_accepted(want: &Response, got: &Response) -> Result<(), Diff> {
    if got.version != want.version {
        return Err(diff("version", &want.version, &got.version));
    }
    if got.status >= 500 || REFUSALS.contains(&got.status) {
        let accepted = "an app's answer (not 400, 408, 411, 413, 414, 417, 431, 5xx)";
        return Err(diff("status code", accepted, &got.status_line));
    }
    if got.framing == Framing::UntilClose && want.framing != Framing::UntilClose {
        return Err(diff(
            "framing",
            "Content-Length or chunked",
            &got.framing_label(),
        ));
    }
    for name in required_fields(got.status) {
        if got.field(name).is_none() {
            return Err(diff("required field", &format!("{name}: …"), "(missing)"));
        }
    }
    if want.has_close() && !got.has_close() {
        return Err(diff("Connection: close", "Connection: close", "(missing)"));
    }
    Ok(())
}
// ANCHOR_END: accepted

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
        Methods {
            head: request_methods_are_head(&sent_bytes(t)),
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
    bytes: &[u8],
    methods: &mut Methods,
    closed: bool,
) -> Result<Vec<Response>, Unreadable> {
    let responses = split_raw(bytes, methods, closed)?;
    Ok(responses
        .into_iter()
        .map(|(response, _)| response)
        .collect())
}

/// [`split_responses`], with where in `bytes` each response is.
fn split_raw(
    bytes: &[u8],
    methods: &mut Methods,
    closed: bool,
) -> Result<Vec<(Response, std::ops::Range<usize>)>, Unreadable> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) {
        match frame(rest, methods.peek_is_head(), closed, &mut 0)? {
            Some((response, used)) => {
                methods.answer(response.status);
                // `frame` never reports more than it was given; `min`
                // keeps even a mistake there inside `bytes`.
                let end = at.saturating_add(used).min(bytes.len());
                out.push((response, at..end));
                at = end;
                if used == 0 {
                    break;
                }
            }
            None if closed => {
                return Err(unreadable(
                    "a complete response, then close",
                    cut_short(rest),
                ));
            }
            None => return Err(unreadable("a complete response", cut_short(rest))),
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

#[cfg(test)]
mod tests {
    use super::*;

    const OK_404: &[u8] = b"HTTP/1.1 404 Not Found\r\nDate: [date]\r\nContent-Length: 10\r\nConnection: close\r\n\r\nNot Found\n";
    const OK_200: &[u8] =
        b"HTTP/1.1 200 OK\r\nDate: [date]\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    const E_500: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nDate: [date]\r\nContent-Length: 4\r\nConnection: close\r\n\r\n500\n";
    const E_400: &[u8] = b"HTTP/1.1 400 Bad Request\r\nDate: [date]\r\nContent-Length: 4\r\nConnection: close\r\n\r\n400\n";
    const E_501: &[u8] = b"HTTP/1.1 501 Not Implemented\r\nDate: [date]\r\nContent-Length: 4\r\nConnection: close\r\n\r\n501\n";

    /// One request, one recorded answer, then the server closes (as at a
    /// one-request step).
    fn closed(request: &[u8], answer: &[u8]) -> Transcript {
        Transcript {
            description: None,
            steps: vec![
                Step::Send(request.to_vec()),
                Step::Expect {
                    bytes: answer.to_vec(),
                    then_closes: true,
                },
            ],
        }
    }

    fn noted(mut t: Transcript, description: &str) -> Transcript {
        t.description = Some(description.to_string());
        t
    }

    /// The plan, in words: `run: keep-alive, app answers` or `skip: NotHttp`.
    fn show_plan(p: &Plan) -> String {
        match p {
            Plan::Run(r) => {
                let labels: Vec<&str> = r.adapts.iter().map(|a| a.label()).collect();
                format!("run: {}", labels.join(", "))
            }
            Plan::Skip(kind, _) => format!("skip: {kind:?}"),
        }
    }

    fn replay_of(p: Plan) -> Replay {
        match p {
            Plan::Run(r) => r,
            Plan::Skip(kind, why) => panic!("skipped ({kind:?}): {why}"),
        }
    }

    /// The adapted expectation: the first section's bytes and close.
    fn expected(r: &Replay) -> (String, bool) {
        r.transcript
            .steps
            .iter()
            .find_map(|s| match s {
                Step::Expect { bytes, then_closes } => {
                    Some((String::from_utf8_lossy(bytes).into_owned(), *then_closes))
                }
                _ => None,
            })
            .expect("an expect section")
    }

    #[test]
    fn traits_change_only_where_a_step_says() {
        assert_eq!(traits(1).app, App::Echo);
        assert_eq!(traits(2).app, App::Report);
        assert_eq!((traits(3).app, traits(3).keep_alive), (App::Demo, false));
        assert!(traits(4).keep_alive && !traits(4).chunked);
        assert_eq!(traits(5), traits(4), "step05 adds shutdown: no replay rule");
        assert!(traits(6).chunked && traits(6).expect);
        assert_eq!(
            traits(7).app,
            App::Site,
            "step07 serves files over the demo"
        );
        assert_eq!(
            (traits(7).keep_alive, traits(7).chunked, traits(7).expect),
            (true, true, true)
        );
        assert_eq!(
            traits(8),
            traits(7),
            "later steps are step07 until a row changes"
        );
    }

    /// What a step reads of each request: its reading, and whether the
    /// client asked to close after it.
    type Reads = &'static [(Reading, bool)];

    /// `(name, bytes, step, what the step reads)`.
    #[rustfmt::skip]
    const READS: &[(&str, &[u8], u8, Reads)] = &[
        ("get", b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 4, &[(Reading::Accepted, false)]),
        ("close", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: TE, Close\r\n\r\n", 4, &[(Reading::Accepted, true)]),
        ("http_1_0", b"GET / HTTP/1.0\r\n\r\n", 4, &[(Reading::Accepted, true)]),
        ("http_1_0_keep_alive", b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 4, &[(Reading::Accepted, false)]),
        ("http_1_0_close_wins", b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 4, &[(Reading::Accepted, true)]),
        ("leading_crlf", b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n\r\n", 4, &[(Reading::Accepted, false)]),
        ("missing_host", b"GET / HTTP/1.1\r\n\r\n", 4, &[(Reading::Rejected(400), false)]),
        ("two_at_one_request", b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 3, &[(Reading::Accepted, false)]),
        ("two_at_keep_alive", b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 4, &[(Reading::Accepted, false), (Reading::Accepted, false)]),
        ("stops_at_close", b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 4, &[(Reading::Accepted, true)]),
        ("stops_at_rejection", b"GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 4, &[(Reading::Rejected(400), false)]),
        ("body", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nokGET / HTTP/1.1\r\nHost: a\r\n\r\n", 4, &[(Reading::Accepted, false), (Reading::Accepted, false)]),
        ("body_short", b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nok", 4, &[(Reading::Incomplete, false)]),
        ("chunked_before_06", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 5, &[(Reading::Rejected(501), false)]),
        ("chunked_at_06", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", 6, &[(Reading::Accepted, false)]),
        ("chunked_unsent", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", 6, &[(Reading::Incomplete, false)]),
        ("chunked_bad", b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 6, &[(Reading::Rejected(400), false)]),
        ("expect_unknown_before_06", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n", 5, &[(Reading::Accepted, false)]),
        ("expect_unknown_at_06", b"GET / HTTP/1.1\r\nHost: a\r\nExpect: x\r\n\r\n", 6, &[(Reading::Rejected(417), false)]),
        ("expect_on_http_1_0", b"GET / HTTP/1.0\r\nExpect: x\r\n\r\n", 6, &[(Reading::Accepted, true)]),
    ];

    #[test]
    fn read_requests_as_each_step_reads_them() {
        for &(name, bytes, step, want) in READS {
            let got: Vec<(Reading, bool)> = read_requests(bytes, traits(step))
                .iter()
                .map(|s| (s.reading, s.wants_close))
                .collect();
            assert_eq!(got, want, "case {name}");
            // Cut anywhere, a request is never read as more than it is.
            for cut in 0..bytes.len() {
                let part = read_requests(&bytes[..cut], traits(step));
                assert!(part.len() <= want.len(), "{name} @ {cut}");
            }
        }
        let expect = b"POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n";
        assert!(read_requests(expect, traits(5))[0].expects_continue);
    }

    /// `(name, transcript, recorded at, replayed at, the plan)`.
    #[rustfmt::skip]
    fn plans() -> Vec<(&'static str, Transcript, u8, u8, &'static str)> {
        let get = b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n";
        let echo = Transcript {
            description: None,
            steps: vec![
                Step::Send(b"hi".to_vec()),
                Step::Expect {
                    bytes: b"hi".to_vec(),
                    then_closes: false,
                },
            ],
        };
        let chunked =
            b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n";
        let unsent = b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
        let two = b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let expect =
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n";
        let expect_unknown =
            b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nExpect: x\r\n\r\nok";
        let close = b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
        vec![
            ("echo_at_its_step", echo.clone(), 1, 1, "run: "),
            ("echo_at_http", echo, 1, 2, "skip: NotHttp"),
            ("env_at_its_step", noted(closed(get, OK_404), "env: RAWHTTP_X=1"), 3, 3, "skip: Env"),
            ("env_later", noted(closed(get, OK_404), "env: RAWHTTP_X=1"), 3, 6, "skip: Env"),
            ("signal", noted(closed(get, OK_404), "signal: TERM"), 5, 5, "skip: Signal"),
            ("raw", noted(closed(get, OK_404), "raw stream"), 6, 6, "skip: RawStream"),
            ("unknown_note", noted(closed(get, OK_404), "moon: full"), 6, 6, "skip: UnknownNote"),
            ("step_specific_own", noted(closed(get, OK_404), "step-specific"), 3, 3, "run: "),
            ("step_specific_same_traits", noted(closed(get, OK_404), "step-specific"), 4, 5, "skip: StepSpecific"),
            ("step_specific_later", noted(closed(get, OK_404), "step-specific"), 3, 4, "skip: StepSpecific"),
            ("route_404_one_request", closed(get, OK_404), 3, 3, "run: "),
            ("route_404_keep_alive", closed(get, OK_404), 3, 4, "run: keep-alive"),
            ("parser_400_holds", closed(b"GET / HTTP/1.1\r\n\r\n", E_400), 2, 6, "run: "),
            ("server_error_holds", closed(b"GET /panic HTTP/1.1\r\nHost: a\r\n\r\n", E_500), 3, 4, "run: "),
            ("client_close_holds", closed(close, OK_200), 3, 4, "run: "),
            ("report_at_03", closed(get, OK_200), 2, 3, "run: app answers"),
            ("report_at_04", closed(get, OK_200), 2, 4, "run: keep-alive, app answers"),
            ("report_to_rejection_holds", closed(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", E_400), 2, 3, "run: "),
            ("chunked_501_before_06", closed(chunked, E_501), 2, 5, "run: "),
            ("chunked_decoded", closed(chunked, E_501), 4, 6, "run: keep-alive, chunked decoded"),
            ("chunked_never_sent", closed(unsent, E_501), 5, 6, "skip: VerdictChanged"),
            ("unknown_expectation", closed(expect_unknown, OK_200), 5, 6, "skip: VerdictChanged"),
            ("pipelined_at_one_request", closed(two, OK_200), 3, 4, "skip: RequestCount"),
            ("expect_refused", closed(expect, OK_404), 5, 6, "skip: RefusedBeforeBody"),
            ("expect_accepted", closed(expect, OK_200), 5, 6, "run: "),
        ]
    }

    #[test]
    fn each_rule_plans_its_case() {
        for (name, t, step, target, want) in plans() {
            assert_eq!(
                show_plan(&plan(&t, step, target, false)),
                want,
                "case {name}"
            );
        }
        // --exact has no bytes for an application's answer to match.
        let report = closed(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", OK_200);
        let exact = show_plan(&plan(&report, 2, 3, true));
        assert_eq!(exact, "skip: ExactAppAnswer");
        assert_eq!(show_plan(&plan(&report, 2, 2, true)), "run: ");
    }

    #[test]
    fn keep_alive_drops_connection_close_and_the_close() {
        let r = replay_of(plan(
            &closed(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", OK_404),
            3,
            4,
            false,
        ));
        let (bytes, then_closes) = expected(&r);
        assert_eq!(
            bytes,
            "HTTP/1.1 404 Not Found\r\nDate: [date]\r\nContent-Length: 10\r\n\r\nNot Found\n"
        );
        assert!(!then_closes);
        assert_eq!(r.accepted, [false]);
    }

    #[test]
    fn keep_alive_on_http_1_0_says_so() {
        let request = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
        let r = replay_of(plan(&closed(request, OK_200), 3, 4, false));
        let (bytes, then_closes) = expected(&r);
        assert!(
            bytes.contains("\r\nConnection: keep-alive\r\n\r\nok"),
            "{bytes}"
        );
        assert!(!bytes.contains("close") && !then_closes, "{bytes}");
    }

    #[test]
    fn keep_alive_after_a_half_close_still_ends_in_a_close() {
        let mut t = closed(b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", OK_404);
        t.steps.insert(1, Step::CloseWrite);
        let (bytes, then_closes) = expected(&replay_of(plan(&t, 3, 4, false)));
        assert!(!bytes.contains("Connection"), "{bytes}");
        assert!(
            then_closes,
            "the server reads the end of the stream, and closes"
        );
    }

    #[test]
    fn report_answers_are_checked_for_acceptance_only() {
        let r = replay_of(plan(
            &closed(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n", OK_200),
            2,
            3,
            false,
        ));
        assert_eq!(r.accepted, [true]);
        assert_eq!(
            expected(&r),
            (String::from_utf8_lossy(OK_200).into_owned(), true)
        );
    }

    #[test]
    fn set_connection_keeps_the_head_in_place() {
        let head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nDate: x\r\n\r\nConnection: close\r\n";
        let cases: &[(bool, bool, &str)] = &[
            (
                false,
                false,
                "HTTP/1.1 200 OK\r\nDate: x\r\n\r\nConnection: close\r\n",
            ),
            (
                false,
                true,
                "HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nDate: x\r\n\r\nConnection: close\r\n",
            ),
            (
                true,
                false,
                "HTTP/1.1 200 OK\r\nConnection: close\r\nDate: x\r\n\r\nConnection: close\r\n",
            ),
        ];
        for &(close, http10, want) in cases {
            let got = set_connection(head, close, http10);
            assert_eq!(
                String::from_utf8_lossy(&got),
                want,
                "close {close}, http10 {http10}"
            );
        }
        // No Connection field: it goes last; not a response: unchanged.
        let got = set_connection(b"HTTP/1.1 200 OK\r\nDate: x\r\n\r\n", true, false);
        assert_eq!(
            got,
            b"HTTP/1.1 200 OK\r\nDate: x\r\nConnection: close\r\n\r\n"
        );
        assert_eq!(
            set_connection(b"HTTP/1.1 200", true, false),
            b"HTTP/1.1 200"
        );
    }

    fn response(bytes: &[u8]) -> Response {
        let parsed = frame(bytes, false, true, &mut 0).expect("a response");
        parsed.expect("all of it").0
    }

    #[test]
    fn an_accepted_request_gets_any_answer_but_a_refusal() {
        let want = response(OK_200);
        let with = |status: &str, fields: &str| {
            let text = format!(
                "HTTP/1.1 {status}\r\nDate: x\r\n{fields}Content-Length: 0\r\nConnection: close\r\n\r\n"
            );
            compare_accepted(&want, &response(text.as_bytes())).map_err(|d| d.to_string())
        };
        assert!(with("404 Not Found", "").is_ok());
        assert!(with("204 No Content", "").is_ok());
        assert!(with("405 Method Not Allowed", "Allow: GET\r\n").is_ok());
        assert!(with("308 Permanent Redirect", "Location: /\r\n").is_ok());
        for refusal in [
            "400 Bad Request",
            "413 Content Too Large",
            "431 Too Large",
            "500 Oops",
            "501 No",
        ] {
            let got = with(refusal, "").expect_err(refusal);
            assert!(
                got.starts_with("status code: an app's answer (not 400"),
                "{got}"
            );
        }
        assert_eq!(
            with("405 Method Not Allowed", ""),
            Err("required field: Allow: … | (missing)".into())
        );
        assert_eq!(
            with("301 Moved", ""),
            Err("required field: Location: … | (missing)".into())
        );
        let no_date = response(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        assert!(compare_accepted(&want, &no_date).is_err());
        let no_close =
            response(b"HTTP/1.1 404 Not Found\r\nDate: x\r\nContent-Length: 0\r\n\r\n");
        let got = compare_accepted(&want, &no_close).map_err(|d| d.to_string());
        assert_eq!(
            got,
            Err("Connection: close: Connection: close | (missing)".into())
        );
        let until_close = response(
            b"HTTP/1.1 404 Not Found\r\nDate: x\r\nConnection: close\r\n\r\nabc",
        );
        let got = compare_accepted(&want, &until_close).map_err(|d| d.to_string());
        assert!(got.is_err_and(|d| d.starts_with("framing:")));
    }

    /// This crate's snapshots.
    fn snapshots() -> Vec<(String, Transcript)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots");
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).expect("snapshots/") {
            let path = entry.expect("an entry").path();
            if path.extension().is_none_or(|x| x != "snap") {
                continue; // snapshots/traces/ holds traces, not transcripts
            }
            let name = path
                .file_stem()
                .expect("a name")
                .to_string_lossy()
                .into_owned();
            let text = fs::read_to_string(&path).expect("readable");
            out.push((name, transcript::parse(&text).expect("a transcript")));
        }
        out
    }

    #[test]
    fn every_snapshot_has_a_step() {
        for (name, _) in snapshots() {
            assert!(
                recorded_step(&name).is_some(),
                "{name}: add its test file to RECORDED_AGAINST"
            );
        }
        for (file, step) in RECORDED_AGAINST {
            let path =
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/{file}.rs"));
            let source = fs::read_to_string(&path).expect("the test file exists");
            assert!(
                source.contains(&format!("\"step{step:02}\"")),
                "{file}.rs runs step{step:02}"
            );
        }
    }

    /// [`App::Demo`] stands for step06's router too, which adds `/stream`.
    #[test]
    fn no_case_before_step06_asks_for_stream() {
        for (name, t) in snapshots() {
            let step = recorded_step(&name).unwrap_or(0);
            let asks = find(&sent_bytes(&t), b" /stream").is_some();
            assert!(
                step >= 6 || !asks,
                "{name}: give traits() a column for /stream"
            );
        }
    }
}

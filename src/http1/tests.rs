//! The core alone, in-process, without sockets: a table of states and
//! transitions driven by a virtual clock, and a property test that any
//! split of a pipelined byte stream gives the same responses as one feed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::time::{Duration, Instant};

use super::*;
use crate::response::{BodyStream, Response};
use crate::status::StatusCode;
use crate::transcript::{redact_date, wire};

/// The handler of these tests: `/` is "ok", `/stream` two pieces, `/boom`
/// panics; preflight refuses `/nope` (404).
fn app(request: &Request<'_>) -> Response {
    match request.path() {
        "/stream" => {
            let pieces = ["one\n", "two\n"].map(|p| p.as_bytes().to_vec());
            Response::stream(
                StatusCode::OK,
                "text/plain",
                BodyStream::new(pieces.into_iter()),
            )
        }
        "/echo" => Response::bytes(StatusCode::OK, "text/plain", request.body.to_vec()),
        #[allow(clippy::panic)]
        "/boom" => panic!("boom"),
        _ => Response::text(StatusCode::OK, "ok\n"),
    }
}

struct App;

impl Handler for App {
    fn handle(&self, request: &Request<'_>) -> Response {
        app(request)
    }
    fn preflight(&self, request: &Request<'_>) -> Option<Response> {
        (request.path() == "/nope").then(|| Response::error(StatusCode::NOT_FOUND))
    }
}

fn limits() -> Limits {
    Limits {
        idle_timeout: Duration::from_millis(1000),
        head_timeout: Duration::from_millis(500),
        body_timeout: Duration::from_millis(400),
        write_timeout: Duration::from_millis(300),
        linger_timeout: Duration::from_millis(200),
        linger_bytes: 16,
        max_requests_per_connection: 3,
        // No time per byte, so the send deadlines below read as plain
        // `write_timeout` (the rate has a test of its own).
        min_send_rate: 1 << 30,
        ..Limits::default()
    }
}

const KEEP_ALIVE: Options = Options {
    persistence: Persistence::KeepAlive,
    chunked: true,
    expect_continue: true,
};

/// A connection on a virtual clock, and what it has written so far.
struct Harness {
    core: Connection,
    t0: Instant,
    now: Instant,
    draining: Arc<AtomicBool>,
    written: Vec<u8>,
}

impl Harness {
    fn new(options: Options) -> Harness {
        Harness::with(options, limits())
    }

    fn with(options: Options, limits: Limits) -> Harness {
        let draining = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&draining);
        let t0 = Instant::now();
        let peer = "127.0.0.1:9".parse().expect("an address");
        let signal = Box::new(move || flag.load(SeqCst));
        let core = Connection::new(limits, options, (1, peer), signal, t0);
        Harness {
            core,
            t0,
            now: t0,
            draining,
            written: Vec::new(),
        }
    }

    fn poll(&mut self) -> Want {
        self.core.poll(self.now, &App)
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.core.feed(bytes, self.now);
    }

    fn advance(&mut self, ms: u64) {
        self.now += Duration::from_millis(ms);
    }

    /// Take everything queued, as a driver whose writes all succeed.
    fn take(&mut self) -> String {
        let out = self.core.output().to_vec();
        self.core.wrote(out.len(), self.now);
        self.written.extend_from_slice(&out);
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Poll until the core wants input (or is done), writing and producing
    /// whatever it asks for; return that last want.
    fn settle(&mut self) -> Want {
        loop {
            match self.poll() {
                Want::Write { .. } => {
                    self.take();
                }
                Want::Produce => self.core.produce(self.now),
                Want::SendFile { .. } => self.send_file(),
                want => return want,
            }
        }
    }

    /// As a driver's `sendfile`, by reading: the range the core names.
    fn send_file(&mut self) {
        use std::os::unix::fs::FileExt;
        let Some((file, offset, len)) = self.core.file_range() else {
            panic!("SendFile without a range");
        };
        let mut bytes = vec![0; usize::try_from(len).expect("a small range")];
        file.read_exact_at(&mut bytes, offset)
            .expect("read the range");
        self.written.extend_from_slice(&bytes);
        self.core.file_sent(len);
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.duration_since(self.t0).as_millis()).unwrap_or(u64::MAX)
    }
}

/// A want, in words, with its deadline in virtual milliseconds.
fn describe(h: &Harness, want: Want) -> String {
    match want {
        Want::Write { deadline, last } => {
            let at = deadline.map_or("none".into(), |d| h.ms(d).to_string());
            format!("write by {at}{}", if last { ", last" } else { "" })
        }
        Want::Read { deadline, idle } => {
            format!(
                "read by {}{}",
                h.ms(deadline),
                if idle { ", idle" } else { "" }
            )
        }
        Want::Produce => "produce".into(),
        Want::SendFile { deadline } => {
            let at = deadline.map_or("none".into(), |d| h.ms(d).to_string());
            format!("send file by {at}")
        }
        Want::Linger { deadline } => format!("linger until {}", h.ms(deadline)),
        Want::Close(end) => format!("close: {end:?}"),
    }
}

/// What a test does to the connection before it polls again.
#[derive(Clone, Copy)]
enum Act {
    Feed(&'static [u8]),
    Advance(u64),
    /// Write what is queued, and check it starts with this status line.
    Take(&'static str),
    Produce,
    Eof,
    Drain,
}

use Act::*;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
const GET_CLOSE: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// (name, options, steps): each step is an act, then the want the next
/// poll must give. The states, the transitions and every deadline.
type Row = (&'static str, Options, &'static [(Act, &'static str)]);

const TABLE: &[Row] = &[
    ("idle, then the idle timeout closes quietly", KEEP_ALIVE, &[
        (Advance(0), "read by 1000, idle"),
        (Advance(999), "read by 1000, idle"),
        (Advance(1), "close: IdleTimeout"),
    ]),
    ("a request: answered, then idle again from the write", KEEP_ALIVE, &[
        (Feed(GET), "write by 300"),
        (Advance(10), "write by 300"),
        (Take("HTTP/1.1 200 OK"), "read by 1010, idle"),
    ]),
    ("the client says close and sends nothing after: no linger", KEEP_ALIVE, &[
        (Feed(GET_CLOSE), "write by 300, last"),
        (Take("HTTP/1.1 200 OK"), "close: Closed"),
    ]),
    ("a bad request: 400, then linger until the client closes", KEEP_ALIVE, &[
        (Feed(b"GET / HTTP/1.1\r\n\r\n"), "write by 300, last"),
        (Take("HTTP/1.1 400 Bad Request"), "linger until 200"),
        (Feed(b"0123456789"), "linger until 200"),
        (Eof, "close: Closed"),
    ]),
    ("the linger ends at its byte limit", KEEP_ALIVE, &[
        (Feed(b"BAD\r\n\r\n"), "write by 300, last"),
        (Take("HTTP/1.1 400 Bad Request"), "linger until 200"),
        (Feed(b"0123456789abcdefgh"), "close: Closed"),
    ]),
    ("the linger ends at its deadline", KEEP_ALIVE, &[
        (Feed(b"BAD\r\n\r\n"), "write by 300, last"),
        (Take("HTTP/1.1 400"), "linger until 200"),
        (Advance(200), "close: Closed"),
    ]),
    ("a head in pieces: the head deadline runs from its first byte", KEEP_ALIVE, &[
        (Advance(100), "read by 1000, idle"),
        (Feed(b"GET / HT"), "read by 600"),
        (Advance(300), "read by 600"),
        (Feed(b"TP/1.1\r\n"), "read by 600"),
        (Advance(200), "write by 900, last"),
        (Take("HTTP/1.1 408 Request Timeout"), "linger until 800"),
    ]),
    ("empty lines before a request keep it idle, up to two", KEEP_ALIVE, &[
        (Feed(b"\r\n\r\n"), "read by 1000, idle"),
        (Feed(b"\r\n"), "read by 500"),
    ]),
    ("a body: 408 after body_timeout without bytes", KEEP_ALIVE, &[
        (Feed(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe"), "read by 400"),
        (Advance(300), "read by 400"),
        // The whole body is due by body_timeout + 1 s per 500 bytes (ch07).
        (Feed(b"l"), "read by 402"),
        (Advance(400), "write by 1000, last"),
        (Take("HTTP/1.1 408"), "linger until 900"),
    ]),
    ("a body that arrives is answered", KEEP_ALIVE, &[
        (Feed(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhe"), "read by 400"),
        (Feed(b"llo"), "write by 300"),
        (Take("HTTP/1.1 200 OK"), "read by 1000, idle"),
    ]),
    ("100-continue: 100 first, then the body, then the answer", KEEP_ALIVE, &[
        (Feed(b"PUT /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"),
            "write by 300"),
        (Take("HTTP/1.1 100 Continue"), "read by 400"),
        (Feed(b"hi"), "write by 300"),
        (Take("HTTP/1.1 200 OK"), "read by 1000, idle"),
    ]),
    ("100-continue refused before the body (ch06)", KEEP_ALIVE, &[
        (Feed(b"PUT /nope HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"),
            "write by 300, last"),
        (Take("HTTP/1.1 404 Not Found"), "linger until 200"),
    ]),
    ("a chunked body, decoded as it comes", KEEP_ALIVE, &[
        (Feed(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi"),
            "read by 400"),
        (Feed(b"\r\n0\r\n\r\n"), "write by 300"),
        (Take("HTTP/1.1 200 OK"), "read by 1000, idle"),
    ]),
    ("a stream: head, each piece, the last chunk", KEEP_ALIVE, &[
        (Feed(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), "write by 300"),
        (Take("HTTP/1.1 200 OK"), "produce"),
        (Produce, "write by 300"),
        (Take("4\r\none\n"), "produce"),
        (Produce, "write by 300"),
        (Take("4\r\ntwo\n"), "produce"),
        (Produce, "write by 300"),
        (Take("0\r\n\r\n"), "read by 1000, idle"),
    ]),
    ("a stream during a drain: the connection closes after it", KEEP_ALIVE, &[
        (Feed(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"), "write by 300"),
        (Take("HTTP/1.1 200 OK"), "produce"),
        (Drain, "produce"),
        (Produce, "write by 300"),
        (Take("4\r\none\n"), "produce"),
        (Produce, "write by 300"),
        (Take("4\r\ntwo\n"), "produce"),
        (Produce, "write by 300, last"),
        (Take("0\r\n\r\n"), "linger until 200"),
    ]),
    ("draining: an idle connection closes at once", KEEP_ALIVE, &[
        (Advance(5), "read by 1000, idle"),
        (Drain, "close: Shutdown"),
    ]),
    ("the last request of a connection (max 3) says close", KEEP_ALIVE, &[
        (Feed(GET), "write by 300"),
        (Take("HTTP/1.1 200"), "read by 1000, idle"),
        (Feed(GET), "write by 300"),
        (Take("HTTP/1.1 200"), "read by 1000, idle"),
        (Feed(GET), "write by 300, last"),
        (Take("HTTP/1.1 200"), "linger until 200"),
    ]),
    ("a handler that panics: 500, close", KEEP_ALIVE, &[
        (Feed(b"GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"), "write by 300, last"),
        (Take("HTTP/1.1 500 Internal Server Error"), "linger until 200"),
    ]),
    ("one request per connection (ch02)", Options {
        persistence: Persistence::OneRequest,
        chunked: false,
        expect_continue: false,
    }, &[
        (Feed(GET), "write by 300, last"),
        (Take("HTTP/1.1 200 OK"), "linger until 200"),
    ]),
    ("chunked without the feature: 501", Options {
        persistence: Persistence::KeepAlive,
        chunked: false,
        expect_continue: false,
    }, &[
        (Feed(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "write by 300, last"),
        (Take("HTTP/1.1 501 Not Implemented"), "linger until 200"),
    ]),
    ("the peer closes mid-head", KEEP_ALIVE, &[
        (Feed(b"GET /"), "read by 500"),
        (Eof, "close: PeerClosed"),
    ]),
];

#[test]
fn states_and_transitions() {
    for &(name, options, steps) in TABLE {
        let mut h = Harness::new(options);
        for (i, &(act, want)) in steps.iter().enumerate() {
            match act {
                Feed(bytes) => h.feed(bytes),
                Advance(ms) => h.advance(ms),
                Take(start) => {
                    let got = h.take();
                    assert!(got.starts_with(start), "{name}, step {i}: wrote {got:?}");
                }
                Produce => h.core.produce(h.now),
                Eof => h.core.eof(),
                Drain => h.draining.store(true, SeqCst),
            }
            let got = h.poll();
            assert_eq!(describe(&h, got), want, "{name}, step {i}");
        }
    }
}

#[test]
fn a_response_during_a_drain_says_close() {
    let mut h = Harness::new(KEEP_ALIVE);
    h.feed(GET);
    h.draining.store(true, SeqCst);
    let want = h.poll();
    assert_eq!(describe(&h, want), "write by 300, last");
    assert!(h.take().contains("Connection: close\r\n"));
}

#[test]
fn send_deadline_grows_with_the_batch() {
    // write_timeout 300 ms, plus one second per 4 KiB (MIN_SEND_RATE).
    let limits = Limits {
        min_send_rate: 4096,
        ..limits()
    };
    let mut h = Harness::with(KEEP_ALIVE, limits);
    let mut request =
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8192\r\n\r\n".to_vec();
    request.resize(request.len() + 8192, b'x');
    h.core.feed(&request, h.now);
    let Want::Write { deadline, .. } = h.poll() else {
        panic!("no write");
    };
    let len = h.core.output().len();
    let expected = rate_deadline(h.now, Duration::from_millis(300), len, 4096);
    assert_eq!(deadline, expected);
    assert!(
        h.ms(deadline.expect("a deadline")) > 2300,
        "8 KiB at 4 KiB/s: 2 s more"
    );
}

// ANCHOR: any_split
/// Everything written for `input` fed in pieces of the given sizes (the
/// last piece takes the rest), with a drive that writes and produces all
/// it is asked to, and the Date values redacted.
fn responses(input: &[u8], cuts: &[usize]) -> String {
    let limits = Limits {
        max_requests_per_connection: 100,
        ..limits()
    };
    let mut h = Harness::with(KEEP_ALIVE, limits);
    let mut rest = input;
    for &cut in cuts.iter().chain(std::iter::once(&usize::MAX)) {
        let (piece, after) = rest.split_at(cut.min(rest.len()));
        h.feed(piece);
        rest = after;
        if matches!(h.settle(), Want::Close(_) | Want::Linger { .. }) {
            break;
        }
    }
    redact_date(&wire(&h.written))
}

/// A pipeline that exercises every framing: GET, HEAD, a Content-Length
/// body, a chunked body with an extension and a trailer, a stream, an empty
/// line, HTTP/1.0. (Not 100-continue: whether 100 is sent depends on
/// whether the body came with the head, which is the point of it.)
const PIPELINE: &[u8] = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n\
HEAD / HTTP/1.1\r\nHost: x\r\n\r\n\
POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\n0\r\nT: 1\r\n\r\n\
GET /stream HTTP/1.1\r\nHost: x\r\n\r\n\
PUT /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok\
\r\n\
GET / HTTP/1.0\r\n\r\n";

#[test]
fn any_split_gives_the_same_responses() {
    let whole = responses(PIPELINE, &[]);
    assert!(
        whole.contains("0\\r\\n\n\\r\\n\n"),
        "the stream's last chunk:\n{whole}"
    );
    assert_eq!(whole.matches("HTTP/1.1 200 OK").count(), 7, "{whole}");
    // Every single cut point, then byte by byte, then pseudo-random splits.
    for cut in 1..PIPELINE.len() {
        assert_eq!(responses(PIPELINE, &[cut]), whole, "cut at {cut}");
    }
    let ones = vec![1; PIPELINE.len()];
    assert_eq!(responses(PIPELINE, &ones), whole, "byte by byte");
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    for round in 0..200 {
        let mut cuts = Vec::new();
        let mut total = 0;
        while total < PIPELINE.len() {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let cut = usize::try_from(seed % 40).unwrap_or(1) + 1;
            cuts.push(cut);
            total += cut;
        }
        assert_eq!(
            responses(PIPELINE, &cuts),
            whole,
            "round {round}: cuts {cuts:?}"
        );
    }
}
// ANCHOR_END: any_split

/// A file body (ch07): our own bytes and ranges of the file, in order, with
/// the length announced up front; HEAD gets the head alone.
#[test]
fn a_file_body_goes_out_part_by_part() {
    use crate::response::{FileBody, FilePart};
    use std::io::Write as _;
    let path = std::env::temp_dir().join(format!("rawhttp-core-{}", std::process::id()));
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(b"0123456789"))
        .expect("a temporary file");
    struct Files(std::path::PathBuf);
    impl Handler for Files {
        fn handle(&self, _: &Request<'_>) -> Response {
            let file = std::fs::File::open(&self.0).expect("open it");
            let parts = vec![
                FilePart::Bytes(b"--b\r\n".to_vec()),
                FilePart::Range { start: 2, len: 3 },
                FilePart::Bytes(b"\r\n".to_vec()),
                FilePart::Range { start: 7, len: 2 },
            ];
            Response::file(StatusCode::OK, "text/plain", FileBody::parts(file, parts))
        }
    }
    let files = Files(path.clone());
    let mut h = Harness::new(KEEP_ALIVE);
    h.feed(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\nHEAD /f HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut wants = Vec::new();
    loop {
        let want = h.core.poll(h.now, &files);
        wants.push(describe(&h, want));
        match want {
            Want::Write { .. } => {
                h.take();
            }
            Want::SendFile { .. } => h.send_file(),
            _ => break,
        }
    }
    let _ = std::fs::remove_file(&path);
    let text = redact_date(&wire(&h.written));
    assert!(text.contains("Content-Length: 12\\r\\n"), "{text}");
    assert!(
        text.contains("\\r\\n\n--b\\r\\n\n234\\r\\n\n78HTTP/1.1 200 OK"),
        "{text}"
    );
    assert!(
        text.ends_with("Content-Length: 12\\r\\n\n\\r\\n\n"),
        "HEAD: no body\n{text}"
    );
    assert_eq!(
        wants,
        [
            "write by 300",
            "write by 300",
            "send file by 300",
            "write by 300",
            "send file by 300",
            "write by 300",
            "read by 1000, idle",
        ],
        "{text}"
    );
}

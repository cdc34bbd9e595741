//! Every limit the server enforces, in one place (ch02; ch04 adds the
//! connection timeouts, ch05 the shutdown grace, ch08 the range count and
//! the upload limits).
//!
//! A server that reads from strangers must decide, for every resource a peer
//! can make it spend (bytes, time, threads), how much is too much, and what
//! to answer then. Each constant below names its default, the status it
//! produces and a precedent from a well-known server. [`Limits`] carries the
//! values at run time, so tests can shrink the timeouts instead of sleeping
//! for seconds, and operators can tune them with `RAWHTTP_*` environment
//! variables ([`Limits::from_env`]). The wire trace's switch rides along
//! ([`Limits::trace`]): not a limit, but read at the same time, in the same
//! way.

use std::fmt;
use std::time::Duration;

// ANCHOR: sizes
/// Longest request line we read, CRLF excluded: a longer one gets 414 (URI Too Long).
///
/// RFC 9112 §3 recommends supporting request lines of at least 8000 octets.
/// nginx's default `large_client_header_buffers` is 8 KiB.
pub const MAX_REQUEST_LINE: usize = 8 * 1024;

/// Largest request head (request line, fields and the empty line): 431.
///
/// h11 uses 16 KiB, Node.js 16 KiB, hyper ~400 KiB, Go 1 MiB.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

/// Most header fields in one request: one more gets 431.
///
/// hyper's default is 100; Apache's `LimitRequestFields` is 100. 64 is plenty
/// for browsers (they send about 15).
pub const MAX_HEADERS: usize = 64;

/// Empty lines (CRLF) ignored before a request, while the connection still
/// counts as idle (RFC 9112 §2.2: a server SHOULD ignore "at least one").
/// More is not a robust client but one dripping CRLFs to stay connected
/// forever: they count as the start of a head, under [`HEAD_TIMEOUT`].
/// Not configurable: it is protocol policy, not a resource budget.
pub const MAX_BLANK_LINES: usize = 2;

/// Largest request body: a Content-Length above it gets 413 (Content Too Large),
/// decided from the header before a byte of the body is read.
///
/// nginx's `client_max_body_size` defaults to 1 MiB.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
// ANCHOR_END: sizes

// ANCHOR: connections
/// Most connections served at once. Past it, a new connection is refused:
/// closed at once by the echo server (step01), answered with 503 by the
/// HTTP steps. One thread per connection, so this also caps the threads.
///
/// mini-redis uses 250.
pub const MAX_CONNECTIONS: usize = 256;

/// Most connections that are closing at once beyond [`MAX_CONNECTIONS`].
///
/// A connection sending its last response stops counting against
/// `MAX_CONNECTIONS`, so that its client can reconnect the moment it has
/// read that response. But it still holds a thread and the response until
/// the client has taken it (up to [`WRITE_TIMEOUT`] plus its size at
/// [`MIN_SEND_RATE`]) and the linger is over. Past this many, a closing
/// connection keeps counting as open, so the two caps together bound the
/// threads: at most `MAX_CONNECTIONS + MAX_CLOSING`. A closing
/// connection that cannot move stays what it was: open, counted, bounded.
pub const MAX_CLOSING: usize = 64;
// ANCHOR_END: connections

// ANCHOR: read_timeouts
/// How long a connection may sit idle before its first request, or between
/// two requests, before we close it quietly (no 408: RFC 9112 §9.5 lets a
/// server close an idle connection at any time, and an unasked-for 408 would
/// confuse a client that is just about to send).
///
/// nginx's `keepalive_timeout` is 75 s, Apache's `KeepAliveTimeout` 5 s.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(15);

/// Once the first byte of a request head has arrived, the whole head must
/// arrive within this time, or we answer 408 (Request Timeout) and close.
/// This is what stops slowloris, which dribbles a head one byte at a time.
///
/// nginx's `client_header_timeout` is 60 s; Go servers commonly set
/// `ReadHeaderTimeout` to 10 s.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

/// While reading a body, the longest wait for the next bytes: 408 and close.
///
/// nginx's `client_body_timeout` (also between two reads) is 60 s.
///
/// Between reads is not enough on its own: a client that sends one byte
/// every 9 s never trips it, and holds a thread for days ("slow POST", the
/// R-U-Dead-Yet attack). So the whole body also has a deadline: this long,
/// plus one second for every [`MIN_BODY_RATE`] bytes that have arrived.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(10);

/// The slowest a body may arrive, on average, in bytes per second (see
/// [`BODY_TIMEOUT`]); slower gets 408. Apache's `mod_reqtimeout` uses
/// the same scheme with the same default (`body=20,MinRate=500`).
pub const MIN_BODY_RATE: usize = 500;
// ANCHOR_END: read_timeouts

// ANCHOR: write_timeouts
/// The longest a single write may block (a client that never reads).
/// The connection is closed; its thread is freed.
///
/// nginx's `send_timeout` is 60 s. Like the body timeout, a timeout per
/// write does not stop a client that reads a trickle ("slow read"): each
/// write makes a little progress. So each batch of responses also has a
/// deadline: this long plus one second per [`MIN_SEND_RATE`] bytes.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// The slowest a client may take our responses, on average, in bytes per
/// second (see [`WRITE_TIMEOUT`]); slower and the connection is closed. 4 KiB/s
/// is a 32 kbit/s link: a 1 MiB response may take up to about four minutes.
/// IIS has the same kind of limit (`minBytesPerSecond`, 240 by default).
pub const MIN_SEND_RATE: usize = 4 * 1024;
// ANCHOR_END: write_timeouts

// ANCHOR: lifetimes
/// Requests served on one connection before the server closes it (the last
/// response says `Connection: close`). Bounds how long one client can hold
/// a thread and lets per-connection state start fresh.
///
/// nginx's `keepalive_requests` is 1000.
pub const MAX_REQUESTS_PER_CONNECTION: usize = 1000;

/// After the last response on a connection the server closes its sending
/// side and reads (and discards) what the client still sends, for at most
/// this long, so the client sees the response and not a reset (Go's
/// `closeWriteAndWait`, Apache's lingering close).
pub const LINGER_TIMEOUT: Duration = Duration::from_millis(500);

/// The most bytes discarded while lingering (see [`LINGER_TIMEOUT`]).
pub const LINGER_BYTES: usize = 64 * 1024;

/// How long a thread whose connection has ended waits for the next
/// connection before it exits (ch04 reuses threads: starting one per
/// connection costs more than a short request). Parked threads are few (at
/// most as many as connections were open at once) and use no CPU.
pub const THREAD_IDLE_TIMEOUT: Duration = Duration::from_secs(10);

/// On shutdown, how long in-flight requests get to finish before their
/// connections are cut (ch05).
///
/// Kubernetes gives a pod 30 s between SIGTERM and SIGKILL; 10 s leaves room.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
// ANCHOR_END: lifetimes

// ANCHOR: ranges
/// Most range-specs in one `Range` header (ch08, [`crate::range`]). One
/// more, and the header is ignored: the client gets the whole file with 200
/// (RFC 9110 §14.2: "A server MAY ignore the Range header field."). RFC 9110
/// §15.5.17 would also allow a 416 for "an excessive number of small or
/// overlapping ranges", but ignoring costs no more than a plain GET of the
/// file, and a client that meant it still gets its bytes. What the cap saves
/// is the framing of each part (about 80 bytes, RFC 9110 §15.3.7.2) and the
/// work per spec.
///
/// Apache's `MaxRanges` defaults to 200 and also serves the whole file past
/// it; nginx's `max_ranges` has no limit by default. Browsers and media
/// players ask for one range; 16 leaves room for document viewers.
pub const MAX_RANGES: usize = 16;
// ANCHOR_END: ranges

// ANCHOR: uploads
/// Most bytes in the head of one part of a `multipart/form-data` upload
/// (ch08): its `Content-Disposition`, `Content-Type` and any other lines,
/// CRLFs and the empty line included. One more gets 413 (Content Too
/// Large): a part head is content, not one of the request's header fields,
/// so not 431. The parser keeps one head line in memory, so this bounds
/// that too. A browser's part head is about 150 bytes; a 255-byte file
/// name fits many times over. busboy (Node.js) allows 16 KiB.
pub const MAX_PART_HEAD: usize = 8 * 1024;

/// Most parts in one `multipart/form-data` upload (ch08): the part one more
/// gets 413. Each part costs a `PartStart` (its name, file name and type)
/// and, for the integrator, perhaps a file; without a cap, a body of tiny
/// parts costs far more than its bytes. Go's `Reader.ReadForm` allows 1000;
/// 64 fields is a large form.
pub const MAX_PARTS: usize = 64;
// ANCHOR_END: uploads

// ANCHOR: file_cache
/// Most bytes of small files step07 keeps in memory (ch08, `files::cache`).
/// Past it, the least recently used file is dropped first. nginx's
/// `open_file_cache` keeps descriptors and `stat` results, not bytes (it
/// leaves those to the page cache); keeping the bytes too saves us the
/// path resolution, the open and the close of every hit.
pub const FILE_CACHE_BYTES: usize = 8 * 1024 * 1024;

/// The largest file the cache keeps (ch08): bigger ones are always sent from
/// the file by `sendfile`, where the copy into the socket is the kernel's.
pub const FILE_CACHE_MAX_FILE: usize = 64 * 1024;
// ANCHOR_END: file_cache

// ANCHOR: trace
/// The most bytes of one read or one write the wire trace shows
/// (`RAWHTTP_TRACE=1`; ch02, "Watch the wire"). A longer one shows its
/// first and last `TRACE_BYTES / 2` bytes, around a line that counts the
/// bytes left out. 2 KiB shows a browser's request head and the demo's
/// pages whole, while a 1 MiB upload prints a few KiB per read, not the
/// megabyte. Precedents: strace shows 32 bytes of each buffer (`-s`),
/// tcpdump 262144 bytes of each packet (`-s`).
pub const TRACE_BYTES: usize = 2 * 1024;
// ANCHOR_END: trace

/// The limits in force for one server, with the defaults above.
///
/// Every field can be set from the environment by [`Limits::from_env`]:
/// sizes as plain numbers (`RAWHTTP_MAX_BODY_BYTES=4096`), durations in
/// milliseconds (`RAWHTTP_IDLE_TIMEOUT_MS=200`), the trace switch as `0` or
/// `1` (`RAWHTTP_TRACE=1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_REQUEST_LINE`].
    pub max_request_line: usize,
    /// See [`MAX_HEAD_BYTES`].
    pub max_head_bytes: usize,
    /// See [`MAX_HEADERS`].
    pub max_headers: usize,
    /// See [`MAX_BODY_BYTES`].
    pub max_body_bytes: usize,
    /// See [`MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// See [`MAX_CLOSING`].
    pub max_closing: usize,
    /// See [`IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// See [`HEAD_TIMEOUT`].
    pub head_timeout: Duration,
    /// See [`BODY_TIMEOUT`].
    pub body_timeout: Duration,
    /// See [`MIN_BODY_RATE`].
    pub min_body_rate: usize,
    /// See [`WRITE_TIMEOUT`].
    pub write_timeout: Duration,
    /// See [`MIN_SEND_RATE`].
    pub min_send_rate: usize,
    /// See [`MAX_REQUESTS_PER_CONNECTION`].
    pub max_requests_per_connection: usize,
    /// See [`LINGER_TIMEOUT`].
    pub linger_timeout: Duration,
    /// See [`LINGER_BYTES`].
    pub linger_bytes: usize,
    /// See [`SHUTDOWN_GRACE`].
    pub shutdown_grace: Duration,
    /// See [`THREAD_IDLE_TIMEOUT`].
    pub thread_idle_timeout: Duration,
    /// See [`MAX_RANGES`].
    pub max_ranges: usize,
    /// See [`FILE_CACHE_BYTES`].
    pub file_cache_bytes: usize,
    /// See [`FILE_CACHE_MAX_FILE`].
    pub file_cache_max_file: usize,
    /// See [`MAX_PART_HEAD`].
    pub max_part_head: usize,
    /// See [`MAX_PARTS`].
    pub max_parts: usize,
    /// Whether every connection's reads and writes are printed on stderr
    /// (`RAWHTTP_TRACE=1`; `0` or unset: off; see [`crate::trace`]).
    ///
    /// Not a limit but a switch. It is read with the limits because every
    /// step reads those once at startup, where a bad value stops the
    /// server, and every driver already has them (`Conn::limits`): so the
    /// trace works in every step without changing any of them.
    pub trace: bool,
    /// See [`TRACE_BYTES`].
    pub trace_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: MAX_REQUEST_LINE,
            max_head_bytes: MAX_HEAD_BYTES,
            max_headers: MAX_HEADERS,
            max_body_bytes: MAX_BODY_BYTES,
            max_connections: MAX_CONNECTIONS,
            max_closing: MAX_CLOSING,
            idle_timeout: IDLE_TIMEOUT,
            head_timeout: HEAD_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            min_body_rate: MIN_BODY_RATE,
            write_timeout: WRITE_TIMEOUT,
            min_send_rate: MIN_SEND_RATE,
            max_requests_per_connection: MAX_REQUESTS_PER_CONNECTION,
            linger_timeout: LINGER_TIMEOUT,
            linger_bytes: LINGER_BYTES,
            shutdown_grace: SHUTDOWN_GRACE,
            thread_idle_timeout: THREAD_IDLE_TIMEOUT,
            max_ranges: MAX_RANGES,
            file_cache_bytes: FILE_CACHE_BYTES,
            file_cache_max_file: FILE_CACHE_MAX_FILE,
            max_part_head: MAX_PART_HEAD,
            max_parts: MAX_PARTS,
            trace: false,
            trace_bytes: TRACE_BYTES,
        }
    }
}

/// An environment variable that names a limit (or the trace switch) but
/// does not hold a valid value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLimit {
    /// The variable's name, e.g. `RAWHTTP_IDLE_TIMEOUT_MS`.
    pub var: &'static str,
    /// What it held.
    pub value: String,
    /// What it should hold: [`BadLimit::NUMBER`] or [`BadLimit::SWITCH`].
    pub expected: &'static str,
}

impl BadLimit {
    /// What a limit must be.
    pub const NUMBER: &'static str = "a valid limit (a positive whole number)";
    /// What a switch (`RAWHTTP_TRACE`) must be.
    pub const SWITCH: &'static str = "a valid switch (0 or 1)";

    fn new(var: &'static str, value: String, expected: &'static str) -> BadLimit {
        BadLimit {
            var,
            value,
            expected,
        }
    }
}

impl fmt::Display for BadLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?} is not {}", self.var, self.value, self.expected)
    }
}

impl std::error::Error for BadLimit {}

impl Limits {
    /// The defaults, overridden by any `RAWHTTP_*` variable that is set.
    ///
    /// A variable that is set but does not hold a positive whole number (for
    /// `RAWHTTP_TRACE`: `0` or `1`) is an error: a typo in a limit must not
    /// silently fall back to the default.
    pub fn from_env() -> Result<Limits, BadLimit> {
        Self::from_lookup(|var| std::env::var(var).ok())
    }

    /// Like [`Limits::from_env`], with the variables looked up by `get`
    /// (so tests need not touch the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Limits, BadLimit> {
        let mut l = Limits::default();
        let size = |var: &'static str, slot: &mut usize| -> Result<(), BadLimit> {
            if let Some(value) = get(var) {
                *slot = match value.trim().parse::<usize>() {
                    Ok(n) if n > 0 => n,
                    _ => return Err(BadLimit::new(var, value, BadLimit::NUMBER)),
                };
            }
            Ok(())
        };
        let millis = |var: &'static str, slot: &mut Duration| -> Result<(), BadLimit> {
            let mut ms = 0usize;
            let was_set = get(var).is_some();
            size(var, &mut ms)?;
            if was_set {
                *slot = Duration::from_millis(ms as u64);
            }
            Ok(())
        };
        let switch = |var: &'static str, slot: &mut bool| -> Result<(), BadLimit> {
            if let Some(value) = get(var) {
                *slot = match value.trim() {
                    "0" => false,
                    "1" => true,
                    _ => return Err(BadLimit::new(var, value, BadLimit::SWITCH)),
                };
            }
            Ok(())
        };
        size("RAWHTTP_MAX_REQUEST_LINE", &mut l.max_request_line)?;
        size("RAWHTTP_MAX_HEAD_BYTES", &mut l.max_head_bytes)?;
        size("RAWHTTP_MAX_HEADERS", &mut l.max_headers)?;
        size("RAWHTTP_MAX_BODY_BYTES", &mut l.max_body_bytes)?;
        size("RAWHTTP_MAX_CONNECTIONS", &mut l.max_connections)?;
        size("RAWHTTP_MAX_CLOSING", &mut l.max_closing)?;
        millis("RAWHTTP_IDLE_TIMEOUT_MS", &mut l.idle_timeout)?;
        millis("RAWHTTP_HEAD_TIMEOUT_MS", &mut l.head_timeout)?;
        millis("RAWHTTP_BODY_TIMEOUT_MS", &mut l.body_timeout)?;
        size("RAWHTTP_MIN_BODY_RATE", &mut l.min_body_rate)?;
        millis("RAWHTTP_WRITE_TIMEOUT_MS", &mut l.write_timeout)?;
        size("RAWHTTP_MIN_SEND_RATE", &mut l.min_send_rate)?;
        size(
            "RAWHTTP_MAX_REQUESTS_PER_CONNECTION",
            &mut l.max_requests_per_connection,
        )?;
        millis("RAWHTTP_LINGER_TIMEOUT_MS", &mut l.linger_timeout)?;
        size("RAWHTTP_LINGER_BYTES", &mut l.linger_bytes)?;
        millis("RAWHTTP_SHUTDOWN_GRACE_MS", &mut l.shutdown_grace)?;
        millis("RAWHTTP_THREAD_IDLE_TIMEOUT_MS", &mut l.thread_idle_timeout)?;
        size("RAWHTTP_MAX_RANGES", &mut l.max_ranges)?;
        size("RAWHTTP_FILE_CACHE_BYTES", &mut l.file_cache_bytes)?;
        size("RAWHTTP_FILE_CACHE_MAX_FILE", &mut l.file_cache_max_file)?;
        size("RAWHTTP_MAX_PART_HEAD", &mut l.max_part_head)?;
        size("RAWHTTP_MAX_PARTS", &mut l.max_parts)?;
        switch("RAWHTTP_TRACE", &mut l.trace)?;
        size("RAWHTTP_TRACE_BYTES", &mut l.trace_bytes)?;
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_nothing_is_set() {
        assert_eq!(Limits::from_lookup(|_| None), Ok(Limits::default()));
    }

    #[test]
    fn overrides_sizes_and_millis() {
        let l = Limits::from_lookup(|v| match v {
            "RAWHTTP_MAX_BODY_BYTES" => Some("4096".into()),
            "RAWHTTP_IDLE_TIMEOUT_MS" => Some("250".into()),
            _ => None,
        })
        .expect("valid values");
        assert_eq!(l.max_body_bytes, 4096);
        assert_eq!(l.idle_timeout, Duration::from_millis(250));
        assert_eq!(l.max_headers, MAX_HEADERS);
    }

    #[test]
    fn overrides_multipart_limits() {
        let l = Limits::from_lookup(|v| match v {
            "RAWHTTP_MAX_PART_HEAD" => Some("512".into()),
            "RAWHTTP_MAX_PARTS" => Some("3".into()),
            _ => None,
        })
        .expect("valid values");
        assert_eq!((l.max_part_head, l.max_parts), (512, 3));
        let bad = Limits::from_lookup(|v| (v == "RAWHTTP_MAX_PARTS").then(|| "0".into()));
        assert_eq!(
            bad,
            Err(BadLimit {
                var: "RAWHTTP_MAX_PARTS",
                value: "0".into(),
                expected: BadLimit::NUMBER,
            })
        );
    }

    #[test]
    fn rejects_garbage_and_zero() {
        for bad in ["", "0", "-1", "1e3", "ten"] {
            let got =
                Limits::from_lookup(|v| (v == "RAWHTTP_MAX_HEADERS").then(|| bad.into()));
            assert_eq!(
                got,
                Err(BadLimit {
                    var: "RAWHTTP_MAX_HEADERS",
                    value: bad.into(),
                    expected: BadLimit::NUMBER,
                }),
                "value {bad:?}"
            );
        }
    }

    #[test]
    fn the_trace_is_off_unless_switched_on() {
        let trace = |value: &str| {
            Limits::from_lookup(|v| (v == "RAWHTTP_TRACE").then(|| value.into()))
                .map(|l| l.trace)
        };
        assert!(!Limits::default().trace);
        assert_eq!(trace("1"), Ok(true));
        assert_eq!(trace("0"), Ok(false));
        for bad in ["", "yes", "true", "2", "01"] {
            let err = trace(bad).expect_err(bad);
            assert_eq!((err.var, err.expected), ("RAWHTTP_TRACE", BadLimit::SWITCH));
            assert_eq!(
                err.to_string(),
                format!("RAWHTTP_TRACE={bad:?} is not a valid switch (0 or 1)")
            );
        }
        let l =
            Limits::from_lookup(|v| (v == "RAWHTTP_TRACE_BYTES").then(|| "64".into()));
        assert_eq!(l.map(|l| l.trace_bytes), Ok(64));
    }
}

//! The connection core: one HTTP/1.1 connection's protocol state, with no
//! I/O (ch04; ch05 adds draining, ch06 bodies, ch07 rate deadlines; RFC 9112
//! §9).
//!
//! A [`Connection`] is fed the bytes a driver read (from a socket, from
//! TLS, from a test) and says what it wants next ([`Want`]): bytes written,
//! more bytes read by a deadline, a streamed body's next piece, a lingering
//! close, or the end. It never blocks, sleeps or reads a clock: the driver
//! passes `now` in and sleeps until the deadline the core names. So a test
//! can drive it through every state byte by byte, and one event loop could
//! drive thousands of them.
//!
//! The states are [`State`]'s; every transition is made in [`Connection::poll`]
//! or a method it calls. The deadline of each waiting state is on its right.
//!
//! ```text
//!  accepted
//!     │
//!     ▼
//!  ┌──────┐  no byte by idle_timeout, or the server drains (ch05):
//!  │ Idle │  close without a word ───────────────────────────────────────▶ Done
//!  └──────┘
//!     │ the first bytes of a head (blank lines leave it Idle, ch07)
//!     ▼
//!  ┌──────┐  the whole head not here head_timeout after its first byte:
//!  │ Head │  408. A head that does not parse (here or in Idle): 4xx, and
//!  └──────┘  one whose body is refused before it is sent (ch06) ─────────▶ Closing
//!     │ the head is complete, its body is not (or is chunked, ch06)
//!     ▼
//!  ┌──────┐  no byte for body_timeout, or the body later than its rate
//!  │ Body │  deadline (ch07): 408; a chunk that does not parse (ch06):
//!  └──────┘  4xx ────────────────────────────────────────────────────────▶ Closing
//!     │ the whole request is here (from Idle, Head or Body): respond
//!     ├──▶ Idle        the response is queued; the connection persists
//!     ├──▶ Closing     it is the last response (Connection: close)
//!     ▼
//!  ┌───────────┐  its body is streamed (ch06): produce a piece, write
//!  │ Streaming │  it, ...; after the last ──▶ Idle, or ──▶ Closing; if the
//!  └───────────┘  stream panics ──▶ Done
//!  ┌─────────┐  its body is a file (ch08): queue our own bytes, have the
//!  │ Sending │  driver send the file's ranges; after the last ──▶ Idle,
//!  └─────────┘  or ──▶ Closing
//!  ┌─────────┐  write the last response; then ──▶ Lingering, or ──▶ Done
//!  │ Closing │  when the client said close and sent nothing after it
//!  └─────────┘
//!  ┌───────────┐  our side shut down; discard what the client still sends,
//!  │ Lingering │  until its EOF, linger_timeout or linger_bytes ──▶ Done
//!  └───────────┘
//!  ┌──────┐
//!  │ Done │  the driver closes the socket; the client's EOF ends any state
//!  └──────┘  here too
//!
//!  In every state, queued output is written before anything else is waited
//!  for, each batch by its send deadline (ch07): write_timeout, plus its size
//!  at min_send_rate. A batch not taken by then ends the connection.
//! ```

mod answer;
mod body;
mod close;
mod deadline;
mod expect;
mod file;
mod stream;
#[cfg(test)]
mod tests;

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::time::Instant;

use crate::chunked::Decoder;
use crate::limits::{Limits, MAX_BLANK_LINES};
use crate::request::{Framing, Request, Status, parse_head};
use crate::response::Response;

pub use close::refusal;
pub use deadline::rate_deadline;

use answer::{AccessLog, answer, wants_close};
use close::is_head;
use file::Sending;
use stream::Streaming;

/// Anything that turns a request into a response: a plain function (step02),
/// a [`Router`](crate::router::Router) (step03 on).
pub trait Handler: Send + Sync + 'static {
    /// Answer one request. A panic here becomes a 500; the server goes on.
    fn handle(&self, request: &Request<'_>) -> Response;

    /// Before the body has arrived: the response this request will get no
    /// matter what its body says (404, 405, …), or `None` to go on. Used to
    /// answer `Expect: 100-continue` without making the client send a body
    /// we would throw away (ch06). The default accepts everything.
    fn preflight(&self, request: &Request<'_>) -> Option<Response> {
        let _ = request;
        None
    }
}

impl<F> Handler for F
where
    F: Fn(&Request<'_>) -> Response + Send + Sync + 'static,
{
    fn handle(&self, request: &Request<'_>) -> Response {
        self(request)
    }
}

/// Whether a connection may carry more than one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persistence {
    /// Answer one request, then close (steps 02 and 03).
    OneRequest,
    /// HTTP/1.1 persistent connections with pipelining (step04 on).
    KeepAlive,
}

/// Which protocol features a connection has (each step turns more on).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// One request, or keep-alive.
    pub persistence: Persistence,
    /// Accept `Transfer-Encoding: chunked` request bodies (ch06); without
    /// it they get 501, as in steps 02–05.
    pub chunked: bool,
    /// Refuse a body the handler would refuse before it is sent, and
    /// answer an unknown expectation with 417 (ch06). Every step sends
    /// `100 Continue` when asked (RFC 9110 §10.1.1).
    pub expect_continue: bool,
}

/// Why a connection ended (for the debug log, and for tests to reason about).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// We sent a response with `Connection: close`.
    Closed,
    /// The client closed its side (between requests, or mid-request).
    PeerClosed,
    /// Nothing arrived within the idle timeout; closed without a word.
    IdleTimeout,
    /// The server is shutting down and the connection was idle.
    Shutdown,
    /// A read or write failed (reset, write timeout, …).
    Io(ErrorKind),
}

// ANCHOR: want
/// What the connection wants its driver to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// Write all of [`Connection::output`], reporting progress with
    /// [`Connection::wrote`], by `deadline` (else give up: `End::Io`).
    /// `last`: this is the last response; the connection closes after it.
    Write {
        /// When the client must have taken it all (`None`: unbounded).
        deadline: Option<Instant>,
        /// Whether the connection closes once this is written.
        last: bool,
    },
    /// Read into [`Connection::input`], then call [`Connection::received`]
    /// (or [`Connection::eof`]). At `deadline`, poll again anyway.
    Read {
        /// When to give up waiting.
        deadline: Instant,
        /// Waiting between requests (the shutdown may close us now).
        idle: bool,
    },
    /// Call [`Connection::produce`]: a streamed body's next piece (ch06).
    Produce,
    /// Send the range [`Connection::file_range`] names, straight from the
    /// file, reporting progress with [`Connection::file_sent`], by
    /// `deadline` (ch07).
    SendFile {
        /// When the client must have taken the range (`None`: unbounded).
        deadline: Option<Instant>,
    },
    /// Shut down the sending side, then read and discard what still comes
    /// (report it with `received`), until EOF or `deadline`.
    Linger {
        /// When to stop lingering.
        deadline: Instant,
    },
    /// Nothing more: close the connection. Shut down the sending side first
    /// when the end is [`End::Closed`], so the FIN goes out at once.
    Close(End),
}
// ANCHOR_END: want

// ANCHOR: state
/// Where the connection is. Transitions happen in [`Connection::poll`]
/// and the few methods it calls (STYLE: one enum, one place).
enum State {
    /// Waiting for the first byte of a request, since the instant given.
    Idle(Instant),
    /// Part of a head is buffered, since the instant given.
    Head(Instant),
    /// The head is complete; its body is arriving.
    Body(BodyWait),
    /// A streamed response is being sent (ch06).
    Streaming(Streaming),
    /// A response whose body comes from a file is being sent (ch08).
    Sending(Sending),
    /// The last response is queued: send it, then close (`linger`: wait for
    /// the client's end first, as after an error or our own decision).
    Closing {
        /// Linger after the last byte, or close at once.
        linger: bool,
    },
    /// The last response is sent; discarding what the client still sends.
    Lingering {
        /// When to stop.
        deadline: Instant,
        /// How many bytes were discarded so far.
        discarded: usize,
    },
    /// Over.
    Done(End),
}
// ANCHOR_END: state

/// Waiting for a body: how it is framed, and the clock that bounds it.
struct BodyWait {
    /// Where the body starts, from the start of the request.
    head_len: usize,
    /// Where the request ends (`Some`: Content-Length) or that it is chunked.
    total: Option<usize>,
    /// Since when we wait for this body (the body deadline, ch07).
    since: Instant,
    /// Bytes that arrived since then.
    got: usize,
    /// When bytes last arrived: at most `body_timeout` between two reads.
    last: Instant,
}

/// Initial (and usual) size of the read buffer. Grows for large bodies,
/// shrinks back when the connection is idle again.
const READ_BUF: usize = 8 * 1024;

/// One HTTP/1.1 connection's protocol state. See the module docs.
pub struct Connection {
    limits: Limits,
    options: Options,
    /// For log lines: the connection's number and the client's address.
    id: u64,
    peer: SocketAddr,
    /// Whether the server is draining (ch05): read when a response is
    /// decided, when the connection would go idle, and by streams.
    draining: Box<dyn Fn() -> bool + Send>,
    state: State,
    /// Bytes read, `buf[start..end]` not yet used. Never shrinks below
    /// `READ_BUF`, so reading a request costs no allocation.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Responses waiting to be written: every pipelined response goes out
    /// in one `write`.
    out: Vec<u8>,
    /// When the client must have taken `out` (set when a batch starts).
    send_deadline: Option<Option<Instant>>,
    /// Requests answered so far.
    served: usize,
    /// Empty lines ignored before the request being read (ch07).
    blank_lines: usize,
    /// The decoder of a chunked body that has not all arrived (ch06).
    chunked: Option<Decoder>,
    /// Whether `100 Continue` was sent for the request being read.
    continued: bool,
    /// Whether the request being read is a HEAD request: then even an error
    /// answer has no content (RFC 9110 §9.3.2).
    head_only: bool,
    /// Access-log lines of responses queued in `out`, not yet all sent.
    logs: Vec<AccessLog>,
}

impl Connection {
    /// A new connection, idle since `now`. `draining` tells whether the
    /// server is shutting down.
    pub fn new(
        limits: Limits,
        options: Options,
        (id, peer): (u64, SocketAddr),
        draining: Box<dyn Fn() -> bool + Send>,
        now: Instant,
    ) -> Connection {
        Connection {
            limits,
            options,
            id,
            peer,
            draining,
            state: State::Idle(now),
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
            out: Vec::with_capacity(READ_BUF),
            send_deadline: None,
            served: 0,
            blank_lines: 0,
            chunked: None,
            continued: false,
            head_only: false,
            logs: Vec::new(),
        }
    }

    /// Requests answered so far.
    pub fn served(&self) -> usize {
        self.served
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Bytes buffered: read but not yet used, and queued to write (for
    /// tests that check memory stays bounded).
    pub fn buffered(&self) -> (usize, usize) {
        (self.buf.len(), self.out.capacity())
    }

    // ANCHOR: io
    /// Where to read the next bytes into (never empty).
    pub fn input(&mut self) -> &mut [u8] {
        self.make_room();
        &mut self.buf[self.end..]
    }

    /// `n` bytes were read into [`Connection::input`].
    pub fn received(&mut self, n: usize, now: Instant) {
        let n = n.min(self.buf.len() - self.end);
        match &mut self.state {
            State::Lingering { discarded, .. } => {
                *discarded = discarded.saturating_add(n);
                return; // thrown away: the buffer is not advanced
            }
            State::Body(wait) => {
                wait.got = wait.got.saturating_add(n);
                wait.last = now;
            }
            _ => {}
        }
        self.end += n;
    }

    /// The client closed its sending side (a read returned 0).
    pub fn eof(&mut self) {
        self.state = State::Done(match self.state {
            State::Lingering { .. } | State::Done(End::Closed) => End::Closed,
            _ => End::PeerClosed,
        });
    }

    /// The bytes to write next.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// `n` bytes of [`Connection::output`] were written, at `now`.
    pub fn wrote(&mut self, n: usize, now: Instant) {
        let n = n.min(self.out.len());
        self.out.drain(..n);
        if self.out.is_empty() {
            self.send_deadline = None;
            // Waiting for the client starts once it has our answer.
            match &mut self.state {
                State::Idle(since) => *since = now,
                State::Body(wait) => wait.last = now,
                _ => {}
            }
            // A stream's own log line waits for its last byte.
            let in_body = matches!(self.state, State::Streaming(_) | State::Sending(_));
            let keep = usize::from(in_body);
            let sent = self.logs.len().saturating_sub(keep);
            for log in self.logs.drain(..sent) {
                log.write(true);
            }
        }
    }
    // ANCHOR_END: io

    /// Copy `bytes` in, as if read (tests, and layers such as TLS that
    /// hand over plaintext).
    pub fn feed(&mut self, mut bytes: &[u8], now: Instant) {
        while !bytes.is_empty() {
            let room = self.input();
            let n = room.len().min(bytes.len());
            room[..n].copy_from_slice(&bytes[..n]);
            self.received(n, now);
            bytes = &bytes[n..];
            if matches!(self.state, State::Lingering { .. } | State::Done(_)) {
                return;
            }
        }
    }

    // ANCHOR: poll
    /// Decide what to do next, at `now`: answer every complete request
    /// already buffered (in order, into the output), then ask for the
    /// output to be written, or for more input by the current deadline.
    pub fn poll<H: Handler>(&mut self, now: Instant, handler: &H) -> Want {
        loop {
            let want = match &self.state {
                State::Done(end) => Want::Close(*end),
                State::Streaming(_) => self.streaming(now), // chapter 6
                State::Sending(_) => match self.sending(now) {
                    Some(want) => want, // chapter 8
                    None => continue,
                },
                State::Closing { .. } if !self.out.is_empty() => self.write(now, true),
                State::Closing { linger } => {
                    self.closed(*linger, now);
                    continue;
                }
                State::Lingering {
                    deadline,
                    discarded,
                } => {
                    if now >= *deadline || *discarded >= self.limits.linger_bytes {
                        self.state = State::Done(End::Closed);
                        continue;
                    }
                    Want::Linger {
                        deadline: *deadline,
                    }
                }
                State::Idle(_) | State::Head(_) | State::Body(_) => {
                    if self.start < self.end && self.next_request(now, handler) {
                        continue; // the state moved on: maybe more is buffered
                    }
                    if !self.out.is_empty() {
                        // A response is never held back while we wait.
                        self.write(now, false)
                    } else {
                        match self.wait(now) {
                            Some(want) => want,
                            None => continue, // a deadline passed
                        }
                    }
                }
            };
            return want;
        }
    }
    // ANCHOR_END: poll

    // ANCHOR: send_deadline
    /// Ask for the output to be written, by the send deadline of this
    /// batch (set when the batch starts, ch07).
    fn write(&mut self, now: Instant, last: bool) -> Want {
        let limits = &self.limits;
        let len = self.out.len();
        let deadline = *self.send_deadline.get_or_insert_with(|| {
            rate_deadline(now, limits.write_timeout, len, limits.min_send_rate)
        });
        Want::Write { deadline, last }
    }
    // ANCHOR_END: send_deadline

    // ANCHOR: wait
    /// Nothing to answer and nothing to write: wait for input, as long as
    /// the current state allows. `None`: the deadline has passed, and the
    /// state has moved on (a quiet close, or a 408).
    fn wait(&mut self, now: Instant) -> Option<Want> {
        let limits = &self.limits;
        let (deadline, idle) = match &self.state {
            State::Idle(since) => {
                if (self.draining)() {
                    self.state = State::Done(End::Shutdown);
                    return None;
                }
                (*since + limits.idle_timeout, true)
            }
            State::Head(since) => (*since + limits.head_timeout, false),
            State::Body(wait) => (body_deadline(wait, limits), false),
            _ => return None,
        };
        if now < deadline {
            return Some(Want::Read { deadline, idle });
        }
        match self.state {
            State::Idle(_) => self.state = State::Done(End::IdleTimeout),
            State::Head(_) => self.timed_out("head"),
            _ => self.timed_out("body"),
        }
        None
    }
    // ANCHOR_END: wait

    // ANCHOR: next_request
    /// Look at the next buffered request: `false` when it waits for more
    /// bytes, `true` when the state moved on (a request answered or
    /// refused, a chunked body to decode): look again.
    fn next_request<H: Handler>(&mut self, now: Instant, handler: &H) -> bool {
        // The request borrows the buffer while `respond` changes the rest
        // of `self`: take the buffer out meanwhile (no copy, no allocation).
        let mut buf = std::mem::take(&mut self.buf);
        let moved = self.request_in(&mut buf, now, handler);
        self.buf = buf;
        moved
    }

    /// Parse the head at the front of the buffer, unless it is in and its
    /// body is not all here yet.
    fn request_in<H: Handler>(
        &mut self,
        buf: &mut [u8],
        now: Instant,
        handler: &H,
    ) -> bool {
        if let State::Body(wait) = &self.state {
            match wait.total {
                // Not all here yet: no need to parse the head again.
                Some(total) if self.end - self.start < total => return false,
                Some(_) => {}
                None => return self.chunked_body(buf, wait.head_len, now, handler),
            }
        }
        let pending = &buf[self.start..self.end];
        self.head_only = is_head(pending);
        match parse_head(pending, &self.limits) {
            Ok(Status::Complete((request, head_len))) => {
                self.head_in(request, head_len, pending, now, handler)
            }
            Ok(Status::Partial) => {
                self.partial_head(pending, now);
                false
            }
            Err(e) => {
                self.reject(e);
                true
            }
        }
    }

    /// The buffered bytes are not a whole head yet: the head deadline runs
    /// from the first of them.
    fn partial_head(&mut self, pending: &[u8], now: Instant) {
        if self.skip_blank_lines(pending, now) {
            return; // still idle (chapter 7)
        }
        if !matches!(self.state, State::Head(_)) {
            self.state = State::Head(now);
        }
    }
    // ANCHOR_END: next_request

    // ANCHOR: head_in
    /// A complete head, at the front of `pending`: wait for the rest of
    /// the request, or answer it.
    fn head_in<H: Handler>(
        &mut self,
        request: Request<'_>,
        head_len: usize,
        pending: &[u8],
        now: Instant,
        handler: &H,
    ) -> bool {
        let total = match request.framing {
            // Within `max_body_bytes` (checked by the parser), so it fits.
            Framing::Length(len) => usize::try_from(len)
                .map_or(usize::MAX, |len| head_len.saturating_add(len)),
            Framing::None => head_len,
            Framing::Chunked => {
                return self.chunked_head(&request, head_len, now, handler);
            }
        };
        let missing = pending.len() < total;
        if self.expect(&request, missing, handler) {
            return true; // the body was refused before it was sent (chapter 6)
        }
        if missing {
            self.wait_for_body(head_len, Some(total), now);
            return false;
        }
        let request = Request {
            body: &pending[head_len..total],
            ..request
        };
        self.respond(&request, total, now, handler);
        true
    }

    /// The head is here, the body is not (all): wait for it, under the body
    /// deadline, which starts now unless it is already running.
    fn wait_for_body(&mut self, head_len: usize, total: Option<usize>, now: Instant) {
        if let State::Body(wait) = &mut self.state {
            wait.total = total;
            return;
        }
        self.state = State::Body(BodyWait {
            head_len,
            total,
            since: now,
            got: 0,
            last: now,
        });
    }
    // ANCHOR_END: head_in

    // ANCHOR: blank_lines
    /// Empty lines before a request are ignored (RFC 9112 §2.2; some
    /// clients send a CRLF after a body), not the start of a head: drop a
    /// few, or they would start the head deadline on an idle connection
    /// (an unasked 408) and keep it busy during a shutdown (ch07). `true`:
    /// `pending` held only such lines, and the connection is idle again.
    fn skip_blank_lines(&mut self, pending: &[u8], now: Instant) -> bool {
        let blank = pending
            .chunks_exact(2)
            .take_while(|pair| *pair == b"\r\n")
            .count();
        if blank * 2 != pending.len() || self.blank_lines + blank > MAX_BLANK_LINES {
            return false;
        }
        self.blank_lines += blank;
        self.start = self.end;
        self.state = State::Idle(now);
        true
    }
    // ANCHOR_END: blank_lines

    // ANCHOR: respond
    /// Answer a request whose bytes (`total` of them, body included) are
    /// all here, and decide what comes after it.
    fn respond<H: Handler>(
        &mut self,
        request: &Request<'_>,
        total: usize,
        now: Instant,
        handler: &H,
    ) {
        self.served += 1;
        let client_done = wants_close(request);
        let last = self.options.persistence == Persistence::OneRequest
            || client_done
            || self.served >= self.limits.max_requests_per_connection
            || (self.draining)();
        let who = (self.id, self.peer);
        let answered =
            answer(handler, request, last, &mut self.out, who, &*self.draining);
        self.logs.extend(answered.log);
        self.start += total;
        // The next request starts afresh (chapters 6 and 7).
        self.blank_lines = 0;
        self.continued = false;
        self.state = State::Idle(now);
        match (answered.stream, answered.file) {
            (Some((stream, chunked)), _) => {
                self.start_stream(stream, chunked, answered.close, client_done)
            }
            (None, Some(file)) => self.start_file(file, answered.close, client_done),
            (None, None) if answered.close => self.closing(client_done),
            (None, None) => {}
        }
    }
    // ANCHOR_END: respond

    // ANCHOR: closing
    /// The last response is queued. Linger after it, unless the client
    /// said this was its last request and sent nothing after it: it will
    /// send no more, so there is nothing to wait for (nginx decides the same
    /// way).
    fn closing(&mut self, client_done: bool) {
        let linger = !(client_done && self.start == self.end);
        self.state = State::Closing { linger };
    }

    /// The last response is written: linger, or be done.
    fn closed(&mut self, linger: bool, now: Instant) {
        if !linger {
            self.state = State::Done(End::Closed);
            return;
        }
        // The response is with the kernel: give its memory back before the
        // linger, which needs only a little room to read into.
        self.out = Vec::new();
        self.buf = vec![0; READ_BUF];
        self.start = 0;
        self.end = 0;
        self.state = State::Lingering {
            deadline: now + self.limits.linger_timeout,
            discarded: 0,
        };
    }
    // ANCHOR_END: closing

    /// Make sure there is space to read into, and for a body, room for all of it.
    fn make_room(&mut self) {
        let idle = matches!(self.state, State::Idle(_));
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > READ_BUF && idle {
                // A large body has come and gone; do not keep its memory
                // for the rest of the connection.
                self.buf.truncate(READ_BUF);
                self.buf.shrink_to_fit();
            }
        }
        if idle && self.out.capacity() > 8 * READ_BUF && self.out.is_empty() {
            // Likewise a large response (it has been flushed).
            self.out = Vec::with_capacity(READ_BUF);
        }
        let needed = match &self.state {
            State::Body(BodyWait {
                total: Some(total), ..
            }) => *total,
            // The parser rejects heads over the limit, so this stays bounded.
            _ => self.end - self.start + 1,
        };
        if self.start + needed > self.buf.len() || self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.end == self.buf.len() || needed > self.buf.len() {
            let grown = needed.max(self.buf.len() * 2);
            self.buf.resize(grown, 0);
        }
    }
}

/// A connection dropped with responses still unsent (it failed): say so
/// in the access log.
impl Drop for Connection {
    fn drop(&mut self) {
        for log in self.logs.drain(..) {
            log.write(false);
        }
    }
}

// ANCHOR: body_deadline
/// The deadline for the next bytes of a body: at most `body_timeout` after
/// the last ones, and the whole body by the rate deadline (ch07).
fn body_deadline(wait: &BodyWait, limits: &Limits) -> Instant {
    let between = wait.last + limits.body_timeout;
    let rate = rate_deadline(
        wait.since,
        limits.body_timeout,
        wait.got,
        limits.min_body_rate,
    );
    rate.map_or(between, |rate| rate.min(between))
}
// ANCHOR_END: body_deadline

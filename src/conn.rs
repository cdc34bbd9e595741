//! The HTTP connection loop: read, parse, answer, repeat (ch02 serves one
//! request per connection; ch04 adds persistence, pipelining and timeouts;
//! ch05 makes it stop cleanly; RFC 9112 §9).
//!
//! This and `server.rs` are the only modules that touch sockets. The loop
//! owns one read buffer and one write buffer for the life of the
//! connection and reuses them from request to request. A request still
//! costs one allocation: the parser's list of fields (`Request::headers`),
//! made on every call to `parse_head`, and the head is parsed again after
//! every read while its body arrives.
//!
//! ```text
//!            bytes arrive                     head complete
//!   Idle ───────────────────▶ ReadingHead ──────────────────▶ ReadingBody
//!    ▲   (idle timeout:            │  (head deadline: 408)        │ (body timeout: 408)
//!    │    quiet close)             │                              │ all bytes in
//!    │                             ▼ parse error: 4xx, close      ▼
//!    └──────────────────────── keep-alive ◀──────────────────── Answer ──▶ close
//!                                                      (Connection: close, last request,
//!                                                       HTTP/1.0, shutdown, one-shot)
//! ```

use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use log::{debug, error, info, warn};

use crate::chunked::{Decoded, Decoder, LAST_CHUNK, encode_chunk};
use crate::date;
use crate::error::ParseError;
use crate::limits::{Limits, MAX_BLANK_LINES};
use crate::request::{Request, Status, Version, parse_head, trim_ows};
use crate::response::{BodyStream, ConnectionHeader, Response, StreamContext};
use crate::server::{Conn, Service};
use crate::status::StatusCode;

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

/// An HTTP/1.1 [`Service`]: a handler, a persistence policy, and which
/// body features are on.
pub struct Http<H> {
    handler: H,
    persistence: Persistence,
    /// Accept `Transfer-Encoding: chunked` request bodies (ch06); without
    /// it they get 501, as in steps 02–05.
    chunked: bool,
    /// Answer `Expect: 100-continue` (ch06); without it the expectation is
    /// ignored, which RFC 9110 §10.1.1 allows but costs the client a wait.
    expect_continue: bool,
}

impl<H: Handler> Http<H> {
    /// Accept chunked request bodies (ch06).
    pub fn chunked(self) -> Http<H> {
        Http {
            chunked: true,
            ..self
        }
    }

    /// Send `100 Continue` when a client asks for it, refuse a body the
    /// handler would refuse before it is sent, and answer any other
    /// expectation with 417 (ch06; RFC 9110 §10.1.1).
    pub fn expect_continue(self) -> Http<H> {
        Http {
            expect_continue: true,
            ..self
        }
    }
}

/// Serve `handler`, one request per connection (ch02).
pub fn one_request<H: Handler>(handler: H) -> Http<H> {
    Http {
        handler,
        persistence: Persistence::OneRequest,
        chunked: false,
        expect_continue: false,
    }
}

/// Serve `handler` on persistent connections (ch04).
pub fn keep_alive<H: Handler>(handler: H) -> Http<H> {
    Http {
        handler,
        persistence: Persistence::KeepAlive,
        chunked: false,
        expect_continue: false,
    }
}

impl<H: Handler> Service for Http<H> {
    fn serve(&self, stream: TcpStream, conn: &Conn) {
        let mut c = Connection::new(stream, conn);
        let end = c.run(self);
        for log in c.logs.drain(..) {
            log.write(false);
        }
        debug!(
            "conn {} ended: {end:?} after {} requests",
            conn.id(),
            c.served
        );
    }

    /// Over `max_connections`: a 503 with `Retry-After`, then close
    /// (RFC 9110 §15.6.4). This runs on the accept loop, so it writes
    /// what fits in the socket buffer (all of it: ~150 bytes into a fresh
    /// socket), discards what the client already sent, and never waits.
    fn refuse(&self, mut stream: TcpStream) {
        let mut out = Vec::with_capacity(192);
        Response::error(StatusCode::SERVICE_UNAVAILABLE)
            .with_header("Retry-After", "1")
            .encode(
                &mut out,
                &date::now(),
                ConnectionHeader::Close,
                false,
                false,
            );
        let _ = stream.set_nonblocking(true);
        let _ = stream.write_all(&out);
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let mut scratch = [0u8; 4096];
        for _ in 0..16 {
            match stream.read(&mut scratch) {
                Ok(n) if n > 0 => continue,
                _ => break,
            }
        }
    }
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

// ANCHOR: wait
/// What the loop is waiting for when it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Nothing buffered: waiting for the first byte of a request.
    Idle,
    /// Part of a head is buffered, since the given instant.
    Head(Instant),
    /// The head is complete; the request will end at this offset from
    /// `start` (`None`: chunked, we will know when it has ended).
    Body(Option<usize>),
}
// ANCHOR_END: wait

/// Initial (and usual) size of the read buffer. Grows for large bodies,
/// shrinks back when the connection is idle again.
const READ_BUF: usize = 8 * 1024;

struct Connection<'c> {
    stream: TcpStream,
    conn: &'c Conn,
    /// Bytes read, `buf[start..end]` not yet used. Never shrinks below
    /// `READ_BUF`, so reading a request costs no allocation.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Responses waiting to be written: every pipelined response goes out
    /// in one `write`.
    out: Vec<u8>,
    /// Requests answered so far.
    served: usize,
    /// The read timeout the socket has now, to skip needless `setsockopt`s.
    read_timeout: Option<Duration>,
    /// The write timeout the socket has now, likewise.
    write_timeout: Option<Duration>,
    /// The decoder of a chunked body that has not all arrived (ch06).
    chunked: Option<Decoder>,
    /// Whether `100 Continue` was sent for the request being read (ch06).
    continued: bool,
    /// While waiting for a body: since when, and how many bytes have come
    /// since (for the body deadline, see `limits::BODY_TIMEOUT`).
    body_clock: Option<(Instant, usize)>,
    /// Access-log lines of responses queued in `out`, not yet all sent.
    logs: Vec<AccessLog>,
}

impl<'c> Connection<'c> {
    fn new(stream: TcpStream, conn: &'c Conn) -> Self {
        // Nagle's algorithm holds back small writes until the previous one is
        // acknowledged; with delayed ACKs on the other side that can cost
        // 40 ms a response. We write each batch of responses in one go, so
        // there is nothing for Nagle to coalesce (ch04).
        let _ = stream.set_nodelay(true);
        let _ = stream.set_write_timeout(Some(conn.limits().write_timeout));
        Connection {
            stream,
            conn,
            buf: vec![0; READ_BUF],
            start: 0,
            end: 0,
            out: Vec::with_capacity(READ_BUF),
            served: 0,
            read_timeout: None,
            write_timeout: Some(conn.limits().write_timeout),
            chunked: None,
            continued: false,
            body_clock: None,
            logs: Vec::new(),
        }
    }

    // ANCHOR: run
    fn run<H: Handler>(&mut self, http: &Http<H>) -> End {
        let limits = self.conn.limits();
        let mut wait = Wait::Idle;
        let mut blank_lines = 0;
        loop {
            // 1. Answer every complete request already buffered (pipelining),
            //    in order, into `out`.
            'requests: while self.start < self.end {
                let pending = &self.buf[self.start..self.end];
                let (mut request, head_len) = match parse_head(pending, limits) {
                    Ok(Status::Complete(parsed)) => parsed,
                    Ok(Status::Partial) => {
                        // ANCHOR: blank_lines
                        // Empty lines before a request are ignored (RFC 9112
                        // §2.2; some clients send a CRLF after a body), not
                        // the start of a head: drop a few, or they would start
                        // the head deadline on an idle connection (an unasked
                        // 408) and keep it busy during a shutdown.
                        let blank = pending
                            .chunks_exact(2)
                            .take_while(|pair| *pair == b"\r\n")
                            .count();
                        if blank * 2 == pending.len() && blank_lines + blank <= MAX_BLANK_LINES {
                            blank_lines += blank;
                            self.start = self.end;
                            wait = Wait::Idle;
                            break;
                        }
                        // ANCHOR_END: blank_lines
                        if !matches!(wait, Wait::Head(_)) {
                            wait = Wait::Head(Instant::now());
                        }
                        break;
                    }
                    Err(e) => return self.reject(e),
                };
                // How many bytes the whole request takes in the buffer, when the
                // head says (`None` for a chunked body: known once decoded).
                let known_total = match (request.framing.body_len(), http.chunked) {
                    // Within `max_body_bytes` (checked by the parser), so it fits.
                    (Some(len), _) => {
                        Some(head_len.saturating_add(usize::try_from(len).unwrap_or(usize::MAX)))
                    }
                    // Steps 02–05 answer chunked with 501; step06 enables it.
                    (None, false) => return self.reject(ParseError::UnsupportedCoding),
                    (None, true) => None,
                };
                let body_missing = known_total.is_none_or(|total| pending.len() < total);
                match expect_answer(http, &request, body_missing, self.continued) {
                    ExpectAnswer::Proceed => {}
                    // Queued in `out`: it goes out before we wait for the body.
                    ExpectAnswer::Continue => {
                        self.out.extend_from_slice(CONTINUE);
                        self.continued = true;
                    }
                    ExpectAnswer::Refuse(refusal) => return self.refuse_body(refusal),
                    ExpectAnswer::Unmeetable => {
                        warn!("{} -> 417 (unknown expectation)", self.conn.peer());
                        return self.fail(StatusCode::EXPECTATION_FAILED);
                    }
                }
                let total;
                let request = if let Some(known) = known_total {
                    if body_missing {
                        wait = Wait::Body(Some(known));
                        break;
                    }
                    total = known;
                    request.body = &pending[head_len..total];
                    request
                } else {
                    // Chunked: decode in place, behind the head (ch06).
                    let decoded = match self.decode_chunked(head_len, limits) {
                        Ok(Some(decoded)) => decoded,
                        Ok(None) => {
                            wait = Wait::Body(None);
                            break 'requests;
                        }
                        Err(e) => return self.reject(e),
                    };
                    total = head_len + decoded.encoded_len;
                    // Decoding moved bytes behind the head; the head itself is
                    // untouched, so parsing it again gives the same request.
                    let pending = &self.buf[self.start..self.end];
                    let Ok(Status::Complete((mut request, _))) = parse_head(pending, limits) else {
                        error!("a head that parsed once did not parse again");
                        return self.fail(StatusCode::INTERNAL_SERVER_ERROR);
                    };
                    request.body = &pending[head_len..head_len + decoded.body_len];
                    request
                };
                self.served += 1;
                blank_lines = 0;
                self.continued = false;
                self.body_clock = None;
                let client_done = wants_close(&request);
                let last = http.persistence == Persistence::OneRequest
                    || client_done
                    || self.served >= limits.max_requests_per_connection
                    || self.conn.draining();
                let answered = answer(&http.handler, &request, last, &mut self.out, self.conn);
                self.logs.extend(answered.log);
                self.start += total;
                wait = Wait::Idle;
                let mut close = answered.close;
                if let Some((stream, chunked)) = answered.stream {
                    if let Err(e) = self.send_stream(stream, chunked) {
                        return End::Io(e.kind());
                    }
                    // Its head did not say `Connection: close` (the shutdown
                    // began after it was sent): the close follows the body.
                    close |= self.conn.draining();
                }
                if close {
                    // ANCHOR: no_linger
                    // The client said this was its last request, and sent
                    // nothing after it: it will send no more, so there is
                    // nothing to wait for (nginx decides the same way).
                    if client_done && self.start == self.end {
                        return self.close_at_once();
                    }
                    // ANCHOR_END: no_linger
                    return self.close();
                }
            }

            // 2. Send what we have before waiting for more: a response is
            //    never held back while we wait for the client.
            if let Err(e) = self.flush() {
                return End::Io(e.kind());
            }
            self.log_sent(self.logs.len());

            // ANCHOR: idle_wait
            // 3. Wait for more bytes, as long as the current phase allows.
            let timeout = match wait {
                Wait::Idle => {
                    if !self.conn.enter_idle() {
                        return End::Shutdown;
                    }
                    limits.idle_timeout
                }
                Wait::Head(since) => {
                    let left =
                        (since + limits.head_timeout).saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return self.timed_out("head");
                    }
                    left
                }
                Wait::Body(_) => {
                    let Some(left) = self.body_time_left(limits) else {
                        return self.timed_out("body");
                    };
                    left
                }
            };
            self.make_room(wait);
            match self.read(timeout) {
                Ok(0) if wait == Wait::Idle && self.conn.draining() => return End::Shutdown,
                Ok(0) => return End::PeerClosed,
                Ok(n) => {
                    match (wait, &mut self.body_clock) {
                        // The shutdown closed us just as the request came:
                        // it is not run (the client may safely retry it).
                        (Wait::Idle, _) if !self.conn.leave_idle() => return End::Shutdown,
                        (Wait::Body(_), Some((_, got))) => *got += n,
                        _ => {}
                    }
                    self.end += n;
                }
                Err(e) if is_timeout(&e) => {
                    return match wait {
                        Wait::Idle => End::IdleTimeout,
                        Wait::Head(_) => self.timed_out("head"),
                        Wait::Body(_) => self.timed_out("body"),
                    };
                }
                // A socket shut down by the shutdown while idle reads as EOF
                // or, on some systems, as an error.
                Err(_) if wait == Wait::Idle && self.conn.draining() => return End::Shutdown,
                Err(e) => return End::Io(e.kind()),
            }
            // ANCHOR_END: idle_wait
        }
    }
    // ANCHOR_END: run

    // ANCHOR: body_deadline
    /// How long to wait for the next bytes of a body: at most `body_timeout`
    /// between reads, and the whole body by `body_timeout` after we started
    /// waiting for it plus a second per `min_body_rate` bytes received since.
    /// `None`: too slow, the deadline has passed.
    fn body_time_left(&mut self, limits: &Limits) -> Option<Duration> {
        let (since, got) = *self.body_clock.get_or_insert((Instant::now(), 0));
        let deadline = rate_deadline(since, limits.body_timeout, got, limits.min_body_rate);
        let Some(deadline) = deadline else {
            return Some(limits.body_timeout); // too far away to matter
        };
        let left = deadline.saturating_duration_since(Instant::now());
        (!left.is_zero()).then(|| left.min(limits.body_timeout))
    }
    // ANCHOR_END: body_deadline

    /// Make sure there is space to read into, and for a body, room for all of it.
    fn make_room(&mut self, wait: Wait) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > READ_BUF && wait == Wait::Idle {
                // A large body has come and gone; do not keep its memory
                // for the rest of the connection.
                self.buf.truncate(READ_BUF);
                self.buf.shrink_to_fit();
            }
        }
        if wait == Wait::Idle && self.out.capacity() > 8 * READ_BUF {
            // Likewise a large response (it has been flushed: `out` is empty).
            self.out = Vec::with_capacity(READ_BUF);
        }
        let needed = match wait {
            // The parser rejects heads over the limit, so this stays bounded.
            Wait::Idle | Wait::Head(_) => self.end - self.start + 1,
            Wait::Body(Some(total)) => total,
            Wait::Body(None) => self.end - self.start + 1,
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

    fn read(&mut self, timeout: Duration) -> io::Result<usize> {
        if self.read_timeout != Some(timeout) {
            self.stream.set_read_timeout(Some(timeout))?;
            self.read_timeout = Some(timeout);
        }
        loop {
            match self.stream.read(&mut self.buf[self.end..]) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                other => return other,
            }
        }
    }

    // ANCHOR: flush
    /// Write everything queued. One `write` usually takes it all; if the
    /// client reads slowly, each write may block for `write_timeout`, and the
    /// whole batch must be taken within `write_timeout` plus a second per
    /// `min_send_rate` bytes, or the connection is closed ("slow read").
    fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let limits = self.conn.limits();
        let deadline = rate_deadline(
            Instant::now(),
            limits.write_timeout,
            self.out.len(),
            limits.min_send_rate,
        );
        let mut written = 0;
        while written < self.out.len() {
            let mut timeout = limits.write_timeout;
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::Error::new(
                        ErrorKind::TimedOut,
                        "response not taken in time",
                    ));
                }
                timeout = timeout.min(left);
            }
            if self.write_timeout != Some(timeout) {
                self.stream.set_write_timeout(Some(timeout))?;
                self.write_timeout = Some(timeout);
            }
            match self.stream.write(&self.out[written..]) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.out.clear();
        Ok(())
    }
    // ANCHOR_END: flush

    // ANCHOR: expect_continue
    /// The handler refuses this request whatever its body says: answer now,
    /// without reading the body. The client, told no, will not send it, and
    /// may already have started to: the connection cannot go on.
    fn refuse_body(&mut self, refusal: Response) -> End {
        let head_only = is_head(&self.buf[self.start..self.end]);
        let now = date::now();
        refusal.encode(
            &mut self.out,
            &now,
            ConnectionHeader::Close,
            head_only,
            false,
        );
        self.close()
    }
    // ANCHOR_END: expect_continue

    // ANCHOR: decode_chunked
    /// Decode the chunked body that starts `head_len` bytes into the pending
    /// bytes, in place, as far as it has arrived. `Ok(None)`: not all here
    /// yet; the consumed framing has been dropped from the buffer, so the
    /// next read has room and the buffer never holds more than the head,
    /// the decoded body so far and one read's worth of framing.
    fn decode_chunked(
        &mut self,
        head_len: usize,
        limits: &Limits,
    ) -> Result<Option<Decoded>, ParseError> {
        let body_start = self.start + head_len;
        let decoder = self.chunked.get_or_insert_with(Decoder::new);
        match decoder.decode(&mut self.buf[body_start..self.end], limits)? {
            Status::Complete(decoded) => {
                self.chunked = None;
                Ok(Some(decoded))
            }
            Status::Partial => {
                let kept =
                    decoder.compact(&mut self.buf[body_start..self.end], self.end - body_start);
                self.end = body_start + kept;
                Ok(None)
            }
        }
    }
    // ANCHOR_END: decode_chunked

    /// Write the access-log lines of the first `n` pending responses, whose
    /// bytes have all been handed to the kernel.
    fn log_sent(&mut self, n: usize) {
        for log in self.logs.drain(..n.min(self.logs.len())) {
            log.write(true);
        }
    }

    /// Answer a request that cannot be parsed, and close.
    fn reject(&mut self, e: ParseError) -> End {
        warn!("{} -> {} ({e:?})", self.conn.peer(), e.status().as_u16());
        self.fail(e.status())
    }

    // ANCHOR: send_stream
    /// Send a streamed body piece by piece, each as soon as it is produced:
    /// as chunks to an HTTP/1.1 client (then the last chunk), as raw bytes to
    /// an HTTP/1.0 client (then the connection closes: the end of the body
    /// is the end of the connection, RFC 9112 §6.3 rule 8).
    fn send_stream(&mut self, mut stream: BodyStream, chunked: bool) -> io::Result<()> {
        self.flush()?; // the head, and any pipelined responses before it
        self.log_sent(self.logs.len().saturating_sub(1)); // all but this one's
        let conn = self.conn;
        let draining = || conn.draining();
        let cx = StreamContext::new(&draining);
        loop {
            // A body that panics halfway cannot become a 500 (the 200 is
            // already sent). Stopping without the last chunk tells the client
            // the body is incomplete; the connection then closes.
            let piece = match catch_unwind(AssertUnwindSafe(|| stream.next_piece(&cx))) {
                Ok(Some(piece)) => piece,
                Ok(None) => break,
                Err(_) => {
                    error!("a streamed body panicked; cutting the response");
                    return Err(io::Error::other("streamed body panicked"));
                }
            };
            if chunked {
                encode_chunk(&mut self.out, &piece);
            } else {
                self.out.extend_from_slice(&piece);
            }
            self.flush()?;
            if let Some(log) = self.logs.last_mut() {
                log.body_bytes = log.body_bytes.saturating_add(piece.len());
            }
        }
        if chunked {
            self.out.extend_from_slice(LAST_CHUNK);
        }
        Ok(())
    }
    // ANCHOR_END: send_stream

    /// 408 after a head or body that did not arrive in time (RFC 9110 §15.5.9).
    fn timed_out(&mut self, what: &str) -> End {
        warn!("{} -> 408 ({what} timeout)", self.conn.peer());
        self.fail(StatusCode::REQUEST_TIMEOUT)
    }

    /// Queue an error response after whatever is already queued (so
    /// pipelined responses keep their order), send, and close.
    /// The response to a HEAD request has no content, even when it is an
    /// error (RFC 9110 §9.3.2): a client that pipelines would read the
    /// content as the start of the next response.
    fn fail(&mut self, status: StatusCode) -> End {
        let head_only = is_head(&self.buf[self.start..self.end]);
        Response::error(status).encode(
            &mut self.out,
            &date::now(),
            ConnectionHeader::Close,
            head_only,
            false,
        );
        self.close()
    }

    // ANCHOR: close
    /// Send what is queued, then close without losing it: shut down our
    /// sending side (the client reads a clean end of stream after the
    /// response), then read and discard what the client still sends, for a
    /// moment, so the kernel does not answer it with a reset that could
    /// destroy the response before the client has read it (RFC 9112 §9.6).
    fn close(&mut self) -> End {
        self.conn.closing();
        if let Err(e) = self.flush() {
            return End::Io(e.kind());
        }
        self.log_sent(self.logs.len());
        // The response is with the kernel: give its memory back before the
        // linger, which needs only a little room to read into.
        self.out = Vec::new();
        self.buf.truncate(READ_BUF);
        self.buf.shrink_to_fit();
        let limits = self.conn.limits();
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        let deadline = Instant::now() + limits.linger_timeout;
        let mut discarded = 0;
        while discarded < limits.linger_bytes {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.end = 0;
            self.start = 0;
            match self.read(left) {
                Ok(0) | Err(_) => break,
                Ok(n) => discarded += n,
            }
        }
        End::Closed
    }
    // ANCHOR_END: close

    /// Send what is queued and close, without lingering: for a client that
    /// said it is done. Waiting for its end of stream would cost a wake-up
    /// and a `setsockopt` per connection, which is most of what
    /// `Connection: close` costs us beyond the kernel's own work (ch04).
    fn close_at_once(&mut self) -> End {
        self.conn.closing();
        if let Err(e) = self.flush() {
            return End::Io(e.kind());
        }
        self.log_sent(self.logs.len());
        // Our FIN goes out now, even while the shutdown table still holds
        // a second handle to the socket.
        let _ = self.stream.shutdown(std::net::Shutdown::Write);
        End::Closed
    }
}

// ANCHOR: is_head
/// Whether the request at the front of `pending` is a HEAD request, read
/// from its first bytes, so that it holds whether or not the rest of the
/// head parsed (a HEAD with a bad field still must not get content). Leading
/// empty lines are skipped as the parser skips them (RFC 9112 §2.2).
fn is_head(mut pending: &[u8]) -> bool {
    while let Some(rest) = pending.strip_prefix(b"\r\n") {
        pending = rest;
    }
    pending.starts_with(b"HEAD ")
}
// ANCHOR_END: is_head

/// The interim response that invites the body (RFC 9110 §15.2.1).
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// What the client's `Expect` field lines ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expectation {
    /// `100-continue` is among them: send 100 before reading the body.
    continue_: bool,
    /// Something else is among them, which we cannot meet (417 from ch06).
    unknown: bool,
}

/// RFC 9110 §10.1.1: `Expect = #expectation`; the only one defined is
/// `100-continue` (case-insensitive, and it takes no parameters). `Expect`
/// is a list: two field lines mean the same as one line with both values
/// joined by a comma (RFC 9110 §5.3), and empty list elements are ignored
/// (§5.6.1). "A server that receives a 100-continue expectation in an
/// HTTP/1.0 request MUST ignore that expectation."
fn expectation(request: &Request<'_>) -> Expectation {
    let mut found = Expectation {
        continue_: false,
        unknown: false,
    };
    if request.version == Version::Http10 {
        return found;
    }
    let members = request
        .headers_named("expect")
        .flat_map(|value| value.split(|&b| b == b','))
        .map(trim_ows)
        .filter(|member| !member.is_empty());
    for member in members {
        if member.eq_ignore_ascii_case(b"100-continue") {
            found.continue_ = true;
        } else {
            found.unknown = true;
        }
    }
    found
}

/// What to do about the request's expectations, before waiting for its body.
enum ExpectAnswer {
    /// Nothing to do: no expectation, the body is here, or 100 was sent.
    Proceed,
    /// Send `100 Continue`, then read the body.
    Continue,
    /// The handler refuses the request whatever its body: answer now (ch06).
    Refuse(Response),
    /// An expectation we cannot meet: 417 (ch06).
    Unmeetable,
}

// ANCHOR: expect_answer
/// RFC 9110 §10.1.1: a client that sent `Expect: 100-continue` may wait for
/// our word before it sends the body, and "an origin server MUST, upon
/// receiving [it], either immediately respond with a final status code [...]
/// or immediately send a 100 (Continue) response". Every step invites the
/// body; with [`Http::expect_continue`] (ch06) the handler may refuse it
/// first, and any other expectation gets 417 (which the RFC allows; steps
/// 02–05 ignore it).
fn expect_answer<H: Handler>(
    http: &Http<H>,
    request: &Request<'_>,
    body_missing: bool,
    continued: bool,
) -> ExpectAnswer {
    let expect = expectation(request);
    if http.expect_continue && expect.unknown {
        return ExpectAnswer::Unmeetable;
    }
    // The body is not all here yet, so the client may be waiting for us.
    if !expect.continue_ || !body_missing || continued {
        return ExpectAnswer::Proceed;
    }
    let refusal = http
        .expect_continue
        .then(|| http.handler.preflight(request))
        .flatten();
    match refusal {
        Some(refusal) => ExpectAnswer::Refuse(refusal),
        None => ExpectAnswer::Continue,
    }
}
// ANCHOR_END: expect_answer

// ANCHOR: wants_close
/// Whether the client asked for this to be the last request (RFC 9112 §9.3):
/// HTTP/1.1 persists unless it says `Connection: close`; HTTP/1.0 closes
/// unless it says `Connection: keep-alive` (and not also `close`).
fn wants_close(request: &Request<'_>) -> bool {
    match request.version {
        Version::Http11 => request.has_token("connection", "close"),
        // `close` wins over `keep-alive` wherever it appears (RFC 9112 §9.6:
        // a server that receives `close` MUST initiate closure).
        Version::Http10 => {
            request.has_token("connection", "close")
                || !request.has_token("connection", "keep-alive")
        }
    }
}
// ANCHOR_END: wants_close

// ANCHOR: answer
/// What answering one request left to do.
struct Answered {
    /// The connection must close after this response.
    close: bool,
    /// A streamed body still to be sent, and whether to send it chunked.
    stream: Option<(BodyStream, bool)>,
    /// The access-log line, written once the response's last byte is sent.
    log: Option<AccessLog>,
}

/// Call the handler and append its response to `out`. The connection must
/// close after it when `last` says so, when the server started draining
/// meanwhile (ch05), after a 5xx (a server error may have left
/// who-knows-what unread or half-done), or after a body streamed to an
/// HTTP/1.0 client (ch06).
fn answer<H: Handler>(
    handler: &H,
    request: &Request<'_>,
    last: bool,
    out: &mut Vec<u8>,
    conn: &Conn,
) -> Answered {
    // From here the request is in flight: a shutdown lets it finish (ch05).
    debug!("conn {}: {} {}", conn.id(), request.method, request.path());
    let started = Instant::now();
    let mut response = call(handler, request);
    // `draining` is read again after the handler: a shutdown that began while
    // it ran must still put `Connection: close` on this, the last response.
    let streamed = response.stream.is_some() && !response.status.is_bodiless();
    let chunked = request.version == Version::Http11;
    let close =
        last || response.status.as_u16() >= 500 || conn.draining() || (streamed && !chunked);
    let connection = if close {
        ConnectionHeader::Close
    } else if request.version == Version::Http10 {
        ConnectionHeader::KeepAlive
    } else {
        ConnectionHeader::Omit
    };
    let head_only = request.method == "HEAD";
    response.encode(out, &date::now(), connection, head_only, chunked);
    let sends_body = !head_only && !response.status.is_bodiless();
    let body_bytes = if sends_body && !streamed {
        response.body.len()
    } else {
        0 // a streamed body is counted as it goes out
    };
    let log = AccessLog::start(conn, request, response.status, body_bytes, started);
    let stream = response.stream.take().filter(|_| streamed && sends_body);
    Answered {
        close,
        stream: stream.map(|s| (s, chunked)),
        log,
    }
}
// ANCHOR_END: answer

// ANCHOR: call
/// Run the handler. A panicking handler must not take the connection's
/// thread (and the client's answer) with it: it becomes a 500, and the
/// server goes on. So does a response that fails [`Response::check`].
fn call<H: Handler>(handler: &H, request: &Request<'_>) -> Response {
    match catch_unwind(AssertUnwindSafe(|| handler.handle(request))) {
        Ok(response) => match response.check() {
            Ok(()) => response,
            Err(why) => {
                error!(
                    "{} {}: handler returned a bad response: {why}",
                    request.method, request.target
                );
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        },
        Err(_) => {
            error!("{} {}: handler panicked", request.method, request.target);
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
// ANCHOR_END: call

/// One access-log line (at `info`), kept until the response's last byte has
/// been handed to the kernel, so that it tells what was really sent: the
/// request target as the client sent it (query included), the body bytes
/// written (none for HEAD, 204 or 304; a streamed body's as they go out) and
/// the time from the request to the last byte.
struct AccessLog {
    /// `peer "METHOD target" status`, made while the request is at hand.
    line: String,
    /// Body bytes written (not counting chunked framing).
    body_bytes: usize,
    /// When the handler was called.
    started: Instant,
}

impl AccessLog {
    /// `None` when `info` is off: then a request costs no log allocation.
    fn start(
        conn: &Conn,
        request: &Request<'_>,
        status: StatusCode,
        body_bytes: usize,
        started: Instant,
    ) -> Option<AccessLog> {
        log::log_enabled!(log::Level::Info).then(|| AccessLog {
            line: format!(
                "{} \"{} {}\" {}",
                conn.peer(),
                request.method,
                request.target,
                status.as_u16()
            ),
            body_bytes,
            started,
        })
    }

    /// Write the line: the response was sent whole (`sent`), or not.
    fn write(self, sent: bool) {
        let elapsed = self.started.elapsed();
        let (line, bytes) = (self.line, self.body_bytes);
        if sent {
            info!("{line} {bytes}B {elapsed:?}");
        } else {
            info!("{line} {bytes}B {elapsed:?} (not all sent: the connection failed)");
        }
    }
}

// ANCHOR: rate_deadline
/// `start + base + bytes / rate` (rate in bytes per second): the deadline
/// for moving `bytes` at no less than `rate` on average, after a grace of
/// `base`. `None` when it is too far in the future to represent.
fn rate_deadline(start: Instant, base: Duration, bytes: usize, rate: usize) -> Option<Instant> {
    let rate = rate.max(1) as u64;
    let earned = Duration::from_millis((bytes as u64).saturating_mul(1000) / rate);
    base.checked_add(earned)
        .and_then(|allowed| start.checked_add(allowed))
}
// ANCHOR_END: rate_deadline

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_deadlines() {
        let t = Instant::now();
        let s = Duration::from_secs(1);
        assert_eq!(rate_deadline(t, s, 0, 500), Some(t + s));
        assert_eq!(rate_deadline(t, s, 1000, 500), Some(t + 3 * s));
        assert_eq!(rate_deadline(t, s, 250, 500), Some(t + s + s / 2));
        assert_eq!(
            rate_deadline(t, s, 1000, 0),
            Some(t + 1001 * s),
            "rate 0 counts as 1 B/s"
        );
        assert_eq!(rate_deadline(t, Duration::MAX, 1, 1), None);
    }
}

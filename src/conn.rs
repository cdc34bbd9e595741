//! The HTTP connection loop: read, parse, answer, repeat (ch02 serves one
//! request per connection; ch04 adds persistence, pipelining and timeouts;
//! ch05 makes it stop cleanly; RFC 9112 §9).
//!
//! This and `server.rs` are the only modules that touch sockets. The loop
//! owns one read buffer and one write buffer for the life of the
//! connection, so a request costs no allocation here.
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

use crate::date;
use crate::request::{Request, Status, Version, parse_head};
use crate::response::{ConnectionHeader, Response};
use crate::server::{Conn, Service};
use crate::status::StatusCode;

/// Anything that turns a request into a response: a plain function (step02),
/// a [`Router`](crate::router::Router) (step03 on).
pub trait Handler: Send + Sync + 'static {
    /// Answer one request. A panic here becomes a 500; the server goes on.
    fn handle(&self, request: &Request<'_>) -> Response;
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

/// An HTTP/1.1 [`Service`]: a handler and a persistence policy.
pub struct Http<H> {
    handler: H,
    persistence: Persistence,
}

/// Serve `handler`, one request per connection (ch02).
pub fn one_request<H: Handler>(handler: H) -> Http<H> {
    Http {
        handler,
        persistence: Persistence::OneRequest,
    }
}

/// Serve `handler` on persistent connections (ch04).
pub fn keep_alive<H: Handler>(handler: H) -> Http<H> {
    Http {
        handler,
        persistence: Persistence::KeepAlive,
    }
}

impl<H: Handler> Service for Http<H> {
    fn serve(&self, stream: TcpStream, conn: &Conn) {
        let mut c = Connection::new(stream, conn);
        let end = c.run(&self.handler, self.persistence);
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
            .encode(&mut out, &date::now(), ConnectionHeader::Close, false);
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

/// What the loop is waiting for when it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Nothing buffered: waiting for the first byte of a request.
    Idle,
    /// Part of a head is buffered, since the given instant.
    Head(Instant),
    /// The head is complete; the request ends at this buffer offset.
    Body(usize),
}

/// Initial (and usual) size of the read buffer. Grows for large bodies,
/// shrinks back when the connection is idle again.
const READ_BUF: usize = 8 * 1024;

struct Connection<'c> {
    stream: TcpStream,
    conn: &'c Conn,
    /// Bytes read, `buf[start..end]` not yet used. Never shrinks below
    /// `READ_BUF`, so a request costs no allocation.
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
        }
    }

    // ANCHOR: run
    fn run<H: Handler>(&mut self, handler: &H, persistence: Persistence) -> End {
        let limits = self.conn.limits();
        let mut wait = Wait::Idle;
        loop {
            // 1. Answer every complete request already buffered (pipelining),
            //    in order, into `out`.
            while self.start < self.end {
                let pending = &self.buf[self.start..self.end];
                let (mut request, head_len) = match parse_head(pending, limits) {
                    Ok(Status::Complete(parsed)) => parsed,
                    Ok(Status::Partial) => {
                        if !matches!(wait, Wait::Head(_)) {
                            wait = Wait::Head(Instant::now());
                        }
                        break;
                    }
                    Err(e) => {
                        warn!("{} -> {} ({e:?})", self.conn.peer(), e.status().as_u16());
                        return self.fail(e.status());
                    }
                };
                // Within `max_body_bytes` (checked by the parser), so it fits.
                let body_len = usize::try_from(request.framing.body_len()).unwrap_or(usize::MAX);
                let total = head_len.saturating_add(body_len);
                if pending.len() < total {
                    wait = Wait::Body(total);
                    break;
                }
                request.body = &pending[head_len..total];
                self.served += 1;
                let last = persistence == Persistence::OneRequest
                    || wants_close(&request)
                    || self.served >= limits.max_requests_per_connection
                    || self.conn.draining();
                let close = answer(handler, &request, last, &mut self.out, self.conn);
                self.start += total;
                wait = Wait::Idle;
                if close {
                    return self.close();
                }
            }

            // 2. Send what we have before waiting for more: a response is
            //    never held back while we wait for the client.
            if let Err(e) = self.flush() {
                return End::Io(e.kind());
            }

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
                Wait::Body(_) => limits.body_timeout,
            };
            self.make_room(wait);
            match self.read(timeout) {
                Ok(0) => return End::PeerClosed,
                Ok(n) => {
                    if wait == Wait::Idle {
                        self.conn.leave_idle();
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
        }
    }
    // ANCHOR_END: run

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
        let needed = match wait {
            // The parser rejects heads over the limit, so this stays bounded.
            Wait::Idle | Wait::Head(_) => self.end - self.start + 1,
            Wait::Body(total) => total,
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

    fn flush(&mut self) -> io::Result<()> {
        if !self.out.is_empty() {
            self.stream.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// 408 after a head or body that did not arrive in time (RFC 9110 §15.5.9).
    fn timed_out(&mut self, what: &str) -> End {
        warn!("{} -> 408 ({what} timeout)", self.conn.peer());
        self.fail(StatusCode::REQUEST_TIMEOUT)
    }

    /// Queue an error response after whatever is already queued (so
    /// pipelined responses keep their order), send, and close.
    fn fail(&mut self, status: StatusCode) -> End {
        Response::error(status).encode(&mut self.out, &date::now(), ConnectionHeader::Close, false);
        self.close()
    }

    // ANCHOR: close
    /// Send what is queued, then close without losing it: shut down our
    /// sending side (the client reads a clean end of stream after the
    /// response), then read and discard what the client still sends, for a
    /// moment, so the kernel does not answer it with a reset that could
    /// destroy the response before the client has read it (RFC 9112 §9.6).
    fn close(&mut self) -> End {
        if let Err(e) = self.flush() {
            return End::Io(e.kind());
        }
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
}

// ANCHOR: wants_close
/// Whether the client asked for this to be the last request (RFC 9112 §9.3):
/// HTTP/1.1 persists unless it says `Connection: close`; HTTP/1.0 closes
/// unless it says `Connection: keep-alive`.
fn wants_close(request: &Request<'_>) -> bool {
    match request.version {
        Version::Http11 => request.has_token("connection", "close"),
        Version::Http10 => !request.has_token("connection", "keep-alive"),
    }
}
// ANCHOR_END: wants_close

// ANCHOR: answer
/// Call the handler and append its response to `out`. Returns whether the
/// connection must close after it: when `last` says so, or after a 5xx
/// (a server error may have left who-knows-what unread or half-done).
fn answer<H: Handler>(
    handler: &H,
    request: &Request<'_>,
    last: bool,
    out: &mut Vec<u8>,
    conn: &Conn,
) -> bool {
    let started = Instant::now();
    // A panicking handler must not take the connection's thread (and the
    // client's answer) with it: it becomes a 500, and the server goes on.
    let response = match catch_unwind(AssertUnwindSafe(|| handler.handle(request))) {
        Ok(response) => match response.check() {
            Ok(()) => response,
            Err(why) => {
                error!(
                    "{} {}: handler returned a bad response: {why}",
                    request.method,
                    request.path()
                );
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        },
        Err(_) => {
            error!("{} {}: handler panicked", request.method, request.path());
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    };
    let close = last || response.status.as_u16() >= 500;
    let connection = if close {
        ConnectionHeader::Close
    } else if request.version == Version::Http10 {
        ConnectionHeader::KeepAlive
    } else {
        ConnectionHeader::Omit
    };
    let head_only = request.method == "HEAD";
    response.encode(out, &date::now(), connection, head_only);
    info!(
        "{} \"{} {}\" {} {}B {:?}",
        conn.peer(),
        request.method,
        request.path(),
        response.status.as_u16(),
        response.body.len(),
        started.elapsed()
    );
    close
}
// ANCHOR_END: answer

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

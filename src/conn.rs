//! The thread-per-connection driver: a blocking loop around the connection
//! core (ch02 serves one request per connection; ch04 adds persistence,
//! pipelining and timeouts; ch05 makes it stop cleanly; RFC 9112 §9).
//!
//! All of HTTP is in [`crate::http1`], which does no I/O. This module is
//! what a socket needs on top: read with a timeout, feed the bytes to the
//! core, write what it says, repeat. This and `server.rs` are the only
//! modules that touch sockets.

use std::io::{self, ErrorKind, Read, Seek, SeekFrom, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use log::debug;

use crate::http1::{Connection, Options, Want, refusal};
pub use crate::http1::{End, Handler, Persistence};
use crate::server::{Conn, Service};
use crate::trace::Trace;

/// An HTTP/1.1 [`Service`]: a handler, and which protocol features are on.
pub struct Http<H> {
    handler: H,
    options: Options,
}

impl<H: Handler> Http<H> {
    /// Accept chunked request bodies (ch06).
    pub fn chunked(mut self) -> Http<H> {
        self.options.chunked = true;
        self
    }

    /// Refuse a body the handler would refuse before it is sent, and answer
    /// any other expectation than `100-continue` with 417 (ch06; RFC 9110
    /// §10.1.1). Without it, `100 Continue` is still sent when asked.
    pub fn expect_continue(mut self) -> Http<H> {
        self.options.expect_continue = true;
        self
    }
}

/// Serve `handler`, one request per connection (ch02).
pub fn one_request<H: Handler>(handler: H) -> Http<H> {
    http(handler, Persistence::OneRequest)
}

/// Serve `handler` on persistent connections (ch04).
pub fn keep_alive<H: Handler>(handler: H) -> Http<H> {
    http(handler, Persistence::KeepAlive)
}

fn http<H: Handler>(handler: H, persistence: Persistence) -> Http<H> {
    let options = Options {
        persistence,
        chunked: false,
        expect_continue: false,
    };
    Http { handler, options }
}

impl<H: Handler> Service for Http<H> {
    // ANCHOR: serve
    /// A connection core for the connection, and a driver to run it.
    fn serve(&self, stream: TcpStream, conn: &Conn) {
        let draining = conn.drain_signal();
        let who = (conn.id(), conn.peer());
        let limits = conn.limits().clone();
        let mut core =
            Connection::new(limits, self.options, who, draining, Instant::now());
        let end = Driver::new(stream, conn).run(&mut core, &self.handler);
        debug!(
            "conn {} ended: {end:?} after {} requests",
            conn.id(),
            core.served()
        );
    }
    // ANCHOR_END: serve

    /// Over `max_connections`: a 503 with `Retry-After`, then close
    /// (RFC 9110 §15.6.4). This runs on the accept loop, so it writes
    /// what fits in the socket buffer (all of it: ~200 bytes into a fresh
    /// socket), discards what the client already sent, and never waits.
    fn refuse(&self, mut stream: TcpStream) {
        let _ = stream.set_nonblocking(true);
        let _ = stream.write_all(&refusal());
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

/// One connection's socket, and the shutdown's view of it.
struct Driver<'c> {
    stream: TcpStream,
    conn: &'c Conn,
    /// The read timeout the socket has now, to skip needless `setsockopt`s.
    read_timeout: Option<Duration>,
    /// The write timeout the socket has now, likewise.
    write_timeout: Option<Duration>,
    /// Whether our sending side is shut down (the linger has begun).
    shut: bool,
    /// Every read and write, on stderr, if `RAWHTTP_TRACE=1` (ch02).
    trace: Trace,
}

impl<'c> Driver<'c> {
    fn new(stream: TcpStream, conn: &'c Conn) -> Driver<'c> {
        // Nagle's algorithm holds back small writes until the previous one is
        // acknowledged; with delayed ACKs on the other side that can cost
        // 40 ms a response. We write each batch of responses in one go, so
        // there is nothing for Nagle to coalesce (ch04).
        let _ = stream.set_nodelay(true);
        let timeout = conn.limits().write_timeout;
        let _ = stream.set_write_timeout(Some(timeout));
        Driver {
            stream,
            conn,
            read_timeout: None,
            write_timeout: Some(timeout),
            shut: false,
            trace: Trace::new(conn),
        }
    }

    // ANCHOR: run
    /// Do what the core wants until it is done.
    fn run<H: Handler>(&mut self, core: &mut Connection, handler: &H) -> End {
        // After a read timed out: the deadline the kernel saw pass.
        let mut floor = None;
        loop {
            let now = floor
                .take()
                .map_or_else(Instant::now, |d| Instant::now().max(d));
            let (deadline, read) = match core.poll(now, handler) {
                Want::Write { deadline, last } => {
                    if last {
                        self.conn.closing();
                    }
                    match self.write_out(core, deadline) {
                        Ok(()) => continue,
                        Err(e) => return End::Io(e.kind()),
                    }
                }
                Want::Read {
                    deadline,
                    idle: false,
                } => (deadline, self.read_in(core, deadline)),
                // Between requests, the shutdown may close us (chapter 5).
                Want::Read {
                    deadline,
                    idle: true,
                } => (deadline, self.read_idle(core, deadline)),
                Want::Produce => {
                    core.produce(Instant::now()); // a streamed body (chapter 6)
                    continue;
                }
                // A body from a file (chapter 8).
                Want::SendFile { deadline } => match self.send_file(core, deadline) {
                    Ok(()) => continue,
                    Err(e) => return End::Io(e.kind()),
                },
                Want::Linger { deadline } => (deadline, self.linger(core, deadline)),
                Want::Close(end) => {
                    if end == End::Closed {
                        // Our FIN goes out now, even while the shutdown table
                        // still holds a second handle to the socket.
                        self.shut_write();
                    }
                    return end;
                }
            };
            match read {
                Ok(_) => {}
                Err(Missed::Deadline) => floor = passed(deadline),
                Err(Missed::End(end)) => return end,
            }
        }
    }
    // ANCHOR_END: run

    // ANCHOR: read_in
    /// Read once into the core, waiting at most until `deadline`: how many
    /// bytes came (0: the client closed its side).
    fn read_in(
        &mut self,
        core: &mut Connection,
        deadline: Instant,
    ) -> Result<usize, Missed> {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            return Err(Missed::Deadline);
        }
        match self.read(core.input(), timeout) {
            Ok(0) => {
                core.eof();
                Ok(0)
            }
            Ok(n) => {
                core.received(n, Instant::now());
                Ok(n)
            }
            Err(e) if is_timeout(&e) => Err(Missed::Deadline),
            Err(e) => Err(Missed::End(End::Io(e.kind()))),
        }
    }

    /// Read, waiting at most `timeout`. The deadlines the core names move a
    /// little with every request (the idle one runs from the last write), so
    /// a timeout already on the socket is kept when it is no more than
    /// 1/64 longer and at least half as long: that saves a `setsockopt` per
    /// request. Longer, the wait overshoots by at most 1/64; shorter, the
    /// read wakes early and the core simply asks again (see `run`).
    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let close_enough = |t: Duration| t <= timeout + timeout / 64 && t >= timeout / 2;
        if !self.read_timeout.is_some_and(close_enough) {
            self.stream.set_read_timeout(Some(timeout))?;
            self.read_timeout = Some(timeout);
        }
        loop {
            match self.stream.read(buf) {
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Ok(n) => {
                    self.trace.received(buf.get(..n).unwrap_or_default());
                    return Ok(n);
                }
                other => return other,
            }
        }
    }
    // ANCHOR_END: read_in

    // ANCHOR: linger
    /// Shut down our sending side (once), then read and discard what the
    /// client still sends. Its end of stream, or a failed read, ends the
    /// linger, and the connection.
    fn linger(
        &mut self,
        core: &mut Connection,
        deadline: Instant,
    ) -> Result<usize, Missed> {
        self.shut_write();
        self.read_in(core, deadline).map_err(|missed| match missed {
            Missed::End(_) => Missed::End(End::Closed),
            Missed::Deadline => Missed::Deadline,
        })
    }

    /// Shut down our sending side, once: the client reads the end of the
    /// stream after our last byte.
    fn shut_write(&mut self) {
        if !self.shut {
            self.shut = true;
            let _ = self.stream.shutdown(std::net::Shutdown::Write);
            self.trace.closed();
        }
    }
    // ANCHOR_END: linger

    // ANCHOR: read_idle
    /// [`Driver::read_in`] between requests. The connection tells the
    /// shutdown it is idle first (ch05): while it waits, the shutdown may
    /// close it; once bytes have come, it may not.
    fn read_idle(
        &mut self,
        core: &mut Connection,
        deadline: Instant,
    ) -> Result<usize, Missed> {
        if !self.conn.enter_idle() {
            return Err(Missed::End(End::Shutdown));
        }
        match self.read_in(core, deadline) {
            // A socket shut down by the shutdown while idle reads as EOF
            // or, on some systems, as an error.
            Ok(0) | Err(Missed::End(_)) if self.conn.draining() => {
                Err(Missed::End(End::Shutdown))
            }
            // The shutdown closed us just as the request came: it is not
            // run (the client may safely retry it).
            Ok(n) if n > 0 && !self.conn.leave_idle() => Err(Missed::End(End::Shutdown)),
            other => other,
        }
    }
    // ANCHOR_END: read_idle

    // ANCHOR: write_out
    /// Write everything the core has queued. One `write` usually takes it
    /// all; if the client reads slowly, each write may block for
    /// `write_timeout`, and all of it must be taken by `deadline` (ch07),
    /// or the connection is closed ("slow read").
    fn write_out(
        &mut self,
        core: &mut Connection,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        while !core.output().is_empty() {
            self.arm_write(core.limits().write_timeout, deadline)?;
            match self.stream.write(core.output()) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.trace.sent(core.output().get(..n).unwrap_or_default());
                    core.wrote(n, Instant::now());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
    // ANCHOR_END: write_out

    /// Before a write: each may block for at most `write_timeout`, and not
    /// past `deadline`, which is an error once it has passed.
    fn arm_write(
        &mut self,
        write_timeout: Duration,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        let mut timeout = write_timeout;
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                let late = "response not taken in time";
                return Err(io::Error::new(ErrorKind::TimedOut, late));
            }
            timeout = timeout.min(left);
        }
        if self.write_timeout != Some(timeout) {
            self.stream.set_write_timeout(Some(timeout))?;
            self.write_timeout = Some(timeout);
        }
        Ok(())
    }

    // ANCHOR: send_file
    /// Send the range of a file the core names with `sendfile(2)`: the
    /// kernel moves the bytes from the page cache to the socket, never
    /// through this process (chapter 8). A chunk at a time, so the deadline
    /// is checked between chunks even when the client keeps taking a little.
    fn send_file(
        &mut self,
        core: &mut Connection,
        deadline: Option<Instant>,
    ) -> io::Result<()> {
        loop {
            self.arm_write(core.limits().write_timeout, deadline)?;
            let Some((file, offset, left)) = core.file_range() else {
                return Ok(());
            };
            let chunk = usize::try_from(left.min(SEND_FILE_CHUNK)).unwrap_or(usize::MAX);
            let mut at = offset;
            let sent =
                match rustix::fs::sendfile(&self.stream, file, Some(&mut at), chunk) {
                    Ok(sent) => sent as u64,
                    Err(e) if e == rustix::io::Errno::INTR => continue,
                    // A file system that cannot: copy through a buffer instead.
                    Err(e)
                        if e == rustix::io::Errno::INVAL
                            || e == rustix::io::Errno::NOSYS =>
                    {
                        copy_range(file, offset, chunk, &mut self.stream)?
                    }
                    Err(e) => return Err(e.into()),
                };
            if sent == 0 {
                // The file is shorter than when it was opened: the response
                // cannot be finished (its length is already announced).
                return Err(io::Error::new(ErrorKind::UnexpectedEof, "file shrank"));
            }
            self.trace.sent_file(sent, offset);
            core.file_sent(sent);
        }
    }
    // ANCHOR_END: send_file
}

/// The most bytes of a file sent in one `sendfile` (see `send_file`).
const SEND_FILE_CHUNK: u64 = 256 * 1024;

/// `len` bytes of `file` from `offset` to `out`, through a buffer: for
/// files `sendfile` cannot read.
fn copy_range(
    file: &std::fs::File,
    offset: u64,
    len: usize,
    out: &mut TcpStream,
) -> io::Result<u64> {
    let mut file = file;
    file.seek(SeekFrom::Start(offset))?;
    io::copy(&mut file.take(len as u64), out)
}

/// After a read timed out: `deadline`, if it has passed (within a
/// millisecond), so the core sees it has; `None` if the kernel's timeout
/// ended early (see `Driver::read`), and the core simply asks again.
fn passed(deadline: Instant) -> Option<Instant> {
    let left = deadline.saturating_duration_since(Instant::now());
    (left < Duration::from_millis(1)).then_some(deadline)
}

/// Why a read brought no bytes.
enum Missed {
    /// The deadline passed: poll the core again, which knows what follows.
    Deadline,
    /// The connection is over.
    End(End),
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

//! The wire trace (ch02, "Watch the wire"): with `RAWHTTP_TRACE=1`, every
//! read and every write on every connection is printed on stderr, in the
//! notation of the snapshots ([`crate::transcript`]), so that what a browser
//! sent and what came back reads like the book:
//!
//! ```text
//! conn 0 127.0.0.1:50312 --> client sends (82 bytes)
//! GET /a?b=c HTTP/1.1\r\n
//! ...
//! conn 0 127.0.0.1:50312 <-- server sends (355 bytes)
//! HTTP/1.1 200 OK\r\n
//! ...
//! conn 0 127.0.0.1:50312 <-- server sends (0 bytes), then closes
//! conn 0 127.0.0.1:50312 --> client closes its sending side
//! ```
//!
//! - **Where.** The drivers call it, because they see every byte: the
//!   thread driver ([`crate::conn`]) for each `read` into the core's input
//!   and each `write` of its output, and the echo service of step01. The
//!   connection core ([`crate::http1`]) knows nothing about it.
//! - **Blocks.** One `read` is one block (`--> client sends`; a read of 0
//!   bytes is `--> client closes its sending side`), one `write` is one
//!   block (`<-- server sends`), and our end of the connection is one more
//!   (`<-- server sends (0 bytes), then closes`: our FIN, or the socket
//!   dropped). So two pipelined requests read at once are one block, and a
//!   streamed body is a block per write. (In a snapshot, `<-- server sends`
//!   is what the client read as one response; here it is one `write`.)
//!   Each heading starts with the connection's number and the client's
//!   address, so the blocks of connections open at once can be told apart.
//! - **Whole blocks.** A block is built as one `String` and written with one
//!   `write_all` on a locked stderr. That lock is the process's: `eprintln!`
//!   and env_logger (which writes each record under it) wait for it too, so
//!   no other block and no log line can land inside a block.
//! - **Bounded.** A read or write longer than `limits.trace_bytes`
//!   ([`crate::limits::TRACE_BYTES`], `RAWHTTP_TRACE_BYTES`) shows only
//!   its first and last `trace_bytes / 2` bytes, with
//!   `... [N bytes not shown] ...` between them.
//! - **Shown as sent.** Nothing is redacted: the `Date` value is the real
//!   one (snapshots redact it only because it changes from run to run), and
//!   so are cookies and passwords. That is why the trace is off unless
//!   asked for, and is meant for your own machine.
//!
//! Why stderr, and not the `log` crate at `trace` level? Everything else
//! the library says goes through `log` (STYLE §9), and stdout is where a
//! step prints its address. But env_logger starts a record with `[time LEVEL target]`,
//! which would break the first line of every block, and turning the trace
//! on would mean `RUST_LOG=rawhttp::trace=trace`, next to the learner's
//! other log settings. A trace is output a person asked for, in a format
//! of its own: so it has its own switch, and writes the format as it is.
//!
//! Two things the trace does not tell apart or show: when the shutdown
//! closes an idle connection (ch05), the blocked read returns 0 bytes as if
//! the client had closed, and is shown so; and a connection refused because
//! the server is full (its 503) is not traced at all: it is answered on the
//! accept loop, before it has a number.

use std::io::{self, Write};

use crate::server::Conn;
use crate::transcript::{BYTES, CLOSE_WRITE, EXPECT, SEND, THEN_CLOSES, wire};

/// One connection's wire trace; does nothing unless `limits.trace` is on.
/// Dropping it shows our end of the connection, if not shown already: a
/// service's socket is closed when it returns, however it returns.
pub struct Trace {
    /// `conn 3 127.0.0.1:5123`, the start of each heading; `None`: off.
    prefix: Option<String>,
    /// See `Limits::trace_bytes`.
    max: usize,
    /// Whether our end has been shown: a connection has one.
    ended: bool,
}

impl Trace {
    /// The trace of `conn`, on if its limits say so.
    pub fn new(conn: &Conn) -> Trace {
        let limits = conn.limits();
        let prefix = limits
            .trace
            .then(|| format!("conn {} {}", conn.id(), conn.peer()));
        Trace {
            prefix,
            max: limits.trace_bytes,
            ended: false,
        }
    }

    /// A `read` returned `bytes`; none: the client closed its sending side.
    pub fn received(&self, bytes: &[u8]) {
        let Some(prefix) = &self.prefix else { return };
        if bytes.is_empty() {
            emit(&format!("{prefix} {CLOSE_WRITE}\n"));
        } else {
            let heading = format!("{SEND}{}{BYTES}", bytes.len());
            emit(&block(prefix, &heading, bytes, self.max));
        }
    }

    /// A `write` took `bytes`.
    pub fn sent(&self, bytes: &[u8]) {
        let Some(prefix) = &self.prefix else { return };
        let heading = format!("{EXPECT}{}{BYTES}", bytes.len());
        emit(&block(prefix, &heading, bytes, self.max));
    }

    /// The kernel sent `n` bytes of a file, from `offset` (`sendfile`,
    /// ch08): they never passed through the server, so only their count and
    /// where they came from are shown.
    pub fn sent_file(&self, n: u64, offset: u64) {
        let Some(prefix) = &self.prefix else { return };
        let end = offset.saturating_add(n);
        emit(&format!(
            "{prefix} {EXPECT}{n}{BYTES}
[bytes {offset}..{end} of the file, sent by the kernel]
"
        ));
    }

    /// We shut down our sending side, or are about to close: the client
    /// reads the end of the stream. Shown once.
    pub fn closed(&mut self) {
        let Some(prefix) = &self.prefix else { return };
        if !self.ended {
            self.ended = true;
            emit(&format!("{prefix} {EXPECT}0{BYTES}{THEN_CLOSES}\n"));
        }
    }
}

impl Drop for Trace {
    fn drop(&mut self) {
        self.closed();
    }
}

// ANCHOR: block
/// A heading line, `prefix heading`, then `bytes` as [`wire`] shows them.
/// Over `max` bytes, only the first and the last `max / 2`, and between
/// them a line that says how many are left out.
fn block(prefix: &str, heading: &str, bytes: &[u8], max: usize) -> String {
    let mut out = format!("{prefix} {heading}\n");
    if bytes.len() <= max {
        out.push_str(&wire(bytes));
        return out;
    }
    let last = max / 2;
    let first = max - last;
    // In range: `first + last == max < bytes.len()`.
    let hidden = bytes.len() - max;
    out.push_str(&wire(bytes.get(..first).unwrap_or_default()));
    out.push_str(&format!("... [{hidden} bytes not shown] ...\n"));
    out.push_str(&wire(bytes.get(bytes.len() - last..).unwrap_or_default()));
    out
}

/// Write a whole block at once, under stderr's lock (see the module docs).
fn emit(block: &str) {
    // A trace nobody can read (stderr closed) is no reason to fail a
    // connection.
    let _ = io::stderr().lock().write_all(block.as_bytes());
}
// ANCHOR_END: block

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "conn 7 127.0.0.1:5123";

    #[test]
    fn a_block_is_a_heading_and_the_wire() {
        let got = block(
            P,
            "--> client sends (18 bytes)",
            b"GET / HTTP/1.1\r\n\r\n",
            64,
        );
        let want = "conn 7 127.0.0.1:5123 --> client sends (18 bytes)\n\
                    GET / HTTP/1.1\\r\\n\n\
                    \\r\\n\n";
        assert_eq!(got, want);
        // Binary bytes are escaped as the snapshots escape them.
        let got = block(P, "h", b"\x16\x03\x01\x00\xff", 64);
        assert_eq!(got, format!("{P} h\n\\x16\\x03\\x01\\x00\\xff\n"));
    }

    #[test]
    fn trace_bytes_at_n_and_n_plus_1() {
        let n = 10;
        let at = block(P, "h", b"0123456789", n);
        assert_eq!(at, format!("{P} h\n0123456789\n"), "N bytes: all shown");
        let over = block(P, "h", b"0123456789A", n);
        let want = format!("{P} h\n01234\n... [1 bytes not shown] ...\n6789A\n");
        assert_eq!(over, want, "N+1 bytes: the middle one is left out");
        // An odd limit shows one more byte of the start.
        let odd = block(P, "h", b"abcdefgh", 5);
        assert_eq!(
            odd,
            format!("{P} h\nabc\n... [3 bytes not shown] ...\ngh\n")
        );
        // The smallest limit still names the count.
        let one = block(P, "h", b"abc", 1);
        assert_eq!(one, format!("{P} h\na\n... [2 bytes not shown] ...\n"));
    }

    #[test]
    fn a_cut_keeps_lines_apart() {
        // The cut falls inside lines: each part ends its own line, and the
        // CRLFs either side stay visible.
        let bytes = b"AAAA\r\nBBBB\r\nCCCC\r\n";
        let got = block(P, "h", bytes, 8);
        let want = format!("{P} h\nAAAA\n... [10 bytes not shown] ...\nCC\\r\\n\n");
        assert_eq!(got, want);
    }
}

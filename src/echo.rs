//! The echo service: every byte received is sent back (ch01).
//!
//! Not HTTP yet. It shows what a TCP connection is: a pair of byte streams
//! with no message boundaries. One `read` may return half of what the client
//! wrote, or two of its writes glued together; the echo does not care,
//! which is exactly why HTTP needs framing (ch02).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;

use log::debug;

use crate::server::{Conn, Service};
use crate::trace::Trace;

/// Echo bytes back until the client closes, stalls past the idle timeout,
/// or stops reading past the write timeout.
pub struct Echo;

// ANCHOR: echo
impl Service for Echo {
    fn serve(&self, mut stream: TcpStream, conn: &Conn) {
        // A client that connects and goes quiet must not hold a thread forever.
        let _ = stream.set_read_timeout(Some(conn.limits().idle_timeout));
        let _ = stream.set_write_timeout(Some(conn.limits().write_timeout));
        let trace = Trace::new(conn); // RAWHTTP_TRACE=1 shows the bytes (ch02)
        let mut buf = [0u8; 4096];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // A read timeout is reported as WouldBlock (or TimedOut):
                // say what happened, not how the OS spells it.
                Err(e) if timed_out(&e) => {
                    return debug!("conn {}: idle timeout", conn.id());
                }
                Err(e) => return debug!("conn {}: read: {e}", conn.id()),
            };
            let got = &buf[..n];
            trace.received(got);
            if n == 0 {
                return; // the client closed its side: we are done
            }
            match stream.write_all(got) {
                Ok(()) => {}
                Err(e) if timed_out(&e) => {
                    return debug!("conn {}: write timeout", conn.id());
                }
                Err(e) => return debug!("conn {}: write: {e}", conn.id()),
            }
            trace.sent(got);
        }
    }
}

/// Whether `e` is a socket timeout firing: `set_read_timeout` and
/// `set_write_timeout` report it as `WouldBlock` on Unix, `TimedOut` on Windows.
fn timed_out(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}
// ANCHOR_END: echo

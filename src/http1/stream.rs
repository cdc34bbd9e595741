//! Streamed responses: a body sent piece by piece as it is produced
//! (ch06; RFC 9112 §7.1 for the chunks, §6.3 rule 8 for HTTP/1.0).

use std::io::ErrorKind;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use log::error;

use super::{Connection, End, State, Want};
use crate::chunked::{LAST_CHUNK, encode_chunk};
use crate::response::{BodyStream, StreamContext};

// ANCHOR: streaming
/// A streamed response in flight: the state `Streaming` holds it.
pub(super) struct Streaming {
    /// The producer of the pieces.
    stream: BodyStream,
    /// Send the pieces as chunks (HTTP/1.1), or raw until the close (1.0).
    chunked: bool,
    /// The response said `Connection: close`.
    close: bool,
    /// The client said this was its last request.
    client_done: bool,
}

impl Connection {
    /// The head of a streamed response is queued: its body follows.
    pub(super) fn start_stream(
        &mut self,
        stream: BodyStream,
        chunked: bool,
        close: bool,
        client_done: bool,
    ) {
        self.state = State::Streaming(Streaming {
            stream,
            chunked,
            close,
            client_done,
        });
    }

    /// While streaming: write what is queued, then ask for the next piece.
    pub(super) fn streaming(&mut self, now: Instant) -> Want {
        if self.out.is_empty() {
            Want::Produce
        } else {
            self.write(now, false)
        }
    }
    // ANCHOR_END: streaming

    // ANCHOR: produce
    /// Ask the stream for its next piece (it may block until it has one)
    /// and queue it: as a chunk to an HTTP/1.1 client, raw to an HTTP/1.0
    /// client (whose body then ends with the connection). At the end, the
    /// last chunk; then the connection goes on, or closes: when the
    /// response said so, or when the server began draining meanwhile (the
    /// head, already sent, could not say `Connection: close`).
    pub fn produce(&mut self, now: Instant) {
        let State::Streaming(streaming) = &mut self.state else {
            return;
        };
        let cx = StreamContext::new(&*self.draining);
        let next = catch_unwind(AssertUnwindSafe(|| streaming.stream.next_piece(&cx)));
        match next {
            Ok(Some(piece)) => {
                if streaming.chunked {
                    encode_chunk(&mut self.out, &piece);
                } else {
                    self.out.extend_from_slice(&piece);
                }
                if let Some(log) = self.logs.last_mut() {
                    log.body_bytes = log.body_bytes.saturating_add(piece.len());
                }
            }
            Ok(None) => {
                let Streaming {
                    chunked,
                    close,
                    client_done,
                    ..
                } = *streaming;
                if chunked {
                    self.out.extend_from_slice(LAST_CHUNK);
                }
                self.state = State::Idle(now);
                if close || (self.draining)() {
                    self.closing(client_done);
                }
            }
            // A body that panics halfway cannot become a 500 (the 200 is
            // already sent). Stopping without the last chunk tells the
            // client the body is incomplete.
            Err(_) => {
                error!("a streamed body panicked; cutting the response");
                self.state = State::Done(End::Io(ErrorKind::Other));
            }
        }
    }
    // ANCHOR_END: produce
}

//! Answers that end the connection: bad requests, timeouts, refusals
//! (ch02; RFC 9112 §9.6, RFC 9110 §15.5).

use log::warn;

use super::{Connection, State};
use crate::date;
use crate::error::ParseError;
use crate::response::{ConnectionHeader, Response};
use crate::status::StatusCode;

impl Connection {
    // ANCHOR: fail
    /// Answer a request that cannot be parsed, and close.
    pub(super) fn reject(&mut self, e: ParseError) {
        warn!("{} -> {} ({e:?})", self.peer, e.status().as_u16());
        self.fail(e.status());
    }

    /// 408 after a head or body that did not arrive in time (RFC 9110 §15.5.9).
    pub(super) fn timed_out(&mut self, what: &str) {
        warn!("{} -> 408 ({what} timeout)", self.peer);
        self.fail(StatusCode::REQUEST_TIMEOUT);
    }

    /// Queue an error response after whatever is already queued (so
    /// pipelined responses keep their order), then close. The response to a
    /// HEAD request has no content, even when it is an error (RFC 9110
    /// §9.3.2): a client that pipelines would read the content as the start
    /// of the next response.
    pub(super) fn fail(&mut self, status: StatusCode) {
        let response = Response::error(status);
        let (out, head_only) = (&mut self.out, self.head_only);
        response.encode(out, &date::now(), ConnectionHeader::Close, head_only, false);
        self.state = State::Closing { linger: true };
    }
    // ANCHOR_END: fail

    // ANCHOR: refuse_body
    /// An expectation we cannot meet (ch06): 417 (RFC 9110 §15.5.18).
    pub(super) fn unmeetable(&mut self) {
        warn!("{} -> 417 (unknown expectation)", self.peer);
        self.fail(StatusCode::EXPECTATION_FAILED);
    }

    /// The handler refuses this request whatever its body says (ch06): answer
    /// now, without reading the body. The client, told no, will not send
    /// it, and may already have started to: the connection cannot go on.
    pub(super) fn refuse_body(&mut self, refusal: Response) {
        let (out, head_only) = (&mut self.out, self.head_only);
        refusal.encode(out, &date::now(), ConnectionHeader::Close, head_only, false);
        self.state = State::Closing { linger: true };
    }
    // ANCHOR_END: refuse_body
}

// ANCHOR: is_head
/// Whether the request at the front of `pending` is a HEAD request, read
/// from its first bytes, so that it holds whether or not the rest of the
/// head parsed (a HEAD with a bad field still must not get content). Leading
/// empty lines are skipped as the parser skips them (RFC 9112 §2.2).
pub(super) fn is_head(mut pending: &[u8]) -> bool {
    while let Some(rest) = pending.strip_prefix(b"\r\n") {
        pending = rest;
    }
    pending.starts_with(b"HEAD ")
}
// ANCHOR_END: is_head

// ANCHOR: refusal
/// The answer for a connection over `max_connections`: 503 with
/// `Retry-After` (RFC 9110 §15.6.4), then close. It is written by the
/// accept loop, which must not wait, so it is small enough (~200 bytes) to
/// fit a fresh socket's buffer whole.
pub fn refusal() -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    Response::error(StatusCode::SERVICE_UNAVAILABLE)
        .with_header("Retry-After", "1")
        .encode(
            &mut out,
            &date::now(),
            ConnectionHeader::Close,
            false,
            false,
        );
    out
}
// ANCHOR_END: refusal

//! Chunked request bodies, decoded in place as they arrive (ch06; RFC 9112
//! §7.1).

use std::time::Instant;

use super::{Connection, Handler};
use crate::chunked::Decoder;
use crate::error::ParseError;
use crate::request::{Request, Status, parse_head};
use crate::status::StatusCode;

impl Connection {
    // ANCHOR: chunked_head
    /// A complete head that announces a chunked body. Steps 02–05 answer
    /// 501; step06 answers the request's expectations, then waits for the
    /// body. `true`: look again, and [`Connection::chunked_body`] decodes
    /// what has arrived.
    pub(super) fn chunked_head<H: Handler>(
        &mut self,
        request: &Request<'_>,
        head_len: usize,
        now: Instant,
        handler: &H,
    ) -> bool {
        if !self.options.chunked {
            self.reject(ParseError::UnsupportedCoding);
            return true;
        }
        // Nothing of it is decoded yet: the client may be waiting for a 100.
        if self.expect(request, true, handler) {
            return true;
        }
        self.wait_for_body(head_len, None, now);
        true
    }
    // ANCHOR_END: chunked_head

    // ANCHOR: chunked_body
    /// Decode the chunked body that starts `head_len` bytes into the
    /// request, as far as it has arrived, and answer the request once it is
    /// all here (`true`). The decoder works in place: data is moved over the
    /// framing already read, so the buffer holds the head, the body decoded
    /// so far and at most one read's worth of framing.
    pub(super) fn chunked_body<H: Handler>(
        &mut self,
        buf: &mut [u8],
        head_len: usize,
        now: Instant,
        handler: &H,
    ) -> bool {
        let body_start = self.start + head_len;
        let decoder = self.chunked.get_or_insert_with(Decoder::new);
        let body = &mut buf[body_start..self.end];
        let decoded = match decoder.decode(body, &self.limits) {
            Ok(Status::Complete(decoded)) => decoded,
            Ok(Status::Partial) => {
                let kept = decoder.compact(body, self.end - body_start);
                self.end = body_start + kept;
                return false;
            }
            Err(e) => {
                self.chunked = None;
                self.reject(e);
                return true;
            }
        };
        self.chunked = None;
        // Decoding moved bytes behind the head; the head itself is
        // untouched, so parsing it again gives the same request.
        let pending = &buf[self.start..self.end];
        let Ok(Status::Complete((request, _))) = parse_head(pending, &self.limits) else {
            log::error!("a head that parsed once did not parse again");
            self.fail(StatusCode::INTERNAL_SERVER_ERROR);
            return true;
        };
        let body_end = head_len + decoded.body_len;
        let request = Request {
            body: &pending[head_len..body_end],
            ..request
        };
        self.respond(&request, head_len + decoded.encoded_len, now, handler);
        true
    }
    // ANCHOR_END: chunked_body
}

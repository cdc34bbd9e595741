//! Answering one request: the handler, the response's framing and
//! persistence, the access log (ch02; ch04 adds persistence; RFC 9112 §9.3).

use std::net::SocketAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use log::{debug, error, info};

use super::Handler;
use crate::date;
use crate::request::{Request, Version};
use crate::response::{BodyStream, ConnectionHeader, FileBody, Response};
use crate::status::StatusCode;

// ANCHOR: wants_close
/// Whether the client asked for this to be the last request (RFC 9112 §9.3):
/// HTTP/1.1 persists unless it says `Connection: close`; HTTP/1.0 closes
/// unless it says `Connection: keep-alive` (and not also `close`).
pub(super) fn wants_close(request: &Request<'_>) -> bool {
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

/// What answering one request left to do.
pub(super) struct Answered {
    /// The connection must close after this response.
    pub(super) close: bool,
    /// A streamed body still to be sent, and whether to send it chunked.
    pub(super) stream: Option<(BodyStream, bool)>,
    /// The access-log line, written once the response's last byte is sent.
    pub(super) log: Option<AccessLog>,
    /// A body from a file still to be sent (ch08).
    pub(super) file: Option<Box<FileBody>>,
}

// ANCHOR: answer
/// Call the handler and append its response to `out`, with the
/// `Connection` field that [`must_close`] chooses (ch04).
pub(super) fn answer<H: Handler>(
    handler: &H,
    request: &Request<'_>,
    last: bool,
    out: &mut Vec<u8>,
    (id, peer): (u64, SocketAddr),
    draining: &dyn Fn() -> bool,
) -> Answered {
    // From here the request is in flight: a shutdown lets it finish (ch05).
    debug!("conn {id}: {} {}", request.method, request.path());
    let started = Instant::now();
    let mut response = call(handler, request);
    let close = must_close(request, &response, last, draining);
    let connection = connection_header(close, request.version);
    let head_only = request.method == "HEAD";
    let chunked = request.version == Version::Http11;
    response.encode(out, &date::now(), connection, head_only, chunked);
    let sends_body = !head_only && !response.status.is_bodiless();
    // A streamed body (ch06) or a file's (ch08) follows the head, and is
    // counted as it goes out.
    let streamed = response.stream.is_some() || response.file.is_some();
    let body_bytes = if sends_body && !streamed {
        response.body.len()
    } else {
        0
    };
    let log = AccessLog::start(peer, request, response.status, body_bytes, started);
    let stream = response.stream.take().filter(|_| sends_body);
    let file = response.file.take().filter(|_| sends_body);
    Answered {
        close,
        stream: stream.map(|s| (s, chunked)),
        file,
        log,
    }
}
// ANCHOR_END: answer

// ANCHOR: must_close
/// Whether the connection must close after this response: when `last`
/// says so (see `respond`), after a 5xx (a server error may have left
/// who-knows-what unread or half-done), when the server started draining
/// while the handler ran (ch05), or after a body streamed to an HTTP/1.0
/// client, which only the close can end (ch06).
fn must_close(
    request: &Request<'_>,
    response: &Response,
    last: bool,
    draining: &dyn Fn() -> bool,
) -> bool {
    let streamed = response.stream.is_some() && !response.status.is_bodiless();
    let http10 = request.version == Version::Http10;
    last || response.status.as_u16() >= 500 || draining() || (streamed && http10)
}

/// The `Connection` field that says what happens next (RFC 9112 §9.3,
/// §9.6): `close`; `keep-alive` to an HTTP/1.0 client, which would close
/// otherwise; nothing to an HTTP/1.1 client, which persists by default.
fn connection_header(close: bool, version: Version) -> ConnectionHeader {
    match (close, version) {
        (true, _) => ConnectionHeader::Close,
        (false, Version::Http10) => ConnectionHeader::KeepAlive,
        (false, Version::Http11) => ConnectionHeader::Omit,
    }
}
// ANCHOR_END: must_close

// ANCHOR: call
/// Run the handler. A panicking handler must not take the connection's
/// thread (and the client's answer) with it: it becomes a 500, and the
/// server goes on. So does a response that fails [`Response::check`].
fn call<H: Handler>(handler: &H, request: &Request<'_>) -> Response {
    let (method, target) = (request.method, request.target);
    match catch_unwind(AssertUnwindSafe(|| handler.handle(request))) {
        Ok(response) => match response.check() {
            Ok(()) => response,
            Err(why) => {
                error!("{method} {target}: handler returned a bad response: {why}");
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        },
        Err(_) => {
            error!("{method} {target}: handler panicked");
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}
// ANCHOR_END: call

// ANCHOR: access_log
/// One access-log line (at `info`), kept until the response's last byte has
/// been handed to the kernel, so that it tells what was really sent: the
/// request target as the client sent it (query included), the body bytes
/// written (none for HEAD, 204 or 304; a streamed body's as they go out)
/// and the time from the request to the last byte.
pub(super) struct AccessLog {
    /// `peer "METHOD target" status`, made while the request is at hand.
    line: String,
    /// Body bytes written (not counting chunked framing).
    pub(super) body_bytes: usize,
    /// When the handler was called.
    started: Instant,
}

impl AccessLog {
    /// `None` when `info` is off: then a request costs no log allocation.
    fn start(
        peer: SocketAddr,
        request: &Request<'_>,
        status: StatusCode,
        body_bytes: usize,
        started: Instant,
    ) -> Option<AccessLog> {
        let (method, target, status) = (request.method, request.target, status.as_u16());
        log::log_enabled!(log::Level::Info).then(|| AccessLog {
            line: format!("{peer} \"{method} {target}\" {status}"),
            body_bytes,
            started,
        })
    }

    /// Write the line: the response was sent whole (`sent`), or not.
    pub(super) fn write(self, sent: bool) {
        let elapsed = self.started.elapsed();
        let (line, bytes) = (self.line, self.body_bytes);
        if sent {
            info!("{line} {bytes}B {elapsed:?}");
        } else {
            info!("{line} {bytes}B {elapsed:?} (not all sent: the connection failed)");
        }
    }
}
// ANCHOR_END: access_log

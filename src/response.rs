//! Responses and how they are written on the wire (ch02; RFC 9112 §4, §6).
//!
//! ```text
//! status-line = HTTP-version SP status-code SP [ reason-phrase ]
//! ```
//!
//! A [`Response`] is plain data a handler returns. [`Response::encode`]
//! appends its bytes to a buffer; the connection writes the buffer with one
//! `write` (ch04 explains why one write and not five).

use std::borrow::Cow;
use std::fs::File;

use crate::date::IMF_FIXDATE_LEN;
use crate::request::is_tchar;
use crate::status::StatusCode;

/// What the `Connection` field of a response says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionHeader {
    /// No `Connection` field: an HTTP/1.1 connection stays open by default.
    Omit,
    /// `Connection: keep-alive`, for an HTTP/1.0 client that asked for it
    /// (RFC 9112 §9.3: HTTP/1.0 connections close unless both sides say so).
    KeepAlive,
    /// `Connection: close`: this is the last response on the connection
    /// (RFC 9112 §9.6).
    Close,
}

/// A body produced piece by piece, while the response is being sent (ch06):
/// each piece is sent as soon as it is produced. Its length is not known in
/// advance, so it goes out chunked (HTTP/1.1) or until the connection
/// closes (HTTP/1.0).
pub struct BodyStream(Box<NextPiece>);

/// What a [`BodyStream`] calls for each piece.
type NextPiece = dyn FnMut(&StreamContext<'_>) -> Option<Vec<u8>> + Send;

/// What a streamed body learns each time it is asked for its next piece.
pub struct StreamContext<'a> {
    draining: &'a dyn Fn() -> bool,
}

impl<'a> StreamContext<'a> {
    /// A context whose `draining` asks `draining` (the connection's view of
    /// the shutdown).
    pub fn new(draining: &'a dyn Fn() -> bool) -> StreamContext<'a> {
        StreamContext { draining }
    }

    /// Whether the server is shutting down (ch05). A long stream should
    /// then end soon, with its proper end (the last chunk), rather than be
    /// cut mid-body at the drain deadline: its response head is already
    /// sent, so it cannot say `Connection: close` any more, and the
    /// connection closes after it.
    pub fn draining(&self) -> bool {
        (self.draining)()
    }
}

impl BodyStream {
    /// Stream the pieces `pieces` yields (it may block between them). It
    /// cannot hear of a shutdown; see [`BodyStream::from_fn`].
    pub fn new(mut pieces: impl Iterator<Item = Vec<u8>> + Send + 'static) -> BodyStream {
        BodyStream(Box::new(move |_: &StreamContext<'_>| pieces.next()))
    }

    /// Stream what `next` returns, until it returns `None`. It is given a
    /// [`StreamContext`] each time, so it can end early when the server
    /// drains.
    pub fn from_fn(
        next: impl FnMut(&StreamContext<'_>) -> Option<Vec<u8>> + Send + 'static,
    ) -> BodyStream {
        BodyStream(Box::new(next))
    }

    /// The next piece, or `None` at the end of the body.
    pub fn next_piece(&mut self, cx: &StreamContext<'_>) -> Option<Vec<u8>> {
        (self.0)(cx)
    }
}

impl std::fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BodyStream(..)")
    }
}

// ANCHOR: file_body
// ANCHOR: file_parts
/// A body that comes from a file (ch08), sent by the kernel from the page
/// cache (`sendfile`) rather than read into memory: a response of any size
/// costs the same few kilobytes. It is a list of parts, so that one file
/// can answer several ranges at once (`multipart/byteranges`, RFC 9110
/// §14.6): bytes of our own (each part's head) between ranges of the file.
pub struct FileBody {
    file: File,
    parts: Vec<FilePart>,
    len: u64,
}

/// One piece of a [`FileBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilePart {
    /// Bytes sent as they are (the framing of a multipart body).
    Bytes(Vec<u8>),
    /// `len` bytes of the file, from byte `start`.
    Range {
        /// The first byte's offset in the file.
        start: u64,
        /// How many bytes.
        len: u64,
    },
}
// ANCHOR_END: file_parts

impl FileBody {
    /// The first `len` bytes of `file` (its length, when it was opened).
    pub fn whole(file: File, len: u64) -> FileBody {
        FileBody::parts(file, vec![FilePart::Range { start: 0, len }])
    }

    /// `file` cut into `parts`. Their total length is the body's length,
    /// which the response announces in `Content-Length`.
    pub fn parts(file: File, parts: Vec<FilePart>) -> FileBody {
        let len = parts.iter().fold(0u64, |sum, part| {
            sum.saturating_add(match part {
                FilePart::Bytes(bytes) => bytes.len() as u64,
                FilePart::Range { len, .. } => *len,
            })
        });
        FileBody { file, parts, len }
    }

    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The parts, in order.
    pub fn parts_list(&self) -> &[FilePart] {
        &self.parts
    }
}
// ANCHOR_END: file_body

impl std::fmt::Debug for FileBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "FileBody({} bytes in {} parts)",
            self.len,
            self.parts.len()
        )
    }
}

/// An HTTP response: status, fields, body.
///
/// `Date`, `Server`, `Content-Length`/`Transfer-Encoding` and `Connection`
/// are not stored here: [`Response::encode`] writes them, and
/// [`Response::check`] refuses a response whose `headers` name any of them
/// (or `Content-Type`, `Keep-Alive`, `Upgrade`: see [`RESERVED_FIELDS`]).
/// So a handler cannot get framing wrong, not even by adding a second
/// `Content-Length`: the connection answers 500 instead of sending it.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: StatusCode,
    /// The `Content-Type`, if there is a body to describe.
    pub content_type: Option<Cow<'static, str>>,
    /// Any other fields, in order. Names must be tokens; values must not
    /// contain CR, LF or other control bytes ([`Response::check`]).
    pub headers: Vec<(Cow<'static, str>, Cow<'static, str>)>,
    /// The body. `Cow`, so a static body such as `"Hello, world!"` costs no
    /// allocation per request.
    pub body: Cow<'static, [u8]>,
    /// A streamed body (ch06), sent instead of `body` when present.
    pub stream: Option<BodyStream>,
    /// A body from a file (ch08), sent instead of `body` when present
    /// (boxed: most responses have none, and a `Response` is moved often).
    pub file: Option<Box<FileBody>>,
}

// ANCHOR: reserved_fields
/// Fields a handler may not put in [`Response::headers`], in any case
/// (field names are case-insensitive, RFC 9110 §5.1), each with the reason
/// [`Response::check`] gives. [`Response::encode`] writes the first six
/// itself (`Content-Type` from [`Response::content_type`]), so a handler's
/// copy would be a second one:
///
/// - `Content-Length`, `Transfer-Encoding`: the framing. Two lengths, or a
///   length beside `chunked`, is the ambiguity that RFC 9112 §6.3 makes a
///   recipient reject, and that smuggling lives on (RFC 9112 §11.2).
/// - `Connection`: whether the connection stays open is the connection's
///   decision (ch04), and it writes the field.
/// - `Date`, `Server`: always sent; `Date` may appear once (RFC 9110 §6.6.1).
/// - `Content-Type`: it has its own place, [`Response::content_type`], so
///   there is one, not two that might disagree.
///
/// And two hop-by-hop fields that belong to the connection, not to the
/// resource (RFC 9110 §7.6.1):
///
/// - `Keep-Alive`: the parameters of a persistence the handler does not
///   decide; it could sit beside `Connection: close`.
/// - `Upgrade`: RFC 9110 §7.8 requires `Connection: upgrade` with it, which
///   a handler cannot write, and switching protocols (101) is the
///   connection's job. A later chapter that implements a switch (WebSocket)
///   will let the connection send it.
pub const RESERVED_FIELDS: &[(&str, &str)] = &[
    (
        "Content-Length",
        "Content-Length is framing: encode writes it",
    ),
    (
        "Transfer-Encoding",
        "Transfer-Encoding is framing: encode writes it",
    ),
    (
        "Connection",
        "Connection is the connection's: encode writes it",
    ),
    ("Date", "Date is always sent: encode writes it"),
    ("Server", "Server is always sent: encode writes it"),
    (
        "Content-Type",
        "Content-Type belongs in Response::content_type",
    ),
    (
        "Keep-Alive",
        "Keep-Alive is hop-by-hop: the connection decides persistence",
    ),
    (
        "Upgrade",
        "Upgrade needs Connection: upgrade, which only the connection writes",
    ),
];
// ANCHOR_END: reserved_fields

/// `text/plain; charset=utf-8`.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";
/// `text/html; charset=utf-8`.
pub const TEXT_HTML: &str = "text/html; charset=utf-8";

impl Response {
    /// A response with this status and no body.
    pub fn new(status: StatusCode) -> Response {
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Cow::Borrowed(b""),
            stream: None,
            file: None,
        }
    }

    /// A `text/plain` response.
    pub fn text(status: StatusCode, body: impl Into<Cow<'static, str>>) -> Response {
        let body = match body.into() {
            Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        };
        Response {
            content_type: Some(Cow::Borrowed(TEXT_PLAIN)),
            body,
            ..Response::new(status)
        }
    }

    /// A `200 OK` HTML page.
    pub fn html(body: impl Into<Cow<'static, str>>) -> Response {
        Response {
            content_type: Some(Cow::Borrowed(TEXT_HTML)),
            ..Response::text(StatusCode::OK, body)
        }
    }

    /// A response with any body and content type.
    pub fn bytes(
        status: StatusCode,
        content_type: impl Into<Cow<'static, str>>,
        body: impl Into<Cow<'static, [u8]>>,
    ) -> Response {
        Response {
            content_type: Some(content_type.into()),
            body: body.into(),
            ..Response::new(status)
        }
    }

    /// A response whose body comes from a file (ch08).
    pub fn file(
        status: StatusCode,
        content_type: impl Into<Cow<'static, str>>,
        body: FileBody,
    ) -> Response {
        Response {
            content_type: Some(content_type.into()),
            file: Some(Box::new(body)),
            ..Response::new(status)
        }
    }

    /// A response whose body is produced piece by piece (ch06).
    pub fn stream(
        status: StatusCode,
        content_type: impl Into<Cow<'static, str>>,
        body: BodyStream,
    ) -> Response {
        Response {
            content_type: Some(content_type.into()),
            stream: Some(body),
            ..Response::new(status)
        }
    }

    /// The short `text/plain` body every error gets: `404 Not Found\n`.
    /// Never echoes anything the client sent (STYLE §3).
    pub fn error(status: StatusCode) -> Response {
        Response::text(status, format!("{status}\n"))
    }

    /// A redirect to `location` with one of 301, 302, 303, 307, 308
    /// (RFC 9110 §15.4): `Location` plus a one-line body for humans.
    pub fn redirect(
        status: StatusCode,
        location: impl Into<Cow<'static, str>>,
    ) -> Response {
        let location = location.into();
        let body = format!("{status}: {location}\n");
        Response::text(status, body).with_header("Location", location)
    }

    /// Add a field. Checked when the response is written ([`Response::check`]).
    pub fn with_header(
        mut self,
        name: impl Into<Cow<'static, str>>,
        value: impl Into<Cow<'static, str>>,
    ) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Whether every field can be written safely: names are tokens, values
    /// have no control bytes, and no name is one of [`RESERVED_FIELDS`]. A
    /// value with CRLF in it would let whoever chose it (maybe a client,
    /// through a handler) add fields or a whole second response: "response
    /// splitting". A reserved name would send a field twice, or contradict
    /// what the connection writes. The connection answers 500 instead of a
    /// response that fails this check.
    pub fn check(&self) -> Result<(), &'static str> {
        let good_value =
            |v: &str| v.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f));
        if let Some(ct) = &self.content_type {
            if !good_value(ct) {
                return Err("control byte in Content-Type");
            }
        }
        for (name, value) in &self.headers {
            if name.is_empty() || !name.bytes().all(is_tchar) {
                return Err("field name is not a token");
            }
            if !good_value(value) {
                return Err("control byte in a field value");
            }
            let reserved = RESERVED_FIELDS
                .iter()
                .find(|(reserved, _)| name.eq_ignore_ascii_case(reserved));
            if let Some((_, why)) = reserved {
                return Err(why);
            }
        }
        Ok(())
    }

    // ANCHOR: encode
    /// Append the response to `out`: status line, fields, empty line, body.
    ///
    /// `head_only` leaves out the body but keeps its `Content-Length`, as a
    /// response to HEAD must (RFC 9110 §9.3.2). 1xx, 204 and 304 responses
    /// get neither body nor `Content-Length` (RFC 9110 §8.6, RFC 9112 §6.3).
    ///
    /// A streamed body (ch06) is not written here, only announced: with
    /// `Transfer-Encoding: chunked` when `chunked_ok` (an HTTP/1.1 client),
    /// and with no length at all otherwise: then the end of the body is the
    /// end of the connection, so `connection` must be `Close`.
    pub fn encode(
        &self,
        out: &mut Vec<u8>,
        date: &[u8; IMF_FIXDATE_LEN],
        connection: ConnectionHeader,
        head_only: bool,
        chunked_ok: bool,
    ) {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(&self.status.digits());
        out.push(b' ');
        out.extend_from_slice(self.status.reason().as_bytes());
        out.extend_from_slice(b"\r\nDate: ");
        out.extend_from_slice(date);
        out.extend_from_slice(b"\r\nServer: rawhttp\r\n");
        if let Some(ct) = &self.content_type {
            field(out, "Content-Type", ct.as_bytes());
        }
        let bodiless = self.status.is_bodiless();
        if self.stream.is_some() {
            if !bodiless && chunked_ok {
                field(out, "Transfer-Encoding", b"chunked");
            }
        } else if !bodiless {
            let len = self
                .file
                .as_ref()
                .map_or(self.body.len() as u64, |f| f.len());
            let mut digits = [0u8; 20];
            field(out, "Content-Length", format_u64(len, &mut digits));
        }
        for (name, value) in &self.headers {
            field(out, name, value.as_bytes());
        }
        match connection {
            ConnectionHeader::Omit => {}
            ConnectionHeader::KeepAlive => field(out, "Connection", b"keep-alive"),
            ConnectionHeader::Close => field(out, "Connection", b"close"),
        }
        out.extend_from_slice(b"\r\n");
        if !bodiless && !head_only && self.stream.is_none() && self.file.is_none() {
            out.extend_from_slice(&self.body);
        }
    }
    // ANCHOR_END: encode
}

fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Decimal digits of `n` without allocating (`n.to_string()` would).
fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[i..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DATE: &[u8; 29] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn encoded(r: &Response, c: ConnectionHeader, head_only: bool) -> String {
        let mut out = Vec::new();
        r.encode(&mut out, DATE, c, head_only, true);
        String::from_utf8(out).expect("test responses are UTF-8")
    }

    #[test]
    fn text_response_bytes() {
        let r = Response::text(StatusCode::OK, "Hello, world!");
        assert_eq!(
            encoded(&r, ConnectionHeader::Omit, false),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: rawhttp\r\n\
             Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\n\r\nHello, world!"
        );
    }

    #[test]
    fn head_keeps_length_drops_body() {
        let r = Response::text(StatusCode::OK, "abc");
        let s = encoded(&r, ConnectionHeader::Close, true);
        assert!(
            s.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"),
            "{s}"
        );
    }

    #[test]
    fn no_content_has_no_length_and_no_body() {
        let r = Response::text(StatusCode::NO_CONTENT, "ignored");
        let s = encoded(&r, ConnectionHeader::KeepAlive, false);
        assert!(!s.contains("Content-Length"), "{s}");
        assert!(s.ends_with("Connection: keep-alive\r\n\r\n"), "{s}");
    }

    #[test]
    fn streamed_body_is_announced_not_written() {
        let r = Response::stream(
            StatusCode::OK,
            "text/plain",
            BodyStream::new(std::iter::empty()),
        );
        let s = encoded(&r, ConnectionHeader::Omit, false);
        assert!(
            s.ends_with("Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"),
            "{s}"
        );
        let mut out = Vec::new();
        r.encode(&mut out, DATE, ConnectionHeader::Close, false, false);
        let s = String::from_utf8(out).expect("ASCII");
        assert!(
            s.ends_with("Content-Type: text/plain\r\nConnection: close\r\n\r\n"),
            "{s}"
        );
    }

    #[test]
    fn redirect_and_error_helpers() {
        let r = Response::redirect(StatusCode::SEE_OTHER, "/x");
        assert_eq!(r.headers, [(Cow::from("Location"), Cow::from("/x"))]);
        assert_eq!(
            &*Response::error(StatusCode::NOT_FOUND).body,
            b"404 Not Found\n"
        );
    }

    #[test]
    fn check_refuses_response_splitting() {
        let ok = Response::new(StatusCode::OK).with_header("X-A", "b\tc");
        assert_eq!(ok.check(), Ok(()));
        let split =
            Response::new(StatusCode::OK).with_header("X-A", "b\r\nSet-Cookie: x");
        assert!(split.check().is_err());
        let bad_name = Response::new(StatusCode::OK).with_header("X A", "b");
        assert!(bad_name.check().is_err());
    }

    #[test]
    fn check_refuses_fields_encode_writes() {
        let cases: &[(&str, &str, &str, bool)] = &[
            ("content_length", "Content-Length", "5", false),
            ("content_length_lower", "content-length", "5", false),
            (
                "transfer_encoding_upper",
                "TRANSFER-ENCODING",
                "chunked",
                false,
            ),
            ("connection", "Connection", "close", false),
            ("connection_mixed", "cOnNeCtIoN", "keep-alive", false),
            ("keep_alive", "Keep-Alive", "timeout=5", false),
            ("upgrade", "upgrade", "websocket", false),
            ("date", "Date", "Sun, 06 Nov 1994 08:49:37 GMT", false),
            ("server", "Server", "other", false),
            ("content_type", "Content-Type", "text/plain", false),
            // Names that only look alike are ordinary fields.
            ("cache_control", "Cache-Control", "no-store", true),
            ("content_language", "Content-Language", "en", true),
            ("x_content_length", "X-Content-Length", "5", true),
            ("content_length_suffix", "Content-Lengths", "5", true),
            ("location", "Location", "/", true),
        ];
        for &(name, field, value, ok) in cases {
            let r = Response::text(StatusCode::OK, "abc").with_header(field, value);
            assert_eq!(r.check().is_ok(), ok, "case {name}: {:?}", r.check());
        }
        // Each refusal says which field it was.
        let r = Response::new(StatusCode::OK).with_header("content-length", "0");
        assert_eq!(
            r.check(),
            Err("Content-Length is framing: encode writes it")
        );
    }

    #[test]
    fn digits() {
        let mut b = [0; 20];
        assert_eq!(format_u64(0, &mut b), b"0");
        assert_eq!(format_u64(1_048_576, &mut b), b"1048576");
        assert_eq!(
            format_u64(u64::MAX, &mut b),
            usize::MAX.to_string().as_bytes()
        );
    }
}

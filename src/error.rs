//! Why a request was rejected, and the one status each reason earns (ch02).
//!
//! Every variant maps to exactly one status in [`ParseError::status`], whose
//! `match` has no `_` arm: a new variant does not compile until someone has
//! decided what the client hears. After any of these the server answers,
//! says `Connection: close`, and closes: once framing is in doubt we cannot
//! know where the next request would start (RFC 9112 §9.3, §11.2).

use std::fmt;

use crate::status::StatusCode;

// ANCHOR: parse_error
/// Why a request head was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Not `method SP request-target SP HTTP-version CRLF`, a method that is
    /// not a token, a target with bytes a URI cannot hold, or a target form
    /// that does not fit the method (RFC 9112 §3, §3.2).
    BadRequestLine,
    /// The request line is longer than `max_request_line` (RFC 9112 §3 → 414).
    TargetTooLong,
    /// A well-formed version whose major number is not 1 (RFC 9110 §15.6.6).
    UnsupportedVersion,
    /// A line that ends in a bare LF, or a CR anywhere but before LF
    /// (RFC 9112 §2.2; our policy: reject, see `request.rs`).
    BadLineEnding,
    /// A field line that is not `token ":" OWS value OWS`: an empty or
    /// non-token name, whitespace before the colon (RFC 9112 §5.1: MUST 400),
    /// a control byte in the value (RFC 9110 §5.5).
    BadHeader,
    /// A field line that starts with whitespace: obsolete line folding
    /// (RFC 9112 §5.2: a server MUST reject it with 400 or unfold it).
    ObsFold,
    /// HTTP/1.1 without exactly one Host, or a Host that is not
    /// `uri-host [ ":" port ]` (RFC 9112 §3.2: MUST 400).
    BadHost,
    /// The head is longer than `max_head_bytes` (RFC 6585 §5 → 431).
    HeadTooLarge,
    /// More than `max_headers` field lines (RFC 6585 §5 → 431).
    TooManyHeaders,
    /// A Content-Length that is not digits, overflows, or disagrees with
    /// another one (RFC 9112 §6.3 rule 5: MUST 400 and close).
    BadContentLength,
    /// Content-Length above `max_body_bytes` (RFC 9110 §15.5.14 → 413).
    BodyTooLarge,
    /// Both Transfer-Encoding and Content-Length: the classic request
    /// smuggling setup (RFC 9112 §6.3 rule 3, §11.2: MAY reject; we do); or
    /// Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1: "MUST treat
    /// the message as if the framing is faulty").
    ConflictingFraming,
    /// A Transfer-Encoding whose last coding is not `chunked`, that applies
    /// `chunked` twice, or that is empty or malformed (RFC 9112 §6.3 rule 4:
    /// MUST 400 and close).
    BadTransferEncoding,
    /// A transfer coding we do not implement: `chunked` is last but something
    /// else (`gzip`) comes before it, or chunked bodies are not enabled
    /// (steps 02–05) (RFC 9112 §6.1: SHOULD 501).
    UnsupportedCoding,
    /// A chunked body that does not follow RFC 9112 §7.1: a bad size line,
    /// a chunk extension off its grammar (RFC 9112 §7.1.1), a missing CRLF,
    /// a bare LF, too long a size or too many extension bytes (→ 400).
    BadChunk,
}
// ANCHOR_END: parse_error

// ANCHOR: status
impl ParseError {
    /// The status a client gets for this error.
    pub const fn status(self) -> StatusCode {
        use ParseError::*;
        match self {
            BadRequestLine | BadLineEnding | BadHeader | ObsFold | BadHost
            | BadContentLength | ConflictingFraming | BadTransferEncoding | BadChunk => {
                StatusCode::BAD_REQUEST
            }
            TargetTooLong => StatusCode::URI_TOO_LONG,
            UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            HeadTooLarge | TooManyHeaders => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            BodyTooLarge => StatusCode::CONTENT_TOO_LARGE,
            UnsupportedCoding => StatusCode::NOT_IMPLEMENTED,
        }
    }
}
// ANCHOR_END: status

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?} ({})", self.status())
    }
}

impl std::error::Error for ParseError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_a_client_error_or_server_error_status() {
        use ParseError::*;
        for e in [
            BadRequestLine,
            TargetTooLong,
            UnsupportedVersion,
            BadLineEnding,
            BadHeader,
            ObsFold,
            BadHost,
            HeadTooLarge,
            TooManyHeaders,
            BadContentLength,
            BodyTooLarge,
            ConflictingFraming,
            BadTransferEncoding,
            UnsupportedCoding,
            BadChunk,
        ] {
            let code = e.status().as_u16();
            assert!((400..600).contains(&code), "{e:?} -> {code}");
        }
        assert_eq!(
            BodyTooLarge.to_string(),
            "BodyTooLarge (413 Content Too Large)"
        );
    }
}

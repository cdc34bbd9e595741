//! Status codes and their reason phrases (ch02; RFC 9110 §15).

use std::fmt;

/// An HTTP status code: three digits, the first one its class (RFC 9110 §15).
///
/// Only the codes this server sends have constants; [`StatusCode::reason`]
/// knows their reason phrases. A client must not depend on the phrase
/// (RFC 9112 §4: "A client SHOULD ignore the reason-phrase content").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusCode(u16);

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $reason:literal;)*) => {
        impl StatusCode {
            $($(#[$doc])* pub const $name: StatusCode = StatusCode($code);)*

            /// The standard reason phrase, or `""` for a code we have no name for.
            pub const fn reason(self) -> &'static str {
                match self.0 {
                    $($code => $reason,)*
                    _ => "",
                }
            }
        }
    };
}

codes! {
    /// 100: the client may send the body (RFC 9110 §15.2.1).
    CONTINUE = 100, "Continue";
    /// 200 (RFC 9110 §15.3.1).
    OK = 200, "OK";
    /// 201 (RFC 9110 §15.3.2).
    CREATED = 201, "Created";
    /// 204: success, and no content follows (RFC 9110 §15.3.5).
    NO_CONTENT = 204, "No Content";
    /// 206 (RFC 9110 §15.3.7).
    PARTIAL_CONTENT = 206, "Partial Content";
    /// 301 (RFC 9110 §15.4.2).
    MOVED_PERMANENTLY = 301, "Moved Permanently";
    /// 302 (RFC 9110 §15.4.3).
    FOUND = 302, "Found";
    /// 303 (RFC 9110 §15.4.4).
    SEE_OTHER = 303, "See Other";
    /// 304 (RFC 9110 §15.4.5).
    NOT_MODIFIED = 304, "Not Modified";
    /// 307 (RFC 9110 §15.4.8).
    TEMPORARY_REDIRECT = 307, "Temporary Redirect";
    /// 308 (RFC 9110 §15.4.9).
    PERMANENT_REDIRECT = 308, "Permanent Redirect";
    /// 400 (RFC 9110 §15.5.1).
    BAD_REQUEST = 400, "Bad Request";
    /// 403 (RFC 9110 §15.5.4).
    FORBIDDEN = 403, "Forbidden";
    /// 404 (RFC 9110 §15.5.5).
    NOT_FOUND = 404, "Not Found";
    /// 405: the target exists but not for this method; needs `Allow` (RFC 9110 §15.5.6).
    METHOD_NOT_ALLOWED = 405, "Method Not Allowed";
    /// 408: the request did not arrive in time (RFC 9110 §15.5.9).
    REQUEST_TIMEOUT = 408, "Request Timeout";
    /// 409: the request conflicts with the target's state (RFC 9110 §15.5.10).
    CONFLICT = 409, "Conflict";
    /// 411 (RFC 9110 §15.5.12).
    LENGTH_REQUIRED = 411, "Length Required";
    /// 412: a precondition of the request did not hold (RFC 9110 §15.5.13).
    PRECONDITION_FAILED = 412, "Precondition Failed";
    /// 413: the body is larger than we accept (RFC 9110 §15.5.14).
    CONTENT_TOO_LARGE = 413, "Content Too Large";
    /// 414: the request-target is longer than we accept (RFC 9110 §15.5.15).
    URI_TOO_LONG = 414, "URI Too Long";
    /// 415: a body in a media type we do not take (RFC 9110 §15.5.16).
    UNSUPPORTED_MEDIA_TYPE = 415, "Unsupported Media Type";
    /// 416: no range of the request can be served (RFC 9110 §15.5.17).
    RANGE_NOT_SATISFIABLE = 416, "Range Not Satisfiable";
    /// 417: an `Expect` we cannot meet (RFC 9110 §15.5.18).
    EXPECTATION_FAILED = 417, "Expectation Failed";
    /// 431: the head is too large (RFC 6585 §5).
    REQUEST_HEADER_FIELDS_TOO_LARGE = 431, "Request Header Fields Too Large";
    /// 500: the server (a handler) failed (RFC 9110 §15.6.1).
    INTERNAL_SERVER_ERROR = 500, "Internal Server Error";
    /// 501: a method or transfer coding we do not implement (RFC 9110 §15.6.2).
    NOT_IMPLEMENTED = 501, "Not Implemented";
    /// 503: overloaded, try later (RFC 9110 §15.6.4).
    SERVICE_UNAVAILABLE = 503, "Service Unavailable";
    /// 505: a major HTTP version we do not speak (RFC 9110 §15.6.6).
    HTTP_VERSION_NOT_SUPPORTED = 505, "HTTP Version Not Supported";
}

impl StatusCode {
    /// A status code from its number, if it has three digits (100 to 999).
    pub const fn new(code: u16) -> Option<StatusCode> {
        if code >= 100 && code <= 999 {
            Some(StatusCode(code))
        } else {
            None
        }
    }

    /// The number, e.g. `404`.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The three ASCII digits, as written on the status line.
    pub const fn digits(self) -> [u8; 3] {
        let c = self.0;
        [
            b'0' + (c / 100) as u8,
            b'0' + (c / 10 % 10) as u8,
            b'0' + (c % 10) as u8,
        ]
    }

    /// Whether a response with this status can never have a body:
    /// 1xx, 204 and 304 (RFC 9112 §6.3, rule 1).
    pub const fn is_bodiless(self) -> bool {
        self.0 < 200 || self.0 == 204 || self.0 == 304
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.0, self.reason())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_and_reasons() {
        assert_eq!(&StatusCode::NOT_FOUND.digits(), b"404");
        assert_eq!(&StatusCode::OK.digits(), b"200");
        assert_eq!(StatusCode::URI_TOO_LONG.to_string(), "414 URI Too Long");
        assert_eq!(StatusCode::new(799).map(|s| s.reason()), Some(""));
        assert_eq!(StatusCode::new(99), None);
        assert_eq!(StatusCode::new(1000), None);
    }

    #[test]
    fn bodiless() {
        assert!(StatusCode::CONTINUE.is_bodiless());
        assert!(StatusCode::NO_CONTENT.is_bodiless());
        assert!(StatusCode::NOT_MODIFIED.is_bodiless());
        assert!(!StatusCode::OK.is_bodiless());
        assert!(!StatusCode::NOT_FOUND.is_bodiless());
    }
}

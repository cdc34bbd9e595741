//! The demo application every step from 03 on serves (ch03).
//!
//! | route | what it shows | `Cache-Control` |
//! |---|---|---|
//! | `GET /` | an HTML page linking the others, so a browser works | [`BY_URL`] |
//! | `GET /hello/:name` | a path parameter, percent-decoded | [`BY_URL`] |
//! | `POST /echo` | the request body back, byte for byte, with its Content-Type | [`NO_STORE`] |
//! | `GET /headers` | the request's header fields, in order | [`NO_STORE`] |
//! | `GET /slow?ms=N` | an answer after N ms (at most [`MAX_SLOW_MS`]): concurrency, draining | [`NO_STORE`] |
//! | `GET /plaintext` | `Hello, world!`, the benchmark route (ch04) | [`BY_URL`] |
//! | `GET /home` | a 308 redirect to `/` | [`BY_URL`] |
//! | `GET /panic` | a handler that panics: the client gets a 500, the server goes on | none (see below) |
//! | `GET /stream?n=N&ms=M` | (step06 adds it) N pieces, M ms apart, streamed chunked | [`NO_STORE`] |
//!
//! Every route says how long its answer may be reused (RFC 9111 §5.2), so
//! no cache has to guess. `/panic` cannot say anything: its 500 is made by
//! the connection, and a 500 without explicit freshness is never stored
//! (it is not heuristically cacheable, RFC 9110 §15.1). The router's own
//! answers (404, 405, 501, 400, the 204 to OPTIONS) carry no policy either;
//! ch03 explains why that is acceptable.

use std::fmt::Write as _;
use std::thread;
use std::time::Duration;

use crate::request::Request;
use crate::response::{BodyStream, Response, TEXT_PLAIN};
use crate::router::{HandlerResult, Params, Router};
use crate::status::StatusCode;

/// The longest `/slow` will sleep, so a client cannot park a thread for long.
pub const MAX_SLOW_MS: u64 = 10_000;

// ANCHOR: cache_policy
/// `Cache-Control` for an answer the URL alone decides (`/`, `/plaintext`,
/// `/hello/:name`, `/home`). Everyone who asks for the URL gets the same
/// bytes, so any cache, the browser's or a shared one in front of the
/// server, may keep the answer and reuse it while it is fresh: for 60
/// seconds (RFC 9111 §5.2.2.1). Without the field a cache may pick a
/// lifetime itself (heuristic freshness, RFC 9111 §4.2.2), and browsers keep
/// a 308 for a very long time. A minute is long enough to see a cache at
/// work, and short enough that a route you edit and rebuild shows its new
/// answer soon.
pub const BY_URL: &str = "max-age=60";

/// `Cache-Control` for an answer that depends on more than the URL, or
/// whose point is to be made now: no cache may store it at all
/// (RFC 9111 §5.2.2.5). `/headers` and `/echo` return what one client
/// sent, cookies included: a shared cache that kept one person's answer
/// would hand it to the next person who asks for the same URL. `/slow` and
/// `/stream` exist to show time passing; a stored copy would arrive at
/// once. (`no-cache`, RFC 9111 §5.2.2.4, would not do: it lets a cache
/// store the answer and only asks it to check with the server before reuse.)
pub const NO_STORE: &str = "no-store";
// ANCHOR_END: cache_policy

// ANCHOR: router
/// The demo application's routes.
pub fn router() -> Router {
    Router::new()
        .get("/", index)
        .get("/hello/:name", hello)
        .post("/echo", echo)
        .get("/headers", headers)
        .get("/slow", slow)
        .get("/plaintext", plaintext)
        .get("/home", |_, _| {
            let to_index = Response::redirect(StatusCode::PERMANENT_REDIRECT, "/");
            Ok(to_index.with_header("Cache-Control", BY_URL))
        })
        .get("/panic", always_panics)
}
// ANCHOR_END: router

const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>rawhttp demo</title></head>
<body>
<h1>rawhttp demo</h1>
<ul>
<li><a href="/hello/world">/hello/world</a>: a path parameter</li>
<li><a href="/headers">/headers</a>: what your browser sent</li>
<li><a href="/slow?ms=1000">/slow?ms=1000</a>: an answer after a second</li>
<li><a href="/plaintext">/plaintext</a>: the benchmark route</li>
</ul>
<form method="post" action="/echo" enctype="text/plain">
<input name="say" value="hello"> <button>POST /echo</button>
</form>
</body>
</html>
"#;

fn index(_: &Request<'_>, _: &Params<'_>) -> HandlerResult {
    Ok(Response::html(INDEX).with_header("Cache-Control", BY_URL))
}

// ANCHOR: hello
fn hello(_: &Request<'_>, params: &Params<'_>) -> HandlerResult {
    let name = params.get("name").unwrap_or("stranger");
    let greeting = Response::text(StatusCode::OK, format!("Hello, {name}!\n"));
    Ok(greeting.with_header("Cache-Control", BY_URL))
}

fn echo(request: &Request<'_>, _: &Params<'_>) -> HandlerResult {
    let content_type = request
        .header("content-type")
        .unwrap_or(b"application/octet-stream");
    // The body borrows the connection's buffer; the response must own its copy.
    let content_type = String::from_utf8_lossy(content_type).into_owned();
    let echoed = Response::bytes(StatusCode::OK, content_type, request.body.to_vec());
    Ok(echoed.with_header("Cache-Control", NO_STORE))
}
// ANCHOR_END: hello

// ANCHOR: headers
fn headers(request: &Request<'_>, _: &Params<'_>) -> HandlerResult {
    let mut text = String::new();
    for field in &request.headers {
        let _ = writeln!(text, "{}: {}", field.name, shown(field.value));
    }
    Ok(Response::text(StatusCode::OK, text).with_header("Cache-Control", NO_STORE))
}

/// A field value as `/headers` shows it: printable ASCII (space to `~`)
/// as it is, so `sec-ch-ua: "Not:A-Brand";v="8"` reads exactly as the
/// browser sent it, quotes and backslashes included. Only what cannot be
/// shown is escaped, as `\xNN`: control bytes, DEL, and obs-text
/// (0x80–0xFF). RFC 9110 §5.5 says to treat obs-text as opaque bytes, with
/// no charset, so guessing UTF-8 could show characters nobody sent.
///
/// A tab is legal inside a value (RFC 9110 §5.5: SP and HTAB may appear
/// between visible characters) and shown as `\t`: printed as it is, it
/// would look like spaces, and this page is for seeing what was sent. The
/// price is that the page is for reading, not an encoding you can undo: a
/// value that really holds the text `\t` looks the same. The parser has
/// already refused the other control bytes (400), so in practice only tabs
/// and obs-text get escaped.
pub(crate) fn shown(value: &[u8]) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value {
        match b {
            b'\t' => out.push_str("\\t"),
            b' '..=b'~' => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}
// ANCHOR_END: headers

// ANCHOR: slow
fn slow(_: &Request<'_>, params: &Params<'_>) -> HandlerResult {
    let response = match slow_ms(params.query("ms")) {
        Some(ms) => {
            thread::sleep(Duration::from_millis(ms));
            Response::text(StatusCode::OK, format!("slept {ms} ms\n"))
        }
        None => Response::text(
            StatusCode::BAD_REQUEST,
            "usage: /slow?ms=N (N a whole number)\n",
        ),
    };
    Ok(response.with_header("Cache-Control", NO_STORE))
}

/// How long `/slow?ms=…` sleeps: the digits of `ms`, at most [`MAX_SLOW_MS`].
fn slow_ms(ms: Option<&str>) -> Option<u64> {
    capped_number(ms, MAX_SLOW_MS)
}

/// A query value that must be a whole number, at most `cap`. Digits only
/// (`str::parse` would also take `+5`), and a number too big for `u64` is
/// capped like any other large one, not refused.
fn capped_number(value: Option<&str>, cap: u64) -> Option<u64> {
    let digits =
        value.filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))?;
    let n = digits.bytes().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    });
    Some(n.min(cap))
}
// ANCHOR_END: slow

/// The most pieces `/stream` sends.
pub const MAX_STREAM_PIECES: u64 = 100;
/// The longest pause between two pieces of `/stream`.
pub const MAX_STREAM_PAUSE_MS: u64 = 1_000;

// ANCHOR: stream
/// `GET /stream?n=N&ms=M` (step06): N pieces of text (default 5), M ms
/// apart (default 200), each sent as soon as it exists, so
/// `curl -N localhost:7878/stream` shows them arrive one by one. The
/// length is not known in advance: HTTP/1.1 clients get it chunked.
pub fn stream(_: &Request<'_>, params: &Params<'_>) -> HandlerResult {
    let n = capped_number(params.query("n").or(Some("5")), MAX_STREAM_PIECES);
    let ms = capped_number(params.query("ms").or(Some("200")), MAX_STREAM_PAUSE_MS);
    let (Some(n), Some(ms)) = (n, ms) else {
        let usage = Response::text(
            StatusCode::BAD_REQUEST,
            "usage: /stream?n=N&ms=M (whole numbers)\n",
        );
        return Ok(usage.with_header("Cache-Control", NO_STORE));
    };
    let mut sent = 0;
    let pieces = BodyStream::from_fn(move |cx| {
        if sent == n {
            return None;
        }
        if sent > 0 {
            thread::sleep(Duration::from_millis(ms));
        }
        // A shutdown ends the stream early, but properly: the client gets
        // the last chunk, a complete (shorter) body, then the close.
        if cx.draining() {
            return None;
        }
        sent += 1;
        Some(format!("piece {sent} of {n}\n").into_bytes())
    });
    let streamed = Response::stream(StatusCode::OK, TEXT_PLAIN, pieces);
    Ok(streamed.with_header("Cache-Control", NO_STORE))
}
// ANCHOR_END: stream

// A deliberate panic, to show that one failing handler costs one 500, not the server.
#[allow(clippy::panic)]
fn always_panics(_: &Request<'_>, _: &Params<'_>) -> HandlerResult {
    panic!("this handler always panics (GET /panic)")
}

fn plaintext(_: &Request<'_>, _: &Params<'_>) -> HandlerResult {
    Ok(Response::text(StatusCode::OK, "Hello, world!")
        .with_header("Cache-Control", BY_URL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_is_capped_and_strict() {
        let cases: &[(&str, Option<&str>, Option<u64>)] = &[
            ("plain", Some("50"), Some(50)),
            ("zero", Some("0"), Some(0)),
            ("far_over_cap", Some("999999"), Some(MAX_SLOW_MS)),
            (
                "over_u64",
                Some("99999999999999999999999"),
                Some(MAX_SLOW_MS),
            ),
            ("missing", None, None),
            ("empty", Some(""), None),
            ("letters", Some("abc"), None),
            ("plus_sign", Some("+5"), None),
            ("negative", Some("-5"), None),
            ("fraction", Some("1.5"), None),
        ];
        for &(name, input, want) in cases {
            assert_eq!(slow_ms(input), want, "case {name}");
        }
        // The cap at N and N+1.
        let at = MAX_SLOW_MS.to_string();
        let over = (MAX_SLOW_MS + 1).to_string();
        assert_eq!(slow_ms(Some(&at)), Some(MAX_SLOW_MS));
        assert_eq!(slow_ms(Some(&over)), Some(MAX_SLOW_MS));
        assert_eq!(slow_ms(Some("1")), Some(1));
    }

    #[test]
    fn headers_shows_printable_ascii_as_sent() {
        let cases: &[(&str, &[u8], &str)] = &[
            ("empty", b"", ""),
            (
                "quotes",
                br#""Not:A-Brand";v="8""#,
                r#""Not:A-Brand";v="8""#,
            ),
            ("backslash", br"C:\dir\x41", r"C:\dir\x41"),
            ("space_and_tilde", b"a b~", "a b~"),
            ("tab", b"a\tb", r"a\tb"),
            ("obs_text", b"caf\xc3\xa9", r"caf\xc3\xa9"),
            ("nul_and_del", b"\x00\x7f", r"\x00\x7f"),
            ("cr_lf", b"\r\n", r"\x0d\x0a"),
        ];
        for &(name, value, want) in cases {
            assert_eq!(shown(value), want, "case {name}");
        }
    }
}

//! Routing: method + path pattern → handler (ch03; RFC 9110 §9, §15.5.5–6).
//!
//! ```rust,ignore
//! Router::new().get("/hello/:name", hello).post("/echo", echo)
//! ```
//!
//! A pattern is a list of segments: literals (`hello`), parameters
//! (`:name`, one non-empty segment) and a final wildcard (`*rest`, one or
//! more segments). Matching works on the percent-decoded path, one segment
//! at a time, so `%2F` inside a segment stays inside it.
//!
//! **Precedence.** When several patterns match a path, the most specific
//! wins: compare segment by segment from the left, and at the first
//! segment where they differ, a literal beats a parameter, which beats a
//! wildcard. So for `/users/me`, `/users/me` beats `/users/:id`, which beats
//! `/users/*rest`, whatever the order of registration.
//!
//! **Strict paths.** `/hello/ada/` (trailing slash) and `//hello/ada`
//! (empty segment) do not match `/hello/:name`: they are different paths,
//! and a server that silently treats them as equal invites cache and
//! access-control confusion. (Redirecting them is an exercise in ch03.)

use std::borrow::Cow;
use std::fmt;

use log::error;

use crate::conn::Handler;
use crate::request::{Request, TargetForm};
use crate::response::Response;
use crate::status::StatusCode;

/// What a handler may fail with. Its message is logged, never sent: the
/// client gets a plain 500.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// What a route handler returns.
pub type HandlerResult = Result<Response, HandlerError>;

/// A decoded query: `(name, value)` pairs in order.
pub type QueryPairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// Path parameters captured by a pattern: `(name, decoded value)`.
type Captures<'p, 's> = Vec<(&'p str, Cow<'s, str>)>;

type BoxedHandler = Box<dyn Fn(&Request<'_>, &Params<'_>) -> HandlerResult + Send + Sync>;

/// The values a route extracted from the request: path parameters and the
/// decoded query.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Params<'a> {
    path: Vec<(&'a str, Cow<'a, str>)>,
    query: QueryPairs<'a>,
}

impl<'a> Params<'a> {
    /// The path parameter `name` (`:name` or `*name` in the pattern), decoded.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.path
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// The first query parameter called `name`, decoded (`+` is a space).
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_ref())
    }

    /// Every query pair, in order.
    pub fn query_pairs(&self) -> &[(Cow<'a, str>, Cow<'a, str>)] {
        &self.query
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Wildcard(String),
}

impl Segment {
    /// Lower is more specific (see the module docs on precedence).
    fn rank(&self) -> u8 {
        match self {
            Segment::Literal(_) => 0,
            Segment::Param(_) => 1,
            Segment::Wildcard(_) => 2,
        }
    }
}

struct Route {
    method: &'static str,
    segments: Vec<Segment>,
    handler: BoxedHandler,
}

/// Dispatches requests to handlers by method and path.
#[derive(Default)]
pub struct Router {
    routes: Vec<Route>,
}

/// Methods this server understands even where no route uses them: they get
/// 405 (Method Not Allowed). Any other method gets 501 (Not Implemented), as
/// RFC 9110 §9.1 asks for methods a server does not recognize.
const KNOWN_METHODS: &[&str] =
    &["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"];

impl Router {
    /// A router with no routes: everything is 404.
    pub fn new() -> Router {
        Router::default()
    }

    /// Add a route. `pattern` starts with `/`; `:name` is a parameter,
    /// `*name` a wildcard (last segment only).
    ///
    /// # Panics
    /// On a malformed pattern: that is a bug in the program, found at
    /// startup, not something a client can cause.
    pub fn route<F>(mut self, method: &'static str, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> HandlerResult + Send + Sync + 'static,
    {
        let segments = parse_pattern(pattern);
        assert!(
            !segments.is_empty(),
            "route pattern {pattern:?} must start with '/'"
        );
        self.routes.push(Route {
            method,
            segments,
            handler: Box::new(handler),
        });
        self
    }

    /// Add a `GET` route (which also answers `HEAD`).
    pub fn get<F>(self, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> HandlerResult + Send + Sync + 'static,
    {
        self.route("GET", pattern, handler)
    }

    /// Add a `POST` route.
    pub fn post<F>(self, pattern: &str, handler: F) -> Router
    where
        F: Fn(&Request<'_>, &Params<'_>) -> HandlerResult + Send + Sync + 'static,
    {
        self.route("POST", pattern, handler)
    }

    // ANCHOR: allow
    /// The `Allow` value for routes whose pattern matches `segments` (all
    /// routes for `None`, which is `OPTIONS *`): GET brings HEAD, and
    /// OPTIONS is always there. `None` when no route matches.
    fn allow(&self, segments: Option<&[Cow<'_, str>]>) -> Option<String> {
        let mut methods: Vec<&str> = Vec::new();
        for route in &self.routes {
            let matches =
                segments.is_none_or(|s| match_segments(&route.segments, s).is_some());
            if matches && !methods.contains(&route.method) {
                methods.push(route.method);
            }
        }
        if methods.is_empty() && segments.is_some() {
            return None;
        }
        if let Some(get) = methods.iter().position(|m| *m == "GET") {
            if !methods.contains(&"HEAD") {
                methods.insert(get + 1, "HEAD");
            }
        }
        if !methods.contains(&"OPTIONS") {
            methods.push("OPTIONS");
        }
        Some(methods.join(", "))
    }
    // ANCHOR_END: allow

    // ANCHOR: dispatch
    fn dispatch(&self, request: &Request<'_>) -> Response {
        match self.resolve(request) {
            Ok((route, params)) => match (route.handler)(request, &params) {
                Ok(response) => response,
                Err(e) => {
                    error!("{} {}: handler failed: {e}", request.method, request.path());
                    Response::error(StatusCode::INTERNAL_SERVER_ERROR)
                }
            },
            Err(response) => response,
        }
    }

    /// The route for this request and what it captured, or the response the
    /// request gets without any handler running (400, 404, 405, 501, or 204
    /// for OPTIONS).
    fn resolve<'a>(
        &'a self,
        request: &'a Request<'_>,
    ) -> Result<(&'a Route, Params<'a>), Response> {
        let known = KNOWN_METHODS.contains(&request.method)
            || self.routes.iter().any(|r| r.method == request.method);
        if !known || request.form == TargetForm::Authority {
            return Err(Response::error(StatusCode::NOT_IMPLEMENTED));
        }
        if request.form == TargetForm::Asterisk {
            // Only OPTIONS may use `*` (the parser checked): "the server as a whole".
            let allow = self.allow(None).unwrap_or_default();
            return Err(Response::new(StatusCode::NO_CONTENT).with_header("Allow", allow));
        }
        let (Ok(segments), Ok(query)) =
            (split_path(request.path()), parse_query(request.query()))
        else {
            return Err(Response::error(StatusCode::BAD_REQUEST));
        };
        match self.most_specific(request.method, &segments) {
            Some((route, path)) => Ok((route, Params { path, query })),
            // RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field".
            None => Err(match self.allow(Some(&segments)) {
                Some(allow) if request.method == "OPTIONS" => {
                    Response::new(StatusCode::NO_CONTENT).with_header("Allow", allow)
                }
                Some(allow) => Response::error(StatusCode::METHOD_NOT_ALLOWED)
                    .with_header("Allow", allow),
                None => Response::error(StatusCode::NOT_FOUND),
            }),
        }
    }
    // ANCHOR_END: dispatch

    // ANCHOR: most_specific
    /// The most specific route whose pattern matches and whose method fits,
    /// with what its pattern captured. HEAD is served by the GET route
    /// unless a HEAD route exists (RFC 9110 §9.3.2).
    fn most_specific<'a, 's>(
        &'a self,
        method: &str,
        segments: &[Cow<'s, str>],
    ) -> Option<(&'a Route, Captures<'a, 's>)> {
        let mut best: Option<(&Route, Captures<'_, '_>)> = None;
        for route in &self.routes {
            let fits =
                route.method == method || (method == "HEAD" && route.method == "GET");
            let Some(found) = fits
                .then(|| match_segments(&route.segments, segments))
                .flatten()
            else {
                continue;
            };
            let better = match &best {
                None => true,
                Some((b, _)) => {
                    let key = |r: &Route| {
                        (
                            r.segments.iter().map(Segment::rank).collect::<Vec<_>>(),
                            r.method != method,
                        )
                    };
                    key(route) < key(b)
                }
            };
            if better {
                best = Some((route, found));
            }
        }
        best
    }
    // ANCHOR_END: most_specific
}

impl Handler for Router {
    fn handle(&self, request: &Request<'_>) -> Response {
        self.dispatch(request)
    }

    /// No route, wrong method, bad encoding: the answer does not depend on
    /// the body, so `Expect: 100-continue` gets it before the body is sent.
    fn preflight(&self, request: &Request<'_>) -> Option<Response> {
        self.resolve(request).err()
    }
}

fn parse_pattern(pattern: &str) -> Vec<Segment> {
    let Some(rest) = pattern.strip_prefix('/') else {
        return Vec::new();
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let last = parts.len() - 1;
    parts
        .iter()
        .enumerate()
        .map(|(i, part)| {
            if let Some(name) = part.strip_prefix(':') {
                assert!(!name.is_empty(), "parameter without a name in {pattern:?}");
                Segment::Param(name.to_string())
            } else if let Some(name) = part.strip_prefix('*') {
                assert!(
                    i == last,
                    "wildcard must be the last segment in {pattern:?}"
                );
                assert!(!name.is_empty(), "wildcard without a name in {pattern:?}");
                Segment::Wildcard(name.to_string())
            } else {
                Segment::Literal(part.to_string())
            }
        })
        .collect()
}

// ANCHOR: match_segments
/// Match decoded path segments against a pattern; on success, the captured
/// parameters.
fn match_segments<'p, 's>(
    pattern: &'p [Segment],
    path: &[Cow<'s, str>],
) -> Option<Captures<'p, 's>> {
    let mut params = Vec::new();
    for (i, segment) in pattern.iter().enumerate() {
        match segment {
            Segment::Literal(lit) => {
                if path.get(i)?.as_ref() != lit {
                    return None;
                }
            }
            Segment::Param(name) => {
                let value = path.get(i)?;
                if value.is_empty() {
                    return None;
                }
                params.push((name.as_str(), value.clone()));
            }
            Segment::Wildcard(name) => {
                let rest = path.get(i..).filter(|rest| !rest.is_empty())?;
                let joined = match rest {
                    [one] => one.clone(),
                    many => Cow::Owned(many.join("/")),
                };
                params.push((name.as_str(), joined));
                return Some(params);
            }
        }
    }
    (path.len() == pattern.len()).then_some(params)
}
// ANCHOR_END: match_segments

/// A `%` not followed by two hex digits, or bytes that decode to invalid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadEncoding;

impl fmt::Display for BadEncoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("bad percent-encoding")
    }
}

impl std::error::Error for BadEncoding {}

// ANCHOR: percent_decode
/// Decode `%XX` escapes (RFC 3986 §2.1); with `plus_is_space`, also `+` as a
/// space (HTML forms' query convention). Borrows when there is nothing to
/// decode. The result must be UTF-8.
pub fn percent_decode(
    input: &str,
    plus_is_space: bool,
) -> Result<Cow<'_, str>, BadEncoding> {
    if !input
        .bytes()
        .any(|b| b == b'%' || (plus_is_space && b == b'+'))
    {
        return Ok(Cow::Borrowed(input));
    }
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'%' => {
                let hi = bytes.next().and_then(hex_value).ok_or(BadEncoding)?;
                let lo = bytes.next().and_then(hex_value).ok_or(BadEncoding)?;
                out.push(hi << 4 | lo);
            }
            b'+' if plus_is_space => out.push(b' '),
            b => out.push(b),
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| BadEncoding)
}
// ANCHOR_END: percent_decode

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

// ANCHOR: split_path
/// `/a/b%2Fc` → `["a", "b/c"]`: split first, then decode each segment.
fn split_path(path: &str) -> Result<Vec<Cow<'_, str>>, BadEncoding> {
    let rest = path.strip_prefix('/').ok_or(BadEncoding)?;
    rest.split('/').map(|s| percent_decode(s, false)).collect()
}
// ANCHOR_END: split_path

/// `a=1&b=x+y&c` → `[("a","1"), ("b","x y"), ("c","")]`.
fn parse_query(query: Option<&str>) -> Result<QueryPairs<'_>, BadEncoding> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name, true)?, percent_decode(value, true)?))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::request::{Status, parse_head};

    fn tag(name: &'static str) -> impl Fn(&Request<'_>, &Params<'_>) -> HandlerResult {
        move |_, params| {
            let mut text = name.to_string();
            for (k, v) in &params.path {
                text.push_str(&format!(" {k}={v}"));
            }
            Ok(Response::text(StatusCode::OK, text))
        }
    }

    fn router() -> Router {
        Router::new()
            .get("/", tag("root"))
            .get("/users/:id", tag("user"))
            .get("/users/me", tag("me"))
            .get("/users/*rest", tag("users-rest"))
            .post("/users/:id", tag("user-post"))
            .get("/files/*path", tag("files"))
            .get("/a/:x/c", tag("a-x-c"))
            .get("/a/b/:y", tag("a-b-y"))
            .route("DELETE", "/users/:id", tag("user-delete"))
            .get("/fail", |_, _| Err("database on fire".into()))
    }

    fn call(r: &Router, method: &str, target: &str) -> (u16, String, Option<String>) {
        let raw = format!("{method} {target} HTTP/1.1\r\nHost: h\r\n\r\n");
        let Ok(Status::Complete((req, _))) =
            parse_head(raw.as_bytes(), &Limits::default())
        else {
            panic!("test request {raw:?} does not parse");
        };
        let resp = r.handle(&req);
        let allow = resp
            .headers
            .iter()
            .find(|(n, _)| n == "Allow")
            .map(|(_, v)| v.to_string());
        (
            resp.status.as_u16(),
            String::from_utf8_lossy(&resp.body).into_owned(),
            allow,
        )
    }

    #[test]
    fn matching_table() {
        let r = router();
        let cases: &[(&str, &str, u16, &str)] = &[
            ("GET", "/", 200, "root"),
            ("GET", "/users/42", 200, "user id=42"),
            ("GET", "/users/me", 200, "me"), // literal beats parameter
            ("GET", "/users/42/posts", 200, "users-rest rest=42/posts"), // only the wildcard fits
            ("POST", "/users/me", 200, "user-post id=me"), // the literal is GET-only
            ("GET", "/users/a%20b", 200, "user id=a b"),
            ("GET", "/users/a%2Fb", 200, "user id=a/b"), // %2F stays in its segment
            ("GET", "/files/x/y/z.txt", 200, "files path=x/y/z.txt"),
            ("GET", "/a/b/c", 200, "a-b-y y=c"), // leftmost difference decides
            ("GET", "/users/42?x=1", 200, "user id=42"),
            ("GET", "http://h/users/7", 200, "user id=7"), // absolute-form
            ("HEAD", "/users/42", 200, "user id=42"),      // HEAD runs the GET route
            ("GET", "/users/42/", 200, "users-rest rest=42/"), // trailing slash: another path
            ("GET", "/files", 404, "404 Not Found\n"), // a wildcard needs a segment
            ("GET", "/users/", 200, "users-rest rest="),
            ("GET", "//users/42", 404, "404 Not Found\n"), // empty segment
            ("GET", "/nope", 404, "404 Not Found\n"),
            ("GET", "/users/%zz", 400, "400 Bad Request\n"),
            ("GET", "/users/%ff", 400, "400 Bad Request\n"), // not UTF-8
            ("GET", "/users/1?q=%", 400, "400 Bad Request\n"),
            ("GET", "/fail", 500, "500 Internal Server Error\n"),
            ("BREW", "/", 501, "501 Not Implemented\n"),
        ];
        for &(method, target, status, body) in cases {
            let (got_status, got_body, _) = call(&r, method, target);
            assert_eq!(
                (got_status, got_body.as_str()),
                (status, body),
                "{method} {target}"
            );
        }
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let r = router();
        assert_eq!(
            call(&r, "PUT", "/users/42"),
            (
                405,
                "405 Method Not Allowed\n".into(),
                Some("GET, HEAD, POST, DELETE, OPTIONS".into())
            )
        );
        assert_eq!(
            call(&r, "DELETE", "/").2.as_deref(),
            Some("GET, HEAD, OPTIONS")
        );
        assert_eq!(
            call(&r, "OPTIONS", "/users/me"),
            (
                204,
                String::new(),
                Some("GET, HEAD, POST, DELETE, OPTIONS".into())
            )
        );
        assert_eq!(
            call(&r, "OPTIONS", "*"),
            (
                204,
                String::new(),
                Some("GET, HEAD, POST, DELETE, OPTIONS".into())
            )
        );
    }

    #[test]
    fn registration_order_does_not_change_precedence() {
        let r = Router::new()
            .get("/users/*rest", tag("rest"))
            .get("/users/:id", tag("param"))
            .get("/users/me", tag("literal"));
        assert_eq!(call(&r, "GET", "/users/me").1, "literal");
        assert_eq!(call(&r, "GET", "/users/x").1, "param id=x");
        assert_eq!(call(&r, "GET", "/users/x/y").1, "rest rest=x/y");
    }

    #[test]
    fn query_pairs_are_decoded() {
        let q = parse_query(Some("a=1&b=x+y%21&&c&d=%C3%A9")).expect("valid query");
        let got: Vec<(&str, &str)> =
            q.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
        assert_eq!(got, [("a", "1"), ("b", "x y!"), ("c", ""), ("d", "é")]);
        assert_eq!(parse_query(Some("a=%4")), Err(BadEncoding));
        assert_eq!(parse_query(None), Ok(vec![]));
    }

    #[test]
    fn percent_decoding() {
        assert!(matches!(
            percent_decode("plain", false),
            Ok(Cow::Borrowed("plain"))
        ));
        assert_eq!(percent_decode("a+b%2b", false).as_deref(), Ok("a+b+"));
        assert_eq!(percent_decode("a+b", true).as_deref(), Ok("a b"));
        assert_eq!(percent_decode("%", false), Err(BadEncoding));
        assert_eq!(percent_decode("%g0", false), Err(BadEncoding));
    }

    #[test]
    #[should_panic(expected = "wildcard must be the last segment")]
    fn wildcard_must_be_last() {
        let _ = Router::new().get("/a/*x/b", tag("x"));
    }
}

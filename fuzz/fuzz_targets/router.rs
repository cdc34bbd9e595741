//! Fuzz percent-decoding and routing (ch07): `percent_decode` on any
//! string, and the demo application's router, called through the `Handler`
//! trait, on any head that parses. The input is either a whole head, or
//! (when it does not parse as one) a method choice and a request-target that
//! this target wraps in a minimal head, so most inputs reach the router.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rawhttp::conn::Handler;
use rawhttp::limits::Limits;
use rawhttp::request::{Request, Status, parse_head};
use rawhttp::response::ConnectionHeader;
use rawhttp::router::{Router, percent_decode};

static ROUTER: LazyLock<Router> = LazyLock::new(rawhttp::demo::router);

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "OPTIONS", "PUT", "DELETE", "BREW", "CONNECT",
];

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for plus in [false, true] {
            if let Ok(decoded) = percent_decode(s, plus) {
                // Decoding never makes a string longer.
                assert!(decoded.len() <= s.len());
            }
        }
    }
    let limits = Limits::default();
    if let Ok(Status::Complete((request, _))) = parse_head(data, &limits) {
        route(&request);
        return;
    }
    let [choice, target @ ..] = data else {
        return;
    };
    let mut head = METHODS[usize::from(*choice) % METHODS.len()]
        .as_bytes()
        .to_vec();
    head.push(b' ');
    head.extend_from_slice(target);
    head.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    if let Ok(Status::Complete((request, _))) = parse_head(&head, &limits) {
        route(&request);
    }
});

fn route(request: &Request<'_>) {
    if let Some(refusal) = ROUTER.preflight(request) {
        encode(&refusal);
    }
    // Two demo routes misbehave on purpose: /slow sleeps (up to 10 s) and
    // /panic panics (the connection loop turns that into a 500). Skip them.
    let first = request.path().split('/').nth(1).unwrap_or("");
    if matches!(
        percent_decode(first, false).as_deref(),
        Ok("slow" | "panic")
    ) {
        return;
    }
    let response = ROUTER.handle(request);
    assert!(response.check().is_ok(), "a handler built a bad response");
    encode(&response);
}

fn encode(response: &rawhttp::response::Response) {
    let mut out = Vec::new();
    let date = rawhttp::date::imf_fixdate(0);
    response.encode(&mut out, &date, ConnectionHeader::Close, false, true);
    assert!(out.starts_with(b"HTTP/1.1 "));
}

//! step03: the router and the demo application, one request per connection.
//! Every route of the demo app and every status the router produces (404,
//! 405 with Allow, 204 for OPTIONS, 400 for bad percent-encoding, 500 for a
//! panicking handler, 501 for an unknown method) has a snapshot here.
mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::{Exchange, spawn_step};

snapshot_cases! {
    "step03";
    // The demo application's routes.
    index_page: b"GET / HTTP/1.1\r\nHost: 127.0.0.1:7878\r\n\r\n";
    hello_name: b"GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n";
    hello_percent_decoded: b"GET /hello/ada%20lovelace HTTP/1.1\r\nHost: x\r\n\r\n";
    hello_encoded_slash_stays_in_segment: b"GET /hello/a%2Fb HTTP/1.1\r\nHost: x\r\n\r\n";
    echo_body_with_content_type: b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 17\r\n\r\n{\"say\": \"hello\"}\n";
    echo_binary_without_content_type: b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n\x00\x01\x7f\x80\xff\r\n\\";
    headers_in_order: b"GET /headers HTTP/1.1\r\nHost: x\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-Tag: one\r\nx-tag: two\r\n\r\n";
    slow_bad_ms: b"GET /slow?ms=abc HTTP/1.1\r\nHost: x\r\n\r\n";
    plaintext: b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n";
    home_redirects_permanently: b"GET /home HTTP/1.1\r\nHost: x\r\n\r\n";
    absolute_form_target: b"GET http://x/hello/ada HTTP/1.1\r\nHost: x\r\n\r\n";
    // What the router answers when no route fits.
    unknown_path_not_found: b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n";
    trailing_slash_not_found: b"GET /hello/ada/ HTTP/1.1\r\nHost: x\r\n\r\n";
    wrong_method_gets_405_with_allow: b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n";
    options_lists_allowed_methods: b"OPTIONS /hello/x HTTP/1.1\r\nHost: x\r\n\r\n";
    options_asterisk_lists_every_method: b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n";
    bad_percent_encoding: b"GET /hello/%zz HTTP/1.1\r\nHost: x\r\n\r\n";
    unknown_method_not_implemented: b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n";
}

#[test]
fn slow_answers_after_the_delay() {
    let srv = spawn_step("step03");
    let start = Instant::now();
    let t = srv.exchange(b"GET /slow?ms=50 HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        start.elapsed() >= Duration::from_millis(50),
        "answered before 50 ms"
    );
    snap!("slow_answers_after_delay", t);
}

/// ch03 "Run it": two slow requests at once are answered together, each on
/// its own thread, not one after the other.
#[test]
fn two_slow_requests_run_at_once() {
    let srv = spawn_step("step03");
    let start = Instant::now();
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let mut s = srv.connect();
            s.write_all(b"GET /slow?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("send");
            std::thread::spawn(move || {
                let mut got = Vec::new();
                s.read_to_end(&mut got).expect("read");
                got
            })
        })
        .collect();
    for client in clients {
        let got = client.join().expect("client thread");
        assert!(got.ends_with(b"slept 1000 ms\n"), "{}", common::wire(&got));
    }
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(1000) && took < Duration::from_millis(1900),
        "two 1 s requests took {took:?}: not at the same time"
    );
}

/// HEAD gets exactly the head GET gets, Content-Length included, and no
/// body (RFC 9110 §9.3.2). The exchange reads until the server closes, so
/// a stray body would show up in the snapshot.
#[test]
fn head_same_head_as_get_without_body() {
    let srv = spawn_step("step03");
    let mut x = Exchange::new(&srv);
    x.send(b"HEAD /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv_until_close();
    let head = x.transcript();
    let get = srv.exchange(b"GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n");
    let response_head = |t: &str| {
        let response = t.split_once("<-- ").map_or("", |(_, r)| r);
        let end = response.find("\\r\\n\n\\r\\n\n").unwrap_or(response.len());
        // Skip the "server sends (N bytes)" line: the byte counts differ.
        response[..end]
            .split_once('\n')
            .map_or("", |(_, h)| h)
            .to_string()
    };
    assert_eq!(
        response_head(&head),
        response_head(&get),
        "HEAD:\n{head}\nGET:\n{get}"
    );
    assert!(
        head.ends_with("\\r\\n\n\\r\\n\n"),
        "HEAD got a body:\n{head}"
    );
    snap!("head_same_headers_no_body", head);
}

/// A panicking handler costs its client a 500 and nothing more: the
/// connection's thread catches the panic, and the next request is served.
#[test]
fn panic_becomes_500_and_server_goes_on() {
    let srv = spawn_step("step03");
    let t = srv.exchange(b"GET /panic HTTP/1.1\r\nHost: x\r\n\r\n");
    srv.wait_for_log("handler panicked");
    let after = srv.exchange(b"GET /hello/ada HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(
        after.contains("HTTP/1.1 200 OK") && after.contains("Hello, ada!"),
        "server stopped serving after a panic:\n{after}"
    );
    snap!("panic_becomes_500", t);
}

/// `/headers` shows field values as they were sent: `"` and `\` are
/// printable ASCII and come back unchanged (a browser's `sec-ch-ua` is full
/// of quotes); only a tab (as `\t`) and obs-text (as `\xNN`) are escaped.
/// Checked on the raw bytes, because a transcript would escape the
/// backslashes again. The answer echoes request fields, so it must not be
/// stored by any cache (RFC 9111 §5.2.2.5).
#[test]
fn headers_shows_quotes_and_backslashes_as_sent() {
    let srv = spawn_step("step03");
    let mut stream = srv.connect();
    stream
        .write_all(
            b"GET /headers HTTP/1.1\r\nHost: x\r\n\
              sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"124\"\r\n\
              X-Path: C:\\dir\\file\r\n\
              X-Tab: a\tb\r\n\
              X-Obs: caf\xc3\xa9\r\n\r\n",
        )
        .expect("send the request");
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .expect("read until the server closes");
    let want_body: &[u8] = b"Host: x\n\
        sec-ch-ua: \"Not:A-Brand\";v=\"8\", \"Chromium\";v=\"124\"\n\
        X-Path: C:\\dir\\file\n\
        X-Tab: a\\tb\n\
        X-Obs: caf\\xc3\\xa9\n";
    let (head, body) = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|end| response.split_at(end + 4))
        .unwrap_or_else(|| panic!("no complete head in {:?}", response.escape_ascii()));
    assert!(
        body == want_body,
        "body:\n{}\nwanted:\n{}",
        String::from_utf8_lossy(body),
        String::from_utf8_lossy(want_body)
    );
    let head = String::from_utf8_lossy(head);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nCache-Control: no-store\r\n"), "{head}");
    assert!(
        head.contains(&format!("\r\nContent-Length: {}\r\n", want_body.len())),
        "{head}"
    );
}

/// A few requests that must not reach a handler at all. Checked by status
/// only: the snapshots above show what these responses look like.
#[test]
fn strict_paths_and_methods() {
    let srv = spawn_step("step03");
    let cases: &[(&str, &[u8], &str)] = &[
        (
            "empty_segment",
            b"GET //hello/ada HTTP/1.1\r\nHost: x\r\n\r\n",
            "404",
        ),
        (
            "empty_name",
            b"GET /hello/ HTTP/1.1\r\nHost: x\r\n\r\n",
            "404",
        ),
        (
            "not_utf8",
            b"GET /hello/%ff HTTP/1.1\r\nHost: x\r\n\r\n",
            "400",
        ),
        (
            "bad_query",
            b"GET /hello/ada?x=%4 HTTP/1.1\r\nHost: x\r\n\r\n",
            "400",
        ),
        (
            "lowercase_method",
            b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
            "501",
        ),
        (
            "post_to_get_route",
            b"POST /hello/ada HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
            "405",
        ),
        (
            "options_unknown_path",
            b"OPTIONS /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            "404",
        ),
        (
            "head_unknown_path",
            b"HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n",
            "404",
        ),
        (
            "encoded_literal",
            b"GET /hell%6F/ada HTTP/1.1\r\nHost: x\r\n\r\n",
            "200",
        ),
    ];
    for &(name, request, status) in cases {
        let t = srv.exchange(request);
        assert!(
            t.contains(&format!("HTTP/1.1 {status} ")),
            "case {name}: wanted {status}:\n{t}"
        );
    }
}

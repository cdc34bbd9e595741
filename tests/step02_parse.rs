//! step02: one request per connection, parsed strictly and reported back.
//! Every error status the parser can produce has a snapshot here.
mod common;

use std::time::{Duration, Instant};

use common::{Exchange, spawn_step, spawn_step_with};

snapshot_cases! {
    "step02";
    // Good requests: the report shows what the parser saw.
    get_with_query: b"GET /a?b=c HTTP/1.1\r\nHost: 127.0.0.1:7878\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n";
    // The report shows field values as sent: quotes and backslashes are
    // not escaped (only what cannot be shown is).
    field_values_shown_as_sent: b"GET / HTTP/1.1\r\nHost: x\r\nsec-ch-ua: \"Not:A-Brand\";v=\"8\", \\x\r\n\r\n";
    post_with_body: b"POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world";
    absolute_form: b"GET http://example.com/path?q=1 HTTP/1.1\r\nHost: example.com\r\n\r\n";
    asterisk_form: b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n";
    http_1_0_without_host: b"GET / HTTP/1.0\r\n\r\n";
    repeated_fields_kept_in_order: b"GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\nX-Tag: one\r\nx-tag: two\r\n\r\n";
    leading_empty_line_ignored: b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n";
    host_ipv6_with_port: b"GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
    absolute_form_ipv6: b"GET http://[::1]:80/ HTTP/1.1\r\nHost: [::1]:80\r\n\r\n";
    // 400 Bad Request
    garbage_request_line: b"HELLO\r\n\r\n";
    missing_host: b"GET / HTTP/1.1\r\n\r\n";
    two_hosts: b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
    // Host syntax (RFC 3986 §3.2.2). `[:]`, `[...]`, `[1::2::3]` and `a%zz`
    // were answered 200 before the IP-literal and reg-name checks were written.
    host_ip_literal_empty: b"GET / HTTP/1.1\r\nHost: []\r\n\r\n";
    host_ip_literal_colon_only: b"GET / HTTP/1.1\r\nHost: [:]\r\n\r\n";
    host_ip_literal_dots: b"GET / HTTP/1.1\r\nHost: [...]\r\n\r\n";
    host_ipv6_two_double_colons: b"GET / HTTP/1.1\r\nHost: [1::2::3]\r\n\r\n";
    host_ipv6_zone_id: b"GET / HTTP/1.1\r\nHost: [fe80::1%25eth0]\r\n\r\n";
    host_bad_pct_encoding: b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n";
    bare_lf: b"GET / HTTP/1.1\nHost: x\n\n";
    space_before_colon: b"GET / HTTP/1.1\r\nHost : x\r\n\r\n";
    obs_fold: b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n";
    control_byte_in_value: b"GET / HTTP/1.1\r\nHost: x\r\nX-Evil: a\x01b\r\n\r\n";
    content_length_with_plus: b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc";
    content_length_conflict: b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd";
    transfer_encoding_with_content_length: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    // 413, 501, 505
    body_too_large: b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n";
    transfer_encoding: b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    http_2_0: b"GET / HTTP/2.0\r\nHost: x\r\n\r\n";
}

#[test]
fn request_line_too_long() {
    let srv = spawn_step("step02");
    let mut req = b"GET /".to_vec();
    req.resize(rawhttp::limits::MAX_REQUEST_LINE + 1, b'a');
    req.extend_from_slice(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    snap!("request_line_too_long", srv.exchange(&req));
}

#[test]
fn too_many_header_fields() {
    let srv = spawn_step("step02");
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..rawhttp::limits::MAX_HEADERS {
        req.extend_from_slice(format!("X-{i}: {i}\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    snap!("too_many_header_fields", srv.exchange(&req));
}

#[test]
fn head_too_large() {
    let srv = spawn_step("step02");
    let mut req = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    req.resize(rawhttp::limits::MAX_HEAD_BYTES, b'b');
    req.extend_from_slice(b"\r\n\r\n");
    snap!("head_too_large", srv.exchange(&req));
}

#[test]
fn body_shorter_than_announced_gets_no_response() {
    let srv = spawn_step("step02");
    let mut x = Exchange::new(&srv);
    x.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        .shutdown_write()
        .recv_until_close();
    snap!("body_shorter_than_announced", x.transcript());
}

#[test]
fn body_split_across_writes() {
    let srv = spawn_step("step02");
    let mut x = Exchange::new(&srv);
    x.send(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello");
    std::thread::sleep(Duration::from_millis(20)); // let the server see the first half alone
    x.send(b"world").recv_until_close();
    snap!("body_split_across_writes", x.transcript());
}

#[test]
fn stalled_head_gets_408() {
    let srv = spawn_step_with("step02", &[("RAWHTTP_HEAD_TIMEOUT_MS", "300")]);
    let start = Instant::now();
    let mut x = Exchange::new(&srv);
    x.send(b"GET / HTTP/1.1\r\nHost: x\r\n").recv_until_close();
    assert!(
        start.elapsed() >= Duration::from_millis(250),
        "408 came before the deadline"
    );
    snap!("stalled_head", x.transcript());
}

#[test]
fn silent_client_is_closed_without_a_response() {
    let srv = spawn_step_with("step02", &[("RAWHTTP_IDLE_TIMEOUT_MS", "200")]);
    let mut x = Exchange::new(&srv);
    x.recv_until_close();
    assert_eq!(x.transcript(), "<-- server sends (0 bytes), then closes\n");
}

#[test]
fn tls_handshake_on_the_plain_port_is_rejected_at_once() {
    let srv = spawn_step("step02");
    // The first bytes of a TLS ClientHello; the rest never needs to arrive.
    let mut x = Exchange::new(&srv);
    x.send(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
        .recv_until_close();
    snap!("tls_client_hello", x.transcript());
}

#[test]
fn only_one_request_per_connection() {
    let srv = spawn_step("step02");
    let t = srv.exchange(
        b"GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n",
    );
    assert_eq!(t.matches("HTTP/1.1 200 OK").count(), 1, "{t}");
    assert!(t.contains("Connection: close"), "{t}");
}

//! step01: the TCP echo server, run as a real process.
mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{Exchange, spawn_step, spawn_step_with};

#[test]
fn echoes_each_write() {
    let srv = spawn_step("step01");
    let mut x = Exchange::new(&srv);
    x.send(b"hello\n").recv_exact(6);
    x.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").recv_exact(27);
    x.shutdown_write().recv_until_close();
    snap!("two_writes", x.transcript());
}

#[test]
fn echoes_binary_bytes() {
    let srv = spawn_step("step01");
    let all: Vec<u8> = (0..=255).collect();
    let mut x = Exchange::new(&srv);
    x.send(&all)
        .recv_exact(256)
        .shutdown_write()
        .recv_until_close();
    snap!("all_byte_values", x.transcript());
}

#[test]
fn large_write_comes_back_whole() {
    // A stream has no message boundaries: 1 MiB goes out in one write and
    // comes back in however many reads the kernel likes.
    let srv = spawn_step("step01");
    let data: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut x = Exchange::new(&srv);
    let writer = {
        let mut s = x.stream().try_clone().expect("clone");
        let data = data.clone();
        std::thread::spawn(move || {
            std::io::Write::write_all(&mut s, &data).expect("write")
        })
    };
    let mut back = vec![0u8; data.len()];
    x.stream().read_exact(&mut back).expect("read the echo");
    writer.join().expect("writer thread");
    assert!(back == data, "echo differs");
}

#[test]
fn connections_over_the_cap_are_closed_and_capacity_returns() {
    let srv = spawn_step_with("step01", &[("RAWHTTP_MAX_CONNECTIONS", "1")]);
    let mut first = Exchange::new(&srv);
    first.send(b"one").recv_exact(3); // now surely accepted and counted

    let mut second = Exchange::new(&srv);
    second.recv_until_close(); // closed at once, with nothing sent
    srv.wait_for_log("1 connections open; refusing");

    first.send(b"still here").recv_exact(10);
    first.shutdown_write().recv_until_close();
    srv.wait_for_log("conn 0 closed");

    let mut third = Exchange::new(&srv);
    third.send(b"three").recv_exact(5);
}

#[test]
fn silent_client_is_dropped_after_the_idle_timeout() {
    let srv = spawn_step_with("step01", &[("RAWHTTP_IDLE_TIMEOUT_MS", "200")]);
    let start = Instant::now();
    let mut x = Exchange::new(&srv);
    x.recv_until_close();
    assert!(
        start.elapsed() >= Duration::from_millis(150),
        "closed before the idle timeout"
    );
    // The log says what happened (the book shows this line), not the OS's
    // "Resource temporarily unavailable" for a read that timed out.
    srv.wait_for_log("conn 0: idle timeout");
    srv.wait_for_log("conn 0 closed");
    assert!(
        srv.log().contains("conn 0 from 127.0.0.1:"),
        "{}",
        srv.log()
    );
    assert!(
        !srv.log().contains("temporarily unavailable"),
        "{}",
        srv.log()
    );
    // And the server still serves.
    Exchange::new(&srv).send(b"ok").recv_exact(2);
}

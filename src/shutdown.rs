//! Graceful shutdown: stop accepting, finish what is in flight, close what
//! is idle, and give up at a deadline (ch05; RFC 9112 §9.6).
//!
//! A [`Shutdown`] is a handle shared by whoever may trigger it (a signal
//! thread, a test, an embedding program) and by the accept loop and every
//! connection. It also keeps the table of open connections, which the
//! accept loop uses to count them against `max_connections`.
//!
//! Nothing here polls. [`Shutdown::trigger`] wakes the blocked `accept` by
//! connecting to the listener once, and wakes idle connections (blocked in
//! `read`) by shutting their sockets down; the drain waits on a condition
//! variable that every closing connection signals.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use log::{info, warn};

/// A shutdown trigger and the table of open connections.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Set once by `trigger`, never cleared. Connections read it between
    /// requests; the accept loop reads it after every wake-up.
    draining: AtomicBool,
    /// The listener's address, so `trigger` can wake a blocked `accept()`
    /// by connecting to it.
    wake_addr: Mutex<Option<SocketAddr>>,
    /// Every open connection, so `trigger` can close the idle ones and the
    /// deadline can cut the rest. Its length is the connection count.
    conns: Mutex<HashMap<u64, Arc<Slot>>>,
    /// How many slots in `conns` are `CLOSING`. Changed only with `conns`
    /// locked, so the two always agree.
    closing: AtomicUsize,
    /// Signalled each time a connection leaves `conns`: the drain waits on it.
    conn_closed: Condvar,
    /// Source of connection ids.
    next_id: AtomicU64,
}

/// What the drain did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Connections still open at the deadline, which were cut.
    pub forced: usize,
}

const BUSY: u8 = 0;
const IDLE: u8 = 1;
const CLOSED: u8 = 2;
const CLOSING: u8 = 3;

/// One open connection, as the shutdown sees it.
pub(crate) struct Slot {
    /// `BUSY` (reading or answering a request), `IDLE` (waiting for one),
    /// `CLOSED` (shut down by `trigger` while idle), or `CLOSING` (sending
    /// its last response and closing: it no longer counts against
    /// `max_connections`, but against `max_closing`; see `closing`).
    state: AtomicU8,
    /// A second handle to the socket, for shutting it down from outside.
    stream: TcpStream,
}

impl Slot {
    // ANCHOR: idle_race
    /// The connection is about to wait for a request. Storing `IDLE` and then
    /// reading `draining` (here), against `trigger` storing `draining` and
    /// then swapping `IDLE` for `CLOSED` (below): with sequentially
    /// consistent atomics, at least one side sees the other, so an idle
    /// connection is never missed and never waits out its idle timeout.
    pub(crate) fn enter_idle(&self, shutdown: &Shutdown) -> bool {
        self.state.store(IDLE, SeqCst);
        !shutdown.is_draining()
    }

    /// Bytes of a request have arrived. Returns `false` when the shutdown
    /// got there first and has already closed the socket: then the request
    /// must not run, because its response could not be sent, and a client
    /// that saw no response may safely retry a request that never ran. The
    /// compare-exchange decides the race: exactly one side wins it.
    pub(crate) fn leave_idle(&self) -> bool {
        match self.state.compare_exchange(IDLE, BUSY, SeqCst, SeqCst) {
            Ok(_) => true,
            // Only `trigger` moves a slot out of `IDLE` behind our back.
            Err(state) => state != CLOSED,
        }
    }
    // ANCHOR_END: idle_race
}

impl Shutdown {
    /// A shutdown that has not been triggered.
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    // ANCHOR: on_signals
    /// Trigger on the first SIGINT or SIGTERM; on a second one, exit the
    /// process at once with status 128 + the signal number (the shell's
    /// convention: 130 for Ctrl-C).
    ///
    /// std has no API for signals, and a signal handler may only do a few
    /// async-signal-safe things, so we use `signal-hook`: it turns signals
    /// into messages read by an ordinary thread, where anything goes.
    pub fn on_signals() -> io::Result<Shutdown> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let shutdown = Shutdown::new();
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let trigger = shutdown.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    trigger.on_signal(signal);
                }
            })?;
        Ok(shutdown)
    }

    /// The first signal starts the drain; a second one exits at once.
    fn on_signal(&self, signal: i32) {
        if !self.is_draining() {
            info!("signal {signal}: shutting down (send it again to exit at once)");
            self.trigger();
        } else {
            warn!("signal {signal} during the drain: exiting now");
            std::process::exit(128 + signal);
        }
    }
    // ANCHOR_END: on_signals

    /// Whether [`Shutdown::trigger`] has been called.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(SeqCst)
    }

    // ANCHOR: trigger
    /// Start the shutdown. Safe to call from any thread, any number of times.
    pub fn trigger(&self) {
        if self.inner.draining.swap(true, SeqCst) {
            return;
        }
        // Idle keep-alive connections have nothing to finish: close them now,
        // which also wakes their threads from `read`. Busy ones finish their
        // request, answer it with `Connection: close`, and then close.
        for slot in lock(&self.inner.conns).values() {
            if slot
                .state
                .compare_exchange(IDLE, CLOSED, SeqCst, SeqCst)
                .is_ok()
            {
                let _ = slot.stream.shutdown(std::net::Shutdown::Both);
            }
        }
        // The accept loop is blocked in `accept()`: give it a connection to
        // return, after which it sees `draining` and stops.
        if let Some(addr) = *lock(&self.inner.wake_addr) {
            let _ = TcpStream::connect_timeout(&loopback(addr), Duration::from_secs(1));
        }
    }
    // ANCHOR_END: trigger

    /// Remember where the accept loop listens (see `trigger`).
    pub(crate) fn attach(&self, addr: SocketAddr) {
        *lock(&self.inner.wake_addr) = Some(addr);
    }

    // ANCHOR: register
    /// Add a connection to the table, unless `max` are open already.
    /// Returns its id and slot.
    ///
    /// A connection that is closing (see [`Shutdown::closing`]) does not
    /// count: its client may reconnect the moment it has read the last
    /// response, before our thread has finished closing, and must not get a
    /// 503 for it.
    pub(crate) fn register(
        &self,
        stream: &TcpStream,
        max: usize,
    ) -> Option<(u64, Arc<Slot>)> {
        let mut conns = lock(&self.inner.conns);
        let open = conns.len().saturating_sub(self.inner.closing.load(SeqCst));
        if open >= max {
            return None;
        }
        // Without a second handle we could not close it from outside; such a
        // connection is refused like one over the limit (it never happens in
        // practice: `try_clone` is a `dup` of the file descriptor).
        let stream = stream.try_clone().ok()?;
        let id = self.inner.next_id.fetch_add(1, SeqCst);
        let slot = Arc::new(Slot {
            state: AtomicU8::new(BUSY),
            stream,
        });
        conns.insert(id, Arc::clone(&slot));
        Some((id, slot))
    }
    // ANCHOR_END: register

    // ANCHOR: closing
    /// The connection is about to send its last response and close: from
    /// now on it stops counting against `max_connections`, unless `max`
    /// connections are closing already. Returns whether it moved.
    ///
    /// Closing still costs a thread and the response's memory until the
    /// client has taken the response (which a client that does not read can
    /// stretch to `write_timeout` plus the response's size at
    /// `min_send_rate`) and the linger is over. Without this second cap,
    /// clients that each leave a large last response unread could open
    /// connections without end, every one of them "closing".
    pub(crate) fn closing(&self, slot: &Slot, max: usize) -> bool {
        let _conns = lock(&self.inner.conns); // `closing` agrees with the states
        if self.inner.closing.load(SeqCst) >= max {
            return false;
        }
        if slot
            .state
            .compare_exchange(BUSY, CLOSING, SeqCst, SeqCst)
            .is_err()
        {
            return false; // already closing, or closed by the drain
        }
        self.inner.closing.fetch_add(1, SeqCst);
        true
    }
    // ANCHOR_END: closing

    /// Remove a connection from the table and wake the drain.
    pub(crate) fn unregister(&self, id: u64) {
        let mut conns = lock(&self.inner.conns);
        if let Some(slot) = conns.remove(&id) {
            if slot.state.load(SeqCst) == CLOSING {
                self.inner.closing.fetch_sub(1, SeqCst);
            }
        }
        drop(conns);
        self.inner.conn_closed.notify_all();
    }

    /// How many connections are open.
    pub fn open_connections(&self) -> usize {
        lock(&self.inner.conns).len()
    }

    /// Wait until no connection is open, or `grace` has passed; then cut
    /// the connections that are left.
    pub(crate) fn wait_drained(&self, grace: Duration) -> Drained {
        let deadline = Instant::now() + grace;
        let mut conns = lock(&self.inner.conns);
        while !conns.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            conns = self
                .inner
                .conn_closed
                .wait_timeout(conns, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        for slot in conns.values() {
            let _ = slot.stream.shutdown(std::net::Shutdown::Both);
        }
        Drained {
            forced: conns.len(),
        }
    }
}

/// Lock, ignoring poisoning: the data behind the server's locks stays
/// consistent even if a thread panicked while holding one (each update is
/// one call), so a panic elsewhere must not stop the server.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The address to connect to for waking a listener bound to `addr`: a
/// listener on 0.0.0.0 or :: is reached through loopback.
fn loopback(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            (Ipv4Addr::LOCALHOST, addr.port()).into()
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            (Ipv6Addr::LOCALHOST, addr.port()).into()
        }
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn loopback_for_unspecified() {
        assert_eq!(
            loopback("0.0.0.0:80".parse().unwrap()),
            "127.0.0.1:80".parse().unwrap()
        );
        assert_eq!(
            loopback("[::]:80".parse().unwrap()),
            "[::1]:80".parse().unwrap()
        );
        assert_eq!(
            loopback("10.1.2.3:80".parse().unwrap()),
            "10.1.2.3:80".parse().unwrap()
        );
    }

    #[test]
    fn register_counts_against_the_cap_and_trigger_closes_idle() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let b = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let s = Shutdown::new();
        let (id_a, slot_a) = s.register(&a, 2).unwrap();
        let (_id_b, slot_b) = s.register(&b, 2).unwrap();
        assert!(
            s.register(&a, 2).is_none(),
            "third connection over a cap of 2"
        );
        assert!(slot_a.enter_idle(&s));
        s.trigger();
        assert!(s.is_draining());
        assert_eq!(slot_a.state.load(SeqCst), CLOSED);
        assert_eq!(
            slot_b.state.load(SeqCst),
            BUSY,
            "busy connections are left to finish"
        );
        assert!(
            !slot_b.enter_idle(&s),
            "after the trigger, nobody goes idle"
        );
        s.unregister(id_a);
        assert_eq!(s.open_connections(), 1);
        assert_eq!(
            s.wait_drained(Duration::from_millis(10)),
            Drained { forced: 1 }
        );
    }
    #[test]
    fn closing_connections_have_a_cap_of_their_own_at_n_and_n_plus_1() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let streams: Vec<TcpStream> = (0..4)
            .map(|_| TcpStream::connect(l.local_addr().unwrap()).unwrap())
            .collect();
        let s = Shutdown::new();
        let slots: Vec<(u64, Arc<Slot>)> = streams[..2]
            .iter()
            .map(|c| s.register(c, 2).unwrap())
            .collect();
        assert!(s.register(&streams[2], 2).is_none(), "2 open, cap 2");
        // A cap of 1 closing: the first may move (N), the second may not (N+1).
        assert!(s.closing(&slots[0].1, 1), "closing 1 of at most 1");
        assert!(
            !s.closing(&slots[1].1, 1),
            "a second closing one stays counted"
        );
        assert_eq!(slots[1].1.state.load(SeqCst), BUSY);
        let (third, _) = s
            .register(&streams[2], 2)
            .expect("the closing one no longer counts");
        assert!(s.register(&streams[3], 2).is_none(), "2 counted again");
        // When the closing one leaves, its place among the closing is free.
        s.unregister(slots[0].0);
        assert!(s.closing(&slots[1].1, 1));
        s.unregister(slots[1].0);
        s.unregister(third);
        assert_eq!(s.open_connections(), 0);
        assert_eq!(s.inner.closing.load(SeqCst), 0);
    }

    #[test]
    fn a_request_after_the_shutdown_closed_an_idle_connection_is_not_run() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let s = Shutdown::new();
        let (_, slot) = s.register(&a, 1).unwrap();
        assert!(slot.enter_idle(&s));
        assert!(slot.leave_idle(), "no shutdown: the request runs");
        assert!(slot.enter_idle(&s));
        s.trigger(); // closes the idle socket: its state is CLOSED
        assert!(!slot.leave_idle(), "the shutdown won the race: do not run");
    }
}

//! The accept loop: a thread per connection, capped (ch01; ch04 reuses
//! the threads; ch05 adds [`run_until`] and draining).
//!
//! Only this module and `conn.rs` touch sockets. What happens on a
//! connection is a [`Service`]'s business: step01 echoes, later steps speak
//! HTTP. The loop itself only accepts, counts, and hands over.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::mpsc::{self, RecvTimeoutError, SendError, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use log::{debug, error, info, warn};

use crate::limits::Limits;
use crate::shutdown::{Drained, Shutdown, Slot, lock};

/// What runs on each accepted connection, on its own thread.
pub trait Service: Send + Sync + 'static {
    /// Serve one connection until it is done. The stream is closed when
    /// this returns (it is dropped).
    fn serve(&self, stream: TcpStream, conn: &Conn);

    /// Called instead of [`Service::serve`] when `max_connections` are
    /// already open, on the accept loop's thread, so it must not block.
    /// The default just closes the connection.
    fn refuse(&self, stream: TcpStream) {
        drop(stream);
    }
}

/// What a [`Service`] knows about its connection, and its line to the
/// shutdown (ch05).
pub struct Conn {
    id: u64,
    peer: SocketAddr,
    limits: Arc<Limits>,
    slot: Arc<Slot>,
    shutdown: Shutdown,
}

impl Conn {
    /// A number unique within this server run, for logs.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The client's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Whether the server is shutting down: finish the request at hand,
    /// say `Connection: close`, and take no new one.
    pub fn draining(&self) -> bool {
        self.shutdown.is_draining()
    }

    /// [`Conn::draining`] as a function the connection core can keep.
    pub fn drain_signal(&self) -> Box<dyn Fn() -> bool + Send> {
        let shutdown = self.shutdown.clone();
        Box::new(move || shutdown.is_draining())
    }

    /// Call before waiting for a new request. Returns `false` when the
    /// server is draining: close now instead of waiting. While idle, the
    /// shutdown may close the socket to wake the blocked read.
    pub fn enter_idle(&self) -> bool {
        self.slot.enter_idle(&self.shutdown)
    }

    /// Call when bytes of a new request have arrived: from now on the
    /// shutdown waits for this connection instead of closing it. Returns
    /// `false` when the shutdown closed the connection first: then the
    /// request must not be run (a request is answered, or never run).
    #[must_use]
    pub fn leave_idle(&self) -> bool {
        self.slot.leave_idle()
    }

    /// Call before sending the last response: from now on this connection
    /// does not count against `max_connections` (its client may already be
    /// reconnecting), though the shutdown still waits for it, and it counts
    /// against `max_closing` instead. Returns `false` when `max_closing`
    /// connections are closing already: this one keeps counting as open.
    pub fn closing(&self) -> bool {
        self.shutdown.closing(&self.slot, self.limits.max_closing)
    }
}

/// Leaving the table when the connection's thread ends, however it ends
/// (a panic in a handler unwinds through here too).
impl Drop for Conn {
    fn drop(&mut self) {
        self.shutdown.unregister(self.id);
    }
}

// ANCHOR: bind_from_env
/// Bind the address in the `ADDR` environment variable, or `default`.
/// `ADDR=127.0.0.1:0` lets the system pick a free port (tests do this).
pub fn bind_from_env(default: &str) -> io::Result<TcpListener> {
    let addr = std::env::var("ADDR").unwrap_or_else(|_| default.to_string());
    TcpListener::bind(&addr)
        .map_err(|e| io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}
// ANCHOR_END: bind_from_env

/// Serve forever (until the process ends).
pub fn run<S: Service>(
    listener: TcpListener,
    limits: Limits,
    service: S,
) -> io::Result<()> {
    run_until(listener, limits, service, &Shutdown::new()).map(|_| ())
}

// ANCHOR: run_until
/// Serve until `shutdown` is triggered, then drain: stop accepting (the
/// listener is closed, so new connections are refused), let requests in
/// flight finish, and wait up to `limits.shutdown_grace` for every
/// connection to end. Connections still open then are cut and counted.
pub fn run_until<S: Service>(
    listener: TcpListener,
    limits: Limits,
    service: S,
    shutdown: &Shutdown,
) -> io::Result<Drained> {
    shutdown.attach(listener.local_addr()?);
    let service = Arc::new(service);
    let limits = Arc::new(limits);
    let threads = Arc::new(Threads::new(limits.thread_idle_timeout));
    accept_loop(&listener, &service, &limits, shutdown, &threads);
    drop(listener); // from here on, connecting gets "connection refused"
    threads.stop();
    let open = shutdown.open_connections();
    if open > 0 {
        info!(
            "draining: {open} connections open, waiting up to {:?}",
            limits.shutdown_grace
        );
    }
    let drained = shutdown.wait_drained(limits.shutdown_grace);
    if drained.forced > 0 {
        warn!("drain deadline passed: cut {} connections", drained.forced);
    } else {
        info!("drained; all connections closed");
    }
    Ok(drained)
}
// ANCHOR_END: run_until

// ANCHOR: accept_loop
/// Accept connections until the shutdown is triggered, and hand each one to
/// a thread of its own, unless `max_connections` are open already.
fn accept_loop<S: Service>(
    listener: &TcpListener,
    service: &Arc<S>,
    limits: &Arc<Limits>,
    shutdown: &Shutdown,
    threads: &Arc<Threads>,
) {
    let mut failures = 0u32;
    while !shutdown.is_draining() {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) => {
                failures += 1;
                accept_backoff(&e, failures);
                continue;
            }
        };
        failures = 0;
        if shutdown.is_draining() {
            break; // the trigger's wake-up call, or a client that lost the race
        }
        let Some((id, slot)) = shutdown.register(&stream, limits.max_connections) else {
            warn!(
                "{peer}: {} connections open; refusing",
                limits.max_connections
            );
            service.refuse(stream);
            continue;
        };
        let conn = Conn {
            id,
            peer,
            limits: Arc::clone(limits),
            slot,
            shutdown: shutdown.clone(),
        };
        let service = Arc::clone(service);
        let started = threads.run(Box::new(move || {
            debug!("conn {id} from {peer} opened");
            service.serve(stream, &conn);
            debug!("conn {id} closed");
        }));
        if let Err(e) = started {
            // The closure was dropped, and with it the stream (the client sees
            // a close) and the `Conn` (which leaves the table).
            error!("cannot start a thread for {peer}: {e}");
        }
    }
}
// ANCHOR_END: accept_loop

/// A connection's work, handed to a thread.
type Job = Box<dyn FnOnce() + Send>;

/// Parked threads: each one's number and the way to hand it a job.
type Parked = Vec<(u64, SyncSender<Job>)>;

// ANCHOR: threads
/// The threads that serve connections, reused (ch04).
///
/// Starting a thread costs a dozen system calls (a stack to map, a guard
/// page, a signal stack, ...), and with `Connection: close` a client opens a
/// connection per request, so that cost is paid per request. Instead, a
/// thread whose connection has ended parks here for a while, and the accept
/// loop hands it the next connection. It is still one thread per connection:
/// a parked thread has none, a busy one has exactly one, and busy threads
/// are capped by `max_connections`, so parked ones are too.
struct Threads {
    /// One sender per parked thread, which waits on the receiving end. `None`
    /// once the server has stopped: dropping the senders wakes every parked
    /// thread, and it exits.
    parked: Mutex<Option<Parked>>,
    /// Source of thread numbers (names, and finding oneself in `parked`).
    spawned: AtomicU64,
    /// How long a parked thread waits for a connection before it exits
    /// (`limits.thread_idle_timeout`).
    idle_timeout: Duration,
}

impl Threads {
    fn new(idle_timeout: Duration) -> Threads {
        Threads {
            parked: Mutex::new(Some(Vec::new())),
            spawned: AtomicU64::new(0),
            idle_timeout,
        }
    }

    /// Run `job` on a parked thread, or on a new one if none is parked.
    fn run(self: &Arc<Self>, mut job: Job) -> io::Result<()> {
        // The most recently parked thread first: its stack is still in cache.
        loop {
            // Its own statement, so the lock is released before the send.
            let next = lock(&self.parked).as_mut().and_then(Vec::pop);
            let Some((_, parked)) = next else { break };
            match parked.send(job) {
                Ok(()) => return Ok(()),
                // That thread is gone: try the next.
                Err(SendError(unsent)) => job = unsent,
            }
        }
        let n = self.spawned.fetch_add(1, Relaxed);
        let threads = Arc::clone(self);
        thread::Builder::new()
            .name(format!("worker-{n}"))
            .spawn(move || {
                let mut job = job;
                loop {
                    job();
                    match threads.park(n) {
                        Some(next) => job = next,
                        None => return,
                    }
                }
            })
            .map(drop)
    }
    // ANCHOR_END: threads

    // ANCHOR: park
    /// Wait for the next job, up to `idle_timeout`. `None`: exit.
    fn park(&self, n: u64) -> Option<Job> {
        // Capacity 1, so `run` never blocks handing over a job.
        let (sender, jobs) = mpsc::sync_channel(1);
        lock(&self.parked).as_mut()?.push((n, sender));
        match jobs.recv_timeout(self.idle_timeout) {
            Ok(job) => Some(job),
            Err(RecvTimeoutError::Disconnected) => None, // `stop`
            Err(RecvTimeoutError::Timeout) => {
                let mut parked = lock(&self.parked);
                if let Some(list) = parked.as_mut() {
                    if let Some(i) = list.iter().position(|(p, _)| *p == n) {
                        list.swap_remove(i);
                        return None;
                    }
                }
                drop(parked);
                // Not in the list any more: `run` took us off it a moment
                // ago, and its job is on the way (or `stop` dropped us).
                jobs.recv().ok()
            }
        }
    }

    /// Wake every parked thread so it exits, and park no more.
    fn stop(&self) {
        *lock(&self.parked) = None;
    }
    // ANCHOR_END: park
}

/// Accept can fail for reasons that pass (a client that reset before we
/// accepted it) and ones that last a while (out of file descriptors). Log,
/// and back off so a lasting failure does not spin the CPU.
fn accept_backoff(e: &io::Error, failures: u32) {
    if matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::Interrupted
    ) {
        debug!("accept: {e}");
        return;
    }
    let pause = Duration::from_millis(5u64 << failures.min(8)); // 10 ms .. 1.3 s
    error!("accept failed ({e}); retrying in {pause:?}");
    thread::sleep(pause);
}

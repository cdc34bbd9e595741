//! The accept loop: a thread per connection, capped (ch01; ch05 adds
//! [`run_until`] and draining).
//!
//! Only this module and `conn.rs` touch sockets. What happens on a
//! connection is a [`Service`]'s business: step01 echoes, later steps speak
//! HTTP. The loop itself only accepts, counts, and hands over.

use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use log::{debug, error, info, warn};

use crate::limits::Limits;
use crate::shutdown::{Drained, Shutdown, Slot};

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

    /// Call before waiting for a new request. Returns `false` when the
    /// server is draining: close now instead of waiting. While idle, the
    /// shutdown may close the socket to wake the blocked read.
    pub fn enter_idle(&self) -> bool {
        self.slot.enter_idle(&self.shutdown)
    }

    /// Call when bytes of a new request have arrived: from now on the
    /// shutdown waits for this connection instead of closing it.
    pub fn leave_idle(&self) {
        self.slot.leave_idle();
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
pub fn run<S: Service>(listener: TcpListener, limits: Limits, service: S) -> io::Result<()> {
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
    let mut failures = 0u32;
    // ANCHOR: accept_loop
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
            limits: Arc::clone(&limits),
            slot,
            shutdown: shutdown.clone(),
        };
        let service = Arc::clone(&service);
        let spawned = thread::Builder::new()
            .name(format!("conn-{id}"))
            .spawn(move || {
                debug!("conn {id} from {peer} opened");
                service.serve(stream, &conn);
                debug!("conn {id} closed");
            });
        if let Err(e) = spawned {
            // The closure was dropped, and with it the stream (the client sees
            // a close) and the `Conn` (which leaves the table).
            error!("cannot start a thread for {peer}: {e}");
        }
    }
    // ANCHOR_END: accept_loop
    drop(listener); // from here on, connecting gets "connection refused"
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

//! Shutting down without dropping a request.
//!
//! On the shutdown signal (SIGTERM) the API goes through three phases:
//!
//! 1. **Draining** for the configured time: everything is served as before,
//!    but `/health/ready` answers 503, so load balancers take the replica out
//!    of rotation while it still answers whatever reaches it.
//! 2. **Closing** for [`CLOSE_LINGER`]: the listening socket is closed (new
//!    connections are refused, and a client tries another replica) and every
//!    answer carries `Connection: close`, so each keep-alive connection ends
//!    cleanly after its next answer instead of being cut under a request.
//! 3. poem's graceful shutdown: connections still idle are closed, in-flight
//!    requests finish (30 s at most).
//!
//! Asking connections to close *before* the listener closes would make
//! clients reconnect at once, and a connection accepted just before the
//! listener closes would then be cut with its request unanswered.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU8, Ordering},
    },
    time::Duration,
};

use poem::{
    Endpoint, IntoResponse, Request, Response,
    http::{HeaderValue, header, uri::Scheme},
    listener::Acceptor,
    web::{LocalAddr, RemoteAddr},
};
use tokio::sync::watch;

/// How long connections get to end on their own once the listener closed.
pub const CLOSE_LINGER: Duration = Duration::from_secs(2);

/// The phases after serving (0, the default).
const DRAINING: u8 = 1;
const CLOSING: u8 = 2;

/// Where the process is in its shutdown; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Phase(Arc<AtomicU8>);

impl Phase {
    /// Whether shutdown began (readiness fails).
    pub fn draining(&self) -> bool {
        self.0.load(Ordering::Relaxed) >= DRAINING
    }

    /// Whether connections are asked to close after each answer.
    pub fn closing(&self) -> bool {
        self.0.load(Ordering::Relaxed) >= CLOSING
    }

    fn set(&self, phase: u8) {
        self.0.store(phase, Ordering::Relaxed);
    }
}

/// Runs the phases after `signal`; resolves when poem should start its own
/// graceful shutdown. `close_listener` closes the listening socket.
pub async fn sequence(
    signal: impl Future<Output = ()>,
    phase: Phase,
    drain: Duration,
    close_listener: watch::Sender<bool>,
) {
    signal.await;
    phase.set(DRAINING);
    tracing::info!(drain_ms = drain.as_millis(), "shutdown: draining, readiness answers 503");
    tokio::time::sleep(drain).await;
    phase.set(CLOSING);
    let _ = close_listener.send(true);
    tracing::info!("shutdown: listener closed, connections close after their next answer");
    tokio::time::sleep(CLOSE_LINGER).await;
}

/// Adds `Connection: close` to every answer once the phase is closing.
pub async fn close_connections<E: Endpoint>(ep: Arc<E>, req: Request, phase: Phase) -> poem::Result<Response> {
    let mut resp = match ep.call(req).await {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    if phase.closing() {
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Ok(resp)
}

/// An acceptor whose listening socket can be closed while the server keeps
/// serving the connections it already has.
pub struct ClosableAcceptor<A> {
    inner: Option<A>,
    local: Vec<LocalAddr>,
    close: watch::Receiver<bool>,
}

impl<A: Acceptor> ClosableAcceptor<A> {
    pub fn new(inner: A, close: watch::Receiver<bool>) -> Self {
        Self { local: inner.local_addr(), inner: Some(inner), close }
    }
}

impl<A: Acceptor> Acceptor for ClosableAcceptor<A> {
    type Io = A::Io;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.local.clone()
    }

    async fn accept(&mut self) -> std::io::Result<(Self::Io, LocalAddr, RemoteAddr, Scheme)> {
        let Self { inner, close, .. } = self;
        if let Some(acceptor) = inner.as_mut() {
            tokio::select! {
                accepted = acceptor.accept() => return accepted,
                _ = close.wait_for(|closed| *closed) => {}
            }
        }
        // Closed: drop the socket (new connections are refused) and accept
        // nothing more; the server shuts down on its own signal.
        *inner = None;
        std::future::pending().await
    }
}

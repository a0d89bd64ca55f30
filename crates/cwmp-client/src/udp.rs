//! The UDP connection-request socket (TR-069 Annex G): STUN Binding Requests go out from it, STUN
//! responses and UDP connection requests come in on it. A receive thread hands every
//! datagram to the engine ([`cwmp_engine::Input::Datagram`]); the driver sends
//! [`cwmp_engine::Output::SendDatagram`] on the same socket. Nothing is ever answered here:
//! the engine decides.
//!
//! Decision: the receive thread forwards at most [`MAX_DATAGRAMS_PER_SECOND`] datagrams per
//! second and drops the rest, so a flood cannot grow the driver's queue without bound (the
//! legitimate traffic is a STUN response every keepalive period and three copies of an
//! occasional connection request).

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::driver::ClientHandle;
use cwmp_engine::Input;

/// Datagrams forwarded to the engine per second at most.
pub const MAX_DATAGRAMS_PER_SECOND: u32 = 100;

/// The largest datagram read (a UDP connection request is at most 2048 bytes, TR-069 Annex G).
const MAX_DATAGRAM: usize = 2048;

/// How long one blocking receive may last before the thread looks at its stop flag anyway.
/// Dropping the endpoint wakes the thread at once with an empty datagram to itself; this is
/// only the safety net if that datagram is lost, so it can be long: an idle phone wakes
/// 720 times an hour for it instead of polling.
const RECEIVE_SAFETY_TIMEOUT: Duration = Duration::from_secs(5);

/// A bound socket and its receive thread; dropping it wakes the thread and closes the socket.
pub(crate) struct UdpEndpoint {
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for UdpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpEndpoint")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl UdpEndpoint {
    pub(crate) fn start(bind: SocketAddr, handle: ClientHandle) -> io::Result<UdpEndpoint> {
        let socket = Arc::new(UdpSocket::bind(bind)?);
        socket.set_read_timeout(Some(RECEIVE_SAFETY_TIMEOUT))?;
        let local = socket.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&socket), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("cwmp-udp".into())
            .spawn(move || receive_loop(&s, &st, &handle))?;
        log::info!("UDP connection-request socket on {local}");
        Ok(UdpEndpoint {
            socket,
            local,
            stop,
            thread: Some(thread),
        })
    }

    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.local
    }

    pub(crate) fn send(&self, to: SocketAddr, payload: &[u8]) {
        if let Err(e) = self.socket.send_to(payload, to) {
            log::warn!("UDP send to {to}: {e}");
        }
    }
}

impl Drop for UdpEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocked receive: an empty datagram to our own port (on loopback when the
        // socket is bound to the unspecified address).
        let mut wake = self.local;
        if wake.ip().is_unspecified() {
            wake.set_ip(match wake {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        if let Err(e) = self.socket.send_to(&[], wake) {
            log::debug!(
                "UDP wake-up datagram: {e} (the thread stops within {RECEIVE_SAFETY_TIMEOUT:?})"
            );
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn receive_loop(socket: &UdpSocket, stop: &AtomicBool, handle: &ClientHandle) {
    let mut buf = [0u8; MAX_DATAGRAM];
    let mut window = Instant::now();
    let mut count = 0u32;
    while !stop.load(Ordering::SeqCst) {
        match socket.recv_from(&mut buf) {
            Ok(_) if stop.load(Ordering::SeqCst) => return,
            Ok((n, from)) => {
                if window.elapsed() >= Duration::from_secs(1) {
                    window = Instant::now();
                    count = 0;
                }
                if count >= MAX_DATAGRAMS_PER_SECOND {
                    continue;
                }
                count += 1;
                let payload = buf.get(..n).unwrap_or(&[]).to_vec();
                if !handle.input(Input::Datagram { from, payload }) {
                    return; // the client is gone
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => {
                // ICMP port-unreachable from an earlier send shows up here on Linux; keep on.
                log::debug!("UDP receive: {e}");
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

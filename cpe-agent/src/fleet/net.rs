//! The fleet's connections to the ACS: non-blocking TCP (and TLS over it) under the event
//! loop's one `mio` poll. A [`Conn`] only moves bytes; what they mean is decided by the
//! session's sans-IO HTTP core ([`cwmp_client::http1::SessionHttp`]) and the phone's engine.
//!
//! Decision: `mio` (tokio's own poller, well kept, no runtime) rather than an async runtime:
//! the engine and the HTTP core are sans-IO already, so readiness events are all the fleet
//! needs, and the library stays free of async.

use mio::net::TcpStream;
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::sync::Arc;

/// The most bytes read from one connection per readiness event before the loop serves
/// others (fairness), and the step the input buffer grows by.
const READ_STEP: usize = 16 * 1024;

/// One connection of one phone's session.
pub struct Conn {
    sock: TcpStream,
    tls: Option<Box<rustls::ClientConnection>>,
    /// The TCP connect has completed.
    established: bool,
    /// Plain bytes still to write (plain connections; TLS buffers in rustls).
    out: Vec<u8>,
    written: usize,
    /// What was read and not yet used by the HTTP core.
    inb: InBuf,
    /// The peer closed its side.
    pub eof: bool,
    /// The last [`pump`](Conn::pump) stopped reading at its budget with bytes possibly left
    /// in the socket: pump again after using the input (readiness is edge-triggered, so no
    /// new event would come for them).
    pub more: bool,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("tls", &self.tls.is_some())
            .field("established", &self.established)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Start connecting to `addr` (the connect completes later; the first writable event
    /// tells), with TLS when `tls` is given, and register with `registry` under `token`.
    pub fn connect(
        registry: &Registry,
        token: Token,
        addr: SocketAddr,
        tls: Option<(
            Arc<rustls::ClientConfig>,
            rustls::pki_types::ServerName<'static>,
        )>,
    ) -> Result<Conn, cwmp_client::Error> {
        let mut sock = TcpStream::connect(addr).map_err(map_io)?;
        // Head and body may leave in separate segments: no Nagle delay between them.
        let _ = sock.set_nodelay(true);
        registry
            .register(&mut sock, token, Interest::READABLE | Interest::WRITABLE)
            .map_err(map_io)?;
        let tls = match tls {
            Some((config, name)) => {
                let mut c = rustls::ClientConnection::new(config, name).map_err(|e| {
                    cwmp_client::Error::Tls(cwmp_client::Detail::with_source(e.to_string(), e))
                })?;
                // The request is queued before the handshake is done: no limit on what
                // rustls buffers until then (the HTTP core bounds what is sent).
                c.set_buffer_limit(None);
                Some(Box::new(c))
            }
            None => None,
        };
        Ok(Conn {
            sock,
            tls,
            established: false,
            out: Vec::new(),
            written: 0,
            inb: InBuf::default(),
            eof: false,
            more: false,
        })
    }

    /// Queue a request: its head, then its body.
    pub fn queue(&mut self, head: &[u8], body: &[u8]) -> io::Result<()> {
        match &mut self.tls {
            Some(tls) => {
                let mut w = tls.writer();
                w.write_all(head)?;
                w.write_all(body)
            }
            None => {
                if self.written == self.out.len() {
                    self.out.clear();
                    self.written = 0;
                }
                self.out.extend_from_slice(head);
                self.out.extend_from_slice(body);
                Ok(())
            }
        }
    }

    /// Bytes read and not yet used.
    pub fn input(&self) -> &[u8] {
        self.inb.data()
    }

    /// The HTTP core used `n` bytes of [`input`](Self::input).
    pub fn consume(&mut self, n: usize) {
        self.inb.consume(n);
    }

    /// Whether the TCP connect has completed (a reused connection).
    pub fn established(&self) -> bool {
        self.established
    }

    /// Close the connection. Closing the socket also takes it out of the poll (it is never
    /// duplicated), so no separate deregistration: a syscall less per session.
    pub fn close(self) {}

    /// React to readiness: finish the connect, write what is queued, read what arrived (into
    /// [`input`](Self::input), setting [`eof`](Self::eof) at the end). `closed` is the
    /// event's "peer closed" flag: then reading goes on to the end even after a short read
    /// (data and FIN may come in one edge-triggered event, and no later event would tell).
    /// Errors are the connection's failure, mapped as the blocking transport maps them.
    pub fn pump(&mut self, closed: bool) -> Result<(), cwmp_client::Error> {
        if !self.established {
            // Connected once the peer has an address; otherwise the connect failed (its
            // error is pending) or this is a wake-up before it finished.
            match self.sock.peer_addr() {
                Ok(_) => self.established = true,
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    if let Some(e) = self.sock.take_error().map_err(map_io)? {
                        return Err(map_io(e));
                    }
                    return Ok(());
                }
                Err(e) => return Err(map_io(e)),
            }
        }
        self.flush()?;
        self.read(closed)?;
        // Reading may have advanced a TLS handshake that now has something to send.
        self.flush()
    }

    fn flush(&mut self) -> Result<(), cwmp_client::Error> {
        match &mut self.tls {
            Some(tls) => {
                while tls.wants_write() {
                    match tls.write_tls(&mut self.sock) {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(map_io(e)),
                    }
                }
            }
            None => {
                while self.written < self.out.len() {
                    match self.sock.write(&self.out[self.written..]) {
                        Ok(0) => return Err(map_io(io::ErrorKind::WriteZero.into())),
                        Ok(n) => self.written += n,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(map_io(e)),
                    }
                }
            }
        }
        Ok(())
    }

    fn read(&mut self, closed: bool) -> Result<(), cwmp_client::Error> {
        self.more = false;
        let mut budget = 16;
        while !self.eof {
            if budget == 0 {
                self.more = true;
                return Ok(());
            }
            budget -= 1;
            match &mut self.tls {
                Some(tls) => {
                    match tls.read_tls(&mut self.sock) {
                        Ok(0) => self.eof = true,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(map_io(e)),
                    }
                    let state = tls.process_new_packets().map_err(|e| {
                        cwmp_client::Error::Tls(cwmp_client::Detail::with_source(e.to_string(), e))
                    })?;
                    let n = state.plaintext_bytes_to_read();
                    if n > 0 {
                        let got = tls.reader().read(self.inb.room(n)).unwrap_or(0);
                        self.inb.filled(got);
                    }
                    if state.peer_has_closed() {
                        self.eof = true;
                    }
                }
                None => match self.sock.read(self.inb.room(READ_STEP / 4)) {
                    Ok(0) => self.eof = true,
                    Ok(n) => {
                        let asked = self.inb.buf.len() - self.inb.end;
                        self.inb.filled(n);
                        // A short read emptied the receive queue; what arrives later (data or
                        // the FIN) raises a new readiness event, so no read that would only say
                        // "would block". Unless the FIN came with this event: read it now.
                        if n < asked && !closed {
                            return Ok(());
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(map_io(e)),
                },
            }
        }
        Ok(())
    }
}

/// Input storage: `buf[start..end]` is read and not yet used. Grown (and zeroed) only when
/// full, never per read: zeroing a fresh 16 KiB for every read was a visible part of the
/// fleet's CPU.
#[derive(Debug, Default)]
struct InBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl InBuf {
    fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Room for at least `n` more bytes (more when there is).
    fn room(&mut self, n: usize) -> &mut [u8] {
        if self.buf.len() - self.end < n {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() - self.end < n {
                self.buf.resize(self.end + n.max(READ_STEP), 0);
            }
        }
        &mut self.buf[self.end..]
    }

    fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }
}

fn map_io(e: io::Error) -> cwmp_client::Error {
    cwmp_client::Error::from(e)
}

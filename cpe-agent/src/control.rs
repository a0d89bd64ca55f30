//! The control socket: how `cpe-agent admin` and `cpe-agent dhcp` reach the running phone.
//!
//! A Unix domain socket `control.sock` in the state directory (mode 0600, so only the
//! daemon's user can change the phone), one JSON request and one JSON response per
//! connection, each a single line:
//!
//! ```text
//! → {"op":"set","items":[["sip-transport","2"]]}
//! ← {"ok":true,"output":""}
//! → {"op":"get","item":"sip-transport"}
//! ← {"ok":true,"output":"2"}
//! → {"op":"dhcp","hex":"0116687474703a2f2f…"}
//! ← {"ok":false,"error":"acs-server-address: 9007 …"}
//! ```
//!
//! Requests are bounded (64 KiB, 10 s to arrive) and run one at a time; the daemon runs each
//! on the CWMP driver's thread between two engine steps, so the store is never shared.

use serde::{Deserialize, Serialize};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Largest request or response line.
pub const MAX_MESSAGE: u64 = 1024 * 1024;
/// How long a request may take to arrive.
const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client waits for the daemon's answer (a job waits for the session step in
/// progress, which may wait for the ACS up to its response timeout).
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);

/// A request to the running daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    /// `admin set` (one or more items, all or nothing).
    Set {
        /// `(item, value)` pairs.
        items: Vec<(String, String)>,
    },
    /// `admin get`.
    Get {
        /// The item.
        item: String,
    },
    /// `admin list`.
    List,
    /// `dhcp --option43`.
    Dhcp {
        /// The option's payload in hex.
        hex: String,
    },
    /// `dhcp --option66 TEXT`, `--option43 HEX` carrying a URL, `--option CODE:HEX`: a
    /// provisioning URL from DHCP option `option` (used when `auto-provision-dhcp-option`
    /// selects that option; empty text: the lease carries none).
    DhcpUrl {
        /// The DHCP option (66, 43, 128–254).
        option: u8,
        /// The URL text.
        url: String,
    },
    /// `provision`: run a provisioning check now and answer with its record.
    Provision,
}

/// The daemon's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Response {
    /// Whether the request succeeded.
    pub ok: bool,
    /// What to print on stdout.
    #[serde(default)]
    pub output: String,
    /// What to print on stderr when it failed.
    #[serde(default)]
    pub error: String,
}

impl Response {
    /// A success printing `output`.
    pub fn ok(output: impl Into<String>) -> Response {
        Response {
            ok: true,
            output: output.into(),
            error: String::new(),
        }
    }

    /// A failure with `error`.
    pub fn err(error: impl Into<String>) -> Response {
        Response {
            ok: false,
            output: String::new(),
            error: error.into(),
        }
    }
}

fn read_line(stream: &mut impl Read) -> io::Result<String> {
    let mut line = String::new();
    BufReader::new(stream.take(MAX_MESSAGE))
        .read_line(&mut line)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    Ok(line)
}

/// Send `request` to the daemon listening at `socket` and return its answer.
pub fn call(socket: &Path, request: &Request) -> io::Result<Response> {
    let mut s = UnixStream::connect(socket)?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    let mut line = serde_json::to_vec(request).map_err(io::Error::other)?;
    line.push(b'\n');
    s.write_all(&line)?;
    let answer = read_line(&mut s)?;
    serde_json::from_str(&answer).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad answer from the daemon: {e}"),
        )
    })
}

/// The listening control socket; stops (and removes the socket file) when dropped.
#[derive(Debug)]
pub struct ControlServer {
    path: std::path::PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ControlServer {
    /// Bind `socket` (a stale file from a crashed daemon is replaced: the caller holds the
    /// state-directory lock, so no other daemon owns it) and serve requests with `handler` on
    /// a thread of its own.
    pub fn start(
        socket: &Path,
        handler: impl Fn(Request) -> Response + Send + 'static,
    ) -> io::Result<ControlServer> {
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::Builder::new()
            .name("control".into())
            .spawn(move || {
                for conn in listener.incoming() {
                    if stop2.load(Ordering::SeqCst) {
                        break;
                    }
                    match conn {
                        Ok(c) => serve(c, &handler),
                        Err(e) => log::warn!("control socket: {e}"),
                    }
                }
            })?;
        Ok(ControlServer {
            path: socket.to_owned(),
            stop,
            thread: Some(thread),
        })
    }
}

fn serve(mut conn: UnixStream, handler: &impl Fn(Request) -> Response) {
    let _ = conn.set_read_timeout(Some(READ_TIMEOUT));
    let response = match read_line(&mut conn) {
        Ok(line) => match serde_json::from_str::<Request>(&line) {
            Ok(req) => handler(req),
            Err(e) => Response::err(format!("bad request: {e}")),
        },
        Err(e) => Response::err(format!("bad request: {e}")),
    };
    if let Ok(mut bytes) = serde_json::to_vec(&response) {
        bytes.push(b'\n');
        let _ = conn.write_all(&bytes);
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = UnixStream::connect(&self.path);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_requests() {
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("control.sock");
        let server = ControlServer::start(&sock, |req| match req {
            Request::Get { item } => Response::ok(format!("v-{item}")),
            _ => Response::err("no"),
        })
        .unwrap();
        let mode = std::fs::metadata(&sock).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let r = call(&sock, &Request::Get { item: "x".into() }).unwrap();
        assert_eq!(r, Response::ok("v-x"));
        assert!(!call(&sock, &Request::List).unwrap().ok);
        let mut raw = UnixStream::connect(&sock).unwrap();
        raw.write_all(b"{not json}\n").unwrap();
        let answer = read_line(&mut raw).unwrap();
        assert!(answer.contains("bad request"));
        drop(server);
        assert!(!sock.exists());
    }
}

//! The file-server side of a Download (TR-069 Annex A.3.2.8): one blocking HTTP(S) GET that streams
//! the file to disk, never holding it in memory.
//!
//! ```text
//!  GET url ──► 401 + challenge ──► answer once with the RPC's Username/Password (Basic/Digest)
//!     │  ──► 301/302/303/307/308 ──► follow (at most `max_redirects`)
//!     │  ──► 2xx ──► stream: size caps, stall and overall timeouts, SHA-256, `inspect(chunk)`
//!     │                 └─► fsync ──► DownloadedFile
//!     └──► anything else ──► TransferFault (code below)
//! ```
//!
//! # Fault codes (TR-069 Annex A.3.2.8, Annex A.3.3.2, fault table in §6)
//!
//! TR-069 names the codes but not which failure gets which; the mapping chosen here is
//! what lets an ACS operator tell "fix the server" from "fix the file" from "fix the phone":
//!
//! | Failure | Code |
//! |---|---|
//! | host name not resolved, TCP connect refused or timed out | 9015 unable to contact file server |
//! | TLS handshake failed (untrusted certificate, name mismatch …) | 9015: the phone could not establish a trusted connection to the server |
//! | 401 when no credentials were given, 401 after the credentials were sent, no supported scheme | 9012 file server authentication failure |
//! | 403, 404, 410 and every other 4xx | 9016 unable to access file |
//! | connection lost or closed before `Content-Length` bytes, no byte for `stall_timeout`, whole transfer over `total_timeout` | 9017 unable to complete download |
//! | more (or fewer) bytes than a non-zero `FileSize` | 9018 file corrupted: it is not the file the ACS described |
//! | more bytes than `max_size` (the phone's storage limit) | 9010 file transfer failure, saying so |
//! | 5xx, 1xx/3xx without a usable `Location`, too many redirects, invalid HTTP | 9010 file transfer failure |
//! | the file could not be written locally | 9002 internal error |
//!
//! A too-large file is refused from its `Content-Length` before any byte is read when the
//! server announces one, and after at most `limit + 1` bytes otherwise: disk use is bounded.

use crate::auth::{self, Chosen, Credentials, DigestRequest};
use crate::error::{from_ureq, Error};
use crate::tls::TlsSettings;
use cwmp_model::{FaultCode, Secret, Url};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Bounds of one download.
#[derive(Debug, Clone)]
pub struct DownloadLimits {
    /// Largest file accepted, in bytes (the phone's storage for this file type).
    pub max_size: u64,
    /// Give up when no byte arrived for this long (a stalled server), default 30 s.
    pub stall_timeout: Duration,
    /// Give up when the whole transfer (connect to last byte) takes longer, default 1 h.
    pub total_timeout: Duration,
    /// Timeout of the TCP connection and TLS handshake, default 30 s.
    pub connect_timeout: Duration,
    /// Redirects followed, default 5 (as for the ACS, TR-069 §3.4).
    pub max_redirects: u32,
}

impl Default for DownloadLimits {
    fn default() -> DownloadLimits {
        DownloadLimits {
            max_size: 64 * 1024 * 1024,
            stall_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(3600),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 5,
        }
    }
}

/// What to fetch: the file-server arguments of a Download RPC. `Debug` redacts the password
/// (a [`Secret`]).
#[derive(Clone, Debug)]
pub struct FetchRequest<'a> {
    /// `URL` (http or https; `$mac` and the like already expanded by the caller).
    pub url: &'a str,
    /// `Username` (empty: none).
    pub username: &'a str,
    /// `Password`.
    pub password: Secret,
    /// `FileSize` (0 = not specified).
    pub file_size: u64,
    /// Trust anchors (and client identity) for https, the same as for the ACS.
    pub tls: &'a TlsSettings,
    /// Bounds.
    pub limits: DownloadLimits,
}

/// A file that arrived completely and is durable on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadedFile {
    /// Where it is (the `dest` given to [`download`]).
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: [u8; 32],
}

/// Why a transfer failed: the `FaultStruct` of its TransferComplete (TR-069 Annex A.3.3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferFault {
    /// The fault code (see the table in the module documentation).
    pub code: FaultCode,
    /// The `FaultString`: what went wrong, for the ACS operator (no secrets).
    pub message: String,
    /// The file server's final HTTP status when it answered with an error status (4xx,
    /// 5xx), so that callers with their own rules for a status (a 404 that means "not
    /// yet") need not read the message.
    pub http_status: Option<u16>,
}

impl TransferFault {
    /// A fault with this code and message.
    pub fn new(code: FaultCode, message: impl Into<String>) -> TransferFault {
        TransferFault {
            code,
            message: message.into(),
            http_status: None,
        }
    }

    /// As a [`cwmp_model::Fault`] for [`ClientHandle::transfer_complete`](crate::ClientHandle::transfer_complete);
    /// the message is cut to the 256 characters `FaultString` allows (TR-069 Annex A.3.3.2).
    pub fn to_fault(&self) -> cwmp_model::Fault {
        let msg: String = self.message.chars().take(256).collect();
        cwmp_model::Fault::with_message(self.code, msg)
    }
}

impl fmt::Display for TransferFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.code())
    }
}

impl std::error::Error for TransferFault {}

/// Download `req.url` into `dest` (created or truncated; put it in the directory where the
/// file will finally live, so that the caller can rename it into place atomically).
///
/// Every chunk is handed to `inspect` as it arrives (e.g. a streaming image verifier); an
/// error from it stops the transfer with that fault. On success the file is flushed to disk
/// (`fsync`); on failure `dest` is removed.
pub fn download(
    req: &FetchRequest<'_>,
    dest: &Path,
    inspect: &mut dyn FnMut(&[u8]) -> Result<(), TransferFault>,
) -> Result<DownloadedFile, TransferFault> {
    let result = download_inner(req, dest, inspect);
    if result.is_err() {
        let _ = std::fs::remove_file(dest);
    }
    result
}

fn agent(req: &FetchRequest<'_>) -> ureq::Agent {
    let l = &req.limits;
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .max_redirects_will_error(false)
        .save_redirect_history(false)
        .proxy(None)
        .timeout_resolve(Some(l.connect_timeout))
        .timeout_connect(Some(l.connect_timeout))
        .timeout_per_read(Some(l.stall_timeout))
        .timeout_global(Some(l.total_timeout))
        .user_agent(concat!("cwmp-client/", env!("CARGO_PKG_VERSION")))
        .tls_config(req.tls.ureq_config())
        .build();
    ureq::Agent::new_with_config(config)
}

/// A file URL by the one URL parser ([`cwmp_model::Url`]): http or https (TR-069 Annex
/// A.3.2.8; other schemes are 9013).
fn parse_file_url(url: &str) -> Result<Url, TransferFault> {
    let u = Url::parse(url).map_err(|e| {
        TransferFault::new(FaultCode::FileTransferFailure, format!("invalid URL: {e}"))
    })?;
    if u.is_http() {
        Ok(u)
    } else {
        Err(TransferFault::new(
            FaultCode::UnsupportedProtocol,
            "only http and https URLs are supported",
        ))
    }
}

fn download_inner(
    req: &FetchRequest<'_>,
    dest: &Path,
    inspect: &mut dyn FnMut(&[u8]) -> Result<(), TransferFault>,
) -> Result<DownloadedFile, TransferFault> {
    let mut url = parse_file_url(req.url)?;
    let agent = agent(req);
    let creds = (!req.username.is_empty() || !req.password.is_empty())
        .then(|| Credentials::new(req.username, req.password.clone()));
    let mut authorization: Option<Chosen> = None;
    let mut auth_rounds = 0u32;
    let mut redirects = 0u32;
    let mut nc = 0u32;
    let cnonce = format!("{:016x}", rand::random::<u64>());
    let mut resp = loop {
        let target = url.request_target().to_owned();
        let mut r = agent.get(url.serialize());
        if let (Some(c), Some(chosen)) = (&creds, &authorization) {
            let value = match chosen {
                Chosen::Basic => auth::basic_authorization(c),
                Chosen::Digest(d) => {
                    nc = nc.saturating_add(1);
                    auth::digest_authorization(
                        c,
                        d,
                        &DigestRequest {
                            method: "GET",
                            uri: &target,
                            body: &[],
                            cnonce: &cnonce,
                            nc,
                        },
                    )
                }
            };
            r = r.header("Authorization", value);
        }
        let mut resp = r.call().map_err(call_fault)?;
        let status = resp.status().as_u16();
        match status {
            200..=299 => break resp,
            401 => {
                auth_rounds += 1;
                if creds.is_none() {
                    return Err(TransferFault::new(
                        FaultCode::FileTransferServerAuthenticationFailure,
                        "the file server requires authentication and the Download gave no Username",
                    ));
                }
                if authorization.is_some() || auth_rounds > 1 {
                    return Err(TransferFault::new(
                        FaultCode::FileTransferServerAuthenticationFailure,
                        "the file server rejected the Download's Username/Password",
                    ));
                }
                let values: Vec<String> = resp
                    .headers()
                    .get_all("www-authenticate")
                    .iter()
                    .filter_map(|v| v.to_str().ok().map(str::to_string))
                    .collect();
                let challenges = auth::parse_challenges(values.iter().map(String::as_str));
                authorization = Some(auth::choose(&challenges).ok_or_else(|| {
                    TransferFault::new(
                        FaultCode::FileTransferServerAuthenticationFailure,
                        "the file server offered no supported authentication scheme",
                    )
                })?);
                drain_small(&mut resp);
            }
            301 | 302 | 303 | 307 | 308 => {
                redirects += 1;
                if redirects > req.limits.max_redirects {
                    return Err(TransferFault::new(
                        FaultCode::FileTransferFailure,
                        format!("more than {} redirects", req.limits.max_redirects),
                    ));
                }
                let loc = resp
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
                    .ok_or_else(|| {
                        TransferFault::new(
                            FaultCode::FileTransferFailure,
                            format!("HTTP {status} without Location"),
                        )
                    })?;
                let next = resolve_location(&url, &loc)?;
                if !next.same_origin(&url) {
                    // Credentials answer one server's challenge; another server gets none
                    // until it asks.
                    authorization = None;
                    auth_rounds = 0;
                }
                drain_small(&mut resp);
                url = next;
            }
            400..=499 => {
                let mut f = TransferFault::new(
                    FaultCode::FileAccessFailure,
                    format!("the file server answered HTTP {status}"),
                );
                f.http_status = Some(status);
                return Err(f);
            }
            _ => {
                let mut f = TransferFault::new(
                    FaultCode::FileTransferFailure,
                    format!("the file server answered HTTP {status}"),
                );
                f.http_status = Some(status);
                return Err(f);
            }
        }
    };

    // The announced length, checked before any byte is stored.
    let announced: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    if let Some(n) = announced {
        check_size(n, req)?;
    }
    let mut file = File::create(dest).map_err(|e| local_fault(dest, &e))?;
    let mut reader = resp.body_mut().with_config().reader();
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(incomplete(size, announced, &e.to_string()));
            }
        };
        let chunk = buf.get(..n).unwrap_or(&[]);
        size += n as u64;
        check_size(size, req)?;
        inspect(chunk)?;
        hasher.update(chunk);
        file.write_all(chunk).map_err(|e| local_fault(dest, &e))?;
    }
    if let Some(n) = announced {
        if size < n {
            return Err(incomplete(size, announced, "connection closed early"));
        }
    }
    if req.file_size != 0 && size != req.file_size {
        return Err(TransferFault::new(
            FaultCode::FileCorrupted,
            format!(
                "received {size} bytes but the Download's FileSize is {}",
                req.file_size
            ),
        ));
    }
    file.sync_all().map_err(|e| local_fault(dest, &e))?;
    Ok(DownloadedFile {
        path: dest.to_path_buf(),
        size,
        sha256: hasher.finalize().into(),
    })
}

/// Read and drop a small body (a 401 or 3xx page) so the connection can be reused; a large
/// or failing one is simply abandoned with its connection.
fn drain_small(resp: &mut ureq::http::Response<ureq::Body>) {
    let _ = resp.body_mut().with_config().limit(64 * 1024).read_to_vec();
}

fn check_size(n: u64, req: &FetchRequest<'_>) -> Result<(), TransferFault> {
    if req.file_size != 0 && n > req.file_size {
        return Err(TransferFault::new(
            FaultCode::FileCorrupted,
            format!(
                "the file is larger than the Download's FileSize of {} bytes",
                req.file_size
            ),
        ));
    }
    if n > req.limits.max_size {
        return Err(TransferFault::new(
            FaultCode::FileTransferFailure,
            format!(
                "the file is larger than the {} bytes this phone accepts",
                req.limits.max_size
            ),
        ));
    }
    Ok(())
}

fn incomplete(size: u64, announced: Option<u64>, why: &str) -> TransferFault {
    let of = announced.map(|n| format!(" of {n}")).unwrap_or_default();
    TransferFault::new(
        FaultCode::DownloadIncomplete,
        format!("download stopped after {size}{of} bytes: {why}"),
    )
}

fn local_fault(path: &Path, e: &std::io::Error) -> TransferFault {
    log::error!("writing the download to {}: {e}", path.display());
    TransferFault::new(
        FaultCode::InternalError,
        "the downloaded file could not be stored",
    )
}

/// Map a failure before the response head to the table in the module documentation: a
/// timeout while connecting means the server cannot be contacted; one after that (the server
/// accepted the connection, then fell silent) means the download could not complete.
fn call_fault(e: ureq::Error) -> TransferFault {
    match e {
        ureq::Error::Timeout(ureq::Timeout::Resolve | ureq::Timeout::Connect) => {
            TransferFault::new(
                FaultCode::FileServerUnreachable,
                "cannot contact the file server: connect timed out",
            )
        }
        ureq::Error::Timeout(t) => TransferFault::new(
            FaultCode::DownloadIncomplete,
            format!("the file server stopped answering: timeout {t}"),
        ),
        other => network_fault(from_ureq(other)),
    }
}

/// Every fault string names the party (the file server, never "the ACS": the transport's
/// error texts are written for ACS sessions) and the cause.
fn network_fault(e: Error) -> TransferFault {
    let (code, msg) = match e {
        Error::Dns(m) => (
            FaultCode::FileServerUnreachable,
            format!("cannot contact the file server: host name not resolved: {m}"),
        ),
        Error::Connect(m) => (
            FaultCode::FileServerUnreachable,
            format!("cannot contact the file server: {m}"),
        ),
        Error::Tls(m) => (
            FaultCode::FileServerUnreachable,
            format!("TLS with the file server failed: {m}"),
        ),
        Error::Timeout(m) => (
            FaultCode::FileServerUnreachable,
            format!("the file server did not answer in time: {m}"),
        ),
        Error::Io(m) => (
            FaultCode::DownloadIncomplete,
            format!("the connection to the file server failed: {m}"),
        ),
        Error::Protocol(m) => (
            FaultCode::FileTransferFailure,
            format!("invalid HTTP from the file server: {m}"),
        ),
        Error::BodyTooLarge { limit } => (
            FaultCode::FileTransferFailure,
            format!("the file server sent more than {limit} bytes"),
        ),
        Error::Authentication(m) => (
            FaultCode::FileTransferServerAuthenticationFailure,
            format!("the file server refused the credentials: {m}"),
        ),
        Error::TooManyRedirects { limit } => (
            FaultCode::FileTransferFailure,
            format!("the file server redirected more than {limit} times"),
        ),
        Error::Redirect(m) => (
            FaultCode::FileTransferFailure,
            format!("the file server's redirect was refused: {m}"),
        ),
        Error::InvalidConfig(m) | Error::InvalidPem(m) => (
            FaultCode::FileTransferFailure,
            format!("TLS settings for the file server are invalid: {m}"),
        ),
        Error::Shutdown => (
            FaultCode::FileTransferFailure,
            "the download was cut short: the phone is shutting down".to_owned(),
        ),
        other @ (Error::Engine(_) | Error::WrongStoreType { .. }) => {
            (FaultCode::FileTransferFailure, other.to_string())
        }
    };
    TransferFault::new(code, msg)
}

/// Resolve a `Location` against the URL it answered (RFC 3986 §5.2).
fn resolve_location(base: &Url, loc: &str) -> Result<Url, TransferFault> {
    let bad = || TransferFault::new(FaultCode::FileTransferFailure, "unusable redirect Location");
    let next = base.join(loc).map_err(|_| bad())?;
    parse_file_url(&next.serialize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_fault_names_the_file_server_not_the_acs() {
        let all = [
            Error::Dns("x".into()),
            Error::Connect("x".into()),
            Error::Tls("x".into()),
            Error::Timeout("x".into()),
            Error::Io("connection reset".into()),
            Error::Protocol("x".into()),
            Error::BodyTooLarge { limit: 1 },
            Error::Authentication("x".into()),
            Error::TooManyRedirects { limit: 5 },
            Error::Redirect("x".into()),
            Error::InvalidConfig("x".into()),
            Error::InvalidPem("x".into()),
            Error::Shutdown,
        ];
        for e in all {
            let shown = format!("{e:?}");
            let f = network_fault(e);
            assert!(!f.message.contains("ACS"), "{shown} -> {:?}", f.message);
            assert!(
                f.message.contains("file server") || f.message.contains("phone"),
                "{shown} -> {:?}",
                f.message
            );
        }
    }

    #[test]
    fn locations_resolve() {
        let b = "http://h:1/a/b.img?x=1";
        let b = &Url::parse(b).unwrap();
        let r = |loc: &str| resolve_location(b, loc).map(|u| u.serialize());
        assert_eq!(r("/c").unwrap(), "http://h:1/c");
        assert_eq!(r("c").unwrap(), "http://h:1/a/c");
        assert_eq!(r("//o/z").unwrap(), "http://o/z");
        assert_eq!(r("https://x/y").unwrap(), "https://x/y");
        assert_eq!(
            r("ftp://x/").unwrap_err().code,
            FaultCode::UnsupportedProtocol
        );
        assert!(r("").is_err());
        assert!(Url::parse("HTTP://H:1/x")
            .unwrap()
            .same_origin(&Url::parse("http://h:1/y").unwrap()));
    }

    #[test]
    fn fault_string_is_bounded_and_request_debug_redacts() {
        let f = TransferFault::new(FaultCode::FileTransferFailure, "x".repeat(1000));
        assert_eq!(f.to_fault().message.chars().count(), 256);
        let tls = TlsSettings::new();
        let r = FetchRequest {
            url: "http://h/",
            username: "u",
            password: "hunter2".into(),
            file_size: 0,
            tls: &tls,
            limits: DownloadLimits::default(),
        };
        assert!(!format!("{r:?}").contains("hunter2"));
    }

    #[test]
    fn unsupported_scheme_is_9013() {
        let tls = TlsSettings::new();
        let r = FetchRequest {
            url: "ftp://h/x",
            username: "",
            password: Secret::default(),
            file_size: 0,
            tls: &tls,
            limits: DownloadLimits::default(),
        };
        let dir = std::env::temp_dir().join(format!("dl-scheme-{}", std::process::id()));
        let e = download(&r, &dir, &mut |_| Ok(())).unwrap_err();
        assert_eq!(e.code, FaultCode::UnsupportedProtocol);
    }
}

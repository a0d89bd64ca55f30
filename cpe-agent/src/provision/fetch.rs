//! The transports: HTTP and HTTPS through `cwmp_client::download` (the phone's trust anchors,
//! Basic/Digest, size and stall limits), TFTP ([`super::tftp`]) and FTP (`suppaftp`, passive
//! mode, binary). Every fetch is bounded by `max` bytes.

use super::url::ProvUrl;
use cwmp_client::download::{download, DownloadLimits, FetchRequest, TransferFault};
use cwmp_client::TlsSettings;
use std::path::Path;
use std::time::Duration;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError {
    /// The server says the file does not exist (HTTP 404, TFTP error 1, FTP 550).
    pub not_found: bool,
    /// What went wrong (no secret).
    pub message: String,
}

impl FetchError {
    /// A failure other than "not found".
    pub fn other(message: impl Into<String>) -> FetchError {
        FetchError {
            not_found: false,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// What a fetch needs besides the URL.
#[derive(Clone)]
pub struct FetchEnv<'a> {
    /// User name when the URL carries none.
    pub username: &'a str,
    /// Password when the URL carries none.
    pub password: &'a str,
    /// TLS for https.
    pub tls: &'a TlsSettings,
    /// Where temporary files go (the state directory).
    pub tmp_dir: &'a Path,
    /// The most bytes accepted.
    pub max: u64,
}

impl std::fmt::Debug for FetchEnv<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FetchEnv")
            .field("username", &self.username)
            .field("max", &self.max)
            .finish_non_exhaustive()
    }
}

/// Fetch `url` into memory.
pub fn fetch(url: &ProvUrl, env: &FetchEnv<'_>) -> Result<Vec<u8>, FetchError> {
    let (user, password) = match &url.user {
        Some(u) => (u.clone(), url.password.clone().unwrap_or_default()),
        None => (env.username.to_owned(), env.password.to_owned()),
    };
    match url.scheme {
        "http" | "https" => fetch_http(url, &user, &password, env),
        "tftp" => super::tftp::fetch(url, env.max).map_err(|e| FetchError {
            not_found: e.not_found(),
            message: e.to_string(),
        }),
        "ftp" => fetch_ftp(url, &user, &password, env.max),
        other => Err(FetchError::other(format!("unsupported protocol {other}"))),
    }
}

fn fetch_http(
    url: &ProvUrl,
    user: &str,
    password: &str,
    env: &FetchEnv<'_>,
) -> Result<Vec<u8>, FetchError> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dest = env.tmp_dir.join(format!(
        "provisioning-{}-{}.part",
        std::process::id(),
        SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    ));
    let text = url.shown();
    let req = FetchRequest {
        url: &text,
        username: user,
        password: password.into(),
        file_size: 0,
        tls: env.tls,
        limits: DownloadLimits {
            max_size: env.max,
            stall_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(300),
            connect_timeout: Duration::from_secs(30),
            max_redirects: 5,
        },
    };
    match download(&req, &dest, &mut |_| Ok(())) {
        Ok(_) => {
            let data = std::fs::read(&dest);
            let _ = std::fs::remove_file(&dest);
            data.map_err(|e| FetchError::other(format!("reading the downloaded file: {e}")))
        }
        Err(TransferFault {
            http_status: Some(404),
            message,
            ..
        }) => Err(FetchError {
            not_found: true,
            message,
        }),
        Err(f) => Err(FetchError::other(f.message)),
    }
}

fn fetch_ftp(url: &ProvUrl, user: &str, password: &str, max: u64) -> Result<Vec<u8>, FetchError> {
    use std::io::Read;
    use suppaftp::FtpStream;
    let addr = format!(
        "{}:{}",
        if url.host.contains(':') {
            format!("[{}]", url.host)
        } else {
            url.host.clone()
        },
        url.port.unwrap_or(21)
    );
    let err = |what: &str, e: suppaftp::FtpError| FetchError::other(format!("FTP {what}: {e}"));
    let sock = std::net::ToSocketAddrs::to_socket_addrs(&addr)
        .map_err(|e| FetchError::other(format!("FTP server {addr}: {e}")))?
        .next()
        .ok_or_else(|| FetchError::other(format!("FTP server {addr}: no address")))?;
    let mut ftp =
        FtpStream::connect_timeout(sock, Duration::from_secs(30)).map_err(|e| err("connect", e))?;
    let _ = ftp
        .get_ref()
        .set_read_timeout(Some(Duration::from_secs(30)));
    let (u, p) = if user.is_empty() {
        ("anonymous", "cpe-agent@")
    } else {
        (user, password)
    };
    ftp.login(u, p).map_err(|e| err("login", e))?;
    ftp.transfer_type(suppaftp::types::FileType::Binary)
        .map_err(|e| err("binary mode", e))?;
    // Passive mode is suppaftp's default.
    let path = format!("{}{}", url.dir, url.file);
    let data = ftp
        .retr(&path, |reader| {
            let mut data = Vec::new();
            reader
                .take(max + 1)
                .read_to_end(&mut data)
                .map_err(suppaftp::FtpError::ConnectionError)?;
            Ok(data)
        })
        .map_err(|e| {
            let not_found = matches!(&e, suppaftp::FtpError::UnexpectedResponse(r)
                if r.status == suppaftp::Status::FileUnavailable);
            FetchError {
                not_found,
                message: format!("FTP RETR {path}: {e}"),
            }
        })?;
    if data.len() as u64 > max {
        return Err(FetchError::other(format!(
            "FTP file larger than {max} bytes"
        )));
    }
    let _ = ftp.quit();
    Ok(data)
}

//! Provisioning URLs (seed 001 §4.2): `proto://user:password@host:port/path/name`.
//!
//! * `proto` is `tftp`, `ftp`, `http` or `https`; the URL is parsed by the tree's one URL
//!   parser, [`cwmp_model::Url`] (which the `https-url` and `provisioning-url` item formats
//!   use too), never by hand.
//! * `$mac` becomes the MAC address in lower-case hex without separators; `$input` becomes
//!   `auto-provision-input`, and a URL with `$input` while that item is empty is refused.
//! * A blank file part (the URL ends in `/`, or has no path) means the device file
//!   `<mac>.cfg`; the general file of the model is fetched from the same directory.
//! * Credentials in the URL win over `auto-provision-username`/`-password`; they are never
//!   logged ([`ProvUrl::shown`]).

use std::fmt;

/// A parsed provisioning URL.
#[derive(Clone, PartialEq, Eq)]
pub struct ProvUrl {
    /// `tftp`, `ftp`, `http` or `https`.
    pub scheme: &'static str,
    /// Host (an IPv6 address without brackets).
    pub host: String,
    /// Port, when the URL gives one.
    pub port: Option<u16>,
    /// User name from the URL (percent-decoded).
    pub user: Option<String>,
    /// Password from the URL (percent-decoded).
    pub password: Option<String>,
    /// The directory part of the path, starting and ending with `/`.
    pub dir: String,
    /// The file part (empty when blank).
    pub file: String,
    /// The query, without `?`.
    pub query: Option<String>,
}

impl fmt::Debug for ProvUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown())
    }
}

/// Why a URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// `$input` appears but `auto-provision-input` is empty.
    NoInput,
    /// Not a provisioning URL.
    Invalid(String),
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlError::NoInput => write!(
                f,
                "the URL asks for $input but auto-provision-input is empty \
                 (`cpe-agent admin --config FILE set auto-provision-input NAME`)"
            ),
            UrlError::Invalid(m) => write!(f, "{m}"),
        }
    }
}

impl std::error::Error for UrlError {}

/// The MAC address as the seed's file names write it: lower-case hex without separators.
pub fn bare_mac(mac: &str) -> String {
    mac.chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// Replace `$mac` and `$input`, then parse. `input` is `auto-provision-input`.
pub fn expand(url: &str, mac: &str, input: &str) -> Result<ProvUrl, UrlError> {
    let mut text = url.trim().replace("$mac", &bare_mac(mac));
    if text.contains("$input") {
        let input = input.trim();
        if input.is_empty() {
            return Err(UrlError::NoInput);
        }
        text = text.replace("$input", input);
    }
    parse(&text)
}

/// Parse a provisioning URL (after substitution).
pub fn parse(text: &str) -> Result<ProvUrl, UrlError> {
    let bad = |m: &str| UrlError::Invalid(format!("not a provisioning URL: {m}"));
    let u = cwmp_model::Url::parse(text).map_err(|e| bad(&e.to_string()))?;
    let scheme = match u.scheme() {
        "tftp" => "tftp",
        "ftp" => "ftp",
        "http" => "http",
        "https" => "https",
        _ => return Err(bad("the protocol must be tftp, ftp, http or https")),
    };
    let path = u.path();
    let (dir, file) = match path.rsplit_once('/') {
        Some((d, f)) => (format!("{d}/"), f.to_owned()),
        None => ("/".to_owned(), path.to_owned()),
    };
    Ok(ProvUrl {
        scheme,
        host: u.host().to_owned(),
        port: u.explicit_port(),
        user: u.username().filter(|n| !n.is_empty()).map(str::to_owned),
        password: u.password().map(str::to_owned),
        dir,
        file,
        query: u
            .request_target()
            .split_once('?')
            .map(|(_, q)| q.to_owned()),
    })
}

impl ProvUrl {
    /// The same URL with another file part.
    pub fn with_file(&self, file: &str) -> ProvUrl {
        ProvUrl {
            file: file.to_owned(),
            ..self.clone()
        }
    }

    /// The device file's name: the file part, or `<mac>.cfg` when blank.
    pub fn device_file(&self, mac: &str) -> String {
        if self.file.is_empty() {
            format!("{}.cfg", bare_mac(mac))
        } else {
            self.file.clone()
        }
    }

    fn host_port(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }

    /// The path with the file part and the query.
    pub fn path_and_query(&self) -> String {
        match &self.query {
            Some(q) => format!("{}{}?{q}", self.dir, self.file),
            None => format!("{}{}", self.dir, self.file),
        }
    }

    /// The URL without credentials (what logs and the access table show).
    pub fn shown(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme,
            self.host_port(),
            self.path_and_query()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: &str = "00:1A:E8:A1:B2:C3";

    #[test]
    fn seed_forms() {
        let u = expand("http://user:password@172.16.1.3:8080/X4/$mac.cfg", MAC, "").unwrap();
        assert_eq!(u.scheme, "http");
        assert_eq!(u.host, "172.16.1.3");
        assert_eq!(u.port, Some(8080));
        assert_eq!(u.user.as_deref(), Some("user"));
        assert_eq!(u.password.as_deref(), Some("password"));
        assert_eq!(u.dir, "/X4/");
        assert_eq!(u.file, "001ae8a1b2c3.cfg");
        assert_eq!(u.shown(), "http://172.16.1.3:8080/X4/001ae8a1b2c3.cfg");
        assert!(!format!("{u:?}").contains("password"));
        let blank = expand("tftp://172.16.6.45/", MAC, "").unwrap();
        assert_eq!(blank.device_file(MAC), "001ae8a1b2c3.cfg");
        let bare = expand("ftp://10.0.0.1", MAC, "").unwrap();
        assert_eq!((bare.dir.as_str(), bare.file.as_str()), ("/", ""));
        let q = expand("http://ip/mac.cfg?mac=$mac.cfg", MAC, "").unwrap();
        assert_eq!(q.path_and_query(), "/mac.cfg?mac=001ae8a1b2c3.cfg");
        assert_eq!(
            expand("tftp://172.16.6.45/$input.txt", MAC, "").unwrap_err(),
            UrlError::NoInput
        );
        assert_eq!(
            expand("tftp://172.16.6.45/$input.txt", MAC, "room12")
                .unwrap()
                .file,
            "room12.txt"
        );
        assert!(expand("sftp://h/x", MAC, "").is_err());
        assert!(expand("not a url", MAC, "").is_err());
        let enc = parse("ftp://a%40b:p%3Aw@h/x.cfg").unwrap();
        assert_eq!(enc.user.as_deref(), Some("a@b"));
        assert_eq!(enc.password.as_deref(), Some("p:w"));
    }
}

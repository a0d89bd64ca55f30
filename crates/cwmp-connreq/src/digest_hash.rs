//! The HTTP Digest response computation (RFC 7616 §3.4.1–§3.4.3, RFC 2617 §3.2.2.1), shared by
//! every Digest user in the project: the connection-request verifier here (server side), the
//! ACS client's `Authorization` header and the file downloader (client side), and the test ACSs.
//! One formula, checked once against the RFC example vectors.

use md5::{Digest as _, Md5};
use sha2::Sha256;

/// A Digest `algorithm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// `MD5` (the default when absent; the only one TR-069 requires of an ACS).
    Md5,
    /// `MD5-sess` (TR-069 requires CPE support).
    Md5Sess,
    /// `SHA-256` (RFC 7616).
    Sha256,
    /// `SHA-256-sess` (RFC 7616).
    Sha256Sess,
}

impl DigestAlgorithm {
    /// The algorithm an `algorithm` parameter names (case-insensitive); absent means MD5.
    pub fn parse(name: Option<&str>) -> Option<DigestAlgorithm> {
        match name.map(str::to_ascii_uppercase).as_deref() {
            None | Some("MD5") => Some(DigestAlgorithm::Md5),
            Some("MD5-SESS") => Some(DigestAlgorithm::Md5Sess),
            Some("SHA-256") => Some(DigestAlgorithm::Sha256),
            Some("SHA-256-SESS") => Some(DigestAlgorithm::Sha256Sess),
            _ => None,
        }
    }

    /// The token as written in headers (`MD5`, `MD5-sess`, `SHA-256`, `SHA-256-sess`).
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Md5 => "MD5",
            DigestAlgorithm::Md5Sess => "MD5-sess",
            DigestAlgorithm::Sha256 => "SHA-256",
            DigestAlgorithm::Sha256Sess => "SHA-256-sess",
        }
    }

    /// Whether this is a `-sess` variant (HA1 also covers the nonce and cnonce).
    pub fn is_sess(self) -> bool {
        matches!(self, DigestAlgorithm::Md5Sess | DigestAlgorithm::Sha256Sess)
    }

    /// Lower-case hex digest of the parts joined with `:`.
    pub fn hash_parts(self, parts: &[&[u8]]) -> String {
        fn run<D: sha2::Digest>(mut d: D, parts: &[&[u8]]) -> String {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    d.update(b":");
                }
                d.update(p);
            }
            hex::encode(d.finalize())
        }
        match self {
            DigestAlgorithm::Md5 | DigestAlgorithm::Md5Sess => run(Md5::new(), parts),
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha256Sess => run(Sha256::new(), parts),
        }
    }
}

/// The `qop` of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestQop {
    /// No `qop` (the RFC 2069 form): no `nc`, no `cnonce`.
    None,
    /// `qop=auth`.
    Auth,
    /// `qop=auth-int` (HA2 covers the body).
    AuthInt,
}

impl DigestQop {
    /// The token as written in headers, if any.
    pub fn name(self) -> Option<&'static str> {
        match self {
            DigestQop::None => None,
            DigestQop::Auth => Some("auth"),
            DigestQop::AuthInt => Some("auth-int"),
        }
    }
}

/// Everything the `response` value depends on.
#[derive(Clone, Copy)]
pub struct DigestInput<'a> {
    /// The algorithm.
    pub algorithm: DigestAlgorithm,
    /// The user name as sent.
    pub username: &'a str,
    /// The realm.
    pub realm: &'a str,
    /// The password (never logged).
    pub password: &'a str,
    /// The server's nonce.
    pub nonce: &'a str,
    /// The client's cnonce (ignored for [`DigestQop::None`]).
    pub cnonce: &'a str,
    /// The nonce count as sent: 8 hex digits (ignored for [`DigestQop::None`]).
    pub nc: &'a str,
    /// The qop.
    pub qop: DigestQop,
    /// The request method.
    pub method: &'a str,
    /// The request target as sent in `uri`.
    pub uri: &'a str,
    /// The request body (only used by [`DigestQop::AuthInt`]).
    pub body: &'a [u8],
}

impl std::fmt::Debug for DigestInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DigestInput")
            .field("algorithm", &self.algorithm)
            .field("username", &self.username)
            .field("realm", &self.realm)
            .field("password", &cwmp_model::REDACTED)
            .field("qop", &self.qop)
            .field("method", &self.method)
            .field("uri", &self.uri)
            .finish_non_exhaustive()
    }
}

/// The Digest `response` value (lower-case hex).
pub fn digest_response(i: &DigestInput<'_>) -> String {
    let alg = i.algorithm;
    let mut ha1 = alg.hash_parts(&[
        i.username.as_bytes(),
        i.realm.as_bytes(),
        i.password.as_bytes(),
    ]);
    if alg.is_sess() {
        ha1 = alg.hash_parts(&[ha1.as_bytes(), i.nonce.as_bytes(), i.cnonce.as_bytes()]);
    }
    let ha2 = match i.qop {
        DigestQop::AuthInt => {
            let body_hash = alg.hash_parts(&[i.body]);
            alg.hash_parts(&[i.method.as_bytes(), i.uri.as_bytes(), body_hash.as_bytes()])
        }
        DigestQop::None | DigestQop::Auth => {
            alg.hash_parts(&[i.method.as_bytes(), i.uri.as_bytes()])
        }
    };
    match i.qop.name() {
        None => alg.hash_parts(&[ha1.as_bytes(), i.nonce.as_bytes(), ha2.as_bytes()]),
        Some(q) => alg.hash_parts(&[
            ha1.as_bytes(),
            i.nonce.as_bytes(),
            i.nc.as_bytes(),
            i.cnonce.as_bytes(),
            q.as_bytes(),
            ha2.as_bytes(),
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(
        alg: DigestAlgorithm,
        qop: DigestQop,
        method: &'a str,
        uri: &'a str,
    ) -> DigestInput<'a> {
        DigestInput {
            algorithm: alg,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            cnonce: "0a4f113b",
            nc: "00000001",
            qop,
            method,
            uri,
            body: b"",
        }
    }

    #[test]
    fn rfc2617_section_3_5() {
        let i = input(
            DigestAlgorithm::Md5,
            DigestQop::Auth,
            "GET",
            "/dir/index.html",
        );
        assert_eq!(digest_response(&i), "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn rfc7616_section_3_9_1_md5_and_sha256() {
        let mut i = input(
            DigestAlgorithm::Md5,
            DigestQop::Auth,
            "GET",
            "/dir/index.html",
        );
        i.realm = "http-auth@example.org";
        i.username = "Mufasa";
        i.password = "Circle of Life";
        i.nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        i.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        assert_eq!(digest_response(&i), "8ca523f5e9506fed4657c9700eebdbec");
        i.algorithm = DigestAlgorithm::Sha256;
        i.cnonce = "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ";
        assert_eq!(
            digest_response(&i),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn names_round_trip() {
        for a in [
            DigestAlgorithm::Md5,
            DigestAlgorithm::Md5Sess,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha256Sess,
        ] {
            assert_eq!(DigestAlgorithm::parse(Some(a.name())), Some(a));
        }
        assert_eq!(DigestAlgorithm::parse(None), Some(DigestAlgorithm::Md5));
        assert_eq!(DigestAlgorithm::parse(Some("SHA-512-256")), None);
        let debug = format!(
            "{:?}",
            input(DigestAlgorithm::Md5, DigestQop::Auth, "GET", "/")
        );
        assert!(!debug.contains("Circle"));
    }
}

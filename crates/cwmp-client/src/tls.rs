//! TLS material for the connection to the ACS (TR-069 §3.3; rustls 0.23 with ring).
//!
//! * Trust anchors: the CA certificates the device was given (on the Desk Phone CP the items
//!   "ACS server CA certificate 1" and "… 2"), or, when none is given, the Mozilla root set
//!   compiled into `webpki-roots` (the documented default). Giving any CA replaces the default
//!   set: a device provisioned with its ACS's CA must not also trust every public CA.
//! * The ACS host name (the host part of the URL) is what the certificate is checked against,
//!   and is sent as SNI when it is a DNS name (rustls never sends SNI for IP addresses,
//!   RFC 6066 §3).
//! * The client identity: the certificate and key the device was given ("ACS client
//!   certificate"/"ACS client key"), else the device's default certificate and key, which the
//!   embedder supplies (the library only takes PEM).
//!
//! PEM is parsed by [`cwmp_model::pem`], which also reads the one-line form the Desk Phone CP
//! documentation prints (spaces instead of newlines in the Base64 text).

use crate::error::{Detail, Error};
use base64::Engine as _;
use cwmp_model::pem::PemBlock;
use rustls_pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use std::fmt;
use std::sync::Arc;

/// A client certificate chain and its private key, presented to the ACS when it asks.
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> ClientIdentity {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl fmt::Debug for ClientIdentity {
    /// The key is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.chain.len())
            .field("key", &cwmp_model::REDACTED)
            .finish()
    }
}

impl ClientIdentity {
    /// A certificate (chain, leaf first) and a private key (PKCS#8, PKCS#1 RSA or SEC1 EC), in
    /// PEM. Fails when either cannot be parsed, the key type is not supported, or the key does
    /// not belong to the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<ClientIdentity, Error> {
        let chain = parse_certificates(cert_pem)?;
        let key = parse_private_key(key_pem)?;
        let provider = rustls::crypto::ring::default_provider();
        let certified =
            rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider)
                .map_err(|e| {
                    Error::InvalidPem(Detail::with_source(
                        format!("client certificate and key: {e}"),
                        e,
                    ))
                })?;
        drop(certified);
        Ok(ClientIdentity { chain, key })
    }

    /// The certificate chain (DER), leaf first.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }
}

/// Which certificates the CPE trusts for the ACS, and which identity it presents.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// `None`: the default root set (`webpki-roots`).
    cas: Option<Arc<Vec<CertificateDer<'static>>>>,
    identity: Option<ClientIdentity>,
}

impl TlsSettings {
    /// Default trust (the `webpki-roots` Mozilla set) and no client certificate.
    pub fn new() -> TlsSettings {
        TlsSettings::default()
    }

    /// Trust the CA certificate(s) in `pem` (one or more `CERTIFICATE` blocks). The first call
    /// replaces the default root set; later calls add to it (CA 1 and CA 2).
    pub fn with_ca_pem(mut self, pem: &str) -> Result<TlsSettings, Error> {
        let certs = parse_certificates(pem)?;
        let mut store = rustls::RootCertStore::empty();
        for c in &certs {
            store.add(c.clone()).map_err(|e| {
                Error::InvalidPem(Detail::with_source(format!("CA certificate: {e}"), e))
            })?;
        }
        let mut all = self.cas.map(|a| (*a).clone()).unwrap_or_default();
        all.extend(certs);
        self.cas = Some(Arc::new(all));
        Ok(self)
    }

    /// Present this identity when the ACS asks for a client certificate.
    pub fn with_identity(mut self, identity: ClientIdentity) -> TlsSettings {
        self.identity = Some(identity);
        self
    }

    /// Whether specific CAs replace the default root set.
    pub fn has_custom_cas(&self) -> bool {
        self.cas.is_some()
    }

    /// The identity presented to the ACS, if any.
    pub fn identity(&self) -> Option<&ClientIdentity> {
        self.identity.as_ref()
    }

    /// The rustls client configuration of these settings (ring, TLS 1.2 and 1.3, certificate
    /// verification always on, SNI for DNS names): what the session transport and the
    /// fleet's event loop connect with. Build it once per session or phone, not per
    /// connection: it copies the trust anchors.
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(Detail::with_source(e.to_string(), e)))?;
        let mut roots = rustls::RootCertStore::empty();
        match &self.cas {
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            Some(cas) => {
                for c in cas.iter() {
                    roots.add(c.clone()).map_err(|e| {
                        Error::InvalidPem(Detail::with_source(format!("CA certificate: {e}"), e))
                    })?;
                }
            }
        }
        let builder = builder.with_root_certificates(roots);
        let config = match &self.identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .map_err(|e| {
                    Error::InvalidPem(Detail::with_source(
                        format!("client certificate and key: {e}"),
                        e,
                    ))
                })?,
            None => builder.with_no_client_auth(),
        };
        Ok(Arc::new(config))
    }

    /// The ureq TLS configuration: rustls with ring, certificate verification always on.
    pub(crate) fn ureq_config(&self) -> ureq::tls::TlsConfig {
        use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsProvider};
        let roots = match &self.cas {
            None => RootCerts::WebPki,
            Some(cas) => {
                let certs: Vec<Certificate<'static>> = cas
                    .iter()
                    .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                    .collect();
                RootCerts::new_with_certs(&certs)
            }
        };
        let client_cert = self.identity.as_ref().and_then(|id| {
            let chain: Vec<Certificate<'static>> = id
                .chain
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            // ureq takes keys from DER only with a key kind it does not export, so the key
            // goes through PEM with the label of its kind.
            let (label, der) = match &id.key {
                PrivateKeyDer::Pkcs1(k) => ("RSA PRIVATE KEY", k.secret_pkcs1_der()),
                PrivateKeyDer::Sec1(k) => ("EC PRIVATE KEY", k.secret_sec1_der()),
                other => ("PRIVATE KEY", other.secret_der()),
            };
            let pem = to_pem(label, der);
            PrivateKey::from_pem(pem.as_bytes())
                .ok()
                .map(|key| ClientCert::new_with_certs(&chain, key))
        });
        ureq::tls::TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .root_certs(roots)
            .client_cert(client_cert)
            .use_sni(true)
            .disable_verification(false)
            .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .build()
    }
}

/// The name the ACS's certificate is checked against (and sent as SNI when it is a DNS
/// name): the host of the URL, an IP address without its brackets.
pub fn server_name(host: &str) -> Result<rustls_pki_types::ServerName<'static>, Error> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    rustls_pki_types::ServerName::try_from(bare.to_owned()).map_err(|e| {
        Error::InvalidConfig(Detail::with_source(
            format!("TLS server name {host:?}: {e}"),
            e,
        ))
    })
}

/// DER as PEM text with this label.
fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The blocks of a PEM text (the project's one parser, [`cwmp_model::pem`]; lax: text around
/// the blocks, as in CA bundles, is skipped).
fn pem_blocks(text: &str) -> Result<Vec<PemBlock>, Error> {
    cwmp_model::pem::parse(text)
        .map_err(|e| Error::InvalidPem(Detail::with_source(e.to_string(), e)))
}

/// Every `CERTIFICATE` block of a PEM text, in order. Fails when there is none.
pub fn parse_certificates(pem: &str) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<CertificateDer<'static>> = pem_blocks(pem)?
        .into_iter()
        .filter(|b| b.label == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.der))
        .collect();
    if certs.is_empty() {
        return Err(Error::InvalidPem(Detail::new("no CERTIFICATE block")));
    }
    Ok(certs)
}

/// The first private key of a PEM text: `PRIVATE KEY` (PKCS#8), `RSA PRIVATE KEY` (PKCS#1) or
/// `EC PRIVATE KEY` (SEC1). Encrypted keys are refused.
pub fn parse_private_key(pem: &str) -> Result<PrivateKeyDer<'static>, Error> {
    for b in pem_blocks(pem)? {
        let key = match b.label.as_str() {
            "PRIVATE KEY" => PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(b.der)),
            "RSA PRIVATE KEY" => PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(b.der)),
            "EC PRIVATE KEY" => PrivateKeyDer::Sec1(PrivateSec1KeyDer::from(b.der)),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(Error::InvalidPem(Detail::new(
                    "encrypted private keys are not supported",
                )))
            }
            _ => continue,
        };
        rustls::crypto::ring::sign::any_supported_type(&key)
            .map_err(|e| Error::InvalidPem(Detail::with_source(format!("private key: {e}"), e)))?;
        return Ok(key);
    }
    Err(Error::InvalidPem(Detail::new("no private key block")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Desk Phone CP's documented "Devices MTLS Default CA", exactly as the product page
    /// prints it: one line, Base64 split by spaces.
    const ONE_LINE_CA: &str = "-----BEGIN CERTIFICATE----- MIIFWzCCA0OgAwIBAgIIMDxi61kQHl4wDQYJKoZIhvcNAQELBQAwTDELMAkGA1UE BhMCREUxDTALBgNVBAoTBEF0b3MxDDAKBgNVBAsTA1VDQzEgMB4GA1UEAxMXRGV2 aWNlcyBNVExTIERlZmF1bHQgQ0EwIBcNMTgwMTAxMDAwMDAwWhgPMjA2NzEyMzEy MzU5NTlaMEwxCzAJBgNVBAYTAkRFMQ0wCwYDVQQKEwRBdG9zMQwwCgYDVQQLEwNV Q0MxIDAeBgNVBAMTF0RldmljZXMgTVRMUyBEZWZhdWx0IENBMIICIjANBgkqhkiG 9w0BAQEFAAOCAg8AMIICCgKCAgEA4d8cBLr17kBUPpZMyX1fdWiWgoYmMsAsGcgl IHiVaY5fXICjmqa090j52WEsDp7gytI2PPDqdg1rYP34PCs+p08nFJQXY4k0OQU5 K50+4fa2B0QNeBSjgVAs/GF1nyYPs4ZJY1Kx1C3H2YSNjdQJmDvTi5Dn7RdPeq25 ttLz2xj/jMN3Jb8ptWRTMPNotdmT8m0wiWxHzn4SBB2n8BaHEWpLoEFw9JWjj+AT cnfmP8kwmehDDXJMMWdYEWDQsQYzcgQD4XN6+1tyDk2IP1u5JQhJKaDHzqnklJKT JnCkjulwyQ0BmoBU9Xfpigf+06K8Mgp214ugeTBC+gLFNINKFeErg5T/MXB4neZb pWVR+lx3IRqAOAn2wvrrhpj9Z8hlbZwh4vRNgoCw3x3sJK79o+lRqth7oEsnCWuI zDTkoBlHjcEiKtwJmH9eG4DL1IIMFhMVWltRsW27gf4wsxTyseGNZoq70O0Tsr4L gSQhoxkX64zm+bKAQoCqe9W3aPeDZcrKCuhZmTKG13B/uxNRW9+EoXj0m8WE+4be GU3lYDy0pgWvrnC0kdSfbO4bxflY4rar8RcFCZAC87+g3FzLiCZSIUu0on9TtERB ZsyMVTVUSc5Az4IHeQel3IrKrakVnXpJaw9odfEOyS9pgt7Z3bfgCTvSopPXEauN r3rPZJ8CAwEAAaM/MD0wDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUDhjapNlz W+/a4CNAPx48MQrLNPgwCwYDVR0PBAQDAgEGMA0GCSqGSIb3DQEBCwUAA4ICAQDJ /8yHVeXGprG05+LuicUdf7HBZxleb4G8Uoxpc1OVQeY4TwnMtiM1tqO0qUhZSfPs ofjgvIEjfN+t8COp+/fwZR9kL9htiUhat1AQCnd4fj6T0AuNnuEXUiSd5dykcqQr FwaUwNoDasW/lVP8GE3+LHagYTDC3IdMhgQriyeV4dIqd+QgqsBewvs6XpU/zcdu BhIbMu9qiyzm1AN7GKhw6YQ1auWjXzWwIO8ccJ42UDvbf5U/VD03aPXGMI8lMy7I gflLzUzgrDTSc6PGgIZ3qFAhuTzA1/1TTA+yl71kuE0aa4wbycNg2V5D8f1TTzNg igANeB4sBcMEA6Zndr/VwfFoo+IXzDvnV0n/FULRymVGrC3ch/HVcER5yyyYGLHU 4TS+NRm1hUGKhZ5gVzSoP5U94FBzZU4EgC2J/3eW7w3gdjPmaokUV+i1jY0t09kz bE8br2H8hoZGAAzy4MI7FHNLlpQtU/C3GnJ/ej4qnakLRFU/J3gONnvv230mrYPl R4pVx00QZnxAbfkewCRU6r1tNapcQueoHdLBiOg8gMJZ2WQKPpQQaKhACbd7Zyp2 Gw7h7S1i2QErlBqbYU7S8a4mGdq7sG3c/0faWtR9Cr1peLb8jkGVbvEi4zf6/cMB Ojde30l8hogWjOJwRjlKCwbKEmubhlswqvTO11qAPQ== -----END CERTIFICATE-----";

    #[test]
    fn one_line_pem_from_the_product_page_parses_as_a_trust_anchor() {
        let certs = parse_certificates(ONE_LINE_CA).expect("parses");
        assert_eq!(certs.len(), 1);
        let s = TlsSettings::new()
            .with_ca_pem(ONE_LINE_CA)
            .expect("usable CA");
        assert!(s.has_custom_cas());
    }

    #[test]
    fn bad_pem_is_a_typed_error() {
        for bad in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        ] {
            assert!(matches!(
                TlsSettings::new().with_ca_pem(bad),
                Err(Error::InvalidPem(_))
            ));
        }
        assert!(matches!(
            parse_private_key("nothing"),
            Err(Error::InvalidPem(_))
        ));
        // A PEM syntax error carries the one PEM parser's typed error as its source.
        let e = TlsSettings::new()
            .with_ca_pem("-----BEGIN CERTIFICATE-----\nAAAA\n")
            .expect_err("unterminated");
        let source = std::error::Error::source(&e).expect("source");
        assert!(
            source.downcast_ref::<cwmp_model::pem::PemError>().is_some(),
            "{source:?}"
        );
        assert!(matches!(
            parse_private_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"),
            Err(Error::InvalidPem(_))
        ));
        assert!(matches!(
            ClientIdentity::from_pem(ONE_LINE_CA, "x"),
            Err(Error::InvalidPem(_))
        ));
    }
}

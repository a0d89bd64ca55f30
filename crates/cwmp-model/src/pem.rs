//! PEM text (RFC 7468) for certificates and keys: the project's one PEM parser, used by the
//! Desk Phone data model (to validate certificate and key items) and by the client's TLS
//! settings (to load them).
//!
//! The Base64 decoding of each block is rustls-pki-types' ([`rustls_pki_types::pem`]; its
//! decoder runs in constant time for private keys). What this module adds is the framing the
//! product needs:
//! * **The one-line form**: the Desk Phone CP's product page prints certificates with their
//!   newlines replaced by spaces (`-----BEGIN CERTIFICATE----- MIIF… -----END CERTIFICATE-----`).
//!   pki-types reads PEM line by line, so each block is re-framed (BEGIN line, body, END line)
//!   before decoding; whitespace inside the body is ignored.
//! * **Strict** ([`parse_strict`], for configuration items): only whitespace may surround the
//!   blocks, labels are RFC 7468 labels (upper-case letters, digits, spaces), bodies are
//!   non-empty Base64 without headers. **Lax** ([`parse`], for TLS material an embedder
//!   hands in): explanatory text between blocks is skipped (RFC 7468 §5.2), as in CA bundles.
//! * Blocks with a label pki-types does not know (e.g. `ENCRYPTED PRIVATE KEY`) are still
//!   returned, their body decoded by the `base64` crate, so the caller can name what it refuses.
//!
//! Error messages name the block and its label but never quote the text (a key is a secret).

use base64::Engine as _;
use rustls_pki_types::pem::{PemObject as _, SectionKind};
use std::fmt;

/// At most this many blocks are read from one text (a CA bundle for one ACS is small).
pub const MAX_BLOCKS: usize = 64;

/// One PEM block.
#[derive(Clone, PartialEq, Eq)]
pub struct PemBlock {
    /// The label, e.g. `CERTIFICATE`, `PRIVATE KEY`.
    pub label: String,
    /// The decoded body (DER). `Debug` shows only its length: it may be a private key.
    pub der: Vec<u8>,
}

impl fmt::Debug for PemBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PemBlock")
            .field("label", &self.label)
            .field("der_len", &self.der.len())
            .finish()
    }
}

/// Why a PEM text was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PemError {
    message: String,
}

impl PemError {
    fn new(block: usize, label: Option<&str>, what: impl fmt::Display) -> PemError {
        let message = match label {
            Some(l) => format!("block {block} ({l}): {what}"),
            None => format!("block {block}: {what}"),
        };
        PemError { message }
    }
}

impl fmt::Display for PemError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PemError {}

/// Every block of `text`, in order; text outside the blocks is skipped (RFC 7468 lax).
pub fn parse(text: &str) -> Result<Vec<PemBlock>, PemError> {
    blocks(text, false)
}

/// Every block of `text`, in order, RFC 7468 strict (whitespace-tolerant): only whitespace
/// may surround the blocks. Empty text has no blocks.
pub fn parse_strict(text: &str) -> Result<Vec<PemBlock>, PemError> {
    blocks(text, true)
}

fn blocks(text: &str, strict: bool) -> Result<Vec<PemBlock>, PemError> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    loop {
        let n = out.len() + 1;
        let Some(start) = rest.find("-----BEGIN ") else {
            if strict && !rest.trim().is_empty() {
                return Err(PemError::new(n, None, "expected `-----BEGIN `"));
            }
            return Ok(out);
        };
        if strict && start != 0 {
            return Err(PemError::new(n, None, "expected `-----BEGIN `"));
        }
        if out.len() == MAX_BLOCKS {
            return Err(PemError::new(n, None, "too many PEM blocks"));
        }
        let after = &rest[start + "-----BEGIN ".len()..];
        let end = after
            .find("-----")
            .ok_or_else(|| PemError::new(n, None, "unterminated BEGIN line"))?;
        let label = &after[..end];
        if label.is_empty()
            || label.len() > 64
            || !label
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b' ')
        {
            return Err(PemError::new(n, None, "invalid label"));
        }
        let body_and_rest = &after[end + 5..];
        let footer = format!("-----END {label}-----");
        let pos = body_and_rest
            .find(&footer)
            .ok_or_else(|| PemError::new(n, Some(label), "no matching END line"))?;
        let body = &body_and_rest[..pos];
        out.push(PemBlock {
            label: label.to_owned(),
            der: decode(n, label, body)?,
        });
        rest = body_and_rest[pos + footer.len()..].trim_start();
    }
}

/// Decodes one body: through rustls-pki-types when it knows the label, else the `base64` crate.
fn decode(n: usize, label: &str, body: &str) -> Result<Vec<u8>, PemError> {
    if body.contains(':') {
        return Err(PemError::new(
            n,
            Some(label),
            "encrypted or annotated PEM is not supported",
        ));
    }
    let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let padding = b64.bytes().rev().take_while(|&b| b == b'=').count();
    if b64.is_empty()
        || b64.len() % 4 != 0
        || padding > 2
        || !b64[..b64.len() - padding]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
    {
        return Err(PemError::new(n, Some(label), "body is not base64"));
    }
    if SectionKind::try_from(label.as_bytes()).is_ok() {
        // Re-framed on lines of their own: the form pki-types reads.
        let framed = format!("-----BEGIN {label}-----\n{b64}\n-----END {label}-----\n");
        match <(SectionKind, Vec<u8>)>::pem_slice_iter(framed.as_bytes()).next() {
            Some(Ok((_, der))) => Ok(der),
            _ => Err(PemError::new(n, Some(label), "body is not base64")),
        }
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(b64.as_bytes())
            .map_err(|_| PemError::new(n, Some(label), "body is not base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CERT: &str =
        "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\nAAAA\n-----END CERTIFICATE-----\n";

    fn labels(text: &str) -> Result<Vec<String>, PemError> {
        parse_strict(text).map(|b| b.into_iter().map(|b| b.label).collect())
    }

    #[test]
    fn accepted() {
        assert_eq!(labels(""), Ok(vec![]));
        assert_eq!(labels("  \n"), Ok(vec![]));
        assert_eq!(labels(CERT), Ok(vec!["CERTIFICATE".to_owned()]));
        assert_eq!(labels(&format!("{CERT}\n{CERT}")).unwrap().len(), 2);
        // The product page shows its certificates flattened onto one line: still PEM.
        let one_line =
            parse_strict("-----BEGIN CERTIFICATE----- MIIE AAA= -----END CERTIFICATE-----")
                .unwrap();
        assert_eq!(one_line[0].der.len(), 5);
        assert_eq!(
            labels("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----"),
            Ok(vec!["EC PRIVATE KEY".to_owned()])
        );
        // A label pki-types does not know is still decoded.
        let other = parse_strict(
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAEC\n-----END ENCRYPTED PRIVATE KEY-----",
        )
        .unwrap();
        assert_eq!(other[0].der, [0, 1, 2]);
        // Lax: explanatory text around blocks is skipped.
        assert_eq!(
            parse(&format!("# a CA bundle\n{CERT}trailing"))
                .unwrap()
                .len(),
            1
        );
        assert!(parse("hello").unwrap().is_empty());
    }

    #[test]
    fn refused() {
        for bad in [
            "hello",
            "-----BEGIN CERTIFICATE-----\nAAAA\n",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END PRIVATE KEY-----",
            "-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nAA*A\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----",
            "-----BEGIN CERTIFICATE-----\nA=AA\n-----END CERTIFICATE-----",
            "-----BEGIN certificate-----\nAAAA\n-----END certificate-----",
            "-----BEGIN -----\nAAAA\n-----END -----",
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\ntrailing text",
            "-----BEGIN CERTIFICATE",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nAAAA\n-----END RSA PRIVATE KEY-----",
        ] {
            let e = parse_strict(bad).expect_err(bad);
            assert!(!e.to_string().contains("AAAA"), "{e}");
        }
        let many = CERT.repeat(MAX_BLOCKS + 1);
        assert!(parse(&many).is_err());
        assert_eq!(parse(&CERT.repeat(MAX_BLOCKS)).unwrap().len(), MAX_BLOCKS);
    }
}

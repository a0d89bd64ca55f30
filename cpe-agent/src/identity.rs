//! The phone's default device certificate.
//!
//! The real Desk Phone CP ships a Unify-issued device certificate that it presents when no
//! ACS client certificate is provisioned (product page). The seed gives that certificate
//! without its private key, so the simulator **generates** its own: on first start, a
//! self-signed ECDSA P-256 certificate (rcgen) whose common name and subject alternative name
//! are the phone's serial number, written to `device-cert.pem` and `device-key.pem` (mode 0600)
//! in the state directory. It survives factory resets (a real phone's device certificate is
//! part of the hardware, not of its configuration). Replace both files to present another one.

use crate::state::write_atomic;
use cwmp_client::ClientIdentity;
use std::io;
use std::path::Path;

/// File name of the default device certificate.
pub const DEVICE_CERT_FILE: &str = "device-cert.pem";
/// File name of the default device key.
pub const DEVICE_KEY_FILE: &str = "device-key.pem";

/// Load the default identity from `dir`, generating it first if it is missing.
pub fn default_identity(dir: &Path, serial_number: &str) -> io::Result<ClientIdentity> {
    let cert_path = dir.join(DEVICE_CERT_FILE);
    let key_path = dir.join(DEVICE_KEY_FILE);
    if !cert_path.exists() || !key_path.exists() {
        let mut params = rcgen::CertificateParams::new(vec![serial_number.to_owned()])
            .map_err(io::Error::other)?;
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, serial_number);
        params
            .distinguished_name
            .push(rcgen::DnType::OrganizationName, "Unify (simulated)");
        let key = rcgen::KeyPair::generate().map_err(io::Error::other)?;
        let cert = params.self_signed(&key).map_err(io::Error::other)?;
        // The key first: a crash in between leaves no certificate, so it is regenerated.
        write_atomic(dir, DEVICE_KEY_FILE, key.serialize_pem().as_bytes(), 0o600)?;
        write_atomic(dir, DEVICE_CERT_FILE, cert.pem().as_bytes(), 0o644)?;
        log::info!(
            "generated the default device certificate in {}",
            dir.display()
        );
    }
    let cert = std::fs::read_to_string(&cert_path)?;
    let key = std::fs::read_to_string(&key_path)?;
    ClientIdentity::from_pem(&cert, &key)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_once_and_key_private() {
        let d = tempfile::tempdir().unwrap();
        default_identity(d.path(), "001AE8A1B2C3").unwrap();
        let pem1 = std::fs::read_to_string(d.path().join(DEVICE_CERT_FILE)).unwrap();
        default_identity(d.path(), "001AE8A1B2C3").unwrap();
        let pem2 = std::fs::read_to_string(d.path().join(DEVICE_CERT_FILE)).unwrap();
        assert_eq!(pem1, pem2);
        let mode = std::fs::metadata(d.path().join(DEVICE_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

//! Auto provisioning without an ACS (seed 001): the phone learns a provisioning URL (DHCP
//! option, SIP PnP, the static server), fetches the general file of its model and its own
//! MAC-named file, applies them through the same validated local-change path as
//! `cpe-agent admin set`, and follows the links inside (firmware, phone book, certificate).
//!
//! * [`file`](mod@file): the file formats (text, XML, TOML), detected by content;
//! * [`keys`]: what a file's keys mean on this phone (item names, the Fanvil-style key table);
//! * [`url`]: provisioning URLs (`$mac`, `$input`, a blank file part, credentials);
//! * [`access_log`]: `provisioning.jsonl`, the seed's "Auto Provision Access Table";
//! * [`fetch`]: the transports (HTTP/HTTPS through `cwmp_client::download`, TFTP, FTP);
//! * [`pnp`]: SIP PnP (SUBSCRIBE ua-profile, NOTIFY application/url);
//! * [`worker`]: the check itself and when it runs.
//!
//! A TR-069 Download of a vendor configuration file goes through [`prepare`] and
//! [`apply_prepared`] too ([`crate::transfer`]): one reading, one validation, one apply.

pub mod access_log;
pub mod fetch;
pub mod file;
pub mod keys;
pub mod pnp;
pub mod tftp;
pub mod url;
pub mod worker;

use crate::vendor_config::{self, ConfigFileError};
use deskphone_datamodel::{DeskPhoneModel, OcmsStore};
use sha2::{Digest, Sha256};
use std::fmt;

/// The general file of a model (seed 001 §4.1.1: "named differently on different terminal
/// models"). The Desk Phone CP models are named after the Fanvil X-series scheme
/// (`F0V` + the model, padded with `0` to 12 characters, `.cfg`):
///
/// | `device-type` | general file |
/// |---|---|
/// | OpenScape Desk Phone CP100 | `F0VCP1000000.cfg` |
/// | OpenScape Desk Phone CP200 | `F0VCP2000000.cfg` |
/// | OpenScape Desk Phone CP205 | `F0VCP2050000.cfg` |
/// | OpenScape Desk Phone CP400 | `F0VCP4000000.cfg` |
/// | OpenScape Desk Phone CP410 | `F0VCP4100000.cfg` |
/// | OpenScape Desk Phone CP600 | `F0VCP6000000.cfg` |
/// | OpenScape Desk Phone CP700 | `F0VCP7000000.cfg` |
///
/// Any other `device-type` uses its last word the same way (letters and digits only).
pub fn general_file_name(device_type: &str) -> String {
    let last = device_type.split_whitespace().last().unwrap_or("CP");
    let clean: String = last
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(9)
        .collect::<String>()
        .to_ascii_uppercase();
    let mut name = format!("F0V{clean}");
    while name.len() < 12 {
        name.push('0');
    }
    format!("{name}.cfg")
}

/// Which of the two files a file is (it decides the key and the version item).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// The general (model) file: `common-config-encryption-key`,
    /// `auto-provision-common-config-version`.
    General,
    /// The device (MAC-named or named) file, and TR-069 vendor configuration files:
    /// `config-encryption-key`, `auto-provision-config-version`.
    Device,
}

impl FileKind {
    /// The item holding the file's AES key.
    pub fn key_item(self) -> &'static str {
        match self {
            FileKind::General => "common-config-encryption-key",
            FileKind::Device => "config-encryption-key",
        }
    }

    /// The read-only item showing the version of the last applied file.
    pub fn version_item(self) -> &'static str {
        match self {
            FileKind::General => "auto-provision-common-config-version",
            FileKind::Device => "auto-provision-config-version",
        }
    }
}

/// Why a downloaded file was not applied (nothing of it was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// A key is set and the file is plain text.
    NotEncrypted,
    /// Decryption failed (wrong key, corrupted) or the key is unusable.
    Decrypt(ConfigFileError),
    /// Not a provisioning file.
    Syntax(file::FileError),
    /// A known key has an invalid value (or a TOML file names an unknown item).
    Refused(String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotEncrypted => write!(
                f,
                "the file is not encrypted but the phone has a key for it; refused"
            ),
            ReadError::Decrypt(e) => write!(f, "{e}"),
            ReadError::Syntax(e) => write!(f, "not a provisioning file: {e}"),
            ReadError::Refused(m) => write!(f, "file refused, nothing applied: {m}"),
        }
    }
}

impl std::error::Error for ReadError {}

/// A file read, decrypted and validated, ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The parsed file.
    pub file: file::ProvFile,
    /// Its settings on this phone.
    pub resolved: keys::Resolved,
    /// SHA-256 of the plaintext, hex.
    pub digest: String,
    /// The version shown for it: its Version, else its digest.
    pub version: String,
    /// The plaintext (kept for the admin; compared to skip an unchanged file).
    pub plaintext: Vec<u8>,
}

/// Decrypt (when `key` is set), parse and validate a downloaded file.
pub fn prepare(
    data: &[u8],
    key: Option<&str>,
    model: &DeskPhoneModel,
) -> Result<Prepared, ReadError> {
    if data.len() > vendor_config::MAX_CONFIG_FILE {
        return Err(ReadError::Decrypt(ConfigFileError::TooLarge));
    }
    let plain = match key.map(str::trim).filter(|k| !k.is_empty()) {
        Some(k) => match vendor_config::decrypt(data, k) {
            Ok(p) => p,
            Err(ConfigFileError::BadKey) => {
                return Err(ReadError::Decrypt(ConfigFileError::BadKey))
            }
            // A plain provisioning file while a key is set (seed §4.1.3: the phone then
            // "considers the file as an encrypted one"): say so instead of "wrong key".
            Err(e) if file::parse(data).is_ok() => {
                let _ = e;
                return Err(ReadError::NotEncrypted);
            }
            Err(e) => return Err(ReadError::Decrypt(e)),
        },
        None => data.to_vec(),
    };
    let parsed = file::parse(&plain).map_err(ReadError::Syntax)?;
    let resolved = keys::resolve(&parsed, model).map_err(ReadError::Refused)?;
    let digest = hex::encode(Sha256::digest(&plain));
    let version = parsed
        .version
        .clone()
        .map(|v| v.chars().take(128).collect())
        .unwrap_or_else(|| digest.clone());
    Ok(Prepared {
        file: parsed,
        resolved,
        digest,
        version,
        plaintext: plain,
    })
}

/// Apply a prepared file as a local change (one atomic commit: the items, the version item
/// and each item's `origin`: provisioning, or acs for a file the ACS had downloaded), on the
/// driver's thread. Returns the TR-069 parameters that changed (the store's listener tells
/// the engine, so the ACS hears of notified ones as `4 VALUE CHANGE`).
pub fn apply_prepared(
    store: &mut OcmsStore,
    model: &DeskPhoneModel,
    p: &Prepared,
    kind: FileKind,
    origin: cwmp_model::ValueOrigin,
) -> Result<Vec<String>, cwmp_model::SetError> {
    let mut items = p.resolved.items.clone();
    items.push((kind.version_item().to_owned(), p.version.clone()));
    deskphone_datamodel::apply_items_as(store, model, &items, origin)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn general_file_names() {
        assert_eq!(
            general_file_name("OpenScape Desk Phone CP600"),
            "F0VCP6000000.cfg"
        );
        assert_eq!(
            general_file_name("OpenScape Desk Phone CP205"),
            "F0VCP2050000.cfg"
        );
        assert_eq!(general_file_name(""), "F0VCP0000000.cfg");
    }

    #[test]
    fn encrypted_good_wrong_key_and_plain_with_key() {
        let m = DeskPhoneModel::builtin();
        let plain = file::write_text("3", &[("SIP CONFIG MODULE", &[("reg-ttl", "600")])]);
        let enc = vendor_config::encrypt(plain.as_bytes(), KEY, [3; 16]).unwrap();
        let p = prepare(&enc, Some(KEY), &m).unwrap();
        assert_eq!(p.version, "3");
        assert_eq!(p.resolved.items[0].1, "600");
        let other = KEY.replace("1f", "1e");
        assert!(matches!(
            prepare(&enc, Some(&other), &m),
            Err(ReadError::Decrypt(_)) | Err(ReadError::Syntax(_))
        ));
        assert_eq!(
            prepare(plain.as_bytes(), Some(KEY), &m),
            Err(ReadError::NotEncrypted)
        );
        let unversioned = prepare(b"reg-ttl = 600\n", None, &m).unwrap();
        assert_eq!(unversioned.version, unversioned.digest);
    }
}

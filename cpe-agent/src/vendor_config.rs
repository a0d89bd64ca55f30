//! Vendor configuration files (FileType `3 Vendor Configuration File`) and download URLs.
//!
//! A vendor configuration file is a flat TOML document of OCMS items (`item = value` lines, like
//! the daemon config's `[items]` table). Following the Fanvil provisioning description (seed 001),
//! when the phone has a configuration encryption key, every downloaded configuration file is
//! treated as encrypted.
//!
//! **Cipher decision** (the seed names AES with a 64-hex-digit key but no mode): AES-256 in CBC
//! mode with PKCS#7 padding; the file is the 16-byte IV followed by the ciphertext. This is what
//! `openssl enc -aes-256-cbc -K <key> -iv <iv>` produces once the IV is put in front, so any
//! provisioning server can prepare files with standard tools:
//!
//! ```text
//! iv=$(openssl rand -hex 16)
//! { echo -n "$iv" | xxd -r -p; openssl enc -aes-256-cbc -K "$key" -iv "$iv" -in cfg.toml; } > cfg.enc
//! ```

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use std::fmt;

type Aes256CbcDec = cbc::Decryptor<aes::Aes256>;
type Aes256CbcEnc = cbc::Encryptor<aes::Aes256>;

/// The largest configuration file accepted (after download, before decryption).
pub const MAX_CONFIG_FILE: usize = 1024 * 1024;

/// Why a configuration file could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigFileError {
    /// The configured key is not 64 hex digits.
    BadKey,
    /// Decryption failed: wrong key, not encrypted, or corrupted (bad length or padding).
    Decrypt,
    /// The file is larger than [`MAX_CONFIG_FILE`].
    TooLarge,
    /// The (decrypted) content is not UTF-8 TOML of flat items.
    Syntax(String),
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigFileError::BadKey => {
                write!(f, "configuration encryption key must be 64 hex digits")
            }
            ConfigFileError::Decrypt => {
                write!(f, "configuration file could not be decrypted (wrong key, not encrypted, or corrupted)")
            }
            ConfigFileError::TooLarge => {
                write!(f, "configuration file larger than {MAX_CONFIG_FILE} bytes")
            }
            ConfigFileError::Syntax(m) => write!(f, "configuration file is not valid: {m}"),
        }
    }
}

impl std::error::Error for ConfigFileError {}

fn parse_key(key_hex: &str) -> Result<[u8; 32], ConfigFileError> {
    let mut key = [0u8; 32];
    hex::decode_to_slice(key_hex.trim(), &mut key).map_err(|_| ConfigFileError::BadKey)?;
    Ok(key)
}

/// Decrypt an encrypted configuration file (IV ‖ AES-256-CBC ciphertext, PKCS#7).
pub fn decrypt(data: &[u8], key_hex: &str) -> Result<Vec<u8>, ConfigFileError> {
    let key = parse_key(key_hex)?;
    if data.len() > MAX_CONFIG_FILE {
        return Err(ConfigFileError::TooLarge);
    }
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return Err(ConfigFileError::Decrypt);
    }
    let (iv, ciphertext) = data.split_at(16);
    let mut iv_arr = [0u8; 16];
    iv_arr.copy_from_slice(iv);
    Aes256CbcDec::new(&key.into(), &iv_arr.into())
        .decrypt_padded_vec_mut::<Pkcs7>(ciphertext)
        .map_err(|_| ConfigFileError::Decrypt)
}

/// Encrypt a configuration file with the given IV (for tests and tools).
pub fn encrypt(plain: &[u8], key_hex: &str, iv: [u8; 16]) -> Result<Vec<u8>, ConfigFileError> {
    let key = parse_key(key_hex)?;
    let mut out = iv.to_vec();
    out.extend(Aes256CbcEnc::new(&key.into(), &iv.into()).encrypt_padded_vec_mut::<Pkcs7>(plain));
    Ok(out)
}

/// A parsed configuration file: its `(item, lexical value)` pairs in file order, and the
/// plaintext (whose hash tells whether the same file was already applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFile {
    /// The items, in file order.
    pub items: Vec<(String, String)>,
    /// The decrypted content.
    pub plaintext: Vec<u8>,
}

/// Read a downloaded configuration file: decrypt when the phone has a key, then parse the items.
pub fn read(data: &[u8], key_hex: Option<&str>) -> Result<ConfigFile, ConfigFileError> {
    if data.len() > MAX_CONFIG_FILE {
        return Err(ConfigFileError::TooLarge);
    }
    let plain = match key_hex.filter(|k| !k.trim().is_empty()) {
        Some(key) => decrypt(data, key)?,
        None => data.to_vec(),
    };
    let text = std::str::from_utf8(&plain)
        .map_err(|_| ConfigFileError::Syntax("not UTF-8 text".into()))?;
    let items = crate::items::parse_item_lines(text).map_err(ConfigFileError::Syntax)?;
    Ok(ConfigFile {
        items,
        plaintext: plain,
    })
}

/// Replace `$mac` in a download URL by the phone's MAC address without separators, lower case
/// (seed 001: `http://ip/$mac.cfg` → `http://ip/001ae8a1b2c3.cfg`).
pub fn expand_mac(url: &str, mac: &str) -> String {
    let bare: String = mac
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    url.replace("$mac", &bare)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn round_trip_and_refusals() {
        let plain = b"sip-transport = 1\nreg-ttl = 600\n";
        let enc = encrypt(plain, KEY, [7; 16]).unwrap();
        let file = read(&enc, Some(KEY)).unwrap();
        assert_eq!(file.plaintext, plain);
        assert_eq!(file.items.len(), 2);
        // Wrong key: padding check fails (or, rarely, garbage that is not TOML).
        let other = KEY.replace("1f", "1e");
        assert!(read(&enc, Some(&other)).is_err());
        // A plaintext file while a key is configured is treated as encrypted, so it fails.
        assert!(read(plain, Some(KEY)).is_err());
        // No key: plaintext is read as is.
        assert_eq!(read(plain, None).unwrap().items.len(), 2);
        assert_eq!(
            decrypt(&enc[..enc.len() - 1], KEY),
            Err(ConfigFileError::Decrypt)
        );
        assert_eq!(decrypt(&enc, "abcd"), Err(ConfigFileError::BadKey));
        assert_eq!(
            read(&vec![b'a'; MAX_CONFIG_FILE + 1], None),
            Err(ConfigFileError::TooLarge)
        );
        assert!(matches!(
            read(&[0xff, 0xfe], None),
            Err(ConfigFileError::Syntax(_))
        ));
    }

    #[test]
    fn mac_in_urls() {
        assert_eq!(
            expand_mac("http://172.16.1.3/X4/$mac.cfg", "00:1A:E8:A1:B2:C3"),
            "http://172.16.1.3/X4/001ae8a1b2c3.cfg"
        );
        assert_eq!(
            expand_mac("http://ip/mac.cfg?mac=$mac", "00:1a:e8:a1:b2:c3"),
            "http://ip/mac.cfg?mac=001ae8a1b2c3"
        );
        assert_eq!(
            expand_mac("http://ip/fixed.cfg", "00:1A:E8:A1:B2:C3"),
            "http://ip/fixed.cfg"
        );
    }
}

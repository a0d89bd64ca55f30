//! The simulated phone's firmware image format (FileType `1 Firmware Upgrade Image`).
//!
//! ```text
//! DESKPHONE-FIRMWARE/1\n
//! Model: <device-type>\n
//! Version: <software version>\n
//! Payload-SHA256: <64 hex digits>\n
//! \n
//! <payload bytes>
//! ```
//!
//! Lines end in `\n` (a `\r\n` is accepted too). The header is at most [`MAX_HEADER`] bytes. The
//! image is verified while it streams through [`ImageVerifier`], so an image of any size is checked
//! in constant memory.

use sha2::{Digest, Sha256};
use std::fmt;

/// The magic first line.
pub const MAGIC: &str = "DESKPHONE-FIRMWARE/1";

/// The longest header accepted.
pub const MAX_HEADER: usize = 4096;

/// The parsed header of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageHeader {
    /// The model the image is for; must equal the phone's `device-type`.
    pub model: String,
    /// The software version the image installs.
    pub version: String,
    /// SHA-256 of the payload.
    pub payload_sha256: [u8; 32],
}

/// Why an image was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// The header is malformed (bad magic, missing or duplicate field, too long).
    BadHeader(String),
    /// The image ended before the header was complete.
    Truncated,
    /// The image is for another model.
    WrongModel {
        /// The model named in the image.
        image: String,
        /// This phone's model.
        phone: String,
    },
    /// The payload's SHA-256 differs from the header's.
    HashMismatch,
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::BadHeader(m) => write!(f, "firmware image header invalid: {m}"),
            ImageError::Truncated => write!(f, "firmware image truncated inside its header"),
            ImageError::WrongModel { image, phone } => {
                write!(
                    f,
                    "firmware image is for model {image:?}, this phone is {phone:?}"
                )
            }
            ImageError::HashMismatch => write!(
                f,
                "firmware image payload does not match its Payload-SHA256"
            ),
        }
    }
}

impl std::error::Error for ImageError {}

/// Parse the header from the start of an image. `Ok(None)` means more bytes are needed.
/// On success returns the header and its length in bytes (the payload starts there).
pub fn parse_header(prefix: &[u8]) -> Result<Option<(ImageHeader, usize)>, ImageError> {
    // Find the empty line that ends the header.
    let window = &prefix[..prefix.len().min(MAX_HEADER)];
    let mut lines = Vec::new();
    let mut start = 0;
    let mut end = None;
    for (i, b) in window.iter().enumerate() {
        if *b == b'\n' {
            let mut line = &window[start..i];
            if let Some(stripped) = line.strip_suffix(b"\r") {
                line = stripped;
            }
            start = i + 1;
            if line.is_empty() {
                end = Some(i + 1);
                break;
            }
            lines.push(line);
        }
    }
    // The magic is checked first on every path, so the verdict on an image never depends on
    // how its bytes were chunked on the way in (found by the firmware_image fuzz target).
    let not_an_image = || ImageError::BadHeader("not a DESKPHONE-FIRMWARE/1 image".into());
    let Some(header_len) = end else {
        // Fail early on a wrong magic rather than waiting for more bytes.
        let probe = &prefix[..prefix.len().min(MAGIC.len() + 1)];
        let magic_line = format!("{MAGIC}\n");
        let magic_crlf = format!("{MAGIC}\r\n");
        if !magic_line.as_bytes().starts_with(probe) && !magic_crlf.as_bytes().starts_with(probe) {
            return Err(not_an_image());
        }
        if prefix.len() >= MAX_HEADER {
            return Err(ImageError::BadHeader(format!(
                "no end of header within {MAX_HEADER} bytes"
            )));
        }
        return Ok(None);
    };
    if lines.first().copied() != Some(MAGIC.as_bytes()) {
        return Err(not_an_image());
    }
    let text: Vec<&str> = lines
        .iter()
        .map(|l| {
            std::str::from_utf8(l).map_err(|_| ImageError::BadHeader("header is not UTF-8".into()))
        })
        .collect::<Result<_, _>>()?;
    let (mut model, mut version, mut hash) = (None, None, None);
    for line in &text[1..] {
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| ImageError::BadHeader(format!("line without ':': {line:?}")))?;
        let value = value.trim();
        let slot = match key {
            "Model" => &mut model,
            "Version" => &mut version,
            "Payload-SHA256" => &mut hash,
            other => return Err(ImageError::BadHeader(format!("unknown field {other:?}"))),
        };
        if slot.replace(value.to_owned()).is_some() {
            return Err(ImageError::BadHeader(format!("field {key} given twice")));
        }
    }
    let model = model
        .filter(|m| !m.is_empty())
        .ok_or_else(|| ImageError::BadHeader("Model missing".into()))?;
    let version = version
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .ok_or_else(|| {
            ImageError::BadHeader("Version missing or longer than 64 characters".into())
        })?;
    let hash = hash.ok_or_else(|| ImageError::BadHeader("Payload-SHA256 missing".into()))?;
    let mut payload_sha256 = [0u8; 32];
    hex::decode_to_slice(&hash, &mut payload_sha256)
        .map_err(|_| ImageError::BadHeader("Payload-SHA256 is not 64 hex digits".into()))?;
    Ok(Some((
        ImageHeader {
            model,
            version,
            payload_sha256,
        },
        header_len,
    )))
}

/// Verifies an image fed in chunks of any size, in constant memory.
#[derive(Debug, Clone)]
pub struct ImageVerifier {
    expected_model: String,
    head: Vec<u8>,
    header: Option<ImageHeader>,
    hasher: Sha256,
}

impl ImageVerifier {
    /// A verifier for a phone of model `expected_model`.
    pub fn new(expected_model: &str) -> ImageVerifier {
        ImageVerifier {
            expected_model: expected_model.to_owned(),
            head: Vec::new(),
            header: None,
            hasher: Sha256::new(),
        }
    }

    /// Feed the next chunk. Fails as soon as the header is known to be bad or for another model.
    pub fn update(&mut self, chunk: &[u8]) -> Result<(), ImageError> {
        if self.header.is_some() {
            self.hasher.update(chunk);
            return Ok(());
        }
        let take = chunk
            .len()
            .min(MAX_HEADER.saturating_sub(self.head.len()) + 1);
        self.head.extend_from_slice(&chunk[..take]);
        match parse_header(&self.head)? {
            None => {
                if take < chunk.len() {
                    return Err(ImageError::BadHeader(format!(
                        "no end of header within {MAX_HEADER} bytes"
                    )));
                }
                Ok(())
            }
            Some((header, len)) => {
                if header.model != self.expected_model {
                    return Err(ImageError::WrongModel {
                        image: header.model,
                        phone: self.expected_model.clone(),
                    });
                }
                // Bytes of the buffered head past the header, then the rest of this chunk.
                self.hasher.update(&self.head[len..]);
                self.hasher.update(&chunk[take..]);
                self.head = Vec::new();
                self.header = Some(header);
                Ok(())
            }
        }
    }

    /// Finish: the header, if the whole image was valid.
    pub fn finish(self) -> Result<ImageHeader, ImageError> {
        let header = self.header.ok_or(ImageError::Truncated)?;
        let digest: [u8; 32] = self.hasher.finalize().into();
        if digest == header.payload_sha256 {
            Ok(header)
        } else {
            Err(ImageError::HashMismatch)
        }
    }
}

/// Build an image (for tests, examples and anyone preparing images for the simulator).
pub fn build_image(model: &str, version: &str, payload: &[u8]) -> Vec<u8> {
    let hash = hex::encode(Sha256::digest(payload));
    let mut out =
        format!("{MAGIC}\nModel: {model}\nVersion: {version}\nPayload-SHA256: {hash}\n\n")
            .into_bytes();
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = "OpenScape Desk Phone CP600";

    fn verify_in_chunks(image: &[u8], chunk: usize) -> Result<ImageHeader, ImageError> {
        let mut v = ImageVerifier::new(MODEL);
        for c in image.chunks(chunk.max(1)) {
            v.update(c)?;
        }
        v.finish()
    }

    #[test]
    fn good_image_any_chunking() {
        let image = build_image(MODEL, "V1R9.6.0", &vec![0x5a; 10_000]);
        for chunk in [1, 2, 7, 64, 4096, 100_000] {
            let h = verify_in_chunks(&image, chunk).unwrap();
            assert_eq!(h.version, "V1R9.6.0");
        }
        let crlf = String::from_utf8(build_image(MODEL, "2", b""))
            .unwrap()
            .replace('\n', "\r\n");
        assert_eq!(verify_in_chunks(crlf.as_bytes(), 3).unwrap().version, "2");
    }

    #[test]
    fn refusals() {
        let good = build_image(MODEL, "V2", b"payload");
        // Another model.
        let other = build_image("OpenScape Desk Phone CP400", "V2", b"payload");
        assert!(matches!(
            verify_in_chunks(&other, 5),
            Err(ImageError::WrongModel { .. })
        ));
        // Payload altered.
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 1;
        assert_eq!(verify_in_chunks(&bad, 5), Err(ImageError::HashMismatch));
        // Truncated in the payload: hash mismatch; in the header: truncated.
        assert_eq!(
            verify_in_chunks(&good[..good.len() - 1], 5),
            Err(ImageError::HashMismatch)
        );
        assert_eq!(verify_in_chunks(&good[..30], 5), Err(ImageError::Truncated));
        // Not an image at all, detected from the first bytes.
        assert!(matches!(
            verify_in_chunks(b"<html>404</html>", 5),
            Err(ImageError::BadHeader(_))
        ));
        // Header never ends.
        let mut endless = format!("{MAGIC}\n").into_bytes();
        endless.extend(std::iter::repeat_n(b'a', 2 * MAX_HEADER));
        assert!(matches!(
            verify_in_chunks(&endless, 1000),
            Err(ImageError::BadHeader(_))
        ));
        // Field problems.
        for text in [
            "DESKPHONE-FIRMWARE/1\nModel: x\nVersion: 1\n\n",
            "DESKPHONE-FIRMWARE/1\nModel: x\nModel: x\nVersion: 1\nPayload-SHA256: 00\n\n",
            "DESKPHONE-FIRMWARE/1\nModel: x\nVersion: 1\nPayload-SHA256: zz\n\n",
            "DESKPHONE-FIRMWARE/1\nModel: x\nVersion 1\n\n",
            "DESKPHONE-FIRMWARE/2\nModel: x\n\n",
        ] {
            assert!(
                matches!(parse_header(text.as_bytes()), Err(ImageError::BadHeader(_))),
                "{text:?}"
            );
        }
    }

    #[test]
    fn never_panics_on_prefixes_of_garbage() {
        let image = build_image(MODEL, "V3", b"abc");
        for cut in 0..image.len() {
            let _ = parse_header(&image[..cut]);
            let mut noisy = image.clone();
            noisy[cut] = noisy[cut].wrapping_add(1);
            let _ = verify_in_chunks(&noisy, 3);
        }
    }
}

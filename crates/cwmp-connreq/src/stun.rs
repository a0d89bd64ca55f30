//! Classic STUN (RFC 3489) messages with the TR-111 attributes (TR-069 Annex G), and the
//! demultiplexing of the UDP connection-request socket (TR-069 Annex G step 1).
//!
//! # Wire format (decision)
//!
//! Annex G is defined on RFC 3489 STUN: a 20-byte header of type, length and a **128-bit**
//! transaction ID, no magic cookie. The project's chosen crate `stun_codec` 0.4 implements RFC
//! 5389 only: its decoder rejects any message whose bytes 4..8 are not the magic cookie
//! `0x2112A442`, it pads attributes RFC 5389-style and computes MESSAGE-INTEGRITY the RFC 5389
//! way. A classic ACS STUN server is entitled to none of that, so this module is a small RFC 3489
//! codec of its own, and `stun_codec` serves as an independent implementation in the tests.
//!
//! Two encodings are offered ([`StunFormat`]):
//! * [`StunFormat::Classic`] (default): random 128-bit transaction ID; attribute lengths
//!   include their zero padding to a multiple of 4 (RFC 3489 §11.2 requires value lengths that
//!   are multiples of 4; TR-111's 20-byte `dslforum.org/TR-111 ` value is padded with a space for
//!   that reason, and coturn pads its own attributes this way in classic answers);
//!   MESSAGE-INTEGRITY is the HMAC-SHA1 of the message up to the attribute before it, **zero
//!   padded to a multiple of 64 bytes** (RFC 3489 §11.2.8), with the header length already
//!   counting the MESSAGE-INTEGRITY attribute.
//! * [`StunFormat::Rfc5389Compatible`]: the first 4 transaction-ID bytes are the magic cookie
//!   (still a valid RFC 3489 message: the ID is just 128 bits), attributes are padded RFC 5389
//!   style (length = real length), MESSAGE-INTEGRITY per RFC 5389 §15.4 (no 64-byte padding).
//!   For ACS STUN servers that only speak RFC 5389.
//!
//! Checked against coturn 4.6.1 (`turnserver -n --stun-only`): it answers both forms. To the
//! classic form it answers classic (MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS); to the
//! cookie form it answers RFC 5389 (XOR-MAPPED-ADDRESS first). With Debian's stock
//! `/etc/turnserver.conf` (`no-stun-backward-compatibility`) it ignores the classic form
//! entirely and omits MAPPED-ADDRESS, which is why the cookie form exists here.
//!
//! Decoding accepts both forms: values are skipped to the next 4-byte boundary (which is a
//! no-op for classic padded lengths), XOR-MAPPED-ADDRESS is unmasked with header bytes 4..8
//! (the cookie, when present), and MESSAGE-INTEGRITY verifies if it matches either the padded
//! (RFC 3489) or unpadded (RFC 5389) computation. Attributes after MESSAGE-INTEGRITY are
//! ignored, as RFC 5389 §15.4 requires, so nothing unauthenticated can be appended.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hmac::{Hmac, Mac};
use sha1::Sha1;

type HmacSha1 = Hmac<Sha1>;

/// The RFC 5389 magic cookie.
pub const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];

/// Size of the STUN header.
pub const HEADER_LEN: usize = 20;

/// The value of CONNECTION-REQUEST-BINDING: exactly these 20 bytes, trailing space included.
pub const CONNECTION_REQUEST_BINDING_VALUE: &[u8; 20] = b"dslforum.org/TR-111 ";

/// Most attributes decoded from one message (a Binding Response has about five).
pub const MAX_ATTRIBUTES: usize = 32;

/// Attribute types used here (RFC 3489 §11.2, RFC 5389 §18.2, TR-111 / TR-069 Annex G).
pub mod attr {
    /// MAPPED-ADDRESS.
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    /// RESPONSE-ADDRESS (never sent by the CPE for binding maintenance).
    pub const RESPONSE_ADDRESS: u16 = 0x0002;
    /// CHANGE-REQUEST (never sent by the CPE for binding maintenance).
    pub const CHANGE_REQUEST: u16 = 0x0003;
    /// SOURCE-ADDRESS.
    pub const SOURCE_ADDRESS: u16 = 0x0004;
    /// CHANGED-ADDRESS.
    pub const CHANGED_ADDRESS: u16 = 0x0005;
    /// USERNAME.
    pub const USERNAME: u16 = 0x0006;
    /// PASSWORD.
    pub const PASSWORD: u16 = 0x0007;
    /// MESSAGE-INTEGRITY.
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    /// ERROR-CODE.
    pub const ERROR_CODE: u16 = 0x0009;
    /// UNKNOWN-ATTRIBUTES.
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    /// REFLECTED-FROM.
    pub const REFLECTED_FROM: u16 = 0x000B;
    /// XOR-MAPPED-ADDRESS (RFC 5389).
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    /// XOR-MAPPED-ADDRESS as numbered by pre-RFC 5389 drafts (still sent by some servers).
    pub const XOR_MAPPED_ADDRESS_OLD: u16 = 0x8020;
    /// SOFTWARE (RFC 5389; SERVER in RFC 3489).
    pub const SOFTWARE: u16 = 0x8022;
    /// FINGERPRINT (RFC 5389).
    pub const FINGERPRINT: u16 = 0x8028;
    /// CONNECTION-REQUEST-BINDING (TR-111).
    pub const CONNECTION_REQUEST_BINDING: u16 = 0xC001;
    /// BINDING-CHANGE (TR-111).
    pub const BINDING_CHANGE: u16 = 0xC002;
}

/// A 128-bit RFC 3489 transaction ID.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TransactionId(pub [u8; 16]);

impl TransactionId {
    /// Whether the first four bytes are the RFC 5389 magic cookie.
    pub fn has_magic_cookie(&self) -> bool {
        self.0[..4] == MAGIC_COOKIE
    }

    /// An ID from 16 random bytes for `format` (the cookie replaces the first four bytes for
    /// [`StunFormat::Rfc5389Compatible`]).
    pub fn from_random(mut random: [u8; 16], format: StunFormat) -> Self {
        if format == StunFormat::Rfc5389Compatible {
            random[..4].copy_from_slice(&MAGIC_COOKIE);
        }
        TransactionId(random)
    }
}

impl fmt::Debug for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionId({})", hex::encode(self.0))
    }
}

/// The encoding used for messages this side sends (see the module doc).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum StunFormat {
    /// RFC 3489 (Annex G's format).
    #[default]
    Classic,
    /// RFC 3489 message with a cookie-prefixed transaction ID and RFC 5389 padding/integrity.
    Rfc5389Compatible,
}

/// The message type.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// `0x0001`.
    BindingRequest,
    /// `0x0101`.
    BindingResponse,
    /// `0x0111`.
    BindingErrorResponse,
    /// Any other type (shared-secret messages, TURN methods, indications).
    Other(u16),
}

impl MessageType {
    /// From the header's type field.
    pub fn from_u16(v: u16) -> Self {
        match v {
            0x0001 => MessageType::BindingRequest,
            0x0101 => MessageType::BindingResponse,
            0x0111 => MessageType::BindingErrorResponse,
            other => MessageType::Other(other),
        }
    }

    /// The header's type field.
    pub fn to_u16(self) -> u16 {
        match self {
            MessageType::BindingRequest => 0x0001,
            MessageType::BindingResponse => 0x0101,
            MessageType::BindingErrorResponse => 0x0111,
            MessageType::Other(v) => v,
        }
    }
}

/// One attribute. MESSAGE-INTEGRITY is not an attribute value here: it is computed by
/// [`StunMessage::encode`] and checked by [`DecodedStun::verify_integrity`].
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attribute {
    /// MAPPED-ADDRESS.
    MappedAddress(SocketAddr),
    /// XOR-MAPPED-ADDRESS (type 0x0020, or 0x8020 when decoded from an old server).
    XorMappedAddress(SocketAddr),
    /// SOURCE-ADDRESS.
    SourceAddress(SocketAddr),
    /// CHANGED-ADDRESS.
    ChangedAddress(SocketAddr),
    /// USERNAME (trailing NUL padding of the classic form is removed on decoding).
    Username(String),
    /// ERROR-CODE: `code` = class × 100 + number, and the reason phrase.
    ErrorCode {
        /// 300..699.
        code: u16,
        /// Reason phrase.
        reason: String,
    },
    /// UNKNOWN-ATTRIBUTES.
    UnknownAttributes(Vec<u16>),
    /// CONNECTION-REQUEST-BINDING with the exact TR-111 value.
    ConnectionRequestBinding,
    /// BINDING-CHANGE (empty).
    BindingChange,
    /// Anything else, kept as raw bytes (including a 0xC001 with a wrong value).
    Other {
        /// Attribute type.
        kind: u16,
        /// Value without padding.
        value: Vec<u8>,
    },
}

impl Attribute {
    /// The attribute type.
    pub fn kind(&self) -> u16 {
        match self {
            Attribute::MappedAddress(_) => attr::MAPPED_ADDRESS,
            Attribute::XorMappedAddress(_) => attr::XOR_MAPPED_ADDRESS,
            Attribute::SourceAddress(_) => attr::SOURCE_ADDRESS,
            Attribute::ChangedAddress(_) => attr::CHANGED_ADDRESS,
            Attribute::Username(_) => attr::USERNAME,
            Attribute::ErrorCode { .. } => attr::ERROR_CODE,
            Attribute::UnknownAttributes(_) => attr::UNKNOWN_ATTRIBUTES,
            Attribute::ConnectionRequestBinding => attr::CONNECTION_REQUEST_BINDING,
            Attribute::BindingChange => attr::BINDING_CHANGE,
            Attribute::Other { kind, .. } => *kind,
        }
    }
}

/// A STUN message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StunMessage {
    /// The type.
    pub message_type: MessageType,
    /// The transaction ID.
    pub transaction_id: TransactionId,
    /// The attributes in order (without MESSAGE-INTEGRITY).
    pub attributes: Vec<Attribute>,
}

/// Why bytes are not a STUN message (or a message cannot be encoded).
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StunError {
    /// Shorter than the 20-byte header.
    TooShort,
    /// The two top bits of the type are not zero.
    NotStun,
    /// The header length is not a multiple of 4 or does not match the datagram size.
    BadLength,
    /// An attribute runs past the end of the message.
    Truncated,
    /// More than [`MAX_ATTRIBUTES`] attributes.
    TooManyAttributes,
    /// An attribute of this type has an invalid value.
    BadAttribute(u16),
    /// The encoded message would exceed the 16-bit length field.
    TooLarge,
}

impl fmt::Display for StunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StunError::TooShort => f.write_str("shorter than a STUN header"),
            StunError::NotStun => f.write_str("not a STUN message"),
            StunError::BadLength => f.write_str("STUN length field does not match"),
            StunError::Truncated => f.write_str("truncated STUN attribute"),
            StunError::TooManyAttributes => f.write_str("too many STUN attributes"),
            StunError::BadAttribute(t) => write!(f, "invalid STUN attribute 0x{t:04x}"),
            StunError::TooLarge => f.write_str("STUN message too large"),
        }
    }
}

impl std::error::Error for StunError {}

/// The result of checking MESSAGE-INTEGRITY.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntegrityCheck {
    /// The message has no MESSAGE-INTEGRITY.
    Absent,
    /// Present and correct for the key.
    Valid,
    /// Present and wrong.
    Invalid,
}

impl StunMessage {
    /// A message of `message_type` with no attributes.
    pub fn new(message_type: MessageType, transaction_id: TransactionId) -> Self {
        StunMessage {
            message_type,
            transaction_id,
            attributes: Vec::new(),
        }
    }

    /// The Annex G Binding Request (TR-069 Annex G): CONNECTION-REQUEST-BINDING, then
    /// BINDING-CHANGE when `binding_change`, then USERNAME when `username` is non-empty.
    /// No CHANGE-REQUEST or RESPONSE-ADDRESS.
    pub fn binding_request(
        transaction_id: TransactionId,
        binding_change: bool,
        username: &str,
    ) -> Self {
        let mut m = StunMessage::new(MessageType::BindingRequest, transaction_id);
        m.attributes.push(Attribute::ConnectionRequestBinding);
        if binding_change {
            m.attributes.push(Attribute::BindingChange);
        }
        if !username.is_empty() {
            m.attributes.push(Attribute::Username(username.to_owned()));
        }
        m
    }

    /// Encodes the message; with `integrity_key`, MESSAGE-INTEGRITY is appended as the last
    /// attribute, computed for `format` (module doc).
    pub fn encode(
        &self,
        format: StunFormat,
        integrity_key: Option<&[u8]>,
    ) -> Result<Vec<u8>, StunError> {
        let mut out = Vec::with_capacity(128);
        out.extend_from_slice(&self.message_type.to_u16().to_be_bytes());
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&self.transaction_id.0);
        for a in &self.attributes {
            let value = encode_value(a, &self.transaction_id);
            let padded_len = value.len().div_ceil(4) * 4;
            let wire_len = match format {
                StunFormat::Classic => padded_len,
                StunFormat::Rfc5389Compatible => value.len(),
            };
            let wire_len = u16::try_from(wire_len).map_err(|_| StunError::TooLarge)?;
            out.extend_from_slice(&a.kind().to_be_bytes());
            out.extend_from_slice(&wire_len.to_be_bytes());
            out.extend_from_slice(&value);
            out.resize(out.len() + (padded_len - value.len()), 0);
        }
        if let Some(key) = integrity_key {
            let total = out.len() - HEADER_LEN + 24;
            set_length(&mut out, total)?;
            let mac = integrity_mac(&out, key, format == StunFormat::Classic);
            out.extend_from_slice(&attr::MESSAGE_INTEGRITY.to_be_bytes());
            out.extend_from_slice(&20u16.to_be_bytes());
            out.extend_from_slice(&mac);
        } else {
            let total = out.len() - HEADER_LEN;
            set_length(&mut out, total)?;
        }
        Ok(out)
    }

    /// The first attribute of a given type.
    pub fn attribute(&self, kind: u16) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.kind() == kind)
    }

    /// The reflexive address: XOR-MAPPED-ADDRESS when present (NAT ALGs rewrite plain
    /// addresses they find in payloads), else MAPPED-ADDRESS.
    pub fn mapped_address(&self) -> Option<SocketAddr> {
        let xor = self.attributes.iter().find_map(|a| match a {
            Attribute::XorMappedAddress(s) => Some(*s),
            _ => None,
        });
        xor.or_else(|| {
            self.attributes.iter().find_map(|a| match a {
                Attribute::MappedAddress(s) => Some(*s),
                _ => None,
            })
        })
    }

    /// ERROR-CODE, if present.
    pub fn error_code(&self) -> Option<(u16, &str)> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::ErrorCode { code, reason } => Some((*code, reason.as_str())),
            _ => None,
        })
    }

    /// USERNAME, if present.
    pub fn username(&self) -> Option<&str> {
        self.attributes.iter().find_map(|a| match a {
            Attribute::Username(u) => Some(u.as_str()),
            _ => None,
        })
    }

    /// Whether CONNECTION-REQUEST-BINDING (with the exact TR-111 value) is present.
    pub fn has_connection_request_binding(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| matches!(a, Attribute::ConnectionRequestBinding))
    }

    /// Whether BINDING-CHANGE is present.
    pub fn has_binding_change(&self) -> bool {
        self.attributes
            .iter()
            .any(|a| matches!(a, Attribute::BindingChange))
    }
}

fn set_length(out: &mut [u8], len: usize) -> Result<(), StunError> {
    let len = u16::try_from(len).map_err(|_| StunError::TooLarge)?;
    if let Some(field) = out.get_mut(2..4) {
        field.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}

/// HMAC-SHA1 over `text` (whose length field is already final); with `pad64` the text is
/// zero-padded to a multiple of 64 bytes first (RFC 3489 §11.2.8).
fn integrity_mac(text: &[u8], key: &[u8], pad64: bool) -> [u8; 20] {
    // HMAC accepts keys of any length, so the error branch is never taken; should it ever be,
    // the all-zero MAC simply fails verification at the peer.
    let Ok(mut mac) = HmacSha1::new_from_slice(key) else {
        return [0; 20];
    };
    mac.update(text);
    if pad64 {
        let rem = text.len() % 64;
        if rem != 0 {
            mac.update(&[0u8; 64][..64 - rem]);
        }
    }
    mac.finalize().into_bytes().into()
}

fn encode_value(a: &Attribute, txid: &TransactionId) -> Vec<u8> {
    match a {
        Attribute::MappedAddress(s)
        | Attribute::SourceAddress(s)
        | Attribute::ChangedAddress(s) => encode_address(*s, None),
        Attribute::XorMappedAddress(s) => encode_address(*s, Some(txid)),
        Attribute::Username(u) => u.as_bytes().to_vec(),
        Attribute::ErrorCode { code, reason } => {
            let class = u8::try_from(code / 100).unwrap_or(0) & 0x07;
            let number = u8::try_from(code % 100).unwrap_or(0);
            let mut v = vec![0, 0, class, number];
            v.extend_from_slice(reason.as_bytes());
            v
        }
        Attribute::UnknownAttributes(list) => list.iter().flat_map(|t| t.to_be_bytes()).collect(),
        Attribute::ConnectionRequestBinding => CONNECTION_REQUEST_BINDING_VALUE.to_vec(),
        Attribute::BindingChange => Vec::new(),
        Attribute::Other { value, .. } => value.clone(),
    }
}

/// The XOR mask: header bytes 4..20 (cookie + rest of the ID for RFC 5389).
fn xor_mask(txid: &TransactionId) -> [u8; 16] {
    txid.0
}

fn encode_address(s: SocketAddr, xor: Option<&TransactionId>) -> Vec<u8> {
    let mask = xor.map(xor_mask).unwrap_or([0; 16]);
    let port = s.port() ^ u16::from_be_bytes([mask[0], mask[1]]);
    let mut v = vec![0];
    match s.ip() {
        IpAddr::V4(ip) => {
            v.push(0x01);
            v.extend_from_slice(&port.to_be_bytes());
            v.extend(ip.octets().iter().zip(mask.iter()).map(|(a, m)| a ^ m));
        }
        IpAddr::V6(ip) => {
            v.push(0x02);
            v.extend_from_slice(&port.to_be_bytes());
            v.extend(ip.octets().iter().zip(mask.iter()).map(|(a, m)| a ^ m));
        }
    }
    v
}

fn decode_address(
    value: &[u8],
    xor: Option<&TransactionId>,
    kind: u16,
) -> Result<SocketAddr, StunError> {
    let bad = StunError::BadAttribute(kind);
    let mask = xor.map(xor_mask).unwrap_or([0; 16]);
    let family = *value.get(1).ok_or(bad.clone())?;
    let port_bytes = value.get(2..4).ok_or(bad.clone())?;
    let port =
        u16::from_be_bytes([port_bytes[0], port_bytes[1]]) ^ u16::from_be_bytes([mask[0], mask[1]]);
    match (family, value.len()) {
        (0x01, 8) => {
            let mut o = [0u8; 4];
            for (i, b) in o.iter_mut().enumerate() {
                *b = value.get(4 + i).copied().unwrap_or(0) ^ mask[i];
            }
            Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(o)), port))
        }
        (0x02, 20) => {
            let mut o = [0u8; 16];
            for (i, b) in o.iter_mut().enumerate() {
                *b = value.get(4 + i).copied().unwrap_or(0) ^ mask[i];
            }
            Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(o)), port))
        }
        _ => Err(bad),
    }
}

/// A decoded message plus what is needed to check its MESSAGE-INTEGRITY.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedStun {
    /// The message (attributes before MESSAGE-INTEGRITY only).
    pub message: StunMessage,
    /// Header and attributes preceding MESSAGE-INTEGRITY, with its HMAC, when present.
    integrity: Option<(Vec<u8>, [u8; 20])>,
}

impl DecodedStun {
    /// Whether MESSAGE-INTEGRITY is present.
    pub fn has_integrity(&self) -> bool {
        self.integrity.is_some()
    }

    /// Checks MESSAGE-INTEGRITY with `key` (STUNPassword), accepting the RFC 3489 (padded) or
    /// RFC 5389 (unpadded) computation, each compared in constant time.
    pub fn verify_integrity(&self, key: &[u8]) -> IntegrityCheck {
        let Some((text, mac)) = &self.integrity else {
            return IntegrityCheck::Absent;
        };
        let ok = |pad| {
            let mut m = match HmacSha1::new_from_slice(key) {
                Ok(m) => m,
                Err(_) => return false,
            };
            m.update(text);
            if pad {
                let rem = text.len() % 64;
                if rem != 0 {
                    m.update(&[0u8; 64][..64 - rem]);
                }
            }
            m.verify_slice(mac).is_ok()
        };
        if ok(true) | ok(false) {
            IntegrityCheck::Valid
        } else {
            IntegrityCheck::Invalid
        }
    }
}

/// Decodes one STUN datagram (either form, see the module doc). Never panics; memory is
/// bounded by the datagram size and [`MAX_ATTRIBUTES`].
pub fn decode(bytes: &[u8]) -> Result<DecodedStun, StunError> {
    let header = bytes.get(..HEADER_LEN).ok_or(StunError::TooShort)?;
    let msg_type = u16::from_be_bytes([header[0], header[1]]);
    if msg_type & 0xC000 != 0 {
        return Err(StunError::NotStun);
    }
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    if len % 4 != 0 || HEADER_LEN + len != bytes.len() {
        return Err(StunError::BadLength);
    }
    let mut txid = [0u8; 16];
    txid.copy_from_slice(&header[4..20]);
    let transaction_id = TransactionId(txid);
    let mut attributes = Vec::new();
    let mut integrity = None;
    let mut pos = HEADER_LEN;
    let mut count = 0;
    while pos < bytes.len() {
        let head = bytes.get(pos..pos + 4).ok_or(StunError::Truncated)?;
        let kind = u16::from_be_bytes([head[0], head[1]]);
        let vlen = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let value = bytes
            .get(pos + 4..pos + 4 + vlen)
            .ok_or(StunError::Truncated)?;
        let next = pos + 4 + vlen.div_ceil(4) * 4;
        if next > bytes.len() {
            return Err(StunError::Truncated);
        }
        count += 1;
        if count > MAX_ATTRIBUTES {
            return Err(StunError::TooManyAttributes);
        }
        if integrity.is_none() {
            if kind == attr::MESSAGE_INTEGRITY {
                let mac: [u8; 20] = value
                    .try_into()
                    .map_err(|_| StunError::BadAttribute(kind))?;
                // The text is what precedes the attribute, with the length field covering the
                // message up to the end of MESSAGE-INTEGRITY (RFC 5389 §15.4; identical to the
                // received length when MESSAGE-INTEGRITY is last, as RFC 3489 requires).
                let mut text = bytes.get(..pos).ok_or(StunError::Truncated)?.to_vec();
                set_length(&mut text, pos - HEADER_LEN + 24)?;
                integrity = Some((text, mac));
            } else {
                attributes.push(decode_attribute(kind, value, &transaction_id)?);
            }
        }
        pos = next;
    }
    Ok(DecodedStun {
        message: StunMessage {
            message_type: MessageType::from_u16(msg_type),
            transaction_id,
            attributes,
        },
        integrity,
    })
}

fn decode_attribute(kind: u16, value: &[u8], txid: &TransactionId) -> Result<Attribute, StunError> {
    Ok(match kind {
        attr::MAPPED_ADDRESS => Attribute::MappedAddress(decode_address(value, None, kind)?),
        attr::SOURCE_ADDRESS => Attribute::SourceAddress(decode_address(value, None, kind)?),
        attr::CHANGED_ADDRESS => Attribute::ChangedAddress(decode_address(value, None, kind)?),
        attr::XOR_MAPPED_ADDRESS | attr::XOR_MAPPED_ADDRESS_OLD => {
            Attribute::XorMappedAddress(decode_address(value, Some(txid), kind)?)
        }
        attr::USERNAME => {
            let trimmed = trim_nul(value);
            Attribute::Username(
                String::from_utf8(trimmed.to_vec()).map_err(|_| StunError::BadAttribute(kind))?,
            )
        }
        attr::ERROR_CODE => {
            let head = value.get(..4).ok_or(StunError::BadAttribute(kind))?;
            let class = u16::from(head[2] & 0x07);
            let number = u16::from(head[3]);
            if !(3..=6).contains(&class) || number > 99 {
                return Err(StunError::BadAttribute(kind));
            }
            let reason =
                String::from_utf8_lossy(trim_nul(value.get(4..).unwrap_or(&[]))).into_owned();
            Attribute::ErrorCode {
                code: class * 100 + number,
                reason,
            }
        }
        attr::UNKNOWN_ATTRIBUTES => Attribute::UnknownAttributes(
            value
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect(),
        ),
        attr::CONNECTION_REQUEST_BINDING if value == CONNECTION_REQUEST_BINDING_VALUE => {
            Attribute::ConnectionRequestBinding
        }
        attr::BINDING_CHANGE if value.is_empty() => Attribute::BindingChange,
        _ => Attribute::Other {
            kind,
            value: value.to_vec(),
        },
    })
}

fn trim_nul(v: &[u8]) -> &[u8] {
    let end = v.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    v.get(..end).unwrap_or(&[])
}

/// What a datagram on the UDP connection-request socket is (TR-069 Annex G step 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DatagramKind {
    /// Starts like a STUN message: first byte `0x00` or `0x01` (RFC 3489 types are below
    /// `0x0200`) and at least a header long. Hand it to the STUN binding.
    Stun,
    /// Starts with `GET `: a UDP connection request. Hand it to the validator.
    UdpConnectionRequest,
    /// Anything else: drop it silently.
    Other,
}

/// Demultiplexes the UDP connection-request socket by the first bytes.
pub fn classify(datagram: &[u8]) -> DatagramKind {
    match datagram.first() {
        Some(0x00 | 0x01) if datagram.len() >= HEADER_LEN => DatagramKind::Stun,
        _ if datagram.starts_with(b"GET ") => DatagramKind::UdpConnectionRequest,
        _ => DatagramKind::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TXID: TransactionId = TransactionId([
        0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e,
        0x1f,
    ]);

    #[test]
    fn annex_g_binding_request_exact_bytes() {
        let m = StunMessage::binding_request(TXID, true, "");
        let b = m.encode(StunFormat::Classic, None).unwrap();
        let mut expected = vec![0x00, 0x01, 0x00, 28];
        expected.extend_from_slice(&TXID.0);
        expected.extend_from_slice(&[0xC0, 0x01, 0x00, 0x14]);
        expected.extend_from_slice(&[
            0x64, 0x73, 0x6C, 0x66, 0x6F, 0x72, 0x75, 0x6D, 0x2E, 0x6F, 0x72, 0x67, 0x2F, 0x54,
            0x52, 0x2D, 0x31, 0x31, 0x31, 0x20,
        ]);
        expected.extend_from_slice(&[0xC0, 0x02, 0x00, 0x00]);
        assert_eq!(b, expected);
        let d = decode(&b).unwrap();
        assert_eq!(d.message, m);
        assert!(d.message.has_connection_request_binding());
        assert!(d.message.has_binding_change());
        assert_eq!(d.verify_integrity(b"x"), IntegrityCheck::Absent);
    }

    #[test]
    fn username_padding_per_format() {
        let m = StunMessage::binding_request(TXID, false, "abcde");
        let classic = m.encode(StunFormat::Classic, None).unwrap();
        // USERNAME: type 6, length 8 (padded inside the length), "abcde\0\0\0".
        assert_eq!(&classic[44..56], b"\x00\x06\x00\x08abcde\x00\x00\x00");
        let modern = m.encode(StunFormat::Rfc5389Compatible, None).unwrap();
        assert_eq!(&modern[44..56], b"\x00\x06\x00\x05abcde\x00\x00\x00");
        for b in [classic, modern] {
            assert_eq!(decode(&b).unwrap().message.username(), Some("abcde"));
        }
    }

    #[test]
    fn message_integrity_classic_is_padded_to_64() {
        let m = StunMessage::binding_request(TXID, false, "cpe");
        let b = m.encode(StunFormat::Classic, Some(b"pw")).unwrap();
        // Last attribute is MESSAGE-INTEGRITY, header length counts it.
        let n = b.len();
        assert_eq!(&b[n - 24..n - 20], &[0x00, 0x08, 0x00, 0x14]);
        assert_eq!(usize::from(u16::from_be_bytes([b[2], b[3]])), n - 20);
        // Independent recomputation: text up to MI, zero padded to 64 bytes.
        let mut text = b[..n - 24].to_vec();
        text.resize(64, 0);
        let mut mac = HmacSha1::new_from_slice(b"pw").unwrap();
        mac.update(&text);
        assert_eq!(&b[n - 20..], mac.finalize().into_bytes().as_slice());
        let d = decode(&b).unwrap();
        assert_eq!(d.verify_integrity(b"pw"), IntegrityCheck::Valid);
        assert_eq!(d.verify_integrity(b"other"), IntegrityCheck::Invalid);
        // Any flipped bit before the MAC breaks it.
        for i in 0..n - 20 {
            let mut t = b.clone();
            t[i] ^= 0x01;
            if let Ok(d) = decode(&t) {
                assert_ne!(d.verify_integrity(b"pw"), IntegrityCheck::Valid, "byte {i}");
            }
        }
    }

    #[test]
    fn attributes_after_integrity_are_ignored() {
        let mut m = StunMessage::new(MessageType::BindingResponse, TXID);
        m.attributes
            .push(Attribute::MappedAddress("192.0.2.1:1000".parse().unwrap()));
        let mut b = m.encode(StunFormat::Classic, Some(b"k")).unwrap();
        // An attacker appends a forged XOR-MAPPED-ADDRESS after the MAC.
        let forged = encode_address("198.51.100.9:9".parse().unwrap(), Some(&TXID));
        b.extend_from_slice(&attr::XOR_MAPPED_ADDRESS.to_be_bytes());
        b.extend_from_slice(&(forged.len() as u16).to_be_bytes());
        b.extend_from_slice(&forged);
        let len = (b.len() - 20) as u16;
        b[2..4].copy_from_slice(&len.to_be_bytes());
        let d = decode(&b).unwrap();
        assert_eq!(
            d.message.mapped_address(),
            Some("192.0.2.1:1000".parse().unwrap())
        );
        assert_eq!(d.verify_integrity(b"k"), IntegrityCheck::Valid);
    }

    #[test]
    fn response_round_trip_all_attributes() {
        let mut m = StunMessage::new(MessageType::BindingResponse, TXID);
        m.attributes = vec![
            Attribute::MappedAddress("203.0.113.5:40000".parse().unwrap()),
            Attribute::XorMappedAddress("[2001:db8::1]:3478".parse().unwrap()),
            Attribute::SourceAddress("192.0.2.1:3478".parse().unwrap()),
            Attribute::ChangedAddress("192.0.2.2:3479".parse().unwrap()),
            Attribute::ErrorCode {
                code: 401,
                reason: "Unauthorized".into(),
            },
            Attribute::UnknownAttributes(vec![0xC001, 0x0003]),
            Attribute::Other {
                kind: attr::SOFTWARE,
                value: b"x".to_vec(),
            },
        ];
        for f in [StunFormat::Classic, StunFormat::Rfc5389Compatible] {
            let d = decode(&m.encode(f, None).unwrap()).unwrap();
            let mut got = d.message.clone();
            // The classic form pads SOFTWARE inside its length; compare the rest exactly.
            if let Some(Attribute::Other { value, .. }) = got.attributes.last_mut() {
                value.truncate(1);
            }
            assert_eq!(got, m, "{f:?}");
            assert_eq!(
                d.message.mapped_address(),
                Some("[2001:db8::1]:3478".parse().unwrap()),
                "XOR-MAPPED-ADDRESS wins"
            );
            assert_eq!(d.message.error_code(), Some((401, "Unauthorized")));
        }
    }

    #[test]
    fn coturn_classic_answer_decodes() {
        // A Binding Response captured from coturn 4.6.1 answering a classic request from
        // 127.0.0.1:41719 (MAPPED-ADDRESS, SOURCE-ADDRESS, CHANGED-ADDRESS, SOFTWARE padded
        // inside its length).
        let txid = [7u8; 16];
        let mut b = hex::decode("01010040").unwrap();
        b.extend_from_slice(&txid);
        b.extend(hex::decode("000100080001a2f77f00000100040008000187dd7f00000100050008000187dd7f00000180220018436f7475726e2d342e362e312027476f7273742700000000").unwrap());
        let d = decode(&b).unwrap();
        assert_eq!(d.message.message_type, MessageType::BindingResponse);
        assert_eq!(
            d.message.mapped_address(),
            Some("127.0.0.1:41719".parse().unwrap())
        );
        assert!(matches!(
            d.message.attributes[1],
            Attribute::SourceAddress(_)
        ));
    }

    #[test]
    fn decode_rejects_bad_input() {
        assert_eq!(decode(&[0; 19]), Err(StunError::TooShort));
        let mut h = vec![0x00, 0x01, 0x00, 0x00];
        h.extend_from_slice(&[0; 16]);
        assert!(decode(&h).is_ok());
        let mut not = h.clone();
        not[0] = 0x40;
        assert_eq!(decode(&not), Err(StunError::NotStun));
        let mut long = h.clone();
        long[3] = 4;
        assert_eq!(decode(&long), Err(StunError::BadLength));
        let mut odd = h.clone();
        odd[3] = 2;
        odd.extend_from_slice(&[0, 0]);
        assert_eq!(decode(&odd), Err(StunError::BadLength));
        // Attribute length past the end.
        let mut t = h.clone();
        t[3] = 4;
        t.extend_from_slice(&[0x00, 0x01, 0x00, 0x08]);
        assert_eq!(decode(&t), Err(StunError::Truncated));
        // MAPPED-ADDRESS with a bad family.
        let mut f = h.clone();
        f[3] = 12;
        f.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0, 9, 0, 1, 1, 2, 3, 4]);
        assert_eq!(
            decode(&f),
            Err(StunError::BadAttribute(attr::MAPPED_ADDRESS))
        );
        // Too many attributes.
        let mut many = h.clone();
        let n = MAX_ATTRIBUTES + 1;
        many[2..4].copy_from_slice(&((n * 4) as u16).to_be_bytes());
        for _ in 0..n {
            many.extend_from_slice(&[0xC0, 0x02, 0, 0]);
        }
        assert_eq!(decode(&many), Err(StunError::TooManyAttributes));
        // A CONNECTION-REQUEST-BINDING with another value is kept raw, not recognised.
        let mut wrong = h.clone();
        wrong[3] = 8;
        wrong.extend_from_slice(&[0xC0, 0x01, 0x00, 0x04, b'a', b'b', b'c', b'd']);
        assert!(!decode(&wrong)
            .unwrap()
            .message
            .has_connection_request_binding());
    }

    #[test]
    fn encode_too_large() {
        let m = StunMessage::binding_request(TXID, false, &"u".repeat(70_000));
        assert_eq!(
            m.encode(StunFormat::Classic, None),
            Err(StunError::TooLarge)
        );
    }

    #[test]
    fn classify_datagrams() {
        let stun = StunMessage::binding_request(TXID, false, "")
            .encode(StunFormat::Classic, None)
            .unwrap();
        assert_eq!(classify(&stun), DatagramKind::Stun);
        assert_eq!(
            classify(b"GET http://1.2.3.4:5?ts=1 HTTP/1.1\r\n\r\n"),
            DatagramKind::UdpConnectionRequest
        );
        assert_eq!(classify(b""), DatagramKind::Other);
        assert_eq!(classify(&[0x01, 0x01]), DatagramKind::Other);
        assert_eq!(classify(b"POST / HTTP/1.1\r\n"), DatagramKind::Other);
        assert_eq!(classify(&[0x80; 40]), DatagramKind::Other);
    }

    #[test]
    fn cookie_transaction_ids() {
        let t = TransactionId::from_random([0xAA; 16], StunFormat::Rfc5389Compatible);
        assert!(t.has_magic_cookie());
        assert_eq!(t.0[4..], [0xAA; 12]);
        let c = TransactionId::from_random([0xAA; 16], StunFormat::Classic);
        assert!(!c.has_magic_cookie());
    }
}

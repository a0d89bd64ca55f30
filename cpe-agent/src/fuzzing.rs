//! Entry points for the daemon's fuzz targets (design invariant 4: every parser of untrusted
//! input has one). Each function feeds arbitrary bytes to a parser and checks its invariants
//! with assertions; the cargo-fuzz targets in `fuzz/fuzz_targets/` call them, and an ordinary
//! test replays the checked-in seed corpora through the same functions, so CI exercises them
//! without nightly.

use crate::tr064::{http, soap, ssdp};
use crate::{dhcp, firmware, vendor_config};

/// The model name the firmware target checks images against.
pub const FUZZ_MODEL: &str = "OpenScape Desk Phone CP600";

/// The key the vendor-configuration target decrypts with.
pub const FUZZ_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// DHCP option 43 payloads (raw and as hex text): anything parses or is refused, and what
/// parses survives encoding again unchanged.
pub fn dhcp_option43(data: &[u8]) {
    if let Ok(o) = dhcp::parse(data) {
        let again = dhcp::parse(&dhcp::encode(&o));
        assert_eq!(again.as_ref(), Ok(&o), "re-encoded option 43 differs");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = dhcp::parse_hex(text);
    }
}

/// Firmware images: the header parser never panics, and verifying in small chunks gives the
/// same verdict as verifying in one piece.
pub fn firmware_image(data: &[u8]) {
    let _ = firmware::parse_header(data);
    let verify = |chunk: usize| {
        let mut v = firmware::ImageVerifier::new(FUZZ_MODEL);
        for c in data.chunks(chunk.max(1)) {
            v.update(c)?;
        }
        v.finish()
    };
    let chunk = data.first().map_or(1, |b| usize::from(*b) % 7 + 1);
    assert_eq!(
        verify(data.len().max(1)),
        verify(chunk),
        "chunking changed the verdict"
    );
}

/// Vendor configuration files, plain and encrypted: reading never panics, and a file that
/// reads in plain text reads identically after encryption with the phone's key.
pub fn vendor_config(data: &[u8]) {
    let _ = vendor_config::read(data, Some(FUZZ_KEY));
    if let Ok(plain) = vendor_config::read(data, None) {
        let encrypted = vendor_config::encrypt(data, FUZZ_KEY, [0x5a; 16]).expect("valid key");
        assert_eq!(vendor_config::read(&encrypted, Some(FUZZ_KEY)), Ok(plain));
    }
}

/// Provisioning files (text, XML, TOML; plain and encrypted): reading never panics and stays
/// within its bounds; a file that reads in plain text reads identically after encryption with
/// its key; a text file written back by `write_text` reads to the same entries.
pub fn provisioning_file(data: &[u8]) {
    use crate::provision::{self, file};
    let model = deskphone_datamodel::DeskPhoneModel::builtin();
    let _ = provision::prepare(data, Some(FUZZ_KEY), &model);
    let Ok(parsed) = file::parse(data) else {
        return;
    };
    assert!(parsed.entries.len() <= file::MAX_ENTRIES);
    if let Ok(plain) = provision::prepare(data, None, &model) {
        let encrypted = vendor_config::encrypt(data, FUZZ_KEY, [0x33; 16]).expect("valid key");
        let again = provision::prepare(&encrypted, Some(FUZZ_KEY), &model);
        assert_eq!(
            again.as_ref().ok(),
            Some(&plain),
            "encryption changed the reading"
        );
    }
    let rewritable = parsed.format == file::Format::Text
        && parsed
            .entries
            .iter()
            .all(|e| e.module.is_some() && !e.key.starts_with('<') && !e.value.ends_with('>'))
        && parsed
            .version
            .as_ref()
            .is_none_or(|v| v.chars().count() <= 40);
    if rewritable {
        let mut modules: Vec<(String, Vec<(String, String)>)> = Vec::new();
        for e in &parsed.entries {
            let m = e.module.clone().unwrap_or_default();
            match modules.last_mut() {
                Some((name, keys)) if *name == m => keys.push((e.key.clone(), e.value.clone())),
                _ => modules.push((m, vec![(e.key.clone(), e.value.clone())])),
            }
        }
        let borrowed: Vec<(Vec<(&str, &str)>, &str)> = modules
            .iter()
            .map(|(m, keys)| {
                (
                    keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
                    m.as_str(),
                )
            })
            .collect();
        let spec: Vec<(&str, &[(&str, &str)])> =
            borrowed.iter().map(|(k, m)| (*m, k.as_slice())).collect();
        let text = file::write_text(parsed.version.as_deref().unwrap_or(""), &spec);
        let back = file::parse(text.as_bytes()).expect("written text file reads back");
        assert_eq!(
            back.entries, parsed.entries,
            "text rewrite changed the entries"
        );
    }
}

/// SIP messages (PnP): parsing never panics; a parsed request gets an answer that parses
/// as a response; a NOTIFY's URL is bounded and free of control characters.
pub fn sip_message(data: &[u8]) {
    use crate::provision::pnp;
    let Ok(m) = pnp::parse_message(data) else {
        return;
    };
    assert!(m.headers.len() <= 64 && m.body.len() <= data.len());
    if let Some(u) = pnp::notify_url(&m) {
        assert!(u.len() <= pnp::MAX_URL && !u.chars().any(char::is_control));
    }
    if let Some(answer) = pnp::response_to(&m, "fuzz@cpe-agent") {
        if answer.len() <= pnp::MAX_MESSAGE {
            let r = pnp::parse_message(&answer).expect("our answer parses");
            assert!(matches!(r.start, pnp::StartLine::Response { .. }));
        }
    }
}

/// TFTP packets: parsing never panics, DATA payloads lie within the datagram.
pub fn tftp_packet(data: &[u8]) {
    use crate::provision::tftp::{parse_packet, Packet};
    if let Ok(Packet::Data(_, payload)) = parse_packet(data) {
        assert_eq!(payload.len() + 4, data.len());
    }
}

/// Cloud Deployment documents: checking never panics; an accepted document sets
/// `acs-server-address` and only allowed items; the verdict does not depend on the clock for
/// a document without certificates.
pub fn cloud_document(data: &[u8]) {
    let now = 1_767_225_600; // 2026-01-01
    if let Ok(items) = crate::cloud::parse_document(data, now) {
        assert!(items
            .iter()
            .all(|(k, _)| crate::cloud::ALLOWED_ITEMS.contains(&k.as_str())));
        assert!(items
            .iter()
            .any(|(k, v)| k == "acs-server-address" && !v.trim().is_empty()));
        if !items.iter().any(|(k, _)| k.contains("certificate")) {
            assert!(crate::cloud::parse_document(data, 0).is_ok());
        }
    }
}

/// TR-064 requests: the HTTP head parser and the SOAP action parser never panic, stay within
/// their bounds, and an action call written back as an envelope parses to the same service,
/// action and argument names.
pub fn tr064_soap(data: &[u8]) {
    if let Ok(h) = http::parse_head(data) {
        assert!(h.len <= data.len() && h.len <= http::MAX_HEAD);
        assert!(h.content_length <= soap::MAX_BODY);
    }
    let Ok(call) = soap::parse_action(data) else {
        return;
    };
    assert!(call.args.len() <= soap::MAX_ARGS);
    let mut args = String::new();
    for (name, value) in &call.args {
        args.push_str(&format!("<{name}>{}</{name}>", soap::escape(value)));
    }
    let again = format!(
        "<s:Envelope xmlns:s=\"{}\"><s:Body><u:{} xmlns:u=\"{}\">{args}</u:{}></s:Body></s:Envelope>",
        soap::SOAP_ENV,
        call.action,
        soap::escape(&call.service_type),
        call.action
    );
    let names = |c: &soap::ActionCall| c.args.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    match soap::parse_action(again.as_bytes()) {
        Ok(c) => {
            assert_eq!(c.service_type, call.service_type);
            assert_eq!(c.action, call.action);
            assert_eq!(names(&c), names(&call));
        }
        // Rewriting may exceed the size bound (escaping grows the text); nothing else.
        Err(e) => assert_eq!(e, soap::ActionParseError::TooLarge, "{again}"),
    }
}

/// SSDP datagrams: the M-SEARCH parser never panics, and every search it accepts is answered
/// with at most one response per target the phone has, each naming the searched target.
pub fn ssdp_msearch(data: &[u8]) {
    let Some(m) = ssdp::parse_msearch(data) else {
        return;
    };
    let udn = crate::tr064::services::udn("001AE8A1B2C3");
    let answers = ssdp::answers(&m.st, &udn);
    assert!(answers.len() <= 3 + crate::tr064::services::SERVICES.len());
    for (st, usn) in answers {
        assert!(usn.starts_with(&udn));
        let r = ssdp::response("http://127.0.0.1:49000/tr64desc.xml", &st, &usn);
        assert!(r.contains(&format!("\r\nST: {st}\r\n")));
    }
}

/// The fleet's statistics scan of ACS bodies (`fleet::phone::body_method`): never panics, and a
/// name it finds is a plain XML local name of at most 64 characters that occurs in the body.
pub fn fleet_body_method(data: &[u8]) {
    if let Some(m) = crate::fleet::phone::body_method(data) {
        assert!(!m.is_empty() && m.len() <= 64);
        assert!(m
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        assert!(data.windows(m.len()).any(|w| w == m.as_bytes()));
    }
}

/// Web form bodies and `Cookie` headers (the web-based management's untrusted input): a form
/// parses within [`crate::web::form::MAX_FIELDS`] fields or is refused, a parsed form written
/// back percent-encoded parses to the same pairs, and cookie lookup never panics.
pub fn web_form(data: &[u8]) {
    use crate::web::form;
    if let Ok(f) = form::parse_form(data) {
        assert!(f.len() <= form::MAX_FIELDS);
        let enc = |s: &str| {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let again = f
            .iter()
            .map(|(n, v)| format!("{}={}", enc(n), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        // Empty names with empty values vanish (`&=&` is not a field); compare the rest.
        let kept: Vec<_> = f
            .iter()
            .filter(|(n, v)| !(n.is_empty() && v.is_empty()))
            .cloned()
            .collect();
        let reparsed: Vec<_> = form::parse_form(again.as_bytes())
            .expect("re-encoded form parses")
            .into_iter()
            .filter(|(n, v)| !(n.is_empty() && v.is_empty()))
            .collect();
        assert_eq!(reparsed, kept, "re-encoded form differs");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = form::cookie(text, crate::web::SESSION_COOKIE);
    }
}

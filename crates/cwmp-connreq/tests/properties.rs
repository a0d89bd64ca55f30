//! Property tests for the parsers (design invariant 4): arbitrary bytes never panic, and
//! well-formed generated input round-trips.

use std::time::{Duration, Instant};

use cwmp_connreq::{
    authorization_header, build_udp_request, classify, decode, parse_authorization,
    parse_challenge, parse_request, parse_udp_request, Attribute, DigestAuth, IntegrityCheck,
    MessageType, StunFormat, StunMessage, TransactionId, UdpRequestValidator, UdpVerdict, Verdict,
};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!#$%&'*+.^_`|~-]{1,16}"
}

fn header_value() -> impl Strategy<Value = String> {
    // Visible ASCII and inner spaces (httparse trims the ends).
    "[!-~]([ !-~]{0,40}[!-~])?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn parse_request_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse_request(&data);
    }

    #[test]
    fn parse_request_never_panics_on_texty_input(s in "[A-Za-z /:\r\n\t,=\"-]{0,300}") {
        let _ = parse_request(s.as_bytes());
    }

    #[test]
    fn generated_request_round_trips(
        method in "[A-Z]{1,8}",
        path in "/[A-Za-z0-9._~/-]{0,40}",
        query in proptest::option::of("[A-Za-z0-9=&]{0,20}"),
        headers in proptest::collection::vec((token(), header_value()), 0..10),
        http10 in any::<bool>(),
    ) {
        let headers: Vec<_> = headers
            .into_iter()
            .filter(|(n, _)| {
                !["host", "authorization", "content-length", "transfer-encoding"]
                    .contains(&n.to_ascii_lowercase().as_str())
            })
            .collect();
        let target = match &query {
            Some(q) => format!("{path}?{q}"),
            None => path.clone(),
        };
        let mut raw = format!("{method} {target} HTTP/1.{}\r\n", if http10 { 0 } else { 1 });
        for (n, v) in &headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        let req = parse_request(raw.as_bytes()).unwrap();
        prop_assert_eq!(req.method(), method.as_str());
        prop_assert_eq!(req.target(), target.as_str());
        prop_assert_eq!(req.path(), path.as_str());
        prop_assert_eq!(req.minor_version(), if http10 { 0 } else { 1 });
        prop_assert_eq!(req.head_len(), raw.len());
        let got: Vec<(String, String)> = req
            .headers()
            .map(|(n, v)| (n.to_owned(), String::from_utf8(v.to_vec()).unwrap()))
            .collect();
        prop_assert_eq!(got, headers);
        // Every strict prefix is incomplete.
        let cut = raw.len() / 2;
        prop_assert_eq!(
            parse_request(&raw.as_bytes()[..cut]),
            Err(cwmp_connreq::RequestError::Incomplete)
        );
    }

    #[test]
    fn digest_parsers_never_panic(s in any::<String>()) {
        let _ = parse_authorization(&s);
        let _ = parse_challenge(&s);
        let _ = parse_authorization(&format!("Digest {s}"));
        let mut a = DigestAuth::new("r", Duration::from_secs(60));
        let _ = a.verify(Instant::now(), "GET", "/", Some(&format!("Digest {s}")), "u", "p");
    }

    #[test]
    fn digest_round_trip(
        username in "[ -~]{0,30}",
        password in any::<String>(),
        realm in "[ -~]{1,30}",
        uri in "/[!-~]{0,30}",
        cnonce in "[A-Za-z0-9+/=]{1,20}",
        nc in 1u32..,
        random in any::<[u8; 16]>(),
    ) {
        let mut a = DigestAuth::new(&realm, Duration::from_secs(60));
        let now = Instant::now();
        let ch = parse_challenge(&a.challenge(now, random)).unwrap();
        prop_assert_eq!(&ch.realm, &realm);
        let header = authorization_header(&ch, &username, &password, "GET", &uri, &cnonce, nc);
        let creds = parse_authorization(&header).unwrap();
        prop_assert_eq!(&creds.username, &username);
        prop_assert_eq!(&creds.uri, &uri);
        prop_assert_eq!(creds.nc, Some(nc));
        prop_assert_eq!(
            a.verify(now, "GET", &uri, Some(&header), &username, &format!("{password}x")),
            Verdict::Refused(cwmp_connreq::Refusal::WrongResponse)
        );
        prop_assert_eq!(a.verify(now, "GET", &uri, Some(&header), &username, &password), Verdict::Ok);
        prop_assert_eq!(
            a.verify(now, "GET", &uri, Some(&header), &username, &password),
            Verdict::Refused(cwmp_connreq::Refusal::Replay)
        );
    }

    #[test]
    fn stun_decode_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = classify(&data);
        if let Ok(d) = decode(&data) {
            let _ = d.verify_integrity(b"k");
            let _ = d.message.mapped_address();
        }
    }

    #[test]
    fn stun_decode_never_panics_on_header_shaped_input(
        kind in prop_oneof![Just(0x0001u16), Just(0x0101), Just(0x0111)],
        txid in any::<[u8; 16]>(),
        body in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        // Valid header with a random body: exercises the attribute walker.
        let len = (body.len() / 4 * 4) as u16;
        let mut data = kind.to_be_bytes().to_vec();
        data.extend_from_slice(&len.to_be_bytes());
        data.extend_from_slice(&txid);
        data.extend_from_slice(&body[..usize::from(len)]);
        let _ = decode(&data);
    }

    #[test]
    fn stun_round_trip(
        kind in prop_oneof![Just(MessageType::BindingRequest), Just(MessageType::BindingResponse), Just(MessageType::BindingErrorResponse)],
        random in any::<[u8; 16]>(),
        cookie in any::<bool>(),
        mapped in any::<std::net::SocketAddr>(),
        xor in any::<std::net::SocketAddr>(),
        username in "[ -~]{1,40}",
        code in 300u16..700,
        reason in "[ -~]{0,20}",
        change in any::<bool>(),
        key in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
    ) {
        let format = if cookie { StunFormat::Rfc5389Compatible } else { StunFormat::Classic };
        // Scope ids and flow info are not carried by STUN.
        let plain = |a: std::net::SocketAddr| std::net::SocketAddr::new(a.ip(), a.port());
        let mut m = StunMessage::binding_request(TransactionId::from_random(random, format), change, &username);
        m.message_type = kind;
        m.attributes.push(Attribute::MappedAddress(plain(mapped)));
        m.attributes.push(Attribute::XorMappedAddress(plain(xor)));
        m.attributes.push(Attribute::ErrorCode { code, reason: reason.trim_end_matches('\0').to_owned() });
        let bytes = m.encode(format, key.as_deref()).unwrap();
        prop_assert_eq!(bytes.len() % 4, 0);
        let d = decode(&bytes).unwrap();
        prop_assert_eq!(&d.message, &m);
        prop_assert_eq!(d.message.mapped_address(), Some(plain(xor)));
        match &key {
            Some(k) => {
                prop_assert_eq!(d.verify_integrity(k), IntegrityCheck::Valid);
                let mut other = k.clone();
                other.push(1);
                prop_assert_eq!(d.verify_integrity(&other), IntegrityCheck::Invalid);
            }
            None => prop_assert_eq!(d.verify_integrity(b"x"), IntegrityCheck::Absent),
        }
    }

    #[test]
    fn udp_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = parse_udp_request(&data);
        let mut v = UdpRequestValidator::new();
        let _ = v.handle_datagram(Some(1_700_000_000), &data, "u", "p");
    }

    #[test]
    fn udp_parser_never_panics_on_request_shaped_input(q in "[a-z0-9=&%+ ]{0,200}") {
        let _ = parse_udp_request(format!("GET http://h:1?{q} HTTP/1.1\r\n\r\n").as_bytes());
    }

    #[test]
    fn udp_request_round_trips(
        ts in 0u64..100_000_000_000,
        id in "[0-9]{1,10}",
        un in "[ -~]{0,40}",
        cn in "[ -~]{1,40}",
        password in any::<String>(),
        copies in 1usize..5,
    ) {
        let d = build_udp_request("203.0.113.1:7547", ts, &id, &un, &cn, &password);
        let r = parse_udp_request(&d).unwrap();
        prop_assert_eq!(r.ts, ts);
        prop_assert_eq!(&r.id, &id);
        prop_assert_eq!(&r.un, &un);
        prop_assert_eq!(&r.cn, &cn);
        let mut v = UdpRequestValidator::new();
        let first = v.handle_datagram(None, &d, &un, &password);
        prop_assert!(matches!(first, UdpVerdict::Accepted(_)), "{:?}", first);
        for _ in 1..copies {
            prop_assert_eq!(v.handle_datagram(None, &d, &un, &password), UdpVerdict::Duplicate);
        }
        let wrong = v.handle_datagram(None, &d, &un, &format!("{password}!"));
        prop_assert!(matches!(wrong, UdpVerdict::Rejected(cwmp_connreq::UdpRejection::BadSignature)), "{:?}", wrong);
    }
}

//! Cross-checks this crate's STUN codec against an independent implementation, `stun_codec`
//! 0.4 (RFC 5389 only, so the cookie-compatible form is what both understand).

use bytecodec::{DecodeExt, EncodeExt};
use cwmp_connreq::{
    attr, decode, IntegrityCheck, MessageType, StunFormat, StunMessage, TransactionId,
    CONNECTION_REQUEST_BINDING_VALUE,
};
use stun_codec::rfc5389::attributes::{
    Fingerprint, MappedAddress, MessageIntegrity, Username, XorMappedAddress,
};
use stun_codec::rfc5389::{methods::BINDING, Attribute};
use stun_codec::{Attribute as _, Message, MessageClass, MessageDecoder, MessageEncoder};

fn cookie_txid() -> TransactionId {
    TransactionId::from_random([0x5a; 16], StunFormat::Rfc5389Compatible)
}

#[test]
fn stun_codec_reads_our_cookie_form_request_and_its_integrity() {
    let txid = cookie_txid();
    let ours = StunMessage::binding_request(txid, true, "cpe-user")
        .encode(StunFormat::Rfc5389Compatible, Some(b"stun-pw"))
        .unwrap();
    let mut decoder = MessageDecoder::<Attribute>::new();
    let theirs: Message<Attribute> = decoder
        .decode_from_bytes(&ours)
        .unwrap()
        .expect("stun_codec decodes the message");
    assert_eq!(theirs.class(), MessageClass::Request);
    assert_eq!(theirs.method(), BINDING);
    assert_eq!(theirs.transaction_id().as_bytes()[..], txid.0[4..]);
    assert_eq!(
        theirs.get_attribute::<Username>().map(|u| u.name()),
        Some("cpe-user")
    );
    let mi = theirs
        .get_attribute::<MessageIntegrity>()
        .expect("MESSAGE-INTEGRITY present");
    mi.check_short_term_credential("stun-pw")
        .expect("stun_codec accepts our MESSAGE-INTEGRITY");
    assert!(mi.check_short_term_credential("other").is_err());
    // The TR-111 attributes are unknown to stun_codec and arrive raw, byte for byte.
    let unknown: Vec<(u16, Vec<u8>)> = theirs
        .unknown_attributes()
        .map(|a| (a.get_type().as_u16(), a.value().to_vec()))
        .collect();
    assert_eq!(
        unknown,
        vec![
            (
                attr::CONNECTION_REQUEST_BINDING,
                CONNECTION_REQUEST_BINDING_VALUE.to_vec()
            ),
            (attr::BINDING_CHANGE, Vec::new()),
        ]
    );
}

#[test]
fn we_read_a_stun_codec_response_with_integrity_and_fingerprint() {
    let txid = cookie_txid();
    let mut tid = [0u8; 12];
    tid.copy_from_slice(&txid.0[4..]);
    let mut m = Message::<Attribute>::new(
        MessageClass::SuccessResponse,
        BINDING,
        stun_codec::TransactionId::new(tid),
    );
    let mapped: std::net::SocketAddr = "198.51.100.20:40123".parse().unwrap();
    m.add_attribute(XorMappedAddress::new(mapped));
    m.add_attribute(MappedAddress::new("192.0.2.99:1".parse().unwrap()));
    let mi = MessageIntegrity::new_short_term_credential(&m, "stun-pw").unwrap();
    m.add_attribute(mi);
    let fp = Fingerprint::new(&m).unwrap();
    m.add_attribute(fp);
    let bytes = MessageEncoder::new().encode_into_bytes(m).unwrap();

    let d = decode(&bytes).unwrap();
    assert_eq!(d.message.message_type, MessageType::BindingResponse);
    assert_eq!(d.message.transaction_id, txid);
    // XOR-MAPPED-ADDRESS is preferred over the (here deliberately different) MAPPED-ADDRESS.
    assert_eq!(d.message.mapped_address(), Some(mapped));
    assert_eq!(d.verify_integrity(b"stun-pw"), IntegrityCheck::Valid);
    assert_eq!(d.verify_integrity(b"wrong"), IntegrityCheck::Invalid);
}

#[test]
fn stun_codec_reads_our_responses_both_address_kinds() {
    // Our encoder's XOR-MAPPED-ADDRESS (used by the test STUN servers) matches stun_codec's.
    for addr in ["203.0.113.1:3478", "[2001:db8::42]:61000"] {
        let a: std::net::SocketAddr = addr.parse().unwrap();
        let mut ours = StunMessage::new(MessageType::BindingResponse, cookie_txid());
        ours.attributes
            .push(cwmp_connreq::Attribute::XorMappedAddress(a));
        ours.attributes
            .push(cwmp_connreq::Attribute::MappedAddress(a));
        let bytes = ours
            .encode(StunFormat::Rfc5389Compatible, Some(b"k"))
            .unwrap();
        let theirs = MessageDecoder::<Attribute>::new()
            .decode_from_bytes(&bytes)
            .unwrap()
            .unwrap();
        assert_eq!(theirs.class(), MessageClass::SuccessResponse);
        assert_eq!(
            theirs
                .get_attribute::<XorMappedAddress>()
                .map(|x| x.address()),
            Some(a)
        );
        assert_eq!(
            theirs.get_attribute::<MappedAddress>().map(|x| x.address()),
            Some(a)
        );
        theirs
            .get_attribute::<MessageIntegrity>()
            .unwrap()
            .check_short_term_credential("k")
            .unwrap();
    }
}

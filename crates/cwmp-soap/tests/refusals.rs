//! Bad input: every refusal case of the parser yields its typed error kind and a byte
//! offset, never a panic; the lenient cases are accepted as documented.

use cwmp_model::XsdType;
use cwmp_soap::*;

const HEAD: &str = r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#;

fn env(body: &str) -> String {
    format!("{HEAD}<soap:Body>{body}</soap:Body></soap:Envelope>")
}

fn env_h(header: &str, body: &str) -> String {
    format!(
        "{HEAD}<soap:Header>{header}</soap:Header><soap:Body>{body}</soap:Body></soap:Envelope>"
    )
}

fn err(doc: impl AsRef<[u8]>) -> ParseError {
    match parse(doc.as_ref(), &Limits::default()) {
        Ok(e) => panic!("accepted: {e:?}"),
        Err(e) => {
            // Every error prints what and where.
            assert!(e.to_string().contains("at byte"), "{e}");
            e
        }
    }
}

fn ok(doc: impl AsRef<[u8]>) -> Envelope {
    parse(doc.as_ref(), &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn doctype_and_entity_declarations() {
    // Billion laughs: refused at the DOCTYPE, before any entity could be expanded.
    let laughs = format!(
        "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">{}]>{}",
        (1..10)
            .map(|i| format!(
                "<!ENTITY lol{i} \"{}\">",
                format!("&lol{};", i - 1).repeat(10)
            ))
            .collect::<String>()
            .replace("&lol0;", "&lol;"),
        env("<cwmp:Reboot><CommandKey>&lol9;</CommandKey></cwmp:Reboot>")
    );
    let e = err(&laughs);
    assert_eq!(e.kind, ParseErrorKind::Doctype);
    assert_eq!(e.offset, "<?xml version=\"1.0\"?>".len());
    // External entity (XXE).
    let xxe = format!(
        "<!DOCTYPE x [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>{}",
        env("<cwmp:Reboot><CommandKey>&xxe;</CommandKey></cwmp:Reboot>")
    );
    assert_eq!(err(xxe).kind, ParseErrorKind::Doctype);
    // A plain DOCTYPE without declarations is refused too.
    assert_eq!(
        err(format!(
            "<!DOCTYPE soap:Envelope>{}",
            env("<cwmp:FactoryReset/>")
        ))
        .kind,
        ParseErrorKind::Doctype
    );
}

#[test]
fn entities_other_than_the_predefined_five() {
    let e = err(env(
        "<cwmp:Reboot><CommandKey>&nbsp;</CommandKey></cwmp:Reboot>",
    ));
    assert_eq!(e.kind, ParseErrorKind::UnknownEntity("nbsp".into()));
    let e = err(env(
        "<cwmp:Reboot><CommandKey>x</CommandKey></cwmp:Reboot><x a='&foo;'/>",
    ));
    assert!(matches!(e.kind, ParseErrorKind::UnknownEntity(_)), "{e}");
    // The five predefined entities and character references are expanded.
    let env = ok(env(
        "<cwmp:Reboot><CommandKey>&lt;&gt;&amp;&apos;&quot;&#65;&#x42;&#x1F600;</CommandKey></cwmp:Reboot>",
    ));
    assert_eq!(
        env.body,
        Body::Reboot(Reboot {
            command_key: "<>&'\"AB😀".into()
        })
    );
}

#[test]
fn invalid_characters() {
    for bad in [
        "&#0;",
        "&#1;",
        "&#xD800;",
        "&#xFFFE;",
        "&#99999999;",
        "&#x;",
        "&#12a;",
    ] {
        let e = err(env(&format!(
            "<cwmp:Reboot><CommandKey>{bad}</CommandKey></cwmp:Reboot>"
        )));
        assert!(
            matches!(e.kind, ParseErrorKind::InvalidCharRef(_)),
            "{bad}: {e}"
        );
    }
    let doc = env("<cwmp:Reboot><CommandKey>a\u{1}b</CommandKey></cwmp:Reboot>");
    let e = err(&doc);
    assert_eq!(e.kind, ParseErrorKind::InvalidChar);
    assert_eq!(e.offset, doc.find('\u{1}').unwrap());
    let e = err(env(
        "<cwmp:Reboot><CommandKey>\u{FFFF}</CommandKey></cwmp:Reboot>",
    ));
    assert_eq!(e.kind, ParseErrorKind::InvalidChar);
}

#[test]
fn invalid_utf8() {
    let mut doc = env("<cwmp:Reboot><CommandKey>ab</CommandKey></cwmp:Reboot>").into_bytes();
    let at = doc.windows(2).position(|w| w == b"ab").unwrap();
    doc[at + 1] = 0xFF;
    let e = err(&doc);
    assert_eq!(e.kind, ParseErrorKind::InvalidUtf8);
    assert_eq!(e.offset, at + 1);
    // UTF-16 is not accepted either.
    let utf16: Vec<u8> = env("<cwmp:FactoryReset/>")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    assert!(matches!(
        err(utf16).kind,
        ParseErrorKind::InvalidChar | ParseErrorKind::InvalidUtf8
    ));
}

#[test]
fn truncated_documents() {
    let full = env("<cwmp:Reboot><CommandKey>rb</CommandKey></cwmp:Reboot>");
    for cut in [
        0,
        5,
        HEAD.len() - 3,
        HEAD.len(),
        full.find("<CommandKey>").unwrap() + 4,
        full.find("rb<").unwrap() + 1,
        full.len() - 1,
    ] {
        let e = err(&full[..cut]);
        assert_eq!(e.kind, ParseErrorKind::Truncated, "cut at {cut}: {e}");
    }
    assert_eq!(err("   ").kind, ParseErrorKind::Truncated);
    assert_eq!(
        err("<!-- only a comment -->").kind,
        ParseErrorKind::Truncated
    );
    assert_eq!(
        err(format!("{full}<!-- unclosed")).kind,
        ParseErrorKind::Truncated
    );
}

#[test]
fn size_depth_and_array_limits() {
    let doc = env("<cwmp:GetParameterValues><ParameterNames><string>a</string><string>b</string><string>c</string></ParameterNames></cwmp:GetParameterValues>");
    let small = Limits {
        max_bytes: doc.len() - 1,
        ..Limits::default()
    };
    let e = parse(doc.as_bytes(), &small).unwrap_err();
    assert_eq!(
        e.kind,
        ParseErrorKind::TooLarge {
            size: doc.len(),
            limit: doc.len() - 1
        }
    );
    let items = Limits {
        max_array_items: 2,
        ..Limits::default()
    };
    let e = parse(doc.as_bytes(), &items).unwrap_err();
    assert_eq!(
        e.kind,
        ParseErrorKind::TooManyItems {
            element: "ParameterNames".into(),
            limit: 2
        }
    );
    assert_eq!(e.offset, doc.rfind("<string>c").unwrap());
    assert!(parse(
        doc.as_bytes(),
        &Limits {
            max_array_items: 3,
            ..Limits::default()
        }
    )
    .is_ok());

    // Depth: Envelope(1) Body(2) Reboot(3) + 30 junk levels = 33 > 32.
    let deep = env(&format!(
        "<cwmp:Reboot>{}{}<CommandKey/></cwmp:Reboot>",
        "<a>".repeat(30),
        "</a>".repeat(30)
    ));
    assert_eq!(err(&deep).kind, ParseErrorKind::TooDeep { limit: 32 });
    let ok_depth = env(&format!(
        "<cwmp:Reboot>{}{}<CommandKey/></cwmp:Reboot>",
        "<a>".repeat(29),
        "</a>".repeat(29)
    ));
    ok(ok_depth);
    // Very deep input is cut off at the limit, not recursed into.
    let abyss = format!("{HEAD}{}", "<a>".repeat(1_000_000));
    assert_eq!(err(&abyss).kind, ParseErrorKind::TooDeep { limit: 32 });

    // Repeated elements outside arrays are bounded too.
    let faults = Limits {
        max_array_items: 1,
        ..Limits::default()
    };
    let f = env("<soap:Fault><faultcode>Client</faultcode><faultstring>x</faultstring><detail><cwmp:Fault><FaultCode>9003</FaultCode><SetParameterValuesFault><ParameterName>a</ParameterName><FaultCode>9007</FaultCode></SetParameterValuesFault><SetParameterValuesFault><ParameterName>b</ParameterName><FaultCode>9007</FaultCode></SetParameterValuesFault></cwmp:Fault></detail></soap:Fault>");
    assert!(matches!(
        parse(f.as_bytes(), &faults).unwrap_err().kind,
        ParseErrorKind::TooManyItems { .. }
    ));
}

#[test]
fn duplicate_and_missing_arguments() {
    let doc =
        env("<cwmp:Reboot><CommandKey>a</CommandKey><CommandKey>b</CommandKey></cwmp:Reboot>");
    let e = err(&doc);
    assert_eq!(
        e.kind,
        ParseErrorKind::DuplicateElement {
            parent: "Reboot".into(),
            name: "CommandKey".into()
        }
    );
    assert_eq!(e.offset, doc.rfind("<CommandKey>").unwrap());
    let e = err(env(
        "<cwmp:ScheduleInform><CommandKey>a</CommandKey></cwmp:ScheduleInform>",
    ));
    assert_eq!(
        e.kind,
        ParseErrorKind::MissingElement {
            parent: "ScheduleInform".into(),
            name: "DelaySeconds"
        }
    );
    let e = err(env(
        "<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>a</Name></ParameterValueStruct></ParameterList><ParameterKey/></cwmp:SetParameterValues>",
    ));
    assert_eq!(
        e.kind,
        ParseErrorKind::MissingElement {
            parent: "ParameterValueStruct".into(),
            name: "Value"
        }
    );
    let e = err(env(
        "<cwmp:Download><CommandKey/><FileType>1 Firmware Upgrade Image</FileType><URL>http://x/</URL></cwmp:Download>",
    ));
    assert!(
        matches!(
            e.kind,
            ParseErrorKind::MissingElement {
                name: "Username",
                ..
            }
        ),
        "{e}"
    );
    // Duplicate CWMP header.
    let e = err(env_h(
        r#"<cwmp:ID soap:mustUnderstand="1">1</cwmp:ID><cwmp:ID soap:mustUnderstand="1">2</cwmp:ID>"#,
        "<cwmp:FactoryReset/>",
    ));
    assert!(matches!(e.kind, ParseErrorKind::DuplicateElement { ref name, .. } if name == "ID"));
    // ChangeDUState needs at least one operation, each typed by xsi:type.
    assert!(matches!(
        err(env(
            "<cwmp:ChangeDUState><CommandKey/></cwmp:ChangeDUState>"
        ))
        .kind,
        ParseErrorKind::MissingElement {
            name: "Operations",
            ..
        }
    ));
    assert!(matches!(
        err(env("<cwmp:ChangeDUState><Operations><URL>x</URL></Operations></cwmp:ChangeDUState>")).kind,
        ParseErrorKind::InvalidValue { ref element, .. } if element == "Operations"
    ));
    // A fault needs faultcode and faultstring, and a cwmp:Fault needs FaultCode.
    assert!(matches!(
        err(env("<soap:Fault><faultstring>x</faultstring></soap:Fault>")).kind,
        ParseErrorKind::MissingElement {
            name: "faultcode",
            ..
        }
    ));
    assert!(matches!(
        err(env("<soap:Fault><faultcode>Server</faultcode><faultstring>x</faultstring><detail><cwmp:Fault><FaultString>y</FaultString></cwmp:Fault></detail></soap:Fault>")).kind,
        ParseErrorKind::MissingElement { name: "FaultCode", .. }
    ));
}

#[test]
fn numbers_out_of_range_and_bad_values() {
    let cases = [
        ("<cwmp:InformResponse><MaxEnvelopes>4294967296</MaxEnvelopes></cwmp:InformResponse>", "unsignedInt"),
        ("<cwmp:InformResponse><MaxEnvelopes>-1</MaxEnvelopes></cwmp:InformResponse>", "unsignedInt"),
        ("<cwmp:InformResponse><MaxEnvelopes></MaxEnvelopes></cwmp:InformResponse>", "unsignedInt"),
        ("<cwmp:InformResponse><MaxEnvelopes>1.0</MaxEnvelopes></cwmp:InformResponse>", "unsignedInt"),
        ("<cwmp:InformResponse><MaxEnvelopes>0x10</MaxEnvelopes></cwmp:InformResponse>", "unsignedInt"),
        ("<cwmp:SetParameterValuesResponse><Status>2147483648</Status></cwmp:SetParameterValuesResponse>", "int"),
        ("<cwmp:SetParameterValuesResponse><Status>-2147483649</Status></cwmp:SetParameterValuesResponse>", "int"),
        ("<cwmp:GetParameterNames><ParameterPath/><NextLevel>yes</NextLevel></cwmp:GetParameterNames>", "boolean"),
        ("<cwmp:GetParameterNames><ParameterPath/><NextLevel/></cwmp:GetParameterNames>", "boolean"),
        ("<cwmp:DownloadResponse><Status>0</Status><StartTime>yesterday</StartTime><CompleteTime>0001-01-01T00:00:00Z</CompleteTime></cwmp:DownloadResponse>", "dateTime"),
        ("<cwmp:DownloadResponse><Status>0</Status><StartTime>9999-12-31T23:59:59-05:00</StartTime><CompleteTime>0001-01-01T00:00:00Z</CompleteTime></cwmp:DownloadResponse>", "dateTime"),
        // Notification must be an int when NotificationChange is true.
        ("<cwmp:SetParameterAttributes><ParameterList><SetParameterAttributesStruct><Name>a</Name><NotificationChange>true</NotificationChange><Notification></Notification><AccessListChange>false</AccessListChange><AccessList/></SetParameterAttributesStruct></ParameterList></cwmp:SetParameterAttributes>", "int"),
    ];
    for (body, expected_type) in cases {
        let e = err(env(body));
        match e.kind {
            ParseErrorKind::InvalidValue { expected, .. } => {
                assert_eq!(expected, expected_type, "{body}")
            }
            other => panic!("{body}: {other:?}"),
        }
    }
    // Enumerations are not the codec's business: Status 7 is kept for the engine (9003).
    let e = ok(env(
        "<cwmp:SetParameterValuesResponse><Status> 7 </Status></cwmp:SetParameterValuesResponse>",
    ));
    assert_eq!(
        e.body,
        Body::SetParameterValuesResponse(SetParameterValuesResponse { status: 7 })
    );
}

#[test]
fn not_well_formed() {
    let syntax = [
        env("<cwmp:Reboot><CommandKey>a</Command></cwmp:Reboot>"),
        env("<cwmp:Reboot><CommandKey>a&b</CommandKey></cwmp:Reboot>"),
        env("<cwmp:Reboot><CommandKey a=\"1\" a=\"2\">x</CommandKey></cwmp:Reboot>"),
        env("<cwmp:Reboot><CommandKey a=1>x</CommandKey></cwmp:Reboot>"),
        env("<cwmp:Reboot><CommandKey a=\"<\">x</CommandKey></cwmp:Reboot>"),
        format!("{}<more/>", env("<cwmp:FactoryReset/>")),
        format!("{}</soap:Envelope>", env("<cwmp:FactoryReset/>")),
        format!(
            "<?xml version=\"1.0\"?><?xml version=\"1.0\"?>{}",
            env("<cwmp:FactoryReset/>")
        ),
        format!(" <?xml version=\"1.0\"?>{}", env("<cwmp:FactoryReset/>")),
        env("<cwmp:Reboot><!-- a -- b --><CommandKey/></cwmp:Reboot>"),
    ];
    for doc in syntax {
        let e = err(&doc);
        assert!(matches!(e.kind, ParseErrorKind::Syntax(_)), "{doc}\n{e}");
    }
    // Text outside the root element.
    assert!(matches!(
        err(format!("junk{}", env("<cwmp:FactoryReset/>"))).kind,
        ParseErrorKind::UnexpectedText { .. }
    ));
    assert!(matches!(
        err(format!("{}junk", env("<cwmp:FactoryReset/>"))).kind,
        ParseErrorKind::UnexpectedText { .. }
    ));
}

#[test]
fn not_namespace_well_formed() {
    let cases = [
        env("<foo:Reboot><CommandKey/></foo:Reboot>"),
        env("<cwmp:Reboot foo:bar=\"1\"><CommandKey/></cwmp:Reboot>"),
        env("<cwmp:Re:boot><CommandKey/></cwmp:Re:boot>"),
        // Only `Body:Fault` in the SOAP namespace is let through, not other double colons.
        env("<soap:Body:Other/>"),
        env("<cwmp:Body:Fault/>"),
        env("<cwmp:1Reboot/>"),
        env("<cwmp:Reboot><:CommandKey/></cwmp:Reboot>"),
    ];
    for doc in cases {
        let e = err(&doc);
        assert!(
            matches!(
                e.kind,
                ParseErrorKind::Namespace(_) | ParseErrorKind::Syntax(_)
            ),
            "{doc}\n{e}"
        );
    }
}

#[test]
fn not_a_cwmp_envelope() {
    // Wrong root, or the SOAP 1.2 envelope namespace, or no namespace at all.
    for doc in [
        "<Envelope><Body><Reboot/></Body></Envelope>".to_owned(),
        r#"<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>"#
            .to_owned(),
        r#"<html><body>502 Bad Gateway</body></html>"#.to_owned(),
    ] {
        assert!(
            matches!(err(&doc).kind, ParseErrorKind::NotSoapEnvelope(_)),
            "{doc}"
        );
    }
    assert_eq!(
        err(format!("{HEAD}</soap:Envelope>")).kind,
        ParseErrorKind::MissingBody
    );
    assert_eq!(
        err(format!(
            "{HEAD}<soap:Header><cwmp:ID soap:mustUnderstand=\"1\">1</cwmp:ID></soap:Header></soap:Envelope>"
        ))
        .kind,
        ParseErrorKind::MissingBody
    );
    assert_eq!(err(env("")).kind, ParseErrorKind::EmptyBody);
    assert_eq!(
        err(env("  <!-- nothing -->  ")).kind,
        ParseErrorKind::EmptyBody
    );
    assert_eq!(
        err(env(
            "<cwmp:FactoryReset/><cwmp:Reboot><CommandKey/></cwmp:Reboot>"
        ))
        .kind,
        ParseErrorKind::ExtraBodyElement("Reboot".into())
    );
    assert!(matches!(
        err(format!("{HEAD}<soap:Body><cwmp:FactoryReset/></soap:Body><soap:Body><cwmp:FactoryReset/></soap:Body></soap:Envelope>")).kind,
        ParseErrorKind::DuplicateElement { ref name, .. } if name == "Body"
    ));
}

#[test]
fn mixed_content() {
    assert!(matches!(
        err(env("<cwmp:Reboot>junk<CommandKey/></cwmp:Reboot>")).kind,
        ParseErrorKind::UnexpectedText { ref parent } if parent == "Reboot"
    ));
    assert!(matches!(
        err(env("<cwmp:Reboot><CommandKey>a<b/>c</CommandKey></cwmp:Reboot>")).kind,
        ParseErrorKind::UnexpectedElement { ref parent, ref name } if parent == "CommandKey" && name == "b"
    ));
}

/// The lenient side, each a documented decision.
#[test]
fn lenient_acceptances() {
    // Booleans 0/1/true/false, with whitespace.
    for (text, value) in [
        ("0", false),
        ("1", true),
        ("true", true),
        (" false\n", false),
    ] {
        let e = ok(env(&format!(
            "<cwmp:GetParameterNames><ParameterPath>Device.</ParameterPath><NextLevel>{text}</NextLevel></cwmp:GetParameterNames>"
        )));
        assert_eq!(
            e.body,
            Body::GetParameterNames(GetParameterNames {
                parameter_path: "Device.".into(),
                next_level: value
            })
        );
    }
    // xsi:type with an undeclared prefix is resolved by its local name; an unknown type
    // (xsd:integer) or a non-XML-Schema namespace gives None; soap-enc:base64 and
    // xsd:base64Binary are base64.
    let e = ok(format!(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:v="urn:vendor"><soap:Body><cwmp:SetParameterValues><ParameterList>{}</ParameterList><ParameterKey/></cwmp:SetParameterValues></soap:Body></soap:Envelope>"#,
        [
            "undeclared:int",
            "xsd:integer",
            "v:int",
            "enc:base64",
            "xsd:base64Binary",
            "hexBinary",
        ]
        .iter()
        .map(|t| format!(
            "<ParameterValueStruct><Name>n</Name><Value xsi:type=\"{t}\">1</Value></ParameterValueStruct>"
        ))
        .collect::<String>()
    ));
    let Body::SetParameterValues(spv) = e.body else {
        panic!()
    };
    let types: Vec<_> = spv.parameter_list.iter().map(|p| p.xsi_type).collect();
    assert_eq!(
        types,
        [
            Some(XsdType::Int),
            None,
            None,
            Some(XsdType::Base64),
            Some(XsdType::Base64),
            // Unprefixed: resolved in the default namespace (none here), so by local name.
            Some(XsdType::HexBinary)
        ]
    );
    // Unknown header elements: recorded only with mustUnderstand 1/true.
    let e = ok(env_h(
        r#"<a:X xmlns:a="urn:a" soap:mustUnderstand="1"/><a:Y xmlns:a="urn:a" soap:mustUnderstand="0"/><Z soap:mustUnderstand="true"><deep><er/></deep></Z><cwmp:Unknown soap:mustUnderstand="1">x</cwmp:Unknown>"#,
        "<cwmp:FactoryReset/>",
    ));
    assert_eq!(
        e.header.unknown_must_understand,
        vec![
            "{urn:a}X".to_owned(),
            "{}Z".to_owned(),
            "{urn:dslforum-org:cwmp-1-2}Unknown".to_owned()
        ]
    );
    // Unknown children of an RPC are skipped; unknown RPCs are reported, not refused.
    let e = ok(env(
        "<cwmp:Reboot><X_Vendor><a/></X_Vendor><CommandKey>k</CommandKey></cwmp:Reboot>",
    ));
    assert_eq!(
        e.body,
        Body::Reboot(Reboot {
            command_key: "k".into()
        })
    );
    let e = ok(env("<cwmp:X_Vendor_Method><a/></cwmp:X_Vendor_Method>"));
    assert_eq!(
        e.body,
        Body::Unknown {
            name: "X_Vendor_Method".into(),
            namespace: Some("urn:dslforum-org:cwmp-1-2".into())
        }
    );
    let e = ok(env("<Reboot/>"));
    assert_eq!(
        e.body,
        Body::Unknown {
            name: "Reboot".into(),
            namespace: None
        }
    );
    // The namespace comes from the header when the RPC is not in a cwmp namespace.
    let e = ok(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:c="urn:dslforum-org:cwmp-1-1"><soap:Header><c:ID soap:mustUnderstand="1">1</c:ID></soap:Header><soap:Body><x:Foo xmlns:x="urn:x"/></soap:Body></soap:Envelope>"#,
    );
    assert_eq!(e.namespace, CwmpNamespace::V1_1);
    // GenieACS's <soap-env:Body:Fault> is a Fault (see the corpus test for the real file).
    let e = ok(env(
        "<soap:Body:Fault><faultcode>soap:Client</faultcode><faultstring>CWMP fault</faultstring></soap:Body:Fault>",
    ));
    assert_eq!(
        e.body,
        Body::Fault(SoapFault {
            faultcode: "Client".into(),
            faultstring: "CWMP fault".into(),
            detail: None
        })
    );
    // Content after the Body and pre-2001 XML Schema namespaces.
    let e = ok(
        r#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:cwmp="urn:dslforum-org:cwmp-1-0" xmlns:xsi="http://www.w3.org/1999/XMLSchema-instance" xmlns:xsd="http://www.w3.org/1999/XMLSchema"><soap:Body><cwmp:SetParameterValues><ParameterList><p><Name>a</Name><Value xsi:type="xsd:boolean">true</Value></p></ParameterList><ParameterKey/></cwmp:SetParameterValues></soap:Body><trailer/></soap:Envelope>"#,
    );
    let Body::SetParameterValues(spv) = e.body else {
        panic!()
    };
    assert_eq!(spv.parameter_list[0].xsi_type, Some(XsdType::Boolean));
}

/// Arbitrary bytes never panic (a quick stand-in for the fuzz target in `cargo test`).
#[test]
fn random_bytes_never_panic() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let mut runner = TestRunner::new(Config::with_cases(2000));
    let seed = env("<cwmp:SetParameterValues><ParameterList><ParameterValueStruct><Name>a</Name><Value xsi:type=\"xsd:int\">1</Value></ParameterValueStruct></ParameterList><ParameterKey/></cwmp:SetParameterValues>").into_bytes();
    runner
        .run(
            &(
                proptest::collection::vec(any::<u8>(), 0..256),
                0..seed.len(),
                proptest::collection::vec((0..seed.len(), any::<u8>()), 0..4),
            ),
            |(junk, cut, flips)| {
                let _ = parse(&junk, &Limits::default());
                let mut m = seed.clone();
                for (i, b) in flips {
                    m[i] = b;
                }
                let _ = parse(&m, &Limits::default());
                let _ = parse(&m[..cut], &Limits::default());
                Ok(())
            },
        )
        .unwrap();
}

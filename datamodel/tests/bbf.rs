//! The table against the Broadband Forum's data-model XML: every standard row (origin `seed` or
//! `addition`) exists in TR-181 Device:1 (`tr-181-1-7-0-full.xml`) or TR-104 VoiceService:1
//! (`tr-104-1-1-0-full.xml`, paths relative to `Device.Services.`) with the same type, access,
//! constraints, forced-inform, activeNotify and hidden flags, unless the row documents a
//! `deviation`; and every documented deviation is a real one (no stale notes).

mod common;

use cwmp_model::{Access, ActiveNotify, BaseType, ObjectKind};
use deskphone_datamodel::{DeskPhoneModel, Origin};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use std::collections::HashMap;

/// A parameter as the BBF XML defines it.
#[derive(Debug, Default, Clone)]
struct BbfParam {
    access: String,
    /// `string`, `unsignedInt`, … or a named data type (`IPAddress`, `MACAddress`).
    ty: String,
    list: bool,
    /// The string's (or, for a list, the list's) maxLength.
    max_length: Option<usize>,
    min: Option<i128>,
    max: Option<i128>,
    enumeration: Vec<String>,
    forced_inform: bool,
    active_notify: String,
    hidden: bool,
}

#[derive(Debug, Clone)]
struct BbfObject {
    access: String,
    max_entries: Option<u32>,
}

#[derive(Default)]
struct Bbf {
    objects: HashMap<String, BbfObject>,
    params: HashMap<String, BbfParam>,
}

fn attr(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.try_get_attribute(name).ok().flatten().and_then(|a| {
        a.normalized_value(XmlVersion::Implicit1_0)
            .ok()
            .map(|v| v.into_owned())
    })
}

const TYPES: &[&str] = &[
    "string",
    "int",
    "unsignedInt",
    "long",
    "unsignedLong",
    "boolean",
    "dateTime",
    "base64",
    "hexBinary",
];

/// Read the objects and parameters inside `<model>`, naming objects with `prefix` + name.
fn load(bbf: &mut Bbf, text: &str, prefix: &str) {
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<String> = Vec::new();
    let mut in_model = false;
    let mut object: Option<String> = None;
    let mut param: Option<(String, BbfParam)> = None;
    loop {
        let ev = reader.read_event().expect("BBF XML parses");
        let (e, empty) = match &ev {
            Event::Start(e) => (Some(e.clone()), false),
            Event::Empty(e) => (Some(e.clone()), true),
            Event::End(_) => {
                let closed = stack.pop().unwrap_or_default();
                match closed.as_str() {
                    "model" => in_model = false,
                    "object" => object = None,
                    "parameter" => {
                        if let (Some(o), Some((name, p))) = (&object, param.take()) {
                            bbf.params.insert(format!("{o}{name}"), p);
                        }
                    }
                    _ => {}
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = e else { continue };
        let local = e.local_name().as_ref().to_owned();
        let parent = stack.last().cloned().unwrap_or_default();
        match local.as_str() {
            "model" => in_model = !empty,
            // Profiles also hold `<object ref=…>`: only definitions (children of `<model>`).
            "object" if in_model && parent == "model" => {
                let name = format!("{prefix}{}", attr(&e, "name").expect("object name"));
                bbf.objects.insert(
                    name.clone(),
                    BbfObject {
                        access: attr(&e, "access").unwrap_or_default(),
                        max_entries: attr(&e, "maxEntries").and_then(|m| m.parse().ok()),
                    },
                );
                object = Some(name);
            }
            "parameter" if in_model && object.is_some() && parent == "object" => {
                param = Some((
                    attr(&e, "name").expect("parameter name"),
                    BbfParam {
                        access: attr(&e, "access").unwrap_or_default(),
                        forced_inform: attr(&e, "forcedInform").as_deref() == Some("true"),
                        active_notify: attr(&e, "activeNotify").unwrap_or_else(|| "normal".into()),
                        ..BbfParam::default()
                    },
                ));
            }
            _ => {}
        }
        if let Some((_, p)) = param.as_mut() {
            let in_syntax = stack.iter().any(|s| s == "syntax");
            match local.as_str() {
                "syntax" => p.hidden = attr(&e, "hidden").as_deref() == Some("true"),
                "list" if parent == "syntax" => p.list = true,
                "dataType" if parent == "syntax" => p.ty = attr(&e, "ref").unwrap_or_default(),
                t if parent == "syntax" && TYPES.contains(&t) => p.ty = t.to_owned(),
                "size" if in_syntax => {
                    // A list's size limits the whole list; inside the item type, the item.
                    let applies = if p.list {
                        parent == "list"
                    } else {
                        TYPES.contains(&parent.as_str())
                    };
                    if applies {
                        p.max_length = attr(&e, "maxLength").and_then(|m| m.parse().ok());
                    }
                }
                "range" if in_syntax => {
                    p.min = attr(&e, "minInclusive").and_then(|m| m.parse().ok());
                    p.max = attr(&e, "maxInclusive").and_then(|m| m.parse().ok());
                }
                "enumeration" if in_syntax => {
                    p.enumeration.push(attr(&e, "value").unwrap_or_default())
                }
                _ => {}
            }
        }
        if !empty {
            stack.push(local);
        } else if local == "parameter" {
            if let (Some(o), Some((name, p))) = (&object, param.take()) {
                bbf.params.insert(format!("{o}{name}"), p);
            }
        }
    }
}

/// Our path → the BBF name: instance numbers become `{i}`, and a table path `X.` becomes the
/// BBF object `X.{i}.` (the XML has no separate node for the table itself).
fn bbf_name(path: &str) -> String {
    path.split('.')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "{i}"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn our_type(b: BaseType) -> &'static str {
    match b {
        BaseType::String => "string",
        BaseType::Int => "int",
        BaseType::UnsignedInt => "unsignedInt",
        BaseType::Long => "long",
        BaseType::UnsignedLong => "unsignedLong",
        BaseType::Boolean => "boolean",
        BaseType::DateTime => "dateTime",
        BaseType::Base64 => "base64",
        BaseType::HexBinary => "hexBinary",
        BaseType::IpAddress => "IPAddress",
        BaseType::MacAddress => "MACAddress",
        // A string on the wire, with the URL rule on top (the BBF text asks for a URL).
        BaseType::Url => "string",
        _ => "?",
    }
}

fn access_word(a: Access) -> &'static str {
    match a {
        Access::ReadOnly => "readOnly",
        Access::ReadWrite => "readWrite",
    }
}

fn notify_word(a: ActiveNotify) -> &'static str {
    match a {
        ActiveNotify::Normal => "normal",
        ActiveNotify::CanDeny => "canDeny",
        ActiveNotify::ForceEnabled => "forceEnabled",
        ActiveNotify::ForceDefaultEnabled => "forceDefaultEnabled",
    }
}

/// Every way a row differs from its BBF definition.
fn differences(model: &DeskPhoneModel, bbf: &Bbf, path: &str) -> Vec<String> {
    let mut d = Vec::new();
    if let Some(obj) = model.schema().object(path) {
        let (name, want_access, want_max) = match obj.kind {
            ObjectKind::Table {
                addable,
                max_instances,
            } => (
                format!("{}{{i}}.", bbf_name(path)),
                if addable { "readWrite" } else { "readOnly" },
                max_instances,
            ),
            ObjectKind::Instance { deletable } => (
                bbf_name(path),
                if deletable { "readWrite" } else { "readOnly" },
                None,
            ),
            _ => (bbf_name(path), "readOnly", Some(1)),
        };
        let Some(b) = bbf.objects.get(&name) else {
            return vec![format!("object {name} is not in the BBF model")];
        };
        if b.access != want_access {
            d.push(format!("object access {want_access}, BBF {}", b.access));
        }
        if !matches!(obj.kind, ObjectKind::Instance { .. }) && b.max_entries != want_max {
            d.push(format!("max entries {want_max:?}, BBF {:?}", b.max_entries));
        }
        return d;
    }
    let def = model.schema().param(path).expect("row is a parameter");
    let info = model.row_info(path).unwrap();
    let name = bbf_name(path);
    let Some(b) = bbf.params.get(&name) else {
        return vec![format!("parameter {name} is not in the BBF model")];
    };
    let ty = our_type(def.ty.base);
    if b.ty != ty {
        d.push(format!("type {ty}, BBF {}", b.ty));
    }
    if b.list != info.list {
        d.push(format!("list {}, BBF {}", info.list, b.list));
    }
    if access_word(def.access) != b.access {
        d.push(format!(
            "access {}, BBF {}",
            access_word(def.access),
            b.access
        ));
    }
    // A named data type carries its own length (IPAddress 45, MACAddress 17).
    if b.ty == ty && ty != "IPAddress" && ty != "MACAddress" && def.ty.max_length != b.max_length {
        d.push(format!(
            "maxLength {:?}, BBF {:?}",
            def.ty.max_length, b.max_length
        ));
    }
    if (def.ty.min, def.ty.max) != (b.min, b.max) {
        d.push(format!(
            "range {:?}:{:?}, BBF {:?}:{:?}",
            def.ty.min, def.ty.max, b.min, b.max
        ));
    }
    if def.ty.enumeration != b.enumeration {
        d.push(format!(
            "values {:?}, BBF {:?}",
            def.ty.enumeration, b.enumeration
        ));
    }
    if def.forced_inform != b.forced_inform {
        d.push(format!(
            "forcedInform {}, BBF {}",
            def.forced_inform, b.forced_inform
        ));
    }
    if notify_word(def.active_notify) != b.active_notify {
        d.push(format!(
            "activeNotify {}, BBF {}",
            notify_word(def.active_notify),
            b.active_notify
        ));
    }
    if def.secret != b.hidden {
        d.push(format!("secret {}, BBF hidden {}", def.secret, b.hidden));
    }
    d
}

#[test]
#[cfg_attr(
    peer_missing_shared,
    ignore = "../shared not found (set CWMP_SHARED_DIR)"
)]
fn standard_rows_match_the_bbf_definitions_or_document_why_not() {
    let tr181 = common::shared_file("spec/xsd/tr-181-1-7-0-full.xml");
    let tr104 = common::shared_file("spec/xsd/tr-104-1-1-0-full.xml");
    let mut bbf = Bbf::default();
    load(&mut bbf, &std::fs::read_to_string(tr181).unwrap(), "");
    load(
        &mut bbf,
        &std::fs::read_to_string(tr104).unwrap(),
        "Device.Services.",
    );
    // The parser found what it should (guards against a silently empty comparison).
    assert!(bbf.objects.contains_key("Device.ManagementServer."));
    assert!(bbf
        .objects
        .contains_key("Device.Services.VoiceService.{i}.VoiceProfile.{i}.SIP."));
    let ip = &bbf.params["Device.LAN.IPAddress"];
    assert_eq!((ip.ty.as_str(), ip.forced_inform), ("IPAddress", true));
    assert!(bbf.params["Device.ManagementServer.Password"].hidden);
    assert!(bbf.params["Device.DeviceInfo.EnabledOptions"].list);
    assert_eq!(
        bbf.params["Device.DeviceInfo.EnabledOptions"].max_length,
        Some(1024)
    );
    assert_eq!(
        bbf.params["Device.Services.VoiceService.{i}.VoiceProfile.{i}.SIP.RegisterExpires"].min,
        Some(1)
    );

    let model = DeskPhoneModel::builtin();
    let mut problems = Vec::new();
    let mut checked = 0;
    let mut deviations = 0;
    for row in model.rows() {
        let diffs = differences(&model, &bbf, &row.path);
        match row.origin {
            Origin::Vendor => {
                assert!(
                    diffs.iter().any(|d| d.contains("not in the BBF model")),
                    "vendor row {} has a standard name",
                    row.path
                );
                continue;
            }
            Origin::Seed | Origin::Addition => {}
        }
        checked += 1;
        match (&row.deviation, diffs.is_empty()) {
            (None, false) => problems.push(format!(
                "{}: differs from BBF without a documented deviation: {}",
                row.path,
                diffs.join("; ")
            )),
            (Some(_), true) => problems.push(format!(
                "{}: documents a deviation but matches BBF (stale note)",
                row.path
            )),
            (Some(_), false) => {
                println!("deviation {}: {}", row.path, diffs.join("; "));
                deviations += 1;
            }
            (None, true) => {}
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert_eq!(
        checked,
        model.rows().len() - 12,
        "12 vendor (X_UNIFY_) rows are skipped"
    );
    assert!(deviations > 0);
    println!("BBF check: {checked} standard rows, {deviations} with documented deviations");
}

//! The table against the product page (the seed): every row present, every row's item, access,
//! type and allowed values as the seed gives them, and the loader's refusals.

mod common;

use cwmp_model::{Access, ActiveNotify, BaseType, Notification, ObjectKind, Source};
use deskphone_datamodel::{
    serial_number_from_mac, DeskPhoneModel, Error, ItemFormat, Origin, BUILTIN_TABLE,
};
use std::collections::HashMap;

/// A seed table row split into its columns (the page's tables have a few rows with the OCMS
/// column missing: `EnabledOptions | R | String | ||`).
struct SeedRow {
    name: String,
    ocms: Option<String>,
    access: String,
    ty: String,
    allowed: String,
}

fn split_seed_row(line: &str) -> SeedRow {
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    let cell = |i: usize| cells.get(i).copied().unwrap_or("").to_owned();
    if cell(1) == "R" || cell(1) == "R/W" {
        SeedRow {
            name: cell(0),
            ocms: None,
            access: cell(1),
            ty: cell(2),
            allowed: cell(3),
        }
    } else {
        SeedRow {
            name: cell(0),
            ocms: Some(cell(1)).filter(|c| c != "---" && !c.is_empty()),
            access: cell(2),
            ty: cell(3),
            allowed: cell(4),
        }
    }
}

/// `0,1,2 (0=UDP, 1=TCP, 2=TLS)` → `["0","1","2"]`; `Up, Initializing, …` → words.
fn seed_values(allowed: &str) -> Vec<String> {
    let list = allowed.split('(').next().unwrap_or("");
    list.split(',').map(|v| v.trim().to_owned()).collect()
}

#[test]
fn builtin_table_loads() {
    let m = DeskPhoneModel::builtin();
    assert_eq!(m.schema().objects().len(), 10);
    let seed_rows = m.rows().iter().filter(|r| r.seed_row.is_some()).count();
    assert_eq!(
        seed_rows, 60,
        "14 DeviceInfo + 22 ManagementServer + 4 LAN + 20 SIP rows"
    );
    assert_eq!(
        m.schema().params().len(),
        63,
        "60 seed rows + DeviceSummary, PeriodicInformTime, ParameterKey"
    );
}

#[test]
fn every_seed_row_is_mapped_as_the_seed_says() {
    let m = DeskPhoneModel::builtin();
    let mut checked = 0;
    for info in m.rows().iter().filter(|r| !r.is_object) {
        let def = m.schema().param(&info.path).unwrap();
        let Some(line) = &info.seed_row else {
            assert_eq!(info.origin, Origin::Addition, "{}", info.path);
            continue;
        };
        let seed = split_seed_row(line);
        let ctx = &info.path;
        assert_eq!(
            info.path.rsplit('.').next(),
            Some(seed.name.as_str()),
            "{ctx}"
        );
        // OCMS item: the parameter's item, or the item it is derived from.
        match (&seed.ocms, &def.source) {
            (Some(item), Source::Item(key)) => assert_eq!(item, key, "{ctx}"),
            (Some(item), Source::Live) => {
                assert_eq!(info.derived_from.as_ref(), Some(item), "{ctx}")
            }
            (Some(_), other) => panic!("{ctx}: seed names an item, source is {other:?}"),
            (None, Source::Item(_)) => panic!("{ctx}: the seed names no item"),
            (None, _) => {}
        }
        let want_access = match seed.access.as_str() {
            "R" => Access::ReadOnly,
            "R/W" => Access::ReadWrite,
            other => panic!("{ctx}: seed access {other}"),
        };
        assert_eq!(def.access, want_access, "{ctx}");
        // Type: the documented mapping of the seed's type column (README "Types").
        let numeric_enum = seed_values(&seed.allowed)
            .iter()
            .all(|v| v.parse::<u32>().is_ok());
        let want_base = match seed.ty.as_str() {
            "String" => BaseType::String,
            "unsignedInt" => BaseType::UnsignedInt,
            "Int" => BaseType::Int,
            "Boolean" => BaseType::Boolean,
            "IP" => BaseType::IpAddress,
            "MAC" => BaseType::MacAddress,
            "Enumeration" if numeric_enum => BaseType::UnsignedInt,
            "Enumeration" => BaseType::String,
            other => panic!("{ctx}: seed type {other}"),
        };
        if def.ty.base != want_base {
            assert!(
                info.seed_deviation.is_some(),
                "{ctx}: type {:?} differs from the seed's {} without a seed_deviation",
                def.ty.base,
                seed.ty
            );
        }
        // Allowed values.
        let allowed = seed.allowed.as_str();
        if allowed.is_empty() {
            assert!(def.ty.min.is_none() && def.ty.max.is_none(), "{ctx}");
            assert!(def.ty.enumeration.is_empty(), "{ctx}");
        } else if let Source::Constant(v) = &def.source {
            assert_eq!(v, allowed, "{ctx}");
        } else if seed.ty == "Enumeration" {
            assert_eq!(def.ty.enumeration, seed_values(allowed), "{ctx}");
        } else {
            let (lo, hi) = allowed.split_once(':').unwrap();
            let bound = |s: &str| (!s.is_empty()).then(|| s.parse::<i128>().unwrap());
            assert_eq!((def.ty.min, def.ty.max), (bound(lo), bound(hi)), "{ctx}");
        }
        checked += 1;
    }
    assert_eq!(checked, 60);
}

/// Every row of the four TR-069 tables of the product page is in the table exactly once, as
/// the page writes it.
#[test]
#[cfg_attr(
    peer_missing_shared,
    ignore = "../shared not found (set CWMP_SHARED_DIR)"
)]
fn every_seed_table_row_is_in_the_table() {
    let path = common::shared_file("seeds/000_67491536f39c323a.txt");
    let text = std::fs::read_to_string(path).unwrap();
    let header = "TR-069 Item | OCMS Item | R/W | Type | Allowed values |";
    let start = text.find(header).expect("the seed has TR-069 item tables");
    let seed_lines: Vec<&str> = text[start..]
        .lines()
        .map(str::trim)
        .filter(|l| l.contains('|') && *l != header)
        .collect();
    assert_eq!(seed_lines.len(), 60);
    let m = DeskPhoneModel::builtin();
    let mut quoted: HashMap<&str, usize> = HashMap::new();
    for r in m.rows() {
        if let Some(s) = &r.seed_row {
            *quoted.entry(s.as_str()).or_default() += 1;
        }
    }
    for line in &seed_lines {
        assert_eq!(
            quoted.get(line),
            Some(&1),
            "seed row not quoted exactly once: {line}"
        );
    }
    assert_eq!(
        quoted.len(),
        seed_lines.len(),
        "table quotes rows the seed does not have"
    );
}

#[test]
fn flags_as_decided() {
    let m = DeskPhoneModel::builtin();
    let p = |n: &str| m.schema().param(n).unwrap_or_else(|| panic!("{n}"));
    let forced: Vec<&str> = m
        .schema()
        .params()
        .iter()
        .filter(|d| d.forced_inform)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        forced,
        [
            "Device.DeviceSummary",
            "Device.DeviceInfo.HardwareVersion",
            "Device.DeviceInfo.SoftwareVersion",
            "Device.DeviceInfo.ProvisioningCode",
            "Device.ManagementServer.ParameterKey",
            "Device.ManagementServer.ConnectionRequestURL",
            "Device.LAN.IPAddress",
        ]
    );
    let secrets: Vec<&str> = m
        .schema()
        .params()
        .iter()
        .filter(|d| d.secret)
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(
        secrets,
        [
            "Device.ManagementServer.Password",
            "Device.ManagementServer.ConnectionRequestPassword",
            "Device.ManagementServer.STUNPassword",
            "Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_SipPwd",
        ]
    );
    assert_eq!(
        p("Device.DeviceInfo.Manufacturer").source,
        Source::Constant("Unify".into())
    );
    assert_eq!(
        p("Device.DeviceInfo.ManufacturerOUI").source,
        Source::Constant("001AE8".into())
    );
    for live in [
        "Device.DeviceInfo.UpTime",
        "Device.DeviceInfo.DeviceStatus",
        "Device.DeviceInfo.Description",
        "Device.DeviceInfo.EnabledOptions",
        "Device.DeviceInfo.AdditionalHardwareVersion",
        "Device.DeviceInfo.AdditionalSoftwareVersion",
        "Device.DeviceInfo.SerialNumber",
    ] {
        assert_eq!(p(live).source, Source::Live, "{live}");
    }
    for internal in [
        "Device.DeviceInfo.ProvisioningCode",
        "Device.ManagementServer.NATDetected",
        "Device.ManagementServer.UDPConnectionRequestAddress",
        "Device.ManagementServer.ParameterKey",
        "Device.ManagementServer.PeriodicInformTime",
    ] {
        assert_eq!(p(internal).source, Source::Internal, "{internal}");
    }
    assert_eq!(
        p("Device.ManagementServer.ParameterKey").active_notify,
        ActiveNotify::CanDeny
    );
    assert_eq!(
        p("Device.DeviceInfo.UpTime").active_notify,
        ActiveNotify::CanDeny
    );
    assert_eq!(
        p("Device.ManagementServer.ConnectionRequestURL").default_notification,
        Notification::Active
    );
    assert_eq!(
        p("Device.ManagementServer.PeriodicInformTime")
            .default
            .as_deref(),
        Some("0001-01-01T00:00:00Z")
    );
    let vp = m
        .schema()
        .object("Device.Services.VoiceService.1.VoiceProfile.")
        .unwrap();
    assert_eq!(
        vp.kind,
        ObjectKind::Table {
            addable: false,
            max_instances: Some(1)
        }
    );
    // ModelName and ProductClass share the device-type item.
    assert_eq!(
        m.item("device-type").unwrap().params(),
        [
            "Device.DeviceInfo.ModelName",
            "Device.DeviceInfo.ProductClass"
        ]
    );
}

#[test]
fn factory_defaults() {
    let m = DeskPhoneModel::builtin();
    let d = |item: &str| {
        m.item(item)
            .unwrap_or_else(|| panic!("{item}"))
            .default()
            .to_owned()
    };
    for (item, want) in [
        ("acs-periodic-inform-enabled", "true"),
        ("acs-periodic-inform-interval", "3600"),
        ("acs-retry-min-wait-interval", "5"),
        ("acs-retry-interval-multiplier", "2000"),
        ("acs-http-request-enable", "true"),
        ("acs-stun-enable", "false"),
        ("acs-stun-server-port", "3478"),
        ("acs-stun-max-keepalive", "-1"),
        ("sip-server-port", "5060"),
        ("sip-registrar-port", "5060"),
        ("sip-port", "5060"),
        ("sgnl-gateway-port-user", "5060"),
        ("reg-ttl", "3600"),
        ("sip-transport", "0"),
        ("server-type", "1"),
        ("device-type", "OpenScape Desk Phone CP600"),
        ("mac-address", "00:1A:E8:A1:B2:C3"),
        ("standard-software-version", "V1R9.5.0"),
    ] {
        assert_eq!(d(item), want, "{item}");
    }
    // Every item's default passes its own validation.
    for it in m.items() {
        assert_eq!(
            m.validate_item(it.name(), it.default()).as_deref(),
            Ok(it.default()),
            "{}",
            it.name()
        );
    }
    // SerialNumber's default is the derivation of mac-address's default.
    let serial = m.schema().param("Device.DeviceInfo.SerialNumber").unwrap();
    assert_eq!(serial.default, serial_number_from_mac(&d("mac-address")),);
    assert_eq!(
        m.item("mac-address").unwrap().derived_params(),
        ["Device.DeviceInfo.SerialNumber"]
    );
}

#[test]
fn items_without_tr069_names() {
    let m = DeskPhoneModel::builtin();
    for (name, format, secret) in [
        (
            "acs-server-ca-certificate-1",
            ItemFormat::PemCertificates,
            false,
        ),
        (
            "acs-server-ca-certificate-2",
            ItemFormat::PemCertificates,
            false,
        ),
        ("acs-client-certificate", ItemFormat::PemCertificates, false),
        ("acs-client-key", ItemFormat::PemPrivateKey, true),
    ] {
        let it = m.item(name).unwrap();
        assert!(it.params().is_empty(), "{name}");
        assert_eq!(it.format(), format, "{name}");
        assert_eq!(it.is_secret(), secret, "{name}");
        assert!(m.param_for_item(name).is_none());
    }
    // The key is nowhere in the CWMP schema.
    assert!(m
        .schema()
        .params()
        .iter()
        .all(|p| p.source != Source::Item("acs-client-key".into())));
}

#[test]
fn lookups() {
    let m = DeskPhoneModel::builtin();
    assert_eq!(
        m.param_for_item("acs-server-address").unwrap().name,
        "Device.ManagementServer.URL"
    );
    assert_eq!(
        m.item_for_param("Device.ManagementServer.URL")
            .unwrap()
            .name(),
        "acs-server-address"
    );
    assert!(m.item_for_param("Device.DeviceInfo.Manufacturer").is_none());
    assert!(m.item_for_param("Device.Nope").is_none());
    assert!(m.item("nope").is_none());
    assert!(m.param_for_item("nope").is_none());
    let info = m
        .row_info("Device.ManagementServer.HTTPConnectionRequestEnable")
        .unwrap();
    assert!(info.deviation.is_some());
    assert_eq!(info.origin, Origin::Seed);
    assert_eq!(
        m.row_info("Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_ServerType")
            .unwrap()
            .origin,
        Origin::Vendor
    );
    assert_eq!(m.factory_items().len(), m.items().len());
}

// ------------------------------------------------------------------------------------------
// The loader's refusals, each naming the row.
// ------------------------------------------------------------------------------------------

const MINI: &str = r#"
format = 1
[[object]]
path = "Device."
kind = "single"
origin = "addition"
[[object]]
path = "Device.X."
kind = "single"
origin = "addition"
[[param]]
path = "Device.X.A"
origin = "addition"
access = "RW"
type = "unsignedInt"
range = "1:10"
source = "item"
item = "a-item"
default = "5"
"#;

fn load_err(extra: &str) -> String {
    match DeskPhoneModel::from_toml(&format!("{MINI}{extra}")) {
        Ok(_) => panic!("accepted:\n{extra}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn mini_table_loads() {
    let m = DeskPhoneModel::from_toml(MINI).unwrap();
    assert_eq!(m.validate_item("a-item", "10").as_deref(), Ok("10"));
    assert_eq!(
        m.validate_item("a-item", "11").unwrap_err().code.code(),
        9007
    );
}

#[test]
fn loader_refusals_name_the_row() {
    let param =
        |body: &str| format!("\n[[param]]\npath = \"Device.X.B\"\norigin = \"addition\"\n{body}\n");
    let cases: Vec<(String, &str)> = vec![
        (param("access = \"R\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\ncolour = \"red\""), "unknown field `colour`"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"live\""), "factory `default` is required"),
        (param("access = \"R\"\ntype = \"strong\"\nsource = \"live\"\ndefault = \"\""), "strong"),
        (param("access = \"R\"\ntype = \"unsignedInt\"\nsource = \"live\"\ndefault = \"-1\""), "default/value refused"),
        (param("access = \"R\"\ntype = \"unsignedInt\"\nrange = \"9:1\"\nsource = \"live\"\ndefault = \"1\""), "min above max"),
        (param("access = \"R\"\ntype = \"string\"\nrange = \"1:2\"\nsource = \"live\"\ndefault = \"\""), "`range` applies only"),
        (param("access = \"R\"\ntype = \"boolean\"\nmax_length = 3\nsource = \"live\"\ndefault = \"true\""), "`max_length` applies only"),
        (param("access = \"RW\"\ntype = \"string\"\nsource = \"item\"\ndefault = \"\""), "needs `item`"),
        (param("access = \"RW\"\ntype = \"string\"\nsource = \"item\"\nitem = \"Bad_Name\"\ndefault = \"\""), "lower-case"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"constant\""), "needs `value`"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"constant\"\nvalue = \"v\"\ndefault = \"v\""), "`default` does not go"),
        (param("access = \"RW\"\ntype = \"unsignedInt\"\nsource = \"item\"\nitem = \"a-item\"\ndefault = \"5\""), "also stored by param #1 `Device.X.A`"),
        (param("access = \"R\"\ntype = \"unsignedInt\"\nsource = \"live\"\nderived_from = \"nothing\"\ndefault = \"1\""), "derived_from names `nothing`"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"live\"\nderived_from = \"a-item\"\ndefault = \"\""), "not a MACAddress item"),
        (param("access = \"R\"\ntype = \"boolean\"\nsecret = true\nsource = \"live\"\ndefault = \"true\""), "secret must be a string"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\nnotification = 4"), "`notification` must be 0, 1 or 2"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\nseed_row = \"B | R | String |\""), "no `seed_row`"),
        (param("access = \"R\"\ntype = \"unsignedInt\"\nvalues = [\"1\", \"01\"]\nsource = \"live\"\ndefault = \"1\""), "canonical"),
        (param("access = \"R\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\ndeviation = \" \""), "`deviation` must not be empty"),
        ("\n[[param]]\npath = \"Device.X.X_UNIFY_Y\"\norigin = \"seed\"\naccess = \"R\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\n".into(), "vendor extension"),
        ("\n[[param]]\npath = \"Device.X.C\"\norigin = \"seed\"\naccess = \"R\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\n".into(), "seed_row"),
        ("\n[[object]]\npath = \"Device.T.\"\nkind = \"table\"\norigin = \"addition\"\n".into(), "needs `addable`"),
        ("\n[[object]]\npath = \"Device.S.\"\nkind = \"single\"\naddable = true\norigin = \"addition\"\n".into(), "single object takes no"),
        ("\n[[item]]\nname = \"a-item\"\norigin = \"seed\"\ntype = \"string\"\ndefault = \"\"\n".into(), "already declared"),
        ("\n[[item]]\nname = \"k\"\norigin = \"seed\"\ntype = \"string\"\nformat = \"pem-private-key\"\ndefault = \"not pem\"\n".into(), "default refused"),
        ("\n[[item]]\nname = \"k\"\norigin = \"seed\"\ntype = \"boolean\"\nformat = \"pem-private-key\"\ndefault = \"true\"\n".into(), "`format` applies only"),
        ("\nsurprise = 1\n".into(), "unknown field `surprise`"),
    ];
    for (extra, want) in cases {
        let msg = load_err(&extra);
        assert!(
            msg.contains(want),
            "expected {want:?} in {msg:?} for\n{extra}"
        );
        if extra.contains("[[param]]") && !want.starts_with("unknown field `surprise") {
            assert!(msg.contains("param #2"), "row not named: {msg}");
        }
    }
}

#[test]
fn schema_level_refusals() {
    // A parameter whose object is not declared.
    let text = MINI.replace("path = \"Device.X.A\"", "path = \"Device.Y.A\"");
    assert!(matches!(
        DeskPhoneModel::from_toml(&text),
        Err(Error::Schema(_))
    ));
    // A writable live parameter.
    let text = format!(
        "{MINI}\n[[param]]\npath = \"Device.X.L\"\norigin = \"addition\"\naccess = \"RW\"\ntype = \"string\"\nsource = \"live\"\ndefault = \"\"\n"
    );
    assert!(DeskPhoneModel::from_toml(&text).is_err());
    // Not TOML at all; another format version.
    assert!(matches!(
        DeskPhoneModel::from_toml("[[param"),
        Err(Error::Toml(_))
    ));
    assert!(matches!(
        DeskPhoneModel::from_toml("format = 2"),
        Err(Error::Toml(_))
    ));
}

#[test]
fn builtin_text_is_the_embedded_file() {
    assert!(BUILTIN_TABLE.contains("X_UNIFY_ServerType"));
    assert_eq!(
        DeskPhoneModel::from_toml(BUILTIN_TABLE)
            .unwrap()
            .schema()
            .params()
            .len(),
        DeskPhoneModel::builtin().schema().params().len()
    );
}

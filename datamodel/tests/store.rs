//! The Desk Phone store on the file backend: the cwmp-model conformance suite, the seed's
//! ranges and enumerations through `validate_item` and SetParameterValues, per-type forms,
//! secrets, atomicity on disk, item writes and factory reset.

use cwmp_model::conformance::{self, StoreFactory};
use cwmp_model::{
    ApplyStatus, FaultCode, ItemBackend, NoLiveValues, ParameterStore, SchemaStore, SetError,
    SetValue, Value, XsdType,
};
use deskphone_datamodel::{
    apply_items, factory_reset, open_phone, open_store, DeskPhoneModel, FileBackend, OcmsStore,
};
use std::path::Path;

const MS: &str = "Device.ManagementServer.";
const SIP: &str = "Device.Services.VoiceService.1.VoiceProfile.1.SIP.";

// ------------------------------------------------------------------------------------------
// The conformance suite of cwmp-model, on SchemaStore<FileBackend>.
// ------------------------------------------------------------------------------------------

struct FileFactory {
    dir: tempfile::TempDir,
}

impl StoreFactory for FileFactory {
    type Store = SchemaStore<FileBackend>;

    fn open(&mut self) -> Self::Store {
        let backend = FileBackend::open(self.dir.path()).expect("open file backend");
        SchemaStore::open(conformance::schema(), backend, conformance::live_values())
            .expect("open store")
    }

    fn reset_storage(&mut self) {
        for name in [FileBackend::FILE_NAME, FileBackend::TEMP_FILE_NAME] {
            let p = self.dir.path().join(name);
            let _ = std::fs::remove_file(&p).or_else(|_| std::fs::remove_dir(&p));
        }
    }

    /// An empty directory where the backend writes its temp file makes the next commit fail
    /// (EISDIR, even for root); the backend clears it after the failure, so it is one-off.
    fn fail_next_commit(&mut self) -> bool {
        std::fs::create_dir(self.dir.path().join(FileBackend::TEMP_FILE_NAME)).is_ok()
    }
}

#[test]
fn conformance_suite_on_file_backend() {
    let mut factory = FileFactory {
        dir: tempfile::tempdir().unwrap(),
    };
    let report = conformance::run(&mut factory);
    assert_eq!(report.passed.len(), conformance::CHECKS.len(), "{report:?}");
    assert!(report.skipped.is_empty(), "{report:?}");
}

/// The schema-generic checks of the suite on the Desk Phone's own schema and store (the
/// OCMS item file), parameters picked from the Desk Phone table.
struct DeskPhoneFactory {
    dir: tempfile::TempDir,
    model: DeskPhoneModel,
}

impl StoreFactory for DeskPhoneFactory {
    type Store = OcmsStore;

    fn open(&mut self) -> Self::Store {
        open_store(self.dir.path(), &self.model, Box::new(NoLiveValues)).expect("open store")
    }

    fn reset_storage(&mut self) {
        for name in [FileBackend::FILE_NAME, FileBackend::TEMP_FILE_NAME] {
            let p = self.dir.path().join(name);
            let _ = std::fs::remove_file(&p).or_else(|_| std::fs::remove_dir(&p));
        }
    }

    fn fail_next_commit(&mut self) -> bool {
        false
    }
}

#[test]
fn schema_checks_on_the_desk_phone_store() {
    let model = model();
    let schema = model.schema().clone();
    let mut factory = DeskPhoneFactory {
        dir: tempfile::tempdir().unwrap(),
        model,
    };
    let report = conformance::run_on(&schema, &mut factory);
    assert_eq!(
        report.passed.len(),
        conformance::SCHEMA_CHECKS.len(),
        "{report:?}"
    );
}

// ------------------------------------------------------------------------------------------
// Helpers.
// ------------------------------------------------------------------------------------------

fn model() -> DeskPhoneModel {
    DeskPhoneModel::builtin()
}

fn store(dir: &Path) -> OcmsStore {
    open_store(dir, &model(), Box::new(NoLiveValues)).unwrap()
}

fn sv(name: &str, value: &str, xsi: Option<XsdType>) -> SetValue {
    SetValue {
        name: name.to_owned(),
        value: value.to_owned(),
        xsi_type: xsi,
    }
}

fn get(s: &mut OcmsStore, name: &str) -> Value {
    let mut v = s.get_values(&[name.to_owned()]).unwrap();
    assert_eq!(v.len(), 1);
    v.remove(0).value
}

/// The fault code of a one-parameter SetParameterValues, `None` when it was accepted.
fn spv_code(s: &mut OcmsStore, name: &str, value: &str, xsi: Option<XsdType>) -> Option<u32> {
    match s.set_values(&[sv(name, value, xsi)], "t") {
        Ok(status) => {
            assert_eq!(status, ApplyStatus::Applied);
            None
        }
        Err(SetError::Parameters(f)) => {
            assert_eq!(f.len(), 1, "{f:?}");
            assert_eq!(f[0].name, name);
            Some(f[0].code.code())
        }
        Err(other) => panic!("{name}: {other:?}"),
    }
}

// ------------------------------------------------------------------------------------------
// Every range and enumeration of the seed, at and beyond each bound.
// ------------------------------------------------------------------------------------------

struct Bounds {
    item: &'static str,
    param: &'static str,
    accepted: &'static [&'static str],
    refused: &'static [(&'static str, u32)],
}

/// From the seed's "Allowed values" column. Numbers outside the wire type (`-1` or
/// `4294967296` for unsignedInt, `2147483648` for int) are not values of the type: 9006.
const BOUNDS: &[Bounds] = &[
    Bounds {
        item: "acs-periodic-inform-interval",
        param: "Device.ManagementServer.PeriodicInformInterval",
        accepted: &["0", "1", "3600", "99999"],
        refused: &[("100000", 9007), ("-1", 9006), ("4294967296", 9006)],
    },
    Bounds {
        item: "acs-stun-server-port",
        param: "Device.ManagementServer.STUNServerPort",
        accepted: &["1", "3478", "65535"],
        refused: &[("0", 9007), ("65536", 9007)],
    },
    Bounds {
        item: "acs-stun-max-keepalive",
        param: "Device.ManagementServer.STUNMaximumKeepAlivePeriod",
        accepted: &["-1", "0", "2147483647"],
        refused: &[("-2", 9007), ("2147483648", 9006)],
    },
    Bounds {
        item: "acs-retry-min-wait-interval",
        param: "Device.ManagementServer.CWMPRetryMinimumWaitInterval",
        accepted: &["1", "5", "65535"],
        refused: &[("0", 9007), ("65536", 9007)],
    },
    Bounds {
        item: "acs-retry-interval-multiplier",
        param: "Device.ManagementServer.CWMPRetryIntervalMultiplier",
        accepted: &["1000", "2000", "65535"],
        refused: &[("999", 9007), ("65536", 9007), ("0", 9007)],
    },
    Bounds {
        item: "acs-conn-req-address-notification-limit",
        param: "Device.ManagementServer.UDPConnectionRequestAddressNotificationLimit",
        accepted: &["0", "3600"],
        refused: &[("3601", 9007)],
    },
    Bounds {
        item: "acs-default-active-notification-throttle",
        param: "Device.ManagementServer.DefaultActiveNotificationThrottle",
        accepted: &["0", "3600"],
        refused: &[("3601", 9007)],
    },
    Bounds {
        item: "sip-server-port",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.ProxyServerPort",
        accepted: &["1", "5060", "65535"],
        refused: &[("0", 9007), ("65536", 9007)],
    },
    Bounds {
        item: "sip-registrar-port",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegistrarServerPort",
        accepted: &["1", "65535"],
        refused: &[("0", 9007), ("65536", 9007)],
    },
    Bounds {
        item: "sip-port",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.UserAgentPort",
        accepted: &["1", "65535"],
        refused: &[("0", 9007), ("65536", 9007)],
    },
    Bounds {
        item: "sgnl-gateway-port-user",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.OutboundProxyPort",
        accepted: &["1", "65535"],
        refused: &[("0", 9007), ("65536", 9007)],
    },
    Bounds {
        item: "sip-transport",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_Transport",
        accepted: &["0", "1", "2"],
        refused: &[("3", 9007), ("UDP", 9006), ("-1", 9006)],
    },
    Bounds {
        item: "reg-ttl",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires",
        accepted: &["60", "3600", "7200"],
        refused: &[("59", 9007), ("7201", 9007), ("10", 9007)],
    },
    Bounds {
        item: "sip-connection",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_ConnectionType",
        accepted: &["0", "1"],
        refused: &[("2", 9007)],
    },
    Bounds {
        item: "refresh-guard-time",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_RefreshGuardTime",
        accepted: &["0", "7200"],
        refused: &[("7201", 9007)],
    },
    Bounds {
        item: "server-type",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_ServerType",
        accepted: &["0", "1", "2", "4", "5", "6"],
        refused: &[("3", 9007), ("7", 9007)],
    },
    Bounds {
        item: "session-duration",
        param: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.X_UNIFY_SessionDuration",
        accepted: &["0", "3600"],
        refused: &[("3601", 9007)],
    },
];

#[test]
fn bounds_cover_every_range_and_enumeration_of_writable_items() {
    let m = model();
    for p in m.schema().params() {
        let constrained = p.ty.min.is_some() || p.ty.max.is_some() || !p.ty.enumeration.is_empty();
        if constrained && p.access == cwmp_model::Access::ReadWrite {
            assert!(
                BOUNDS.iter().any(|b| b.param == p.name),
                "{} has no bounds test",
                p.name
            );
        }
    }
}

#[test]
fn ranges_and_enumerations_through_validate_item() {
    let m = model();
    for b in BOUNDS {
        assert_eq!(m.param_for_item(b.item).unwrap().name, b.param);
        for v in b.accepted {
            assert_eq!(
                m.validate_item(b.item, v).as_deref(),
                Ok(*v),
                "{} = {v}",
                b.item
            );
        }
        for (v, code) in b.refused {
            let f = m.validate_item(b.item, v).unwrap_err();
            assert_eq!(f.code.code(), *code, "{} = {v}: {f}", b.item);
            assert!(f.message.contains(b.item), "{}", f.message);
        }
    }
}

#[test]
fn ranges_and_enumerations_through_set_parameter_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    for b in BOUNDS {
        let wire = s.schema().param(b.param).unwrap().ty.xsd_type();
        for v in b.accepted {
            for xsi in [None, Some(wire)] {
                assert_eq!(spv_code(&mut s, b.param, v, xsi), None, "{} = {v}", b.param);
                assert_eq!(get(&mut s, b.param).to_lexical(), *v);
                assert_eq!(
                    s.backend().get(b.item).as_deref(),
                    Some(*v),
                    "stored in the item"
                );
            }
        }
        for (v, code) in b.refused {
            let before = get(&mut s, b.param);
            assert_eq!(
                spv_code(&mut s, b.param, v, None),
                Some(*code),
                "{} = {v}",
                b.param
            );
            assert_eq!(
                get(&mut s, b.param),
                before,
                "{} changed by a refused set",
                b.param
            );
        }
    }
}

#[test]
fn read_only_enumeration_device_status() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let name = "Device.DeviceInfo.DeviceStatus";
    assert_eq!(spv_code(&mut s, name, "Up", None), Some(9008));
    for ok in ["Up", "Initializing", "Error", "Disabled"] {
        s.set_internal(name, ok).unwrap();
        assert_eq!(get(&mut s, name), Value::String(ok.into()));
    }
    for bad in ["Down", "up", ""] {
        assert_eq!(
            s.set_internal(name, bad).unwrap_err().code.code(),
            9007,
            "{bad:?}"
        );
    }
}

// ------------------------------------------------------------------------------------------
// Per-type accepted and refused forms.
// ------------------------------------------------------------------------------------------

#[test]
fn per_type_forms_through_validate_item() {
    let m = model();
    let long = "x".repeat(257);
    let max = "x".repeat(256);
    // (item, value, Ok(canonical) or Err(code))
    let cases: &[(&str, &str, Result<&str, u32>)] = &[
        // https-url format (Cloud Deployment)
        ("cloud-deployment-url", "", Ok("")),
        (
            "cloud-deployment-url",
            "https://zt.example:8443/claim",
            Ok("https://zt.example:8443/claim"),
        ),
        ("cloud-deployment-url", "http://zt.example/claim", Err(9007)),
        ("cloud-deployment-url", "zt.example/claim", Err(9007)),
        ("cloud-deployment-url", "https://", Err(9007)),
        // boolean
        ("acs-stun-enable", "true", Ok("true")),
        ("acs-stun-enable", "false", Ok("false")),
        ("acs-stun-enable", "1", Ok("true")),
        ("acs-stun-enable", "0", Ok("false")),
        ("acs-stun-enable", "yes", Err(9006)),
        ("acs-stun-enable", "TRUE", Err(9006)),
        ("acs-stun-enable", "2", Err(9006)),
        ("acs-stun-enable", "", Err(9006)),
        // unsignedInt
        ("acs-stun-min-keepalive", "0", Ok("0")),
        ("acs-stun-min-keepalive", "007", Ok("7")),
        ("acs-stun-min-keepalive", "+5", Ok("5")),
        ("acs-stun-min-keepalive", " 42 ", Ok("42")),
        ("acs-stun-min-keepalive", "4294967295", Ok("4294967295")),
        ("acs-stun-min-keepalive", "4294967296", Err(9006)),
        ("acs-stun-min-keepalive", "-1", Err(9006)),
        ("acs-stun-min-keepalive", "1.5", Err(9006)),
        ("acs-stun-min-keepalive", "abc", Err(9006)),
        ("acs-stun-min-keepalive", "", Err(9006)),
        // int
        ("acs-stun-max-keepalive", "-1", Ok("-1")),
        ("acs-stun-max-keepalive", "+30", Ok("30")),
        ("acs-stun-max-keepalive", "1e3", Err(9006)),
        // string with maximum length
        ("acs-server-address", "", Ok("")),
        (
            "acs-server-address",
            "https://acs.example.com:7547/",
            Ok("https://acs.example.com:7547/"),
        ),
        ("acs-username", " spaces kept ", Ok(" spaces kept ")),
        // IPAddress
        ("ipaddress", "192.0.2.23", Ok("192.0.2.23")),
        ("ipaddress", "2001:db8::1", Ok("2001:db8::1")),
        ("ipaddress", "", Ok("")),
        ("ipaddress", "256.1.1.1", Err(9007)),
        ("ipaddress", "phone.example.com", Err(9007)),
        ("ipaddress", " 192.0.2.23", Err(9007)),
        ("default-gw", "192.0.2.1", Ok("192.0.2.1")),
        ("default-gw", "gateway", Err(9007)),
        ("default-mask", "255.255.255.0", Ok("255.255.255.0")),
        // MACAddress
        ("mac-address", "00:1A:E8:A1:B2:C3", Ok("00:1A:E8:A1:B2:C3")),
        ("mac-address", "00:1a:e8:a1:b2:c3", Ok("00:1a:e8:a1:b2:c3")),
        ("mac-address", "001AE8A1B2C3", Err(9007)),
        ("mac-address", "00-1A-E8-A1-B2-C3", Err(9007)),
        // SerialNumber is derived from it: "unknown" (empty) is refused here.
        ("mac-address", "", Err(9007)),
        // unknown item
        ("no-such-item", "1", Err(9005)),
    ];
    for (item, value, want) in cases {
        let got = m.validate_item(item, value);
        match want {
            Ok(c) => assert_eq!(got.as_deref(), Ok(*c), "{item} = {value:?}"),
            Err(code) => assert_eq!(
                got.map_err(|f| f.code.code()),
                Err(*code),
                "{item} = {value:?}"
            ),
        }
    }
    // A URL item: a URL, at most 256 characters.
    let url_max = format!("http://{}", "u".repeat(249));
    let url_long = format!("http://{}", "u".repeat(250));
    assert_eq!(
        m.validate_item("acs-server-address", &url_max).as_deref(),
        Ok(url_max.as_str())
    );
    assert_eq!(
        m.validate_item("acs-server-address", &url_long)
            .unwrap_err()
            .code
            .code(),
        9007
    );
    for not_a_url in [
        "127.0.0.1:7547",
        "acs.example/",
        "ftp://acs.example/",
        "http://",
    ] {
        assert_eq!(
            m.validate_item("acs-server-address", not_a_url)
                .map_err(|f| f.code.code()),
            Err(9007),
            "{not_a_url}"
        );
    }
    assert_eq!(
        m.validate_item("acs-username", &max).as_deref(),
        Ok(max.as_str())
    );
    assert_eq!(
        m.validate_item("acs-username", &long)
            .unwrap_err()
            .code
            .code(),
        9007
    );
    // The fault string never carries the value (it may be a password).
    let f = m.validate_item("acs-password", &long).unwrap_err();
    assert!(!f.message.contains(&long));
}

const CERT: &str = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n";
const KEY: &str = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH\n-----END PRIVATE KEY-----\n";

#[test]
fn pem_items() {
    let m = model();
    for item in [
        "acs-server-ca-certificate-1",
        "acs-server-ca-certificate-2",
        "acs-client-certificate",
    ] {
        assert_eq!(m.validate_item(item, CERT).as_deref(), Ok(CERT));
        assert_eq!(
            m.validate_item(item, &format!("{CERT}{CERT}")).map(|_| ()),
            Ok(())
        );
        assert_eq!(m.validate_item(item, "").as_deref(), Ok(""));
        assert_eq!(
            m.validate_item(item, "not a certificate").unwrap_err().code,
            FaultCode::InvalidParameterValue
        );
        assert_eq!(
            m.validate_item(item, KEY).unwrap_err().code,
            FaultCode::InvalidParameterValue
        );
    }
    assert_eq!(m.validate_item("acs-client-key", KEY).as_deref(), Ok(KEY));
    assert_eq!(m.validate_item("acs-client-key", "").as_deref(), Ok(""));
    for bad in [CERT, &format!("{KEY}{KEY}"), "garbage"] {
        let f = m.validate_item("acs-client-key", bad).unwrap_err();
        assert_eq!(f.code, FaultCode::InvalidParameterValue);
        assert!(!f.message.contains("MIGH"), "{}", f.message);
    }
    let huge = format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----",
        "A".repeat(70_000)
    );
    assert_eq!(
        m.validate_item("acs-client-certificate", &huge)
            .unwrap_err()
            .code
            .code(),
        9007
    );
}

#[test]
fn per_type_forms_through_set_parameter_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    let b = |x: bool| Value::Boolean(x);
    // boolean: 1/0/true/false accepted, stored canonically.
    let stun = format!("{MS}STUNEnable");
    for (v, want) in [("1", true), ("false", false), ("true", true), ("0", false)] {
        assert_eq!(spv_code(&mut s, &stun, v, Some(XsdType::Boolean)), None);
        assert_eq!(get(&mut s, &stun), b(want));
        assert_eq!(
            s.backend().get("acs-stun-enable").as_deref(),
            Some(if want { "true" } else { "false" })
        );
    }
    assert_eq!(spv_code(&mut s, &stun, "on", None), Some(9006));
    // xsi:type mismatch: 9006 even for a lexically fine value.
    assert_eq!(
        spv_code(&mut s, &stun, "true", Some(XsdType::String)),
        Some(9006)
    );
    let expires = format!("{SIP}RegisterExpires");
    assert_eq!(
        spv_code(&mut s, &expires, "600", Some(XsdType::String)),
        Some(9006)
    );
    assert_eq!(
        spv_code(&mut s, &expires, "600", Some(XsdType::Int)),
        Some(9006)
    );
    // unsignedInt canonical form.
    assert_eq!(spv_code(&mut s, &expires, "0600", None), None);
    assert_eq!(s.backend().get("reg-ttl").as_deref(), Some("600"));
    // int
    let max_ka = format!("{MS}STUNMaximumKeepAlivePeriod");
    assert_eq!(spv_code(&mut s, &max_ka, "-1", Some(XsdType::Int)), None);
    assert_eq!(get(&mut s, &max_ka), Value::Int(-1));
    assert_eq!(
        spv_code(&mut s, &max_ka, "-1", Some(XsdType::UnsignedInt)),
        Some(9006)
    );
    // dateTime (internal parameter, no item)
    let pit = format!("{MS}PeriodicInformTime");
    assert_eq!(get(&mut s, &pit).to_lexical(), "0001-01-01T00:00:00Z");
    assert_eq!(
        spv_code(
            &mut s,
            &pit,
            "2024-05-01T12:00:00+02:00",
            Some(XsdType::DateTime)
        ),
        None
    );
    assert_eq!(get(&mut s, &pit).to_lexical(), "2024-05-01T10:00:00Z");
    assert_eq!(spv_code(&mut s, &pit, "yesterday", None), Some(9006));
    // string length
    let url = format!("{MS}URL");
    let u = |n: usize| format!("http://{}", "u".repeat(n - 7));
    assert_eq!(spv_code(&mut s, &url, &u(256), None), None);
    assert_eq!(spv_code(&mut s, &url, &u(257), None), Some(9007));
    // ManagementServer.URL is a URL: the ACS cannot set something the phone cannot use.
    assert_eq!(spv_code(&mut s, &url, "127.0.0.1:7547", None), Some(9007));
    // string: ProvisioningCode is internal and writable; XML specials kept as text.
    let pc = "Device.DeviceInfo.ProvisioningCode";
    assert_eq!(
        spv_code(&mut s, pc, "site=A&B <lab>", Some(XsdType::String)),
        None
    );
    assert_eq!(get(&mut s, pc), Value::String("site=A&B <lab>".into()));
    // Read-only: 9008, whatever the value.
    for ro in [
        "Device.DeviceInfo.Manufacturer",
        "Device.DeviceInfo.SerialNumber",
        "Device.DeviceInfo.UpTime",
        "Device.LAN.IPAddress",
        "Device.LAN.MACAddress",
        "Device.ManagementServer.ConnectionRequestURL",
        "Device.ManagementServer.ParameterKey",
        "Device.ManagementServer.NATDetected",
        "Device.DeviceSummary",
    ] {
        assert_eq!(spv_code(&mut s, ro, "1", None), Some(9008), "{ro}");
    }
    // Unknown and partial names: 9005.
    assert_eq!(
        spv_code(&mut s, "Device.ManagementServer.Nope", "1", None),
        Some(9005)
    );
    assert_eq!(
        spv_code(&mut s, "Device.ManagementServer.", "1", None),
        Some(9005)
    );
}

// ------------------------------------------------------------------------------------------
// The phone as an ACS sees it.
// ------------------------------------------------------------------------------------------

#[test]
fn the_phone_as_an_acs_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let (mut s, status) = open_phone(dir.path(), &m, None).unwrap();
    let all = s.get_values(&[String::new()]).unwrap();
    assert_eq!(all.len(), m.schema().params().len());
    let value = |name: &str| {
        all.iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name}"))
            .value
            .to_lexical()
    };
    assert_eq!(value("Device.DeviceInfo.Manufacturer"), "Unify");
    assert_eq!(value("Device.DeviceInfo.ManufacturerOUI"), "001AE8");
    assert_eq!(
        value("Device.DeviceInfo.ProductClass"),
        "OpenScape Desk Phone CP600"
    );
    assert_eq!(
        value("Device.DeviceInfo.ModelName"),
        "OpenScape Desk Phone CP600"
    );
    assert_eq!(value("Device.DeviceInfo.SerialNumber"), "001AE8A1B2C3");
    assert_eq!(value("Device.DeviceInfo.DeviceStatus"), "Up");
    assert_eq!(value("Device.LAN.MACAddress"), "00:1A:E8:A1:B2:C3");
    assert_eq!(
        value("Device.DeviceSummary"),
        "Device:1.1[](Baseline:1), VoiceService:1.0[1](Endpoint:1, SIPEndpoint:1)"
    );
    status.set(deskphone_datamodel::DeviceStatus::Initializing);
    assert_eq!(
        get(&mut s, "Device.DeviceInfo.DeviceStatus").to_lexical(),
        "Initializing"
    );
    // Root GetParameterNames and the fixed VoiceProfile table (GenieACS capture 079: 9004).
    let root = s.get_names("", true).unwrap();
    assert_eq!(root.len(), 1);
    assert_eq!(root[0].name, "Device.");
    let vp = s
        .get_names("Device.Services.VoiceService.1.VoiceProfile.", true)
        .unwrap();
    assert_eq!(vp.len(), 1);
    assert_eq!(vp[0].name, "Device.Services.VoiceService.1.VoiceProfile.1.");
    assert_eq!(
        s.add_object("Device.Services.VoiceService.1.VoiceProfile.", "")
            .unwrap_err()
            .code
            .code(),
        9004
    );
    let forced: Vec<String> = s
        .forced_inform()
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(forced.len(), 7);
}

#[test]
fn serial_number_follows_the_stored_mac_address() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    {
        let mut s = store(dir.path());
        apply_items(
            &mut s,
            &m,
            &[("mac-address".into(), "00:1a:e8:00:00:0f".into())],
        )
        .unwrap();
    }
    let (mut s, _) = open_phone(dir.path(), &m, None).unwrap();
    assert_eq!(
        get(&mut s, "Device.DeviceInfo.SerialNumber").to_lexical(),
        "001AE800000F"
    );
    assert_eq!(
        get(&mut s, "Device.LAN.MACAddress").to_lexical(),
        "00:1a:e8:00:00:0f"
    );
}

// ------------------------------------------------------------------------------------------
// Secrets.
// ------------------------------------------------------------------------------------------

#[test]
fn secrets_read_empty_are_stored_and_redacted() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let mut s = store(dir.path());
    let secrets = [
        (format!("{MS}Password"), "acs-password", "pw-acs-Zq1"),
        (
            format!("{MS}ConnectionRequestPassword"),
            "acs-request-password",
            "pw-cr-Zq2",
        ),
        (
            format!("{MS}STUNPassword"),
            "acs-stun-password",
            "pw-stun-Zq3",
        ),
        (format!("{SIP}X_UNIFY_SipPwd"), "sip-pwd", "pw-sip-Zq4"),
    ];
    let batch: Vec<SetValue> = secrets
        .iter()
        .map(|(n, _, v)| sv(n, v, Some(XsdType::String)))
        .collect();
    s.set_values(&batch, "k").unwrap();
    apply_items(&mut s, &m, &[("acs-client-key".into(), KEY.into())]).unwrap();
    drop(s);
    let mut s = store(dir.path());
    let all = s.get_values(&[String::new()]).unwrap();
    for (name, item, real) in &secrets {
        assert_eq!(
            get(&mut s, name),
            Value::String(String::new()),
            "{name} reads as \"\""
        );
        assert_eq!(
            s.internal_value(name),
            Some(Value::String((*real).into())),
            "{name} usable"
        );
        assert_eq!(m.item_value(s.backend(), item).as_deref(), Some(*real));
        assert!(all.iter().all(|p| p.value.to_lexical() != *real));
    }
    assert!(all
        .iter()
        .all(|p| !p.value.to_lexical().contains("PRIVATE KEY")));
    assert_eq!(
        m.item_value(s.backend(), "acs-client-key").as_deref(),
        Some(KEY)
    );
    // Debug of every type of this crate (and the store) shows none of them.
    let shown = format!(
        "{s:?} {:?} {m:?} {:?} {:?}",
        s.backend(),
        m.item("acs-password"),
        batch
    );
    for (_, _, real) in &secrets {
        assert!(!shown.contains(real), "{real} in Debug output");
    }
    assert!(!shown.contains("MIGH"));
    // A secret default in a table is redacted in Debug too.
    let t = DeskPhoneModel::from_toml(
        "format = 1\n[[item]]\nname = \"k\"\norigin = \"vendor\"\ntype = \"string\"\nsecret = true\ndefault = \"topsecret-default\"\n",
    )
    .unwrap();
    assert!(!format!("{t:?}").contains("topsecret-default"));
}

// ------------------------------------------------------------------------------------------
// Atomicity, verified on disk.
// ------------------------------------------------------------------------------------------

#[test]
fn a_set_with_one_bad_value_changes_nothing_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = store(dir.path());
    s.set_values(
        &[
            sv(&format!("{SIP}ProxyServer"), "proxy.example.com", None),
            sv(&format!("{SIP}RegisterExpires"), "1800", None),
        ],
        "first",
    )
    .unwrap();
    let file = dir.path().join(FileBackend::FILE_NAME);
    let bytes_before = std::fs::read(&file).unwrap();
    let err = s
        .set_values(
            &[
                sv(&format!("{SIP}ProxyServer"), "other.example.com", None),
                sv(&format!("{MS}URL"), "https://acs.example.com/", None),
                sv(&format!("{SIP}X_UNIFY_ServerType"), "3", None),
                sv(&format!("{SIP}RegisterExpires"), "7201", None),
                sv(&format!("{MS}Password"), "new-password", None),
            ],
            "second",
        )
        .unwrap_err();
    match err {
        SetError::Parameters(f) => {
            let names: Vec<&str> = f.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    format!("{SIP}X_UNIFY_ServerType").as_str(),
                    format!("{SIP}RegisterExpires").as_str()
                ]
            );
            assert!(f.iter().all(|p| p.code == FaultCode::InvalidParameterValue));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        std::fs::read(&file).unwrap(),
        bytes_before,
        "file rewritten"
    );
    drop(s);
    let mut s = store(dir.path());
    assert_eq!(
        get(&mut s, &format!("{SIP}ProxyServer")).to_lexical(),
        "proxy.example.com"
    );
    assert_eq!(
        get(&mut s, &format!("{SIP}RegisterExpires")).to_lexical(),
        "1800"
    );
    assert_eq!(get(&mut s, &format!("{MS}URL")).to_lexical(), "");
    assert_eq!(
        s.internal_value(&format!("{MS}Password")),
        Some(Value::String(String::new()))
    );
    assert_eq!(
        get(&mut s, &format!("{MS}ParameterKey")).to_lexical(),
        "first"
    );
}

// ------------------------------------------------------------------------------------------
// Item writes (admin, configuration file, vendor configuration file) and factory reset.
// ------------------------------------------------------------------------------------------

/// Each author of a write is recorded with it (the web page shows it); plain `apply_items`
/// (factory defaults, values the phone keeps) records none; the ACS's SetParameterValues
/// records `acs`; a factory reset forgets them all; and the record survives a restart.
#[test]
fn value_origins_are_recorded_with_the_write() {
    use cwmp_model::ValueOrigin;
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let mut s = store(dir.path());
    let one = |k: &str, v: &str| vec![(k.to_owned(), v.to_owned())];
    apply_items(&mut s, &m, &one("reg-ttl", "700")).unwrap();
    assert_eq!(ValueOrigin::of(s.backend(), "reg-ttl"), None);
    deskphone_datamodel::apply_items_as(&mut s, &m, &one("reg-ttl", "800"), ValueOrigin::Local)
        .unwrap();
    assert_eq!(
        ValueOrigin::of(s.backend(), "reg-ttl"),
        Some(ValueOrigin::Local)
    );
    s.set_values(
        &[SetValue {
            name: "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires".into(),
            value: "900".into(),
            xsi_type: None,
        }],
        "k",
    )
    .unwrap();
    assert_eq!(
        ValueOrigin::of(s.backend(), "reg-ttl"),
        Some(ValueOrigin::Acs)
    );
    deskphone_datamodel::apply_items_as(
        &mut s,
        &m,
        &one("reg-ttl", "1000"),
        ValueOrigin::Provisioning,
    )
    .unwrap();
    drop(s);
    let mut s = store(dir.path());
    assert_eq!(
        ValueOrigin::of(s.backend(), "reg-ttl"),
        Some(ValueOrigin::Provisioning)
    );
    factory_reset(&mut s, &m).unwrap();
    assert_eq!(ValueOrigin::of(s.backend(), "reg-ttl"), None);
}

#[test]
fn apply_items_is_one_atomic_commit() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let mut s = store(dir.path());
    let items = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    };
    // A bad value anywhere: nothing written, one fault per bad item.
    let err = apply_items(
        &mut s,
        &m,
        &items(&[
            ("registrar-addr", "reg.example.com"),
            ("acs-client-certificate", CERT),
            ("server-type", "3"),
            ("acs-client-key", "garbage"),
            ("no-such-item", "1"),
        ]),
    )
    .unwrap_err();
    match err {
        SetError::Parameters(f) => {
            let got: Vec<(&str, u32)> =
                f.iter().map(|p| (p.name.as_str(), p.code.code())).collect();
            assert_eq!(
                got,
                [
                    ("server-type", 9007),
                    ("acs-client-key", 9007),
                    ("no-such-item", 9005)
                ]
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(
        !dir.path().join(FileBackend::FILE_NAME).exists(),
        "nothing may be written"
    );
    // Duplicates are refused as a whole.
    assert!(matches!(
        apply_items(&mut s, &m, &items(&[("e164", "1"), ("e164", "2")])),
        Err(SetError::Fault(f)) if f.code.code() == 9003
    ));
    // A good batch: parameters and certificate items together, canonicalised. The store's
    // change listener hears exactly the changed parameters (pushed to the engine, not polled).
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sink = heard.clone();
    s.set_change_listener(Box::new(move |names| {
        sink.lock().unwrap().extend_from_slice(names)
    }));
    let changed = apply_items(
        &mut s,
        &m,
        &items(&[
            ("reg-ttl", "0900"),
            ("acs-client-certificate", CERT),
            ("acs-client-key", KEY),
            ("device-type", "OpenScape Desk Phone CP700"),
            ("registrar-addr", ""),
            ("acs-stun-enable", "1"),
        ]),
    )
    .unwrap();
    assert_eq!(
        changed,
        [
            "Device.DeviceInfo.ModelName",
            "Device.DeviceInfo.ProductClass",
            "Device.ManagementServer.STUNEnable",
            "Device.Services.VoiceService.1.VoiceProfile.1.SIP.RegisterExpires",
        ]
    );
    assert_eq!(*heard.lock().unwrap(), changed);
    drop(s);
    let mut s = store(dir.path());
    assert_eq!(s.backend().get("reg-ttl").as_deref(), Some("900"));
    assert_eq!(s.backend().get("acs-stun-enable").as_deref(), Some("true"));
    assert_eq!(s.backend().get("acs-client-key").as_deref(), Some(KEY));
    assert_eq!(
        get(&mut s, "Device.DeviceInfo.ProductClass").to_lexical(),
        "OpenScape Desk Phone CP700"
    );
    // Items with no TR-069 name are invisible over CWMP.
    let all = s.get_values(&[String::new()]).unwrap();
    assert!(all.iter().all(|p| !p.value.to_lexical().contains("BEGIN")));
}

#[test]
fn factory_reset_clears_acs_settings_and_certificates_keeps_device_facts() {
    let dir = tempfile::tempdir().unwrap();
    let m = model();
    let mut s = store(dir.path());
    apply_items(
        &mut s,
        &m,
        &[
            ("acs-server-ca-certificate-1".into(), CERT.into()),
            ("acs-client-key".into(), KEY.into()),
            ("ipaddress".into(), "192.0.2.23".into()),
            ("standard-software-version".into(), "V1R9.6.0".into()),
        ],
    )
    .unwrap();
    s.set_values(
        &[sv(&format!("{MS}URL"), "https://acs.example.com/", None)],
        "k9",
    )
    .unwrap();
    // Through the trait, as the engine calls it: one commit clears certificates too.
    s.factory_reset().unwrap();
    assert_eq!(s.backend().get("acs-client-key"), None);
    assert_eq!(s.backend().get("acs-server-ca-certificate-1"), None);
    factory_reset(&mut s, &m).unwrap();
    drop(s);
    let mut s = store(dir.path());
    assert_eq!(get(&mut s, &format!("{MS}URL")).to_lexical(), "");
    assert_eq!(get(&mut s, &format!("{MS}ParameterKey")).to_lexical(), "");
    assert_eq!(s.backend().get("acs-server-ca-certificate-1"), None);
    assert_eq!(s.backend().get("acs-client-key"), None);
    assert_eq!(
        get(&mut s, "Device.LAN.IPAddress").to_lexical(),
        "192.0.2.23"
    );
    assert_eq!(
        get(&mut s, "Device.DeviceInfo.SoftwareVersion").to_lexical(),
        "V1R9.6.0"
    );
}

#[test]
fn corrupt_store_is_an_error_not_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(FileBackend::FILE_NAME),
        "format = 1\ncount = 9\n[items]\n",
    )
    .unwrap();
    assert!(matches!(
        open_store(dir.path(), &model(), Box::new(NoLiveValues)),
        Err(cwmp_model::BackendError::Corrupt(_))
    ));
    assert!(open_phone(dir.path(), &model(), None).is_err());
}

#[test]
fn factory_defaults_from_the_device_survive_a_reset_without_any_rewrite() {
    let dir = tempfile::tempdir().unwrap();
    let m = model()
        .with_factory_defaults(&[
            (
                "acs-server-address".into(),
                "http://acs.factory:7547/".into(),
            ),
            ("acs-periodic-inform-interval".into(), "0600".into()),
        ])
        .unwrap();
    assert_eq!(
        m.item("acs-periodic-inform-interval").unwrap().default(),
        "600"
    );
    let mut s = open_store(dir.path(), &m, Box::new(cwmp_model::NoLiveValues)).unwrap();
    // Nothing stored yet: the device's defaults are what the store reads.
    assert_eq!(
        get(&mut s, &format!("{MS}URL")).to_lexical(),
        "http://acs.factory:7547/"
    );
    s.set_values(
        &[sv(&format!("{MS}URL"), "https://acs.example.com/", None)],
        "k",
    )
    .unwrap();
    // A reset removes the stored value; the device default is back with no second write.
    s.factory_reset().unwrap();
    drop(s);
    let mut s = open_store(dir.path(), &m, Box::new(cwmp_model::NoLiveValues)).unwrap();
    assert_eq!(
        get(&mut s, &format!("{MS}URL")).to_lexical(),
        "http://acs.factory:7547/"
    );
    assert_eq!(
        get(&mut s, &format!("{MS}PeriodicInformInterval")).to_lexical(),
        "600"
    );
    // Unknown or invalid defaults are refused with the item's fault.
    assert_eq!(
        model()
            .with_factory_defaults(&[("no-such-item".into(), "1".into())])
            .unwrap_err()
            .code
            .code(),
        9005
    );
    assert_eq!(
        model()
            .with_factory_defaults(&[("reg-ttl".into(), "59".into())])
            .unwrap_err()
            .code
            .code(),
        9007
    );
}

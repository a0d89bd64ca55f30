//! Real TR-064 clients against the real `cpe-agent` binary on 127.0.0.1: fritzconnection (the
//! library Home Assistant uses for FRITZ!Box) and async-upnp-client (SSDP, unicast only: no
//! multicast leaves the machine). Both are PyPI packages; `.ci/run` installs them in a venv
//! under `target/py` and exports `CPE_TEST_PYTHON`. Without them (outside CI) these tests
//! show as ignored; under `CI=true` they run and fail naming the peer.

mod phone_common;
mod tr064_common;

use cwmp_testkit::acs::{FakeAcs, SessionLog};
use std::process::Command;
use tr064_common::*;

const SCRIPTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tr064");

fn codes(s: &SessionLog) -> Vec<String> {
    s.event_codes()
}

fn run_python(script: &str, args: &[String]) -> serde_json::Value {
    // A CA bundle in the environment makes `requests` verify certificates even where
    // fritzconnection turns verification off (as for a FRITZ!Box's self-signed one), so the
    // clients run with the environment a LAN tool on a desktop has.
    let out = Command::new(python())
        .arg(format!("{SCRIPTS}/{script}"))
        .args(args)
        .env_remove("REQUESTS_CA_BUNDLE")
        .env_remove("CURL_CA_BUNDLE")
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{script}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

fn fritz(port: u16, password: &str, calls: serde_json::Value, tls: bool) -> serde_json::Value {
    let mut args = vec![
        port.to_string(),
        "admin".to_owned(),
        password.to_owned(),
        calls.to_string(),
    ];
    if tls {
        args.push("tls".to_owned());
    }
    run_python("fritz_client.py", &args)
}

#[test]
#[cfg_attr(
    peer_missing_tr064_python,
    ignore = "python with fritzconnection not installed (CPE_TEST_PYTHON)"
)]
fn fritzconnection_reads_sets_and_reboots_the_phone() {
    let acs2 = FakeAcs::builder().start().expect("acs2");
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = tr064_phone(acs.url(), "", "admin-password = \"gurkensalat\"");
    phone.start();
    assert!(acs.wait_for_sessions(1, WAIT), "{}", phone.log());
    let http = phone.http();
    let calls = serde_json::json!([
        ["DeviceInfo1", "GetInfo", {}],
        ["ManagementServer1", "GetInfo", {}],
        ["X_VoIP1", "GetInfo", {}],
        ["ManagementServer1", "SetManagementServerURL", {"NewURL": acs2.url()}],
        ["X_VoIP1", "X_AVM-DE_AddVoIPAccount", {
            "NewVoIPAccountIndex": 0,
            "NewVoIPRegistrar": "registrar.example",
            "NewVoIPNumber": "+4989700",
            "NewVoIPUsername": "700",
            "NewVoIPPassword": "sip-secret",
            "NewVoIPOutboundProxy": "",
            "NewVoIPSTUNServer": "",
        }],
        ["X_VoIP1", "X_AVM-DE_GetVoIPAccount", {"NewVoIPAccountIndex": 0}],
        "reboot",
    ]);
    let out = fritz(http.port(), "gurkensalat", calls, false);
    let services: Vec<String> = serde_json::from_value(out["services"].clone()).unwrap();
    for s in [
        "DeviceInfo1",
        "DeviceConfig1",
        "ManagementServer1",
        "LANConfigSecurity1",
        "Time1",
        "X_VoIP1",
    ] {
        assert!(
            services.contains(&s.to_owned()),
            "{s} missing: {services:?}"
        );
    }
    let r = &out["results"];
    for (i, res) in r.as_array().unwrap().iter().enumerate() {
        assert!(res.get("error").is_none(), "call {i}: {res}");
    }
    assert_eq!(r[0]["NewSerialNumber"], "001AE8A1B2C3");
    assert_eq!(r[0]["NewManufacturerName"], "Unify");
    assert_eq!(r[1]["NewURL"], acs.url());
    assert_eq!(r[2]["NewVoiceCoding"], "autocompress");
    assert_eq!(r[5]["NewVoIPRegistrar"], "registrar.example");
    assert_eq!(r[5]["NewVoIPPassword"], "", "a password read back");
    assert_eq!(
        phone.admin_ok(&["get", "registrar-addr"]),
        "registrar.example\n"
    );
    // The new ACS URL: the phone bootstraps there; the reboot brings 1 BOOT (in the same
    // session when the reboot cut the bootstrap session short).
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let all: Vec<Vec<String>> = acs2.sessions().iter().map(codes).collect();
        let has = |c: &str| all.iter().any(|s| s.contains(&c.to_owned()));
        if has("0 BOOTSTRAP") && has("1 BOOT") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{all:?}\n{}",
            phone.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }

    // The same over HTTPS (fritzconnection's use_tls, the port GetSecurityPort names).
    let https = phone.https();
    let out = fritz(
        https.port(),
        "gurkensalat",
        serde_json::json!([
            ["DeviceInfo1", "GetSecurityPort", {}],
            ["DeviceInfo1", "GetInfo", {}]
        ]),
        true,
    );
    assert_eq!(out["results"][0]["NewSecurityPort"], https.port());
    assert_eq!(out["results"][1]["NewSerialNumber"], "001AE8A1B2C3");

    // A wrong password fails.
    let out = fritz(
        http.port(),
        "wrong",
        serde_json::json!([["DeviceInfo1", "GetInfo", {}]]),
        false,
    );
    let err = out["results"][0]["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(err.contains("FritzAuthorizationError"), "{out}");
    phone.terminate();
}

#[test]
#[cfg_attr(
    peer_missing_tr064_python,
    ignore = "python with async-upnp-client not installed (CPE_TEST_PYTHON)"
)]
fn async_upnp_client_finds_the_phone_by_unicast_search() {
    let acs = FakeAcs::builder().start().expect("acs");
    let mut phone = tr064_phone(acs.url(), "", "");
    phone.start();
    let ssdp = phone.ssdp();
    let http = phone.http();
    let udn = "uuid:75f5e2d0-5a1d-4e0b-8d3c-001ae8a1b2c3";
    for st in [
        "ssdp:all",
        "upnp:rootdevice",
        "urn:dslforum-org:device:InternetGatewayDevice:1",
        udn,
    ] {
        let out = run_python("ssdp_search.py", &[ssdp.port().to_string(), st.to_owned()]);
        let responses = out["responses"].as_array().unwrap();
        assert!(!responses.is_empty(), "{st}: no answer: {out}");
        for r in responses {
            assert_eq!(r["location"], format!("http://{http}/tr64desc.xml"), "{r}");
            assert_eq!(r["cache-control"], "max-age=1800", "{r}");
            assert!(r["usn"].as_str().unwrap().starts_with(udn), "{r}");
            assert!(r.get("ext").is_some() && r.get("server").is_some(), "{r}");
        }
        if st != "ssdp:all" {
            assert_eq!(responses[0]["st"], st);
        }
        let descriptions = out["descriptions"].as_object().unwrap();
        let xml = descriptions.values().next().unwrap().as_str().unwrap();
        assert!(xml.contains(&format!("<UDN>{udn}</UDN>")), "{xml}");
    }
    phone.terminate();
}

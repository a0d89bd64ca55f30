//! Replays the checked-in seed corpora of the daemon's fuzz targets (`fuzz/corpus/<target>`)
//! through the same entry points the targets call (`cpe_agent::fuzzing`), so CI exercises
//! every parser of untrusted input without nightly; and checks that the seeds meant to be
//! valid are.

use cpe_agent::{dhcp, firmware, fuzzing, vendor_config};
use std::path::PathBuf;

fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {} missing: {e}", dir.display()))
        .map(|e| {
            let p = e.expect("dir entry").path();
            let name = p.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read(&p).expect("seed"))
        })
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{target}: only {} seeds", files.len());
    files
}

#[test]
fn dhcp_option43_corpus() {
    for (name, data) in corpus("dhcp_option43") {
        fuzzing::dhcp_option43(&data);
        let valid = ["all-four", "url-only", "pad-end-unknown"].contains(&name.as_str());
        assert_eq!(dhcp::parse(&data).is_ok(), valid, "{name}");
    }
}

#[test]
fn firmware_image_corpus() {
    for (name, data) in corpus("firmware_image") {
        fuzzing::firmware_image(&data);
        let mut v = firmware::ImageVerifier::new(fuzzing::FUZZ_MODEL);
        let ok = v.update(&data).is_ok() && v.finish().is_ok();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn vendor_config_corpus() {
    for (name, data) in corpus("vendor_config") {
        fuzzing::vendor_config(&data);
        let key = (name == "encrypted").then_some(fuzzing::FUZZ_KEY);
        let ok = vendor_config::read(&data, key).is_ok();
        assert_eq!(ok, name == "flat-items" || name == "encrypted", "{name}");
    }
}

#[test]
fn cloud_document_corpus() {
    for (name, data) in corpus("cloud_document") {
        fuzzing::cloud_document(&data);
        let valid = ["acs-only", "credentials"].contains(&name.as_str());
        assert_eq!(
            cpe_agent::cloud::parse_document(&data, 1_767_225_600).is_ok(),
            valid,
            "{name}"
        );
    }
}

#[test]
fn tr064_soap_corpus() {
    for (name, data) in corpus("tr064_soap") {
        fuzzing::tr064_soap(&data);
        let ok = cpe_agent::tr064::soap::parse_action(&data).is_ok();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn ssdp_msearch_corpus() {
    for (name, data) in corpus("ssdp_msearch") {
        fuzzing::ssdp_msearch(&data);
        let ok = cpe_agent::tr064::ssdp::parse_msearch(&data).is_some();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn fleet_body_method_corpus() {
    for (name, data) in corpus("fleet_body_method") {
        fuzzing::fleet_body_method(&data);
        let ok = cpe_agent::fleet::phone::body_method(&data).is_some();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn provisioning_file_corpus() {
    let model = deskphone_datamodel::DeskPhoneModel::builtin();
    for (name, data) in corpus("provisioning_file") {
        fuzzing::provisioning_file(&data);
        let ok = cpe_agent::provision::prepare(&data, None, &model).is_ok();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn web_form_corpus() {
    for (name, data) in corpus("web_form") {
        fuzzing::web_form(&data);
        let ok = cpe_agent::web::form::parse_form(&data).is_ok();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn sip_message_corpus() {
    for (name, data) in corpus("sip_message") {
        fuzzing::sip_message(&data);
        let ok = cpe_agent::provision::pnp::parse_message(&data).is_ok();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

#[test]
fn tftp_packet_corpus() {
    for (name, data) in corpus("tftp_packet") {
        fuzzing::tftp_packet(&data);
        let ok = cpe_agent::provision::tftp::parse_packet(&data).is_ok();
        assert_eq!(ok, name.starts_with("good"), "{name}");
    }
}

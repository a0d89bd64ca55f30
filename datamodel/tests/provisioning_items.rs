//! The auto-provisioning items (seed 001): their validation formats, secrets and read-only
//! version items.

use deskphone_datamodel::DeskPhoneModel;

fn ok(m: &DeskPhoneModel, item: &str, v: &str) -> bool {
    m.validate_item(item, v).is_ok()
}

#[test]
fn provisioning_item_formats() {
    let m = DeskPhoneModel::builtin();
    for v in ["66", "43", "128", "254", "off"] {
        assert!(ok(&m, "auto-provision-dhcp-option", v), "{v}");
    }
    for v in ["", "67", "127", "255", "0128", "OFF", "x"] {
        assert!(!ok(&m, "auto-provision-dhcp-option", v), "{v}");
    }
    for v in [
        "",
        "tftp://172.16.6.45/$input.txt",
        "ftp://u:p@10.0.0.1:2121/cfg/",
        "http://user:password@172.16.1.3:8080/X4/$mac.cfg",
        "HTTPS://prov.example/",
    ] {
        assert!(ok(&m, "auto-provision-server", v), "{v}");
    }
    for v in ["sftp://h/x", "http://", "172.16.1.3/x.cfg", "tftp:///x"] {
        assert!(!ok(&m, "auto-provision-server", v), "{v}");
    }
    for v in ["after-reboot", "periodic", "off"] {
        assert!(ok(&m, "auto-provision-update-mode", v));
    }
    assert!(!ok(&m, "auto-provision-update-mode", "daily"));
    assert!(ok(&m, "auto-provision-update-interval", "1"));
    assert!(!ok(&m, "auto-provision-update-interval", "0"));
    for v in ["224.0.1.75:5060", "127.0.0.1:15060", "pnp.example:5060"] {
        assert!(ok(&m, "auto-provision-pnp-server", v), "{v}");
    }
    for v in ["224.0.1.75", ":5060", "h:0", "h:65536", "a b:1"] {
        assert!(!ok(&m, "auto-provision-pnp-server", v), "{v}");
    }
    assert!(ok(&m, "auto-provision-pnp-transport", "tcp"));
    assert!(!ok(&m, "auto-provision-pnp-transport", "tls"));
    let key = "00".repeat(32);
    for item in ["config-encryption-key", "common-config-encryption-key"] {
        assert!(ok(&m, item, &key) && ok(&m, item, ""));
        assert!(!ok(&m, item, &"0".repeat(63)) && !ok(&m, item, &"g".repeat(64)));
        assert!(m.item(item).unwrap().is_secret());
    }
    assert!(m.item("auto-provision-password").unwrap().is_secret());
    for item in [
        "auto-provision-config-version",
        "auto-provision-common-config-version",
    ] {
        assert!(m.item(item).unwrap().is_read_only());
        assert!(!m.is_locally_writable(item));
    }
    assert!(m.is_locally_writable("auto-provision-server"));
    assert_eq!(
        m.item("auto-provision-pnp-server").unwrap().default(),
        "224.0.1.75:5060"
    );
    assert_eq!(
        m.item("auto-provision-pnp-enable").unwrap().default(),
        "false"
    );
}

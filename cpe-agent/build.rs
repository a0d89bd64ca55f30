//! Decides at build time which external test peers are missing, so that their tests show as
//! ignored in `cargo test`'s summary (and fail under `CI=true`); see the `test-peers` crate.

use std::path::PathBuf;

fn main() {
    test_peers::detect(&[
        test_peers::Peer::Program("curl"),
        test_peers::Peer::Program("openssl"),
        test_peers::Peer::Program("systemd-analyze"),
        test_peers::Peer::Program("jq"),
        // The fleet's STUN test (tests/fleet.rs): coturn.
        test_peers::Peer::Program("turnserver"),
        // The web-based management's browser tests: Debian's chromium and chromium-driver.
        test_peers::Peer::Program("chromium"),
        test_peers::Peer::Program("chromedriver"),
        // Auto provisioning (tests/provisioning.rs): real file, PnP and DHCP peers.
        test_peers::Peer::Program("python3"),
        test_peers::Peer::Program("in.tftpd"),
        test_peers::Peer::Program("sipp"),
        test_peers::Peer::Program("dnsmasq"),
        test_peers::Peer::Program("udhcpc"),
        test_peers::Peer::Program("ip"),
    ]);
    // The real DHCP exchange (tests/provisioning.rs) creates a network namespace: root only.
    println!("cargo::rustc-check-cfg=cfg(peer_missing_root)");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !root && !test_peers::in_ci() {
        println!("cargo::rustc-cfg=peer_missing_root");
    }
    // The TR-064 client tests need a python with the PyPI packages fritzconnection and
    // async-upnp-client: `CPE_TEST_PYTHON`, else the venv `.ci/run` makes in `target/py`.
    println!("cargo::rerun-if-env-changed=CPE_TEST_PYTHON");
    println!("cargo::rustc-check-cfg=cfg(peer_missing_tr064_python)");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let python = std::env::var_os("CPE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../target/py/bin/python"));
    println!("cargo::rerun-if-changed={}", python.display());
    let present = std::process::Command::new(&python)
        .args(["-c", "import fritzconnection, async_upnp_client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !present && !test_peers::in_ci() {
        println!("cargo::rustc-cfg=peer_missing_tr064_python");
    }
    // The browser tests drive chromium from Python with Selenium (PyPI), the same python.
    println!("cargo::rustc-check-cfg=cfg(peer_missing_web_python)");
    let selenium = std::process::Command::new(&python)
        .args(["-c", "import selenium"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !selenium && !test_peers::in_ci() {
        println!("cargo::rustc-cfg=peer_missing_web_python");
    }
    // The FTP provisioning test's server: pyftpdlib in the same python.
    println!("cargo::rustc-check-cfg=cfg(peer_missing_pyftpdlib)");
    let ftp = std::process::Command::new(&python)
        .args(["-c", "import pyftpdlib"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ftp && !test_peers::in_ci() {
        println!("cargo::rustc-cfg=peer_missing_pyftpdlib");
    }
}

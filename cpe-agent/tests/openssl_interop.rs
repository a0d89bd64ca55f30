//! The vendor configuration cipher against a real peer: files encrypted by the `openssl` command
//! line (`enc -aes-256-cbc`, IV prepended) decrypt with the phone's key, and files the phone's
//! code encrypts decrypt with `openssl`. In CI a missing `openssl` fails the test.

use cpe_agent::vendor_config;
use std::io::Write;
use std::process::{Command, Stdio};

const KEY: &str = "8f1c2d3e4a5b60718293a4b5c6d7e8f90112233445566778899aabbccddeeff0";
const IV: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90";

fn openssl(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut child = Command::new(test_peers::program("openssl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn openssl");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "openssl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
#[cfg_attr(
    peer_missing_openssl,
    ignore = "openssl not installed (apt-get install openssl)"
)]
fn openssl_encrypted_file_decrypts() {
    let plain = b"sip-transport = 2\nreg-addr = \"sip.example.net\"\nacs-stun-enable = true\n";
    let mut file = hex::decode(IV).unwrap();
    file.extend(openssl(
        &["enc", "-aes-256-cbc", "-K", KEY, "-iv", IV],
        plain,
    ));
    let parsed = vendor_config::read(&file, Some(KEY)).unwrap();
    assert_eq!(parsed.plaintext, plain);
    assert_eq!(parsed.items.len(), 3);
}

#[test]
#[cfg_attr(
    peer_missing_openssl,
    ignore = "openssl not installed (apt-get install openssl)"
)]
fn phone_encrypted_file_decrypts_with_openssl() {
    let plain = b"reg-ttl = 600\n";
    let mut iv = [0u8; 16];
    hex::decode_to_slice(IV, &mut iv).unwrap();
    let file = vendor_config::encrypt(plain, KEY, iv).unwrap();
    let out = openssl(
        &["enc", "-d", "-aes-256-cbc", "-K", KEY, "-iv", IV],
        &file[16..],
    );
    assert_eq!(out, plain);
}

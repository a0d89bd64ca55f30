//! `include/cwmp_agent.h` is generated from this crate by cbindgen; this test regenerates it
//! and fails when the committed header differs (run with `CWMP_BLESS=1` to rewrite it).

use std::path::Path;

#[test]
fn header_is_current() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen");
    let mut fresh = Vec::new();
    bindings.write(&mut fresh);
    let fresh = String::from_utf8(fresh).expect("UTF-8 header");
    let path = dir.join("include/cwmp_agent.h");
    if std::env::var_os("CWMP_BLESS").is_some() {
        std::fs::write(&path, &fresh).expect("write header");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "include/cwmp_agent.h is stale: regenerate it with \
         `CWMP_BLESS=1 cargo test -p cwmp-ffi --test header` and commit it"
    );
}

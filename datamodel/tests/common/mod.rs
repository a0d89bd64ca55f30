//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// A file under the project's shared documents (`../shared` next to the workspace root, or
/// `$CWMP_SHARED_DIR`). Tests that call it carry `#[cfg_attr(peer_missing_shared, ignore = …)]`
/// (decided at build time by the `test-peers` crate); a missing file panics, naming the path.
pub fn shared_file(rel: &str) -> PathBuf {
    let path = test_peers::shared_dir(env!("CARGO_MANIFEST_DIR")).join(rel);
    assert!(path.is_file(), "{} is missing", path.display());
    path
}

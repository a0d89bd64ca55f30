//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The project's shared documents (`../shared` next to the workspace root, or
/// `$CWMP_SHARED_DIR`). `None` (with a message) when absent outside CI; a panic under `CI=true`.
pub fn shared_dir(what: &str) -> Option<PathBuf> {
    let dir = match std::env::var_os("CWMP_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "{what}: shared directory {} is missing (CI=true)",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED {what}: shared directory {} not found (set CWMP_SHARED_DIR)",
        dir.display()
    );
    None
}

/// A file under the shared directory, with the same skip/fail rule when it is missing.
pub fn shared_file(what: &str, rel: &str) -> Option<PathBuf> {
    let path = shared_dir(what)?.join(rel);
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{what}: {} is missing (CI=true)", path.display());
    }
    eprintln!("SKIPPED {what}: {} not found", path.display());
    None
}

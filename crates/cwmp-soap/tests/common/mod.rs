//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root (the workspace root).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// Whether the tests run in CI (missing inputs are then failures, not skips).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The shared material directory: `$CWMP_SHARED_DIR`, else `../shared` beside the
/// repository root. `None` (after printing why) when it is absent outside CI; panics in CI.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("CWMP_SHARED_DIR") {
        Some(d) => PathBuf::from(d),
        None => repo_root().join("../shared"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if in_ci() {
        panic!("shared directory {} is missing (CI=true)", dir.display());
    }
    eprintln!(
        "SKIP: shared directory {} not found (set CWMP_SHARED_DIR)",
        dir.display()
    );
    None
}

/// Every file with extension `ext` under `dir`, recursively, sorted.
pub fn files_with_ext(dir: &std::path::Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

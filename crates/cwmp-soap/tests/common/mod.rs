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

/// The shared material directory (`$CWMP_SHARED_DIR`, else `../shared` beside the repository
/// root). Tests that call it carry `#[cfg_attr(peer_missing_shared, ignore = …)]`, so outside CI
/// a missing directory shows as ignored; reaching this without it panics.
pub fn shared_dir() -> PathBuf {
    test_peers::shared_dir(env!("CARGO_MANIFEST_DIR"))
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

//! Which external test peers this machine has: programs such as `xmllint`, `curl`, `turnserver`
//! or `openssl`, and the project's shared directory (`../shared` beside the workspace root, or
//! `$CWMP_SHARED_DIR`).
//!
//! The decision is made once, at build time, by the build script of the crate whose tests need
//! the peer, so that a test whose peer is missing is reported by `cargo test`'s own summary as
//! `ignored` with the reason, instead of returning early and counting as passed:
//!
//! ```no_run
//! // in build.rs's main():
//! test_peers::detect(&[test_peers::Peer::Program("xmllint"), test_peers::Peer::Shared]);
//! ```
//!
//! ```ignore
//! // tests/schema.rs
//! #[test]
//! #[cfg_attr(peer_missing_xmllint, ignore = "xmllint not installed (apt-get install libxml2-utils)")]
//! fn validates() {
//!     let xmllint = test_peers::program("xmllint"); // panics, naming the peer, if it is missing
//! }
//! ```
//!
//! Under `CI=true` the build script never marks a peer missing, so the test runs and fails on
//! the missing peer: CI never skips.

use std::path::{Path, PathBuf};

/// An external peer a test needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer<'a> {
    /// A program found on `PATH`; its cfg is `peer_missing_<name>` with `-` turned into `_`.
    Program(&'a str),
    /// The project's shared directory; its cfg is `peer_missing_shared`.
    Shared,
}

impl Peer<'_> {
    /// The cfg name a build script sets when this peer is missing.
    pub fn cfg_name(&self) -> String {
        match self {
            Peer::Program(name) => format!("peer_missing_{}", name.replace(['-', '.'], "_")),
            Peer::Shared => "peer_missing_shared".to_owned(),
        }
    }
}

/// Whether the tests run under CI (`CI=true`), where a missing peer is a failure, never a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// For a build script: declare the cfg of every peer, set it for each missing one (never under
/// `CI=true`), and ask Cargo to decide again when `PATH`, `CI`, `CWMP_SHARED_DIR` or the
/// contents of a `PATH` directory change (a peer installed later is then seen).
pub fn detect(peers: &[Peer<'_>]) {
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-env-changed=CWMP_SHARED_DIR");
    for dir in path_dirs() {
        if dir.is_dir() {
            println!("cargo::rerun-if-changed={}", dir.display());
        }
    }
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    for peer in peers {
        let cfg = peer.cfg_name();
        println!("cargo::rustc-check-cfg=cfg({cfg})");
        let present = match peer {
            Peer::Program(name) => find_program(name).is_some(),
            Peer::Shared => {
                let dir = manifest.as_deref().map(shared_dir_from);
                if let Some(dir) = &dir {
                    // A missing path makes Cargo re-run the script every build, which is what
                    // we want until the directory appears.
                    println!("cargo::rerun-if-changed={}", dir.display());
                }
                dir.is_some_and(|d| d.is_dir())
            }
        };
        if !present && !in_ci() {
            println!("cargo::rustc-cfg={cfg}");
        }
    }
}

fn path_dirs() -> Vec<PathBuf> {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default()
}

/// The full path of an executable program on `PATH`, if there is one.
pub fn find_program(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    path_dirs().into_iter().map(|d| d.join(name)).find(|p| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// The path of a program a test needs; panics naming it when it is missing (reached only under
/// `CI=true`, or when the build-time decision is stale: rebuild, or run with `--ignored`).
pub fn program(name: &str) -> PathBuf {
    find_program(name).unwrap_or_else(|| {
        panic!("test peer `{name}` is not installed (on PATH); .ci/run installs it")
    })
}

/// A STUN-only coturn (`turnserver`) on 127.0.0.1:`port`, UDP only, no CLI, quiet, keeping
/// its pid file and database in `dir`: the tests' one way to start it. The caller may add
/// arguments, then spawns it.
pub fn coturn(port: u16, dir: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(program("turnserver"));
    c.args([
        "-n",
        "--stun-only",
        "--listening-ip",
        "127.0.0.1",
        "--listening-port",
        &port.to_string(),
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--no-tcp",
        "--log-file",
        "stdout",
        "--no-stdout-log",
    ])
    .arg("--pidfile")
    .arg(dir.join("turnserver.pid"))
    .arg("--db")
    .arg(dir.join("turndb"))
    .stdin(std::process::Stdio::null())
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    c
}

/// The shared directory for a crate whose manifest directory is `manifest_dir` (pass
/// `env!("CARGO_MANIFEST_DIR")`): `$CWMP_SHARED_DIR`, else `shared/` beside the workspace root.
/// Panics, naming the path, when it is missing.
pub fn shared_dir(manifest_dir: &str) -> PathBuf {
    let dir = shared_dir_from(Path::new(manifest_dir));
    assert!(
        dir.is_dir(),
        "the shared directory {} is missing (set CWMP_SHARED_DIR)",
        dir.display()
    );
    dir
}

fn shared_dir_from(manifest_dir: &Path) -> PathBuf {
    if let Some(d) = std::env::var_os("CWMP_SHARED_DIR") {
        return PathBuf::from(d);
    }
    workspace_root(manifest_dir).join("../shared")
}

/// The nearest ancestor of `start` (itself included) whose `Cargo.toml` declares a workspace.
fn workspace_root(start: &Path) -> PathBuf {
    let mut dir = start;
    loop {
        let is_root = std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"));
        if is_root {
            return dir.to_path_buf();
        }
        match dir.parent() {
            Some(parent) => dir = parent,
            None => return start.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfg_names() {
        assert_eq!(Peer::Program("xmllint").cfg_name(), "peer_missing_xmllint");
        assert_eq!(
            Peer::Program("chromium-driver").cfg_name(),
            "peer_missing_chromium_driver"
        );
        assert_eq!(Peer::Shared.cfg_name(), "peer_missing_shared");
    }

    #[test]
    fn finds_sh_and_not_nonsense() {
        assert!(find_program("sh").is_some());
        assert!(find_program("no-such-program-for-sure-xyz").is_none());
    }

    #[test]
    fn workspace_root_is_found_from_this_crate() {
        let root = workspace_root(Path::new(env!("CARGO_MANIFEST_DIR")));
        assert!(root.join("crates/test-peers").is_dir());
    }
}

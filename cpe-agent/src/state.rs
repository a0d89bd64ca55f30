//! The state directory: its layout, the lock that gives one process the right to write it,
//! and the engine's persisted CWMP state (design invariant 7: the embedder persists).
//!
//! ```text
//! state-dir/
//!   items.toml          OCMS items, attributes, ParameterKey (deskphone_datamodel::FileBackend)
//!   cwmp-state.json     the engine's PersistentState (pending events, BOOTSTRAP, transfers)
//!   device-cert.pem     the default device certificate (generated once)
//!   device-key.pem      its private key (0600)
//!   control.sock        the running daemon's control socket (0600)
//!   lock                held (exclusive lock) by whichever process writes the state
//!   offline-changes.json  parameters changed by `admin`/`dhcp` while the daemon was stopped
//!   trace/              per-session JSON-lines traces
//! ```
//!
//! Every file is replaced atomically (temp file, fsync, rename, fsync of the directory), so a
//! `kill -9` at any moment leaves either the old or the new content.

use cwmp_engine::PersistentState;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Name of the engine state file.
pub const CWMP_STATE_FILE: &str = "cwmp-state.json";
/// Name of the items file (written by `FileBackend`).
pub const ITEMS_FILE: &str = "items.toml";
/// Name of the control socket.
pub const CONTROL_SOCKET: &str = "control.sock";
/// Name of the lock file.
pub const LOCK_FILE: &str = "lock";
/// Largest engine state file read (bounded memory on a corrupt or hostile file).
const MAX_STATE_BYTES: u64 = 16 * 1024 * 1024;

/// Create the state directory (mode 0700: it holds secrets) if it is missing.
pub fn ensure_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        std::fs::create_dir_all(dir)?;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// An exclusive lock on the state directory, released when dropped (or when the process
/// dies, `kill -9` included: it is an OS file lock, not a PID file).
#[derive(Debug)]
pub struct StateLock {
    _file: File,
}

impl StateLock {
    /// Take the lock without waiting; `Ok(None)` when another process holds it.
    pub fn try_acquire(dir: &Path) -> io::Result<Option<StateLock>> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(dir.join(LOCK_FILE))?;
        match file.try_lock() {
            Ok(()) => Ok(Some(StateLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Write `bytes` to `dir/name` atomically and durably, with the given mode: the project's one
/// implementation, [`cwmp_model::atomic::write_atomic`] (temp file unique per attempt).
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> io::Result<()> {
    cwmp_model::atomic::write_atomic(&dir.join(name), bytes, mode)
}

/// The engine state last persisted in `dir`, or a factory-new one when there is none.
/// A file that cannot be read is an error (never silently reset: a human should look).
pub fn load_cwmp_state(dir: &Path) -> io::Result<PersistentState> {
    let path = dir.join(CWMP_STATE_FILE);
    let _ = cwmp_model::atomic::remove_temp_files(&path);
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(PersistentState::new()),
        Err(e) => return Err(e),
        Ok(m) if m.len() > MAX_STATE_BYTES => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: larger than {MAX_STATE_BYTES} bytes", path.display()),
            ))
        }
        Ok(_) => {}
    }
    let text = std::fs::read(&path)?;
    serde_json::from_slice(&text).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}

/// Persist the engine state atomically (mode 0600: accepted Downloads keep their password).
pub fn save_cwmp_state(dir: &Path, state: &PersistentState) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(state).map_err(io::Error::other)?;
    write_atomic(dir, CWMP_STATE_FILE, &bytes, 0o600)
}

/// Name of the file of parameters changed locally while the daemon was not running.
pub const OFFLINE_CHANGES_FILE: &str = "offline-changes.json";

/// Remember parameters that `admin`/`dhcp` changed while the daemon was not running, so the
/// next start reports them to the engine (`4 VALUE CHANGE` for those with notification on):
/// the ACS must hear of a local change whenever it happened.
pub fn add_offline_changes(dir: &Path, names: &[String]) -> io::Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    let mut all = read_offline_changes(dir);
    for n in names {
        if !all.contains(n) {
            all.push(n.clone());
        }
    }
    let bytes = serde_json::to_vec(&all).map_err(io::Error::other)?;
    write_atomic(dir, OFFLINE_CHANGES_FILE, &bytes, 0o600)
}

fn read_offline_changes(dir: &Path) -> Vec<String> {
    let path = dir.join(OFFLINE_CHANGES_FILE);
    match std::fs::metadata(&path) {
        Ok(m) if m.len() <= MAX_STATE_BYTES => std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// Take (read and remove) the parameters changed while the daemon was not running.
pub fn take_offline_changes(dir: &Path) -> Vec<String> {
    let names = read_offline_changes(dir);
    let _ = std::fs::remove_file(dir.join(OFFLINE_CHANGES_FILE));
    names
}

/// Path of the control socket in `dir`.
pub fn control_socket(dir: &Path) -> PathBuf {
    dir.join(CONTROL_SOCKET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip_and_missing_file() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(load_cwmp_state(d.path()).unwrap(), PersistentState::new());
        let mut s = PersistentState::new();
        s.bootstrap_url = Some("http://acs/".into());
        save_cwmp_state(d.path(), &s).unwrap();
        assert_eq!(load_cwmp_state(d.path()).unwrap(), s);
        std::fs::write(d.path().join(CWMP_STATE_FILE), b"{nope").unwrap();
        assert!(load_cwmp_state(d.path()).is_err());
    }

    #[test]
    fn offline_changes_accumulate_and_are_taken_once() {
        let d = tempfile::tempdir().unwrap();
        assert!(take_offline_changes(d.path()).is_empty());
        add_offline_changes(d.path(), &["a".into(), "b".into()]).unwrap();
        add_offline_changes(d.path(), &["b".into(), "c".into()]).unwrap();
        assert_eq!(take_offline_changes(d.path()), ["a", "b", "c"]);
        assert!(take_offline_changes(d.path()).is_empty());
    }

    #[test]
    fn lock_is_exclusive() {
        let d = tempfile::tempdir().unwrap();
        let a = StateLock::try_acquire(d.path()).unwrap();
        assert!(a.is_some());
        // Locks are per open file description, so a second open in the same process conflicts.
        assert!(StateLock::try_acquire(d.path()).unwrap().is_none());
        drop(a);
        assert!(StateLock::try_acquire(d.path()).unwrap().is_some());
    }
}

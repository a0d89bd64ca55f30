//! Durable, atomic file replacement: the project's one implementation of "temp file, fsync,
//! rename, fsync the directory" (design: state that must survive is written atomically).
//!
//! A reader (or a process started after a crash or power cut) sees either the old content or
//! the new one, never a mix: the bytes go to a temp file in the same directory, the temp file
//! is flushed to disk, renamed over the target (atomic on POSIX within one file system), and
//! the directory is flushed so the rename itself survives a power cut.
//!
//! [`write_atomic`] picks a temp name unique per attempt (`NAME.tmp.PID.N`), so two writers
//! of the same file (e.g. a worker of an earlier boot still finishing) never write into each
//! other's temp file; [`remove_temp_files`] clears what an interrupted attempt left.
//! [`write_atomic_via`] takes the temp path from the caller, for a writer that owns its
//! directory alone and wants a fixed, known temp name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Replaces `path` with `bytes` atomically and durably; the new file has permission `mode`
/// (Unix; e.g. `0o600` for files holding secrets). The temp file is unique per attempt and is
/// removed when the attempt fails.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let name = file_name(path)?;
    let tmp = path.with_file_name(format!(
        "{name}.tmp.{}.{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    write_atomic_via(&tmp, path, bytes, mode)
}

/// Like [`write_atomic`] with the temp file at `tmp` (same directory as `path`; replaced if it
/// exists). On failure before the rename the temp file is removed (best effort).
pub fn write_atomic_via(tmp: &Path, path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let result = write_and_sync(tmp, bytes, mode).and_then(|()| fs::rename(tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(tmp);
        return Err(e);
    }
    sync_dir(
        path.parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new(".")),
    )
}

/// Removes the temp files [`write_atomic`] attempts on `path` left behind (a crash between
/// creating and renaming them), and `NAME.tmp` itself. Returns how many were removed.
pub fn remove_temp_files(path: &Path) -> io::Result<usize> {
    let name = file_name(path)?;
    let prefix = format!("{name}.tmp");
    let dir = parent(path);
    let mut removed = 0;
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let n = entry.file_name();
        let Some(n) = n.to_str() else { continue };
        if n == prefix || n.strip_prefix(&prefix).is_some_and(|r| r.starts_with('.')) {
            match fs::remove_file(entry.path()) {
                Ok(()) => removed += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(removed)
}

fn file_name(path: &Path) -> io::Result<&str> {
    path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: no UTF-8 file name", path.display()),
        )
    })
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_and_sync(tmp: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(tmp)?;
    // `mode` only applies when the file is created; a leftover temp keeps its own.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
    }
    file.write_all(bytes)?;
    file.sync_all()
}

/// Makes a rename in `dir` durable. A no-op where a directory cannot be opened for syncing.
fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_with_mode_and_leaves_no_temp() {
        let dir = std::env::temp_dir().join(format!("cwmp-model-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        write_atomic(&path, b"one", 0o600).unwrap();
        write_atomic(&path, b"two", 0o600).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A crash left temp files: they are found and removed, the target is kept.
        fs::write(dir.join("state.json.tmp.1.2"), "x").unwrap();
        fs::write(dir.join("state.json.tmp"), "x").unwrap();
        fs::write(dir.join("state.json.tmpfoo"), "x").unwrap();
        assert_eq!(remove_temp_files(&path).unwrap(), 2);
        assert!(dir.join("state.json.tmpfoo").exists());
        let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 2);
        // A failed attempt (the temp path is a directory) leaves the target as it was.
        let blocker = dir.join("blocked.tmp");
        fs::create_dir(&blocker).unwrap();
        assert!(write_atomic_via(&blocker, &path, b"three", 0o600).is_err());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        fs::remove_dir_all(&dir).unwrap();
    }
}

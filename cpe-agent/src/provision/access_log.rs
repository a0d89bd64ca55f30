//! `provisioning.jsonl`: the seed's "Auto Provision Access Table", one JSON line per attempt
//! (time, source, URL without credentials, files, bytes, versions, result, fault).
//!
//! Append-only, each line written with one `write` and followed by `fsync`, so a crash leaves
//! at most a torn last line, which the reader skips. Bounded: when the file passes
//! [`MAX_LOG`] bytes it becomes `provisioning.jsonl.1` (replacing the older one) and a new
//! file starts, so at most two generations are kept.

use serde::{Deserialize, Serialize};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The log's file name in the state directory.
pub const LOG_FILE: &str = "provisioning.jsonl";
/// The size at which the log is rotated.
pub const MAX_LOG: u64 = 1024 * 1024;

/// One file of an attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    /// `general` or `device` (or the follow-up: `image`, `pbook`, `etc`).
    pub kind: String,
    /// The file name asked for.
    pub name: String,
    /// Bytes received.
    pub bytes: u64,
    /// The file's version (its Version, else its digest).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    /// `applied`, `unchanged`, `not-found`, `refused`, `failed`, `installed`, `kept`.
    pub result: String,
    /// Why, when not applied; skipped keys; follow-up details (never a value).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// RFC 3339 UTC.
    pub time: String,
    /// `dhcp`, `pnp`, `static`, or `none`.
    pub source: String,
    /// What started it: `boot`, `dhcp`, `pnp-notify`, `periodic`, `command`.
    pub trigger: String,
    /// The URL without credentials (empty when there was none).
    pub url: String,
    /// The files, in the order fetched.
    pub files: Vec<FileRecord>,
    /// Total bytes received.
    pub bytes: u64,
    /// `ok` (everything fetched was applied or unchanged), `failed`, `refused`, or `no-url`.
    pub result: String,
    /// Why it failed (empty when ok).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub fault: String,
}

/// The log's path.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(LOG_FILE)
}

/// Append a record (and fsync).
pub fn append(state_dir: &Path, rec: &Record) -> io::Result<()> {
    let p = path(state_dir);
    if std::fs::metadata(&p).is_ok_and(|m| m.len() > MAX_LOG) {
        std::fs::rename(&p, state_dir.join(format!("{LOG_FILE}.1")))?;
    }
    let mut line = serde_json::to_vec(rec).map_err(io::Error::other)?;
    line.push(b'\n');
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&p)?;
    // A torn last line (a crash mid-write) is closed first, so this record stays readable.
    let len = f.metadata()?.len();
    if len > 0 {
        let mut last = [0u8; 1];
        std::os::unix::fs::FileExt::read_at(&f, &mut last, len - 1)?;
        if last[0] != b'\n' {
            line.insert(0, b'\n');
        }
    }
    f.write_all(&line)?;
    f.sync_all()
}

/// Every record, oldest first (the rotated generation first); torn lines skipped.
pub fn read(state_dir: &Path) -> Vec<Record> {
    let mut out = Vec::new();
    for name in [format!("{LOG_FILE}.1"), LOG_FILE.to_owned()] {
        if let Ok(text) = std::fs::read_to_string(state_dir.join(name)) {
            out.extend(
                text.lines()
                    .filter_map(|l| serde_json::from_str::<Record>(l).ok()),
            );
        }
    }
    out
}

/// The table `cpe-agent admin … provisioning` prints: one line per attempt, then its files.
pub fn render(records: &[Record]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&format!(
            "{} {} ({}) {} {} bytes={}",
            r.time,
            r.source,
            r.trigger,
            r.result,
            if r.url.is_empty() { "-" } else { &r.url },
            r.bytes
        ));
        if !r.fault.is_empty() {
            out.push_str(&format!(" fault: {}", r.fault));
        }
        out.push('\n');
        for f in &r.files {
            out.push_str(&format!(
                "    {} {} {} bytes={}{}\n",
                f.kind,
                f.name,
                f.result,
                f.bytes,
                if f.version.is_empty() {
                    String::new()
                } else {
                    format!(" version={}", f.version)
                }
            ));
            for n in &f.notes {
                out.push_str(&format!("        {n}\n"));
            }
        }
    }
    if out.is_empty() {
        out.push_str("no provisioning attempt yet\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn append_read_torn_line_and_render() {
        let d = tempfile::tempdir().unwrap();
        let r = Record {
            time: "2026-01-01T00:00:00Z".into(),
            source: "static".into(),
            trigger: "boot".into(),
            url: "http://h/x.cfg".into(),
            result: "ok".into(),
            ..Record::default()
        };
        append(d.path(), &r).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(path(d.path()))
            .unwrap()
            .write_all(b"{\"time\":")
            .unwrap();
        assert_eq!(read(d.path()), vec![r.clone()]);
        append(d.path(), &r).unwrap();
        assert_eq!(read(d.path()), vec![r.clone(), r.clone()]);
        assert!(render(&[r]).contains("static (boot) ok http://h/x.cfg"));
    }
}

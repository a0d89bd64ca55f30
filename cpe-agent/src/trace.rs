//! The per-session trace: what an engineer reads when an ACS misbehaves.
//!
//! Every engine [`TraceEvent`] (SOAP messages in and out with their method, `cwmp:ID`, size,
//! event codes, parameter names and fault codes; session start and end; timer decisions;
//! BOOTSTRAP and other notes) becomes one JSON line with a UTC timestamp:
//!
//! ```text
//! {"ts":"2026-01-01T10:00:00.123Z","type":"message_sent","session_id":1,"method":"Inform",…}
//! ```
//!
//! Files live in `state-dir/trace/`, one per boot and one per session, each record in the file
//! of what it belongs to:
//!
//! * `boot-<unix ms>.jsonl`: started at every boot of the phone (power on, and each reboot
//!   or factory reset, which the daemon performs in process); it holds the daemon's own notes
//!   (`"type":"daemon"`: boot, reboot, factory reset …; Cloud Deployment attempts are
//!   `"type":"cloud_deployment"`) and every record outside a session (timers armed between
//!   sessions, events queued, connection requests refused between sessions).
//! * `session-<unix ms>-<id>.jsonl`: one CWMP session, from `session_started` to
//!   `session_ended`, with every record in between.
//!
//! Only the newest [`KEEP_FILES`] files are kept (the current boot's file never goes). Each
//! line is one `write`, so a crash loses at most the line being written.
//!
//! Redaction: the engine's trace events carry names, never values (`cwmp_engine::TraceEvent`),
//! so no parameter value, password or key can reach the trace. Session URLs are written
//! without any `user:password@` part.

use cwmp_engine::TraceEvent;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many trace files are kept.
pub const KEEP_FILES: usize = 50;

/// Writes trace events as JSON lines: one file per boot, one per session.
#[derive(Debug)]
pub struct TraceWriter {
    dir: PathBuf,
    /// The current boot's file and its name.
    boot: Option<(File, String)>,
    /// The session in progress, if any.
    session: Option<File>,
}

fn unix_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

fn timestamp() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The record as one JSON line with `ts` and `type` first (serde_json sorts keys, and a
/// reader scanning a trace looks for the time and the kind of record first).
fn ts_first(value: &serde_json::Value) -> String {
    let Some(obj) = value.as_object() else {
        return value.to_string();
    };
    let mut parts = Vec::with_capacity(obj.len());
    for key in ["ts", "type"] {
        if let Some(v) = obj.get(key) {
            parts.push(format!("{}:{v}", serde_json::Value::from(key)));
        }
    }
    for (k, v) in obj.iter().filter(|(k, _)| *k != "ts" && *k != "type") {
        parts.push(format!("{}:{v}", serde_json::Value::from(k.as_str())));
    }
    format!("{{{}}}", parts.join(","))
}

/// One record as one line, in one `write`.
fn write_line(f: &mut File, value: &serde_json::Value) -> io::Result<()> {
    let mut line = ts_first(value).into_bytes();
    line.push(b'\n');
    f.write_all(&line)
}

/// Remove `user:password@` from a URL.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, path) = rest.split_at(end);
            match authority.rsplit_once('@') {
                Some((_, host)) => format!("{scheme}://***@{host}{path}"),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

impl TraceWriter {
    /// A writer into `state_dir/trace` (created if missing).
    pub fn new(state_dir: &Path) -> TraceWriter {
        TraceWriter {
            dir: state_dir.join("trace"),
            boot: None,
            session: None,
        }
    }

    /// The trace directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A boot of the phone begins: its records go to a new `boot-*.jsonl` file.
    pub fn begin_boot(&mut self) {
        self.session = None;
        let name = format!("boot-{}.jsonl", unix_ms());
        match self.open(&name) {
            Ok(f) => self.boot = Some((f, name)),
            Err(e) => log::warn!("writing the trace in {}: {e}", self.dir.display()),
        }
    }

    /// Record one engine event. Trace failures are logged, never fatal.
    pub fn record(&mut self, event: &TraceEvent) {
        if let Err(e) = self.try_record(event) {
            log::warn!("writing the trace in {}: {e}", self.dir.display());
            self.session = None;
        }
    }

    /// Record a note of the daemon's own (reboot, factory reset, admin change), in the boot's
    /// file.
    pub fn note(&mut self, text: &str) {
        self.note_kind("daemon", text);
    }

    /// Record a note of one of the daemon's workers, with its own record `type`
    /// (`cloud_deployment`), in the boot's file.
    pub fn note_kind(&mut self, kind: &str, text: &str) {
        let ev = serde_json::json!({ "ts": timestamp(), "type": kind, "text": text });
        if let Err(e) = self.write_boot(&ev) {
            log::warn!("writing the trace: {e}");
        }
    }

    fn try_record(&mut self, event: &TraceEvent) -> io::Result<()> {
        let mut value = serde_json::to_value(event).map_err(io::Error::other)?;
        if let Some(obj) = value.as_object_mut() {
            if let Some(url) = obj.get("url").and_then(|u| u.as_str()).map(redact_url) {
                obj.insert("url".into(), url.into());
            }
            obj.insert("ts".into(), timestamp().into());
        }
        match event {
            TraceEvent::SessionStarted { session_id, .. } => {
                let name = format!("session-{}-{session_id}.jsonl", unix_ms());
                self.session = Some(self.open(&name)?);
                self.write_session(&value)
            }
            TraceEvent::SessionEnded { .. } => {
                let r = self.write_session(&value);
                self.session = None;
                r
            }
            _ if self.session.is_some() => self.write_session(&value),
            _ => self.write_boot(&value),
        }
    }

    fn write_session(&mut self, value: &serde_json::Value) -> io::Result<()> {
        match self.session.as_mut() {
            Some(f) => write_line(f, value),
            None => self.write_boot(value),
        }
    }

    fn write_boot(&mut self, value: &serde_json::Value) -> io::Result<()> {
        if self.boot.is_none() {
            self.begin_boot();
        }
        match self.boot.as_mut() {
            Some((f, _)) => write_line(f, value),
            None => Ok(()),
        }
    }

    fn open(&self, name: &str) -> io::Result<File> {
        std::fs::create_dir_all(&self.dir)?;
        let f = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(self.dir.join(name))?;
        self.prune(name);
        Ok(f)
    }

    /// Keep the newest [`KEEP_FILES`] files (names sort by their millisecond timestamp),
    /// never the current boot's nor the one just opened (`keep`).
    fn prune(&self, keep: &str) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut files: Vec<(u128, PathBuf)> = rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                if name == keep || self.boot.as_ref().is_some_and(|(_, b)| *b == name) {
                    return None;
                }
                let stamp = name
                    .strip_suffix(".jsonl")?
                    .split('-')
                    .nth(1)?
                    .parse()
                    .ok()?;
                Some((stamp, e.path()))
            })
            .collect();
        // The kept ones: the current boot's file, the new one, and the newest others.
        let room = KEEP_FILES.saturating_sub(2);
        if files.len() <= room {
            return;
        }
        files.sort();
        let excess = files.len() - room;
        for (_, p) in files.into_iter().take(excess) {
            let _ = std::fs::remove_file(p);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_userinfo() {
        assert_eq!(redact_url("http://u:p@acs:7547/x"), "http://***@acs:7547/x");
        assert_eq!(redact_url("http://acs/x@y"), "http://acs/x@y");
    }

    #[test]
    fn each_record_goes_to_the_file_of_its_session_or_boot() {
        let d = tempfile::tempdir().unwrap();
        let mut w = TraceWriter::new(d.path());
        w.begin_boot();
        w.note("boot 1: power on");
        w.record(&TraceEvent::SessionStarted {
            session_id: 1,
            url: "http://acs/".into(),
            retry_count: 0,
        });
        w.note("admin change");
        w.record(&TraceEvent::Note {
            text: "inside".into(),
        });
        w.record(&TraceEvent::SessionEnded {
            session_id: 1,
            ok: true,
            reason: "done".into(),
        });
        w.record(&TraceEvent::Note {
            text: "after".into(),
        });
        let mut boot = String::new();
        let mut session = String::new();
        for f in std::fs::read_dir(w.dir()).unwrap() {
            let p = f.unwrap().path();
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("boot-") {
                boot = text;
            } else if name.starts_with("session-") {
                session = text;
            }
        }
        assert!(boot.contains("power on") && boot.contains("admin change"));
        assert!(boot.contains("after") && !boot.contains("inside"), "{boot}");
        assert!(session.contains("session_started") && session.contains("inside"));
        assert!(session.contains("session_ended") && !session.contains("after"));
    }

    #[test]
    fn one_file_per_session_and_bounded() {
        let d = tempfile::tempdir().unwrap();
        let mut w = TraceWriter::new(d.path());
        w.record(&TraceEvent::Note {
            text: "boot".into(),
        });
        for id in 0..(KEEP_FILES as u64 + 5) {
            w.record(&TraceEvent::SessionStarted {
                session_id: id,
                url: "http://u:secret@acs/".into(),
                retry_count: 0,
            });
        }
        let files: Vec<_> = std::fs::read_dir(w.dir()).unwrap().collect();
        assert!(files.len() <= KEEP_FILES);
        for f in files {
            let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
            assert!(!text.contains("secret"));
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert!(v.get("ts").is_some());
                assert!(line.starts_with("{\"ts\":"), "{line}");
            }
        }
    }
}

//! [`FileBackend`]: the phone's OCMS items (and the CWMP store's reserved `cwmp:` keys) in one
//! human-readable TOML file, replaced atomically on every commit.
//!
//! # File format (`items.toml`, format 1)
//!
//! ```toml
//! # comment lines written by the backend (ignored on reading)
//! format = 1
//! count = 3
//!
//! [items]
//! acs-server-address = "https://acs.example.com:7547/"
//! "cwmp:param-key" = "key-1"
//! sip-port = "5060"
//! ```
//!
//! Every value is a TOML string (the items' lexical values; multi-line PEM text is escaped by
//! the TOML writer). `count` must equal the number of entries under `[items]`: a file cut short
//! at a line boundary still parses as TOML, and the count is what tells it apart from a
//! complete one. Unknown keys, a wrong `format`, a wrong `count` or a file larger than
//! [`FileBackend::MAX_FILE_SIZE`] are [`BackendError::Corrupt`]: the backend never silently
//! resets a configuration it cannot read.
//!
//! # Commit protocol
//!
//! `commit` writes the whole new content to `items.toml.tmp` in the same directory (mode 0600
//! on Unix: the file holds passwords and the client key), fsyncs it, renames it over
//! `items.toml`, then fsyncs the directory so the rename itself is durable. A crash at any
//! moment leaves either the old file or the new one; a leftover temp file is removed at the
//! next [`FileBackend::open`]. One process owns a state directory at a time.

use cwmp_model::{atomic, BackendError, ItemBackend, ItemBatch};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// The file format version this backend reads and writes.
const FORMAT: u32 = 1;

/// An [`ItemBackend`] keeping every item in one TOML file in a state directory (see the module
/// documentation for the format and the commit protocol).
pub struct FileBackend {
    dir: PathBuf,
    path: PathBuf,
    tmp_path: PathBuf,
    items: BTreeMap<String, String>,
}

/// The on-disk document.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    format: u32,
    count: usize,
    #[serde(default)]
    items: BTreeMap<String, String>,
}

impl FileBackend {
    /// The name of the item file inside the state directory.
    pub const FILE_NAME: &'static str = "items.toml";

    /// The name of the temporary file a commit writes before renaming it over
    /// [`FILE_NAME`](Self::FILE_NAME).
    pub const TEMP_FILE_NAME: &'static str = "items.toml.tmp";

    /// The largest item file accepted, on reading and on writing (16 MiB): it bounds the memory
    /// a damaged or hostile file can make the agent use.
    pub const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

    /// Open (creating the directory if needed) the item store in `state_dir`.
    ///
    /// A missing item file is an empty store (first start, or a crash before the first commit
    /// completed). A leftover temp file from an interrupted commit is removed. An item file
    /// that cannot be understood is [`BackendError::Corrupt`].
    pub fn open(state_dir: impl AsRef<Path>) -> Result<FileBackend, BackendError> {
        let dir = state_dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir)?;
        let path = dir.join(Self::FILE_NAME);
        let tmp_path = dir.join(Self::TEMP_FILE_NAME);
        match fs::remove_file(&tmp_path) {
            Ok(()) => log::info!(
                "removed {} left by an interrupted commit",
                tmp_path.display()
            ),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        let items = match fs::File::open(&path) {
            Ok(file) => read_document(file, &path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e.into()),
        };
        Ok(FileBackend {
            dir,
            path,
            tmp_path,
            items,
        })
    }

    /// The item file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// How many keys are stored.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether no key is stored.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Write `items` as the new file content, atomically and durably.
    fn write_atomically(&self, items: &BTreeMap<String, String>) -> Result<(), BackendError> {
        let text = render(items)?;
        if text.len() as u64 > Self::MAX_FILE_SIZE {
            return Err(BackendError::Io(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the item file would be {} bytes, more than the {} byte limit",
                    text.len(),
                    Self::MAX_FILE_SIZE
                ),
            )));
        }
        // The fixed temp name (not one per attempt): one process owns the state directory,
        // `open` finds a leftover by name, and tests block it to make a commit fail.
        atomic::write_atomic_via(&self.tmp_path, &self.path, text.as_bytes(), 0o600)?;
        Ok(())
    }
}

impl ItemBackend for FileBackend {
    fn get(&self, key: &str) -> Option<String> {
        self.items.get(key).cloned()
    }

    /// Applies the batch to a copy of the items and writes the copy; the in-memory state
    /// follows the file: unchanged if the file was not replaced, the new state once the
    /// rename happened (even if the directory fsync then failed and an error is returned).
    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut next = self.items.clone();
        for (key, value) in batch {
            match value {
                Some(v) => {
                    next.insert(key, v);
                }
                None => {
                    next.remove(&key);
                }
            }
        }
        if next == self.items {
            return Ok(());
        }
        let result = self.write_atomically(&next);
        // Whatever happened, memory must describe what a fresh open would read.
        if result.is_ok() || renamed(&self.path, &next) {
            self.items = next;
        } else {
            // Clear whatever is in the way at the temp path (a partly written file, or an
            // empty directory someone created there) so the next commit can succeed. Best
            // effort: `open` removes a leftover file anyway.
            let _ = fs::remove_file(&self.tmp_path).or_else(|_| fs::remove_dir(&self.tmp_path));
        }
        result
    }

    fn keys(&self) -> Vec<String> {
        self.items.keys().cloned().collect()
    }
}

impl fmt::Debug for FileBackend {
    /// Shows the location and the number of keys, never a value: the file holds secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileBackend")
            .field("path", &self.path)
            .field("keys", &self.items.len())
            .finish_non_exhaustive()
    }
}

/// Whether the file at `path` now holds exactly `items` (used after a failed commit to find
/// out whether the rename took place).
fn renamed(path: &Path, items: &BTreeMap<String, String>) -> bool {
    fs::File::open(path)
        .ok()
        .and_then(|f| read_document(f, path).ok())
        .is_some_and(|on_disk| &on_disk == items)
}

fn render(items: &BTreeMap<String, String>) -> Result<String, BackendError> {
    let doc = Document {
        format: FORMAT,
        count: items.len(),
        items: items.clone(),
    };
    let body = toml::to_string(&doc).map_err(|e| {
        BackendError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot encode the item file: {e}"),
        ))
    })?;
    Ok(format!(
        "# Desk Phone CP configuration items (OCMS), written by the agent.\n\
         # Replaced atomically on every change; edit only while the agent is stopped,\n\
         # and keep `count` equal to the number of entries under [items].\n{body}"
    ))
}

fn read_document(file: fs::File, path: &Path) -> Result<BTreeMap<String, String>, BackendError> {
    let len = file.metadata()?.len();
    if len > FileBackend::MAX_FILE_SIZE {
        return Err(BackendError::Corrupt(format!(
            "{}: {len} bytes, more than the {} byte limit",
            path.display(),
            FileBackend::MAX_FILE_SIZE
        )));
    }
    let mut bytes = Vec::new();
    // `take` guards against a file that grows between the size check and the read.
    file.take(FileBackend::MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > FileBackend::MAX_FILE_SIZE {
        return Err(BackendError::Corrupt(format!(
            "{}: larger than the {} byte limit",
            path.display(),
            FileBackend::MAX_FILE_SIZE
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| BackendError::Corrupt(format!("{}: not UTF-8 text", path.display())))?;
    let doc: Document = toml::from_str(&text)
        .map_err(|e| BackendError::Corrupt(format!("{}: {}", path.display(), e.message())))?;
    if doc.format != FORMAT {
        return Err(BackendError::Corrupt(format!(
            "{}: format {} is not the supported format {FORMAT}",
            path.display(),
            doc.format
        )));
    }
    if doc.count != doc.items.len() {
        return Err(BackendError::Corrupt(format!(
            "{}: count says {} items but the file holds {} (truncated or hand-edited)",
            path.display(),
            doc.count,
            doc.items.len()
        )));
    }
    Ok(doc.items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(pairs: &[(&str, Option<&str>)]) -> ItemBatch {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn commit_then_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FileBackend::open(dir.path()).unwrap();
        assert!(b.is_empty());
        b.commit(batch(&[
            ("sip-port", Some("5060")),
            ("cwmp:param-key", Some("k1")),
            (
                "acs-client-key",
                Some("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            ),
            ("odd", Some("quote \" backslash \\ tab \t nul \u{0} é")),
        ]))
        .unwrap();
        b.commit(batch(&[("odd", None), ("e164", Some(""))]))
            .unwrap();
        let again = FileBackend::open(dir.path()).unwrap();
        assert_eq!(again.keys(), b.keys());
        assert_eq!(again.get("sip-port").as_deref(), Some("5060"));
        assert_eq!(again.get("e164").as_deref(), Some(""));
        assert_eq!(again.get("odd"), None);
        assert!(again.get("acs-client-key").unwrap().contains('\n'));
        assert!(!dir.path().join(FileBackend::TEMP_FILE_NAME).exists());
    }

    #[test]
    fn control_characters_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FileBackend::open(dir.path()).unwrap();
        let all: String = (0u32..0x80).filter_map(char::from_u32).collect();
        b.commit(batch(&[("all-ascii", Some(&all))])).unwrap();
        let again = FileBackend::open(dir.path()).unwrap();
        assert_eq!(again.get("all-ascii").as_deref(), Some(all.as_str()));
    }

    #[test]
    fn leftover_temp_file_is_removed_and_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FileBackend::open(dir.path()).unwrap();
        b.commit(batch(&[("a", Some("1"))])).unwrap();
        fs::write(
            dir.path().join(FileBackend::TEMP_FILE_NAME),
            "format = 1\ncount = 0\n[items]\n",
        )
        .unwrap();
        let again = FileBackend::open(dir.path()).unwrap();
        assert_eq!(again.get("a").as_deref(), Some("1"));
        assert!(!dir.path().join(FileBackend::TEMP_FILE_NAME).exists());
    }

    #[test]
    fn corrupt_files_are_errors_not_resets() {
        let cases: &[(&str, &[u8])] = &[
            ("not toml", b"this is = = not toml"),
            (
                "wrong count (truncated)",
                b"format = 1\ncount = 3\n[items]\na = \"1\"\n",
            ),
            ("missing count", b"format = 1\n[items]\na = \"1\"\n"),
            ("future format", b"format = 2\ncount = 0\n"),
            ("unknown key", b"format = 1\ncount = 0\nextra = 1\n"),
            (
                "non-string value",
                b"format = 1\ncount = 1\n[items]\na = 5\n",
            ),
            (
                "not UTF-8",
                b"format = 1\ncount = 1\n[items]\na = \"\xff\"\n",
            ),
            (
                "cut inside a string",
                b"format = 1\ncount = 1\n[items]\na = \"12",
            ),
        ];
        for (what, content) in cases {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join(FileBackend::FILE_NAME), content).unwrap();
            match FileBackend::open(dir.path()) {
                Err(BackendError::Corrupt(msg)) => assert!(msg.contains("items.toml"), "{msg}"),
                other => panic!("{what}: expected Corrupt, got {other:?}"),
            }
            // The file is left as it was for a human to inspect.
            assert_eq!(
                fs::read(dir.path().join(FileBackend::FILE_NAME)).unwrap(),
                *content
            );
        }
    }

    #[test]
    fn oversized_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = fs::File::create(dir.path().join(FileBackend::FILE_NAME)).unwrap();
        f.set_len(FileBackend::MAX_FILE_SIZE + 1).unwrap();
        assert!(matches!(
            FileBackend::open(dir.path()),
            Err(BackendError::Corrupt(_))
        ));
    }

    #[test]
    fn oversized_commit_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FileBackend::open(dir.path()).unwrap();
        b.commit(batch(&[("a", Some("1"))])).unwrap();
        let huge = "x".repeat(FileBackend::MAX_FILE_SIZE as usize);
        assert!(b
            .commit(batch(&[("b", Some(&huge)), ("a", Some("2"))]))
            .is_err());
        assert_eq!(b.get("a").as_deref(), Some("1"));
        assert_eq!(b.get("b"), None);
        let again = FileBackend::open(dir.path()).unwrap();
        assert_eq!(again.get("a").as_deref(), Some("1"));
    }

    #[test]
    fn debug_shows_no_values() {
        let dir = tempfile::tempdir().unwrap();
        let mut b = FileBackend::open(dir.path()).unwrap();
        b.commit(batch(&[("acs-password", Some("hunter2"))]))
            .unwrap();
        let shown = format!("{b:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("keys: 1"), "{shown}");
    }

    #[cfg(unix)]
    #[test]
    fn file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut b = FileBackend::open(dir.path()).unwrap();
        b.commit(batch(&[("a", Some("1"))])).unwrap();
        let mode = fs::metadata(b.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "mode {mode:o}");
    }

    #[test]
    fn deeply_nested_garbage_is_an_error_not_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::from("format = 1\ncount = 0\nx = ");
        text.push_str(&"[".repeat(100_000));
        fs::write(dir.path().join(FileBackend::FILE_NAME), text).unwrap();
        assert!(matches!(
            FileBackend::open(dir.path()),
            Err(BackendError::Corrupt(_))
        ));
    }
}

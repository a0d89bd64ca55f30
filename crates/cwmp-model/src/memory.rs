//! [`MemoryBackend`]: an [`ItemBackend`] in memory, for tests, simulations and examples, and
//! [`MemoryStore`], the [`SchemaStore`] over it.

use crate::backend::{BackendError, ItemBackend, ItemBatch, NoLiveValues};
use crate::schema::Schema;
use crate::schema_store::SchemaStore;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Default)]
struct Inner {
    items: BTreeMap<String, String>,
    fail_commits: u32,
    commits: u64,
}

/// Items in a `BTreeMap`, with failure injection for tests.
///
/// Clones are **handles to the same storage**, like two views of one flash chip: a test keeps
/// one handle while the store owns another, to look at what was persisted, to inject a commit
/// failure, or to open a second store "after a reboot" over the same items. (The lock inside
/// is never contended in practice: the store is driven from one thread.)
///
/// `commit` is atomic: a batch is applied whole, or not at all when a failure was injected.
/// `Debug` shows keys and value lengths, never values (they may be passwords).
#[derive(Clone, Default)]
pub struct MemoryBackend {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> MemoryBackend {
        MemoryBackend::default()
    }

    /// A backend holding these items (e.g. the device's factory configuration).
    pub fn with_items<I, K, V>(items: I) -> MemoryBackend
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let b = MemoryBackend::new();
        b.lock().items = items
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        b
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied batch (batches are
        // applied to a copy first), so a poisoned lock is still consistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make the next `commit` fail with an I/O error, changing nothing.
    pub fn fail_next_commit(&self) {
        self.lock().fail_commits += 1;
    }

    /// A copy of every item.
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.lock().items.clone()
    }

    /// Set one item directly, as the device's own configuration code would (no store is told).
    pub fn insert(&self, key: impl Into<String>, value: impl Into<String>) {
        self.lock().items.insert(key.into(), value.into());
    }

    /// Remove every item (and any pending injected failure).
    pub fn clear(&self) {
        let mut inner = self.lock();
        inner.items.clear();
        inner.fail_commits = 0;
    }

    /// How many commits succeeded so far.
    pub fn commits(&self) -> u64 {
        self.lock().commits
    }
}

impl ItemBackend for MemoryBackend {
    fn get(&self, key: &str) -> Option<String> {
        self.lock().items.get(key).cloned()
    }

    fn commit(&mut self, batch: ItemBatch) -> Result<(), BackendError> {
        let mut inner = self.lock();
        if inner.fail_commits > 0 {
            inner.fail_commits -= 1;
            return Err(BackendError::Io(std::io::Error::other(
                "injected commit failure",
            )));
        }
        let mut next = inner.items.clone();
        for (key, value) in batch {
            match value {
                Some(v) => next.insert(key, v),
                None => next.remove(&key),
            };
        }
        inner.items = next;
        inner.commits += 1;
        Ok(())
    }

    fn keys(&self) -> Vec<String> {
        self.lock().items.keys().cloned().collect()
    }
}

impl fmt::Debug for MemoryBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_map()
            .entries(
                inner
                    .items
                    .iter()
                    .map(|(k, v)| (k, format!("<{} bytes>", v.len()))),
            )
            .finish()
    }
}

/// The [`SchemaStore`] over a [`MemoryBackend`].
pub type MemoryStore = SchemaStore<MemoryBackend>;

impl SchemaStore<MemoryBackend> {
    /// A store over `schema` with empty storage and no live values: every parameter reads its
    /// default until written.
    pub fn in_memory(schema: Schema) -> MemoryStore {
        SchemaStore::with_backend(schema, MemoryBackend::new(), Box::new(NoLiveValues))
    }
}

//! Small files kept in memory (ch08): a hit costs one `stat` to check the
//! file has not changed, instead of resolving its path again (a `readlink`
//! per component), opening it, sending it and closing it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::shutdown::lock;

/// One cached file: where it is, what it looked like when read, its bytes.
#[derive(Debug, Clone)]
pub struct Cached {
    /// Its canonical path (symlinks resolved when it was first served).
    pub path: PathBuf,
    /// Its length and modification time when read: a file whose `stat`
    /// says otherwise has changed, and the entry is dropped.
    pub len: u64,
    /// Seconds and nanoseconds since the epoch.
    pub mtime: (u64, u32),
    /// The whole file.
    pub bytes: Arc<[u8]>,
}

// ANCHOR: cache
/// Recently served small files, by request path, bounded in total bytes;
/// the least recently used go first. Each entry counts its key and
/// [`ENTRY_COST`] as well as the file, so that empty files under many names
/// cannot fill memory while counting as nothing.
#[derive(Debug)]
pub struct FileCache {
    /// Most bytes held (`limits.file_cache_bytes`).
    max_bytes: usize,
    /// The largest file kept (`limits.file_cache_max_file`).
    max_file: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Request path → the entry and when it was last used.
    entries: HashMap<String, (Arc<Cached>, u64)>,
    /// Bytes held: the sum of the entries' costs (see [`cost`]).
    bytes: usize,
    /// A counter that orders uses.
    clock: u64,
}

impl FileCache {
    /// An empty cache.
    pub fn new(max_bytes: usize, max_file: usize) -> FileCache {
        let inner = Mutex::new(Inner::default());
        FileCache {
            max_bytes,
            max_file,
            inner,
        }
    }

    /// Whether a file of `len` bytes may be kept.
    pub fn fits(&self, len: u64) -> bool {
        usize::try_from(len)
            .is_ok_and(|len| len <= self.max_file && len <= self.max_bytes)
    }

    /// The entry for `key`, marked as just used (shared, not copied).
    pub fn get(&self, key: &str) -> Option<Arc<Cached>> {
        let mut inner = lock(&self.inner);
        inner.clock += 1;
        let now = inner.clock;
        let (entry, used) = inner.entries.get_mut(key)?;
        *used = now;
        Some(Arc::clone(entry))
    }

    /// Keep `entry` under `key`, evicting the least recently used entries
    /// until it fits.
    pub fn insert(&self, key: &str, entry: Cached) {
        let len = cost(key, &entry);
        if !self.fits(entry.bytes.len() as u64) || len > self.max_bytes {
            return;
        }
        let mut inner = lock(&self.inner);
        inner.forget(key);
        while inner.bytes + len > self.max_bytes {
            let oldest = inner.entries.iter().min_by_key(|(_, (_, used))| *used);
            let Some(oldest) = oldest.map(|(key, _)| key.clone()) else {
                break;
            };
            inner.forget(&oldest);
        }
        inner.clock += 1;
        let now = inner.clock;
        inner.bytes += len;
        inner
            .entries
            .insert(key.to_string(), (Arc::new(entry), now));
    }

    /// Forget `key` (its file changed).
    pub fn remove(&self, key: &str) {
        lock(&self.inner).forget(key);
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        lock(&self.inner).bytes
    }
}
// ANCHOR_END: cache

impl Inner {
    fn forget(&mut self, key: &str) {
        if let Some((old, _)) = self.entries.remove(key) {
            self.bytes = self.bytes.saturating_sub(cost(key, &old));
        }
    }
}

/// What an entry costs against `max_bytes` besides its file: the map's
/// slot, the `Cached` and its path (a generous round number).
pub const ENTRY_COST: usize = 256;

/// An entry's cost: its file, its key and [`ENTRY_COST`].
fn cost(key: &str, entry: &Cached) -> usize {
    entry.bytes.len() + key.len() + ENTRY_COST
}

/// Whether the file at `path` still has the `len` and `mtime` of `entry`.
pub fn unchanged(entry: &Cached, path: &Path) -> Option<std::fs::Metadata> {
    let metadata = std::fs::metadata(path).ok()?;
    let mtime = super::site::mtime(&metadata);
    (metadata.is_file() && metadata.len() == entry.len && mtime == entry.mtime)
        .then_some(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Cached {
        Cached {
            path: PathBuf::from("/x"),
            len: n as u64,
            mtime: (1, 0),
            bytes: vec![0u8; n].into(),
        }
    }

    #[test]
    fn bounded_by_bytes_at_n_and_n_plus_1_least_recently_used_first() {
        // Each entry costs its file, its 2-byte key and ENTRY_COST.
        let per = 2 + ENTRY_COST;
        let cache = FileCache::new(100 + 3 * per, 60);
        assert!(
            cache.fits(60) && !cache.fits(61),
            "the largest file: N and N+1"
        );
        cache.insert("/a", entry(40));
        cache.insert("/b", entry(40));
        assert_eq!(cache.bytes(), 80 + 2 * per);
        assert!(cache.get("/a").is_some(), "a is now the most recent");
        cache.insert("/c", entry(20)); // exactly the bound, N
        assert_eq!(cache.bytes(), 100 + 3 * per);
        cache.insert("/d", entry(1)); // N+1: the least recently used (b) goes
        assert!(cache.get("/b").is_none());
        assert!(cache.get("/a").is_some() && cache.get("/c").is_some());
        assert_eq!(cache.bytes(), 61 + 3 * per);
        cache.insert("/e", entry(61));
        assert!(cache.get("/e").is_none(), "over max_file: not kept");
        cache.remove("/a");
        assert_eq!(cache.bytes(), 21 + 2 * per);
    }

    #[test]
    fn empty_files_under_many_names_stay_bounded() {
        let cache = FileCache::new(64 * 1024, 1024);
        for i in 0..10_000 {
            cache.insert(&format!("/empty-{i}"), entry(0));
        }
        assert!(cache.bytes() <= 64 * 1024);
        assert!(lock(&cache.inner).entries.len() <= 64 * 1024 / ENTRY_COST);
    }
}

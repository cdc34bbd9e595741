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
/// the least recently used go first.
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
    entries: HashMap<String, (Cached, u64)>,
    /// Bytes held: the sum of the entries' lengths.
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

    /// The entry for `key`, marked as just used.
    pub fn get(&self, key: &str) -> Option<Cached> {
        let mut inner = lock(&self.inner);
        inner.clock += 1;
        let now = inner.clock;
        let (entry, used) = inner.entries.get_mut(key)?;
        *used = now;
        Some(entry.clone())
    }

    /// Keep `entry` under `key`, evicting the least recently used entries
    /// until it fits.
    pub fn insert(&self, key: &str, entry: Cached) {
        let len = entry.bytes.len();
        if !self.fits(len as u64) {
            return;
        }
        let mut inner = lock(&self.inner);
        if let Some((old, _)) = inner.entries.remove(key) {
            inner.bytes -= old.bytes.len();
        }
        while inner.bytes + len > self.max_bytes {
            let Some(oldest) = inner.entries.iter().min_by_key(|(_, (_, used))| *used)
            else {
                break;
            };
            let oldest = oldest.0.clone();
            if let Some((old, _)) = inner.entries.remove(&oldest) {
                inner.bytes -= old.bytes.len();
            }
        }
        inner.clock += 1;
        let now = inner.clock;
        inner.bytes += len;
        inner.entries.insert(key.to_string(), (entry, now));
    }

    /// Forget `key` (its file changed).
    pub fn remove(&self, key: &str) {
        let mut inner = lock(&self.inner);
        if let Some((old, _)) = inner.entries.remove(key) {
            inner.bytes -= old.bytes.len();
        }
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        lock(&self.inner).bytes
    }
}
// ANCHOR_END: cache

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
        let cache = FileCache::new(100, 60);
        assert!(
            cache.fits(60) && !cache.fits(61),
            "the largest file: N and N+1"
        );
        cache.insert("/a", entry(40));
        cache.insert("/b", entry(40));
        assert_eq!(cache.bytes(), 80);
        assert!(cache.get("/a").is_some(), "a is now the most recent");
        cache.insert("/c", entry(20)); // 100 bytes: exactly the bound, N
        assert_eq!(cache.bytes(), 100);
        cache.insert("/d", entry(1)); // N+1: the least recently used (b) goes
        assert!(cache.get("/b").is_none());
        assert!(cache.get("/a").is_some() && cache.get("/c").is_some());
        assert_eq!(cache.bytes(), 61);
        cache.insert("/e", entry(61));
        assert!(cache.get("/e").is_none(), "over max_file: not kept");
        cache.remove("/a");
        assert_eq!(cache.bytes(), 21);
    }
}

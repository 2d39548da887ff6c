//! The files a plan's scenarios name (`rate_file`), read once per variant and fingerprinted
//! with the scenarios, so `merge` refuses shards run against a CSV that changed in between.

use std::cell::RefCell;
use std::collections::BTreeMap;

use sim_core::SideFiles;

/// A source's reader that remembers the FNV-1a of each file it read (the first read of each
/// path: every variant reads the same files).
pub(super) struct Fingerprinted<'a> {
    inner: &'a dyn SideFiles,
    seen: RefCell<BTreeMap<String, String>>,
}

impl<'a> Fingerprinted<'a> {
    pub(super) fn new(inner: &'a dyn SideFiles) -> Self {
        Fingerprinted {
            inner,
            seen: RefCell::new(BTreeMap::new()),
        }
    }

    /// `path` then the fingerprint of its text, for every file read, by path.
    pub(super) fn prints(self) -> Vec<String> {
        let seen = self.seen.into_inner();
        seen.into_iter().flat_map(|(p, h)| [p, h]).collect()
    }
}

impl SideFiles for Fingerprinted<'_> {
    fn read(&self, path: &str) -> Result<String, String> {
        let text = self.inner.read(path)?;
        self.seen
            .borrow_mut()
            .entry(path.to_string())
            .or_insert_with(|| super::fnv_hex(std::iter::once(text.as_bytes())));
        Ok(text)
    }
}

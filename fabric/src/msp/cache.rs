//! Validated identities remembered by serialized identity, as Fabric's MSP cache
//! (`msp/cache`, which wraps every MSP a Fabric node loads) remembers validation results.
//!
//! A node sees the same few creators and endorsers in every transaction; validating one
//! means parsing its certificate, walking its chain and checking the CA's signature on it.
//! Validation with [`ValidityTime::AsFabric`] does not depend on the clock, so a success
//! stays true for as long as the MSPs are the same: every [`super::MspManager`] keeps one
//! [`IdentityCache`] and empties it when its MSPs change. Only successes are kept (a failure
//! is checked again next time and reported with its own error), and results for
//! `ValidityTime::At` are never kept.
//!
//! [`ValidityTime::AsFabric`]: super::ValidityTime::AsFabric

use std::collections::HashMap;
use std::sync::RwLock;

use super::ValidatedIdentity;

/// Entries kept before the cache starts over: far more identities than a channel has, few
/// enough (≈ 2 KiB each) that a flood of distinct identities cannot grow memory much.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Identities validated so far, by `msp.SerializedIdentity` bytes.
#[derive(Debug)]
pub struct IdentityCache {
    /// Successful validations.
    entries: RwLock<HashMap<Vec<u8>, ValidatedIdentity>>,
    /// Entries kept before the map is cleared.
    capacity: usize,
}

impl Default for IdentityCache {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl Clone for IdentityCache {
    fn clone(&self) -> Self {
        Self {
            entries: RwLock::new(self.read().clone()),
            capacity: self.capacity,
        }
    }
}

impl IdentityCache {
    /// An empty cache of [`DEFAULT_CAPACITY`].
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache that starts over after `capacity` entries (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The identity validated earlier from exactly these bytes.
    pub fn get(&self, serialized: &[u8]) -> Option<ValidatedIdentity> {
        self.read().get(serialized).cloned()
    }

    /// Remembers a successful validation of `serialized`.
    pub fn insert(&self, serialized: &[u8], identity: ValidatedIdentity) {
        let mut e = self.write();
        if e.len() >= self.capacity {
            e.clear();
        }
        e.insert(serialized.to_vec(), identity);
    }

    /// Forgets everything (the MSPs changed).
    pub fn clear(&self) {
        self.write().clear();
    }

    /// How many identities are remembered.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Vec<u8>, ValidatedIdentity>> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Vec<u8>, ValidatedIdentity>> {
        self.entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

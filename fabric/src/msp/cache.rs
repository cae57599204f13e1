//! Validated identities remembered by serialized identity, as Fabric's MSP cache
//! (`msp/cache`) remembers deserialisation and validation results.
//!
//! A peer sees the same few creators and endorsers in every transaction; validating one
//! means parsing its certificate, walking its chain and checking the CA's signature on it.
//! Validation with [`ValidityTime::AsFabric`] does not depend on the clock, so a success
//! stays true for as long as the MSPs are the same: an [`IdentityCache`] belongs to one
//! channel configuration (drop it with the configuration) and is consulted through
//! [`IdentityCache::validator`]. Only successes are kept (a failure is re-checked next time
//! and reported with its own error); `ValidityTime::At` results are never kept.

use std::collections::HashMap;
use std::sync::RwLock;

use super::{IdentityValidator, MspManager, ValidatedIdentity, ValidityTime};
use crate::error::MspError;

/// Entries kept before the cache starts over (far more identities than a channel has).
const DEFAULT_CAPACITY: usize = 4096;

/// Identities validated so far, by `msp.SerializedIdentity` bytes.
#[derive(Debug)]
pub struct IdentityCache {
    /// Successful validations.
    entries: RwLock<Entries>,
    /// Entries kept before the map is cleared (bounds memory under a flood of identities).
    capacity: usize,
}

#[derive(Debug, Default)]
struct Entries {
    /// Address of the MSP manager the entries were validated with: a cache handed another
    /// manager forgets what it knew rather than answer for the wrong MSPs.
    msps: usize,
    by_serialized: HashMap<Vec<u8>, ValidatedIdentity>,
}

impl Default for IdentityCache {
    fn default() -> Self {
        Self::new()
    }
}

impl IdentityCache {
    /// An empty cache of the default capacity.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty cache that starts over after `capacity` entries (at least 1).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(Entries::default()),
            capacity: capacity.max(1),
        }
    }

    /// `msps` with this cache in front: what [`crate::tx`]'s checks take.
    pub fn validator<'a>(&'a self, msps: &'a MspManager) -> CachedMsps<'a> {
        CachedMsps { msps, cache: self }
    }

    /// How many identities are remembered.
    pub fn len(&self) -> usize {
        self.read().by_serialized.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `msps.validate_serialized(serialized, when)`, remembered.
    pub fn validate(
        &self,
        msps: &MspManager,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        if when != ValidityTime::AsFabric {
            return msps.validate_serialized(serialized, when);
        }
        let addr = std::ptr::from_ref(msps) as usize;
        {
            let e = self.read();
            if e.msps == addr
                && let Some(id) = e.by_serialized.get(serialized)
            {
                return Ok(id.clone());
            }
        }
        let id = msps.validate_serialized(serialized, when)?;
        let mut e = self
            .entries
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if e.msps != addr {
            e.msps = addr;
            e.by_serialized.clear();
        }
        if e.by_serialized.len() >= self.capacity {
            e.by_serialized.clear();
        }
        e.by_serialized.insert(serialized.to_vec(), id.clone());
        Ok(id)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An [`MspManager`] behind an [`IdentityCache`].
#[derive(Clone, Copy, Debug)]
pub struct CachedMsps<'a> {
    /// The channel's MSPs, which decide.
    pub msps: &'a MspManager,
    /// What they decided before.
    pub cache: &'a IdentityCache,
}

impl IdentityValidator for CachedMsps<'_> {
    fn validate_serialized(
        &self,
        serialized: &[u8],
        when: ValidityTime,
    ) -> Result<ValidatedIdentity, MspError> {
        self.cache.validate(self.msps, serialized, when)
    }
}

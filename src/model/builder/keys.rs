//! Partition key → id, for interning while loading. Keys up to 23 bytes (store ids, user ids,
//! UUIDs without dashes) are kept as three words in a vector by id, and the table holds only
//! ids: a lookup reads a 4-byte slot and one key, where a table of keys with their ids was
//! twice the size of the core's cache on big key sets (10,000 stores: intern was the load's
//! largest cost, each lookup a miss to memory while the file streamed past).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};

use super::FxHasher;

/// The longest key kept inline.
const INLINE: usize = 23;

/// A key of up to 23 bytes as three words: its length in the first byte, then its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Short([u64; 3]);

impl Short {
    /// In the place of a long key's id: its length byte (255) is no short key's.
    const NONE: Self = Self([0xFF, 0, 0]);

    fn of(key: &str) -> Option<Self> {
        let b = key.as_bytes();
        if b.len() > INLINE {
            return None;
        }
        let mut bytes = [0u8; 24];
        bytes[0] = b.len() as u8;
        bytes[1..=b.len()].copy_from_slice(b);
        let word = |k: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[k * 8..k * 8 + 8]);
            u64::from_le_bytes(w)
        };
        Some(Self([word(0), word(1), word(2)]))
    }

    fn hash(&self) -> u64 {
        let mut h = Fx::default().build_hasher();
        for w in self.0 {
            std::hash::Hasher::write_u64(&mut h, w);
        }
        std::hash::Hasher::finish(&h)
    }
}

type Fx = BuildHasherDefault<FxHasher>;

/// The ids of interned keys, given in order (0, 1, 2, …).
#[derive(Clone, Default)]
pub(super) struct KeyIds {
    /// Ids of short keys, found by the key's hash and compared through `by_id`.
    short: hashbrown::HashTable<u32>,
    /// Each id's short key ([`Short::NONE`] for a long one).
    by_id: Vec<Short>,
    long: HashMap<Box<str>, u32, Fx>,
}

impl std::fmt::Debug for KeyIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyIds")
            .field("short", &self.short.len())
            .field("long", &self.long.len())
            .finish()
    }
}

impl KeyIds {
    /// The id of `key`, if interned.
    #[inline]
    pub(super) fn get(&self, key: &str) -> Option<u32> {
        match Short::of(key) {
            Some(s) => {
                let by_id = &self.by_id;
                self.short
                    .find(s.hash(), |&id| by_id[id as usize] == s)
                    .copied()
            }
            None => self.long.get(key).copied(),
        }
    }

    /// Interns `key` as `id`, the next id.
    pub(super) fn insert(&mut self, key: &str, id: u32) {
        debug_assert_eq!(id as usize, self.by_id.len(), "ids are given in order");
        match Short::of(key) {
            Some(s) => {
                self.by_id.push(s);
                let by_id = &self.by_id;
                self.short
                    .insert_unique(s.hash(), id, |&i| by_id[i as usize].hash());
            }
            None => {
                self.by_id.push(Short::NONE);
                self.long.insert(key.into(), id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_keys_find_their_ids_and_nothing_else() {
        let mut ids = KeyIds::default();
        let long = "k".repeat(INLINE + 1);
        let keys = ["", "a", "a\0", "store-00042", &"x".repeat(INLINE), &long];
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(ids.get(k), None);
            ids.insert(k, i as u32);
        }
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(ids.get(k), Some(i as u32), "{k:?}");
        }
        assert_eq!(ids.get("store-00043"), None);
        assert_eq!(ids.get(&"k".repeat(INLINE + 2)), None);
    }

    #[test]
    fn tens_of_thousands_of_keys_keep_their_ids_as_the_table_grows() {
        let mut ids = KeyIds::default();
        let key = |k: u32| match k % 3 {
            0 => format!("store-{k:05}"),
            1 => format!("{k:x}"),
            _ => format!("a-partition-key-longer-than-23-bytes-{k}"),
        };
        for k in 0..50_000u32 {
            assert_eq!(ids.get(&key(k)), None);
            ids.insert(&key(k), k);
        }
        for k in 0..50_000u32 {
            assert_eq!(ids.get(&key(k)), Some(k));
        }
        assert_eq!(ids.get("store-50001"), None);
        assert_eq!(ids.get("a-partition-key-longer-than-23-bytes-50000"), None);
    }
}

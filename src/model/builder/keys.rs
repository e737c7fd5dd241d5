//! Partition key → id, for interning while loading. Keys up to 23 bytes (store ids, user ids,
//! UUIDs without dashes) live inline in the table's buckets: comparing one is comparing three
//! words already in the cache line the lookup brought in, where a boxed key cost a cache miss
//! per record on big key sets (10,000 stores: a sixth of a sparse file's load).

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::FxHasher;

/// The longest key kept inline.
const INLINE: usize = 23;

/// A key of up to 23 bytes as three words: its length in the first byte, then its bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Short([u64; 3]);

impl std::hash::Hash for Short {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        for w in self.0 {
            state.write_u64(w);
        }
    }
}

impl Short {
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
}

type Fx = BuildHasherDefault<FxHasher>;

/// The ids of interned keys.
#[derive(Clone, Debug, Default)]
pub(super) struct KeyIds {
    short: HashMap<Short, u32, Fx>,
    long: HashMap<Box<str>, u32, Fx>,
}

impl std::fmt::Debug for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bytes: Vec<u8> = self.0.iter().flat_map(|w| w.to_le_bytes()).collect();
        let len = usize::from(bytes[0]);
        f.write_str(&String::from_utf8_lossy(&bytes[1..=len]))
    }
}

impl KeyIds {
    /// The id of `key`, if interned.
    #[inline]
    pub(super) fn get(&self, key: &str) -> Option<u32> {
        match Short::of(key) {
            Some(s) => self.short.get(&s).copied(),
            None => self.long.get(key).copied(),
        }
    }

    /// Interns `key` as `id`.
    pub(super) fn insert(&mut self, key: &str, id: u32) {
        match Short::of(key) {
            Some(s) => {
                self.short.insert(s, id);
            }
            None => {
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
}

//! A sorted table with two undo layers, so that a failing transaction, or a failing block,
//! leaves no trace.
//!
//! Reads look through the transaction layer, then the block layer, then committed data.
//! `commit_transaction` folds the transaction layer into the block layer; `finish_block`
//! folds the block layer into committed data and returns the block's changes, which become
//! the write-set. Ordered maps only: iteration order is part of consensus.
//!
//! A table is declared once, as a field built with its key prefix and name. [`AnyTable`] is
//! what the state machine does to every table alike (layers, write-sets, dumps, loading), so
//! a module lists its tables once and nothing else names them.

use crate::machine::{LoadError, StateWrite};
use commonware_codec::{Copying, Decode, Encode, Read, Write};
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
pub(crate) struct Table<K, V> {
    /// The first byte of every state key of this table; on disk and in proofs.
    prefix: u8,
    /// A short name, for errors and the table listing.
    name: &'static str,
    committed: BTreeMap<K, V>,
    block: BTreeMap<K, Option<V>>,
    transaction: BTreeMap<K, Option<V>>,
}

/// The state key of `key` in the table with `prefix`: the prefix, then the encoded key.
pub(crate) fn prefixed(prefix: u8, key: &impl Write) -> Vec<u8> {
    let mut buf = vec![prefix];
    key.write(&mut buf);
    buf
}

/// What the state machine does to every table alike, whatever its key and value types.
pub(crate) trait AnyTable {
    fn prefix(&self) -> u8;
    fn name(&self) -> &'static str;
    fn commit_transaction(&mut self);
    fn rollback_transaction(&mut self);
    fn rollback_block(&mut self);
    /// Folds the block layer into committed data and appends its changes to `writes`.
    fn finish_block_into(&mut self, writes: &mut Vec<StateWrite>);
    /// Appends every committed entry as (state key, value) bytes.
    fn dump_into(&self, out: &mut Vec<(Vec<u8>, Vec<u8>)>);
    /// Decodes one stored entry of this table (its key still prefixed) into committed data.
    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), LoadError>;
}

impl<K, V> AnyTable for Table<K, V>
where
    K: Ord + Clone + Write + Read,
    K::Cfg: Default,
    V: Clone + Encode + Read,
    V::Cfg: Default,
{
    fn prefix(&self) -> u8 {
        self.prefix
    }

    fn name(&self) -> &'static str {
        self.name
    }

    fn commit_transaction(&mut self) {
        Table::commit_transaction(self);
    }

    fn rollback_transaction(&mut self) {
        Table::rollback_transaction(self);
    }

    fn rollback_block(&mut self) {
        Table::rollback_block(self);
    }

    fn finish_block_into(&mut self, writes: &mut Vec<StateWrite>) {
        for (key, value) in self.finish_block() {
            writes.push(StateWrite {
                key: prefixed(self.prefix, &key),
                value: value.map(|v| v.encode().to_vec()),
            });
        }
    }

    fn dump_into(&self, out: &mut Vec<(Vec<u8>, Vec<u8>)>) {
        for (key, value) in &self.committed {
            out.push((prefixed(self.prefix, key), value.encode().to_vec()));
        }
    }

    fn load(&mut self, key: &[u8], value: &[u8]) -> Result<(), LoadError> {
        let malformed = |part: &'static str, reason| LoadError::Malformed {
            table: AnyTable::name(self),
            part,
            key: key.to_vec(),
            reason: std::sync::Arc::new(reason),
        };
        let body = key.get(1..).unwrap_or_default();
        let table_key =
            K::decode_cfg(Copying(body), &K::Cfg::default()).map_err(|e| malformed("key", e))?;
        let record =
            V::decode_cfg(Copying(value), &V::Cfg::default()).map_err(|e| malformed("value", e))?;
        self.committed.insert(table_key, record);
        Ok(())
    }
}

impl<K: Ord + Clone, V: Clone> Table<K, V> {
    pub const fn new(prefix: u8, name: &'static str) -> Self {
        Self {
            prefix,
            name,
            committed: BTreeMap::new(),
            block: BTreeMap::new(),
            transaction: BTreeMap::new(),
        }
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        if let Some(entry) = self.transaction.get(key) {
            return entry.as_ref();
        }
        if let Some(entry) = self.block.get(key) {
            return entry.as_ref();
        }
        self.committed.get(key)
    }

    pub fn put(&mut self, key: K, value: V) {
        self.transaction.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: K) {
        self.transaction.insert(key, None);
    }

    pub fn commit_transaction(&mut self) {
        let changes = std::mem::take(&mut self.transaction);
        self.block.extend(changes);
    }

    pub fn rollback_transaction(&mut self) {
        self.transaction.clear();
    }

    pub fn rollback_block(&mut self) {
        self.transaction.clear();
        self.block.clear();
    }

    /// Folds the block layer into committed data; returns the block's net changes in key order.
    pub fn finish_block(&mut self) -> BTreeMap<K, Option<V>> {
        debug_assert!(
            self.transaction.is_empty(),
            "finish_block with an open transaction"
        );
        let changes = std::mem::take(&mut self.block);
        for (key, value) in &changes {
            match value {
                Some(v) => self.committed.insert(key.clone(), v.clone()),
                None => self.committed.remove(key),
            };
        }
        changes
    }

    /// Every live key, in order, seen through all layers.
    pub fn keys(&self) -> Vec<K> {
        let mut keys: Vec<K> = self.committed.keys().cloned().collect();
        keys.extend(self.block.keys().cloned());
        keys.extend(self.transaction.keys().cloned());
        keys.sort();
        keys.dedup();
        keys.retain(|k| self.get(k).is_some());
        keys
    }

    /// Every live key up to and including `last`, in order, seen through all layers: what a
    /// block step due at a height needs, without walking the whole table.
    pub fn keys_through(&self, last: &K) -> Vec<K> {
        let mut keys: Vec<K> = self
            .committed
            .range(..=last)
            .map(|(k, _)| k.clone())
            .collect();
        keys.extend(self.block.range(..=last).map(|(k, _)| k.clone()));
        keys.extend(self.transaction.range(..=last).map(|(k, _)| k.clone()));
        keys.sort();
        keys.dedup();
        keys.retain(|k| self.get(k).is_some());
        keys
    }

    /// Committed entries in key order (no open layers).
    pub fn committed(&self) -> &BTreeMap<K, V> {
        &self.committed
    }

    /// Inserts straight into committed data; only for building the genesis state.
    pub fn insert_committed(&mut self, key: K, value: V) {
        self.committed.insert(key, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_through_sees_every_layer_up_to_the_bound() {
        let mut t: Table<u8, u8> = Table::new(0xFF, "test");
        t.insert_committed(1, 10);
        t.insert_committed(5, 50);
        t.put(3, 30);
        t.commit_transaction();
        t.put(2, 20);
        t.delete(1);
        assert_eq!(t.keys_through(&3), vec![2, 3]);
        assert_eq!(t.keys_through(&9), vec![2, 3, 5]);
        assert_eq!(t.keys_through(&0), Vec::<u8>::new());
    }

    #[test]
    fn layers_shadow_and_roll_back() {
        let mut t: Table<u8, u8> = Table::new(0xFF, "test");
        t.insert_committed(1, 10);
        t.put(1, 11);
        t.put(2, 20);
        assert_eq!(t.get(&1), Some(&11));
        t.rollback_transaction();
        assert_eq!(t.get(&1), Some(&10));
        assert_eq!(t.get(&2), None);
        t.delete(1);
        t.commit_transaction();
        assert_eq!(t.get(&1), None);
        t.put(3, 30);
        t.commit_transaction();
        assert_eq!(t.keys(), vec![3]);
        let changes = t.finish_block();
        assert_eq!(
            changes.into_iter().collect::<Vec<_>>(),
            vec![(1, None), (3, Some(30))]
        );
        assert_eq!(t.committed().len(), 1);
        t.put(4, 40);
        t.commit_transaction();
        t.rollback_block();
        assert_eq!(t.get(&4), None);
    }
}

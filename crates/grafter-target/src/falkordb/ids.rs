//! The node ids of one label's keys, as bulk loading remembers them ([`super::bulk`]).
//!
//! Most labels come from a table read in the order of an integer primary key, and the
//! server numbers the nodes of a batch one after the other: key k+1 gets id i+1. Such keys
//! are kept as runs (24 bytes for a whole batch), so remembering a million of them costs
//! a few kilobytes; any other key is kept by its 128-bit hash (about 50 bytes a key, with
//! the table's slack).

use grafter_model::{KeyHash, Value, key_hash};
use rustc_hash::FxHashMap;

/// Keys `first_key..first_key + len` have ids `first_id..first_id + len`.
#[derive(Debug, Clone, Copy)]
struct Run {
    first_key: i64,
    first_id: u64,
    len: u64,
}

impl Run {
    fn end_key(&self) -> i64 {
        self.first_key.saturating_add(self.len as i64)
    }
}

/// Key → node id.
#[derive(Debug, Default)]
pub(crate) struct IdTable {
    /// Runs of one-integer keys, in ascending key order, not overlapping.
    runs: Vec<Run>,
    /// Every other key, by its hash.
    hashed: FxHashMap<KeyHash, u64>,
}

/// The key as a single integer, when it is one.
fn single_int(key: &[Value]) -> Option<i64> {
    match key {
        [Value::Int(k)] => Some(*k),
        _ => None,
    }
}

impl IdTable {
    /// The node id of `key`, if the table holds it.
    pub(crate) fn get(&self, key: &[Value]) -> Option<u64> {
        if let Some(k) = single_int(key) {
            let after = self.runs.partition_point(|run| run.first_key <= k);
            if let Some(run) = after.checked_sub(1).map(|i| self.runs[i])
                && k < run.end_key()
            {
                return Some(run.first_id + (k - run.first_key) as u64);
            }
        }
        self.hashed.get(&key_hash(key)).copied()
    }

    /// Remembers `key` (which the table does not hold) at node `id`.
    pub(crate) fn insert(&mut self, key: &[Value], id: u64) {
        if let Some(k) = single_int(key) {
            match self.runs.last_mut() {
                Some(run) if k == run.end_key() && id == run.first_id + run.len => {
                    run.len += 1;
                    return;
                }
                Some(run) if k < run.end_key() => {}
                _ => {
                    self.runs.push(Run { first_key: k, first_id: id, len: 1 });
                    return;
                }
            }
        }
        self.hashed.insert(key_hash(key), id);
    }

    /// Entries held, for the memory bound: runs and hashed keys.
    pub(crate) fn entries(&self) -> usize {
        self.runs.len() + self.hashed.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(k: i64) -> Vec<Value> {
        vec![Value::Int(k)]
    }

    #[test]
    fn ordered_integer_keys_are_runs_and_every_key_is_found_at_its_id() {
        let mut table = IdTable::default();
        // Two batches, a checkpoint node's id between them.
        for k in 0..100 {
            table.insert(&int(k), 10 + k as u64);
        }
        for k in 100..200 {
            table.insert(&int(k), 11 + k as u64);
        }
        assert_eq!(table.entries(), 2);
        assert_eq!(table.get(&int(0)), Some(10));
        assert_eq!(table.get(&int(99)), Some(109));
        assert_eq!(table.get(&int(100)), Some(111));
        assert_eq!(table.get(&int(199)), Some(210));
        assert_eq!(table.get(&int(200)), None);
        assert_eq!(table.get(&int(-1)), None);
    }

    #[test]
    fn keys_out_of_order_or_not_one_integer_are_hashed_and_found_too() {
        let mut table = IdTable::default();
        table.insert(&int(50), 1);
        table.insert(&int(10), 2); // below the last run: hashed
        table.insert(&int(51), 7); // next key but not the next id: a new run
        table.insert(&[Value::String("50".into())], 3);
        table.insert(&[Value::Int(1), Value::Int(2)], 4);
        assert_eq!(table.get(&int(50)), Some(1));
        assert_eq!(table.get(&int(10)), Some(2));
        assert_eq!(table.get(&int(51)), Some(7));
        assert_eq!(table.get(&[Value::String("50".into())]), Some(3), "a text key is not the integer");
        assert_eq!(table.get(&[Value::Int(1), Value::Int(2)]), Some(4));
        assert_eq!(table.get(&int(11)), None);
        assert_eq!(table.entries(), 5);
    }
}

//! [`RowDigest`]: the digest of one element's content, as `grafter verify` compares them.
//!
//! Verification folds millions of elements into per-bucket sums on both sides (source and
//! graph) and only looks closer where the sums differ, so both sides must turn equal content
//! into equal digests whatever order their properties arrive in. The digest covers the
//! element's identity and its properties in name order, each value with its type (the same
//! encoding as [`crate::key_hash`]: `5` and `"5"` differ); NULL properties are left out, so
//! a property that is unset in the graph equals one that is NULL in the source.

use xxhash_rust::xxh3::Xxh3;

use crate::Value;
use crate::key::feed;

/// Builds the digest of one element: its identity, then its properties in name order.
pub struct RowDigest {
    hasher: Xxh3,
}

impl RowDigest {
    /// A digest of the element identified by `identity`.
    pub fn new(identity: u128) -> RowDigest {
        let mut hasher = Xxh3::new();
        hasher.update(&identity.to_le_bytes());
        RowDigest { hasher }
    }

    /// Adds a property. Callers add properties in name order; NULL values are skipped.
    pub fn property(&mut self, name: &str, value: &Value) {
        if value.is_null() {
            return;
        }
        self.hasher.update(&(name.len() as u64).to_le_bytes());
        self.hasher.update(name.as_bytes());
        feed(&mut self.hasher, value);
    }

    /// The digest.
    pub fn finish(&self) -> u128 {
        self.hasher.digest128()
    }
}

/// Combines several 128-bit hashes into one, order-sensitively (a relationship's identity
/// from its start key, end key and own key).
pub fn combine_hashes(parts: &[u128]) -> u128 {
    let mut hasher = Xxh3::new();
    for part in parts {
        hasher.update(&part.to_le_bytes());
    }
    hasher.digest128()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest(identity: u128, properties: &[(&str, Value)]) -> u128 {
        let mut digest = RowDigest::new(identity);
        for (name, value) in properties {
            digest.property(name, value);
        }
        digest.finish()
    }

    #[test]
    fn null_properties_count_as_unset() {
        assert_eq!(digest(1, &[("a", Value::Int(1)), ("b", Value::Null)]), digest(1, &[("a", Value::Int(1))]));
    }

    #[test]
    fn values_names_types_and_identity_all_matter() {
        let base = digest(1, &[("a", Value::Int(5))]);
        assert_ne!(base, digest(1, &[("a", Value::Int(6))]));
        assert_ne!(base, digest(1, &[("b", Value::Int(5))]));
        assert_ne!(base, digest(1, &[("a", Value::from("5"))]));
        assert_ne!(base, digest(2, &[("a", Value::Int(5))]));
    }

    #[test]
    fn combining_is_order_sensitive() {
        assert_ne!(combine_hashes(&[1, 2]), combine_hashes(&[2, 1]));
    }
}

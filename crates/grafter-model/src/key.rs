//! [`KeyHash`]: a compact, type-aware identity for a node or relationship key.
//!
//! Loading needs to find "the node whose key is (x, y)" millions of times. Hashing the key's
//! values into 128 bits keeps that lookup table small (16 bytes a key, whatever the key's
//! width) and fast; at 128 bits an accidental collision among even billions of keys has a
//! probability far below that of a disk error, so it is treated as identity.

use xxhash_rust::xxh3::Xxh3;

use crate::Value;

/// The 128-bit hash of a key's values, in key order. Equal keys hash equal; values of
/// different types never compare equal (`5` and `"5"` are different keys), as in Cypher.
pub type KeyHash = u128;

/// Hashes a key made of `values` (one per key column, in order).
pub fn key_hash<'a>(values: impl IntoIterator<Item = &'a Value>) -> KeyHash {
    let mut hasher = Xxh3::new();
    for value in values {
        feed(&mut hasher, value);
    }
    hasher.digest128()
}

/// Feeds a value with a type tag and, for variable-length data, its length, so that no two
/// different key tuples produce the same byte stream.
pub(crate) fn feed(hasher: &mut Xxh3, value: &Value) {
    match value {
        Value::Null => hasher.update(&[0]),
        Value::Bool(b) => hasher.update(&[1, u8::from(*b)]),
        Value::Int(i) => {
            hasher.update(&[2]);
            hasher.update(&i.to_le_bytes());
        }
        Value::Float(x) => {
            hasher.update(&[3]);
            hasher.update(&x.to_bits().to_le_bytes());
        }
        Value::String(s) => {
            hasher.update(&[4]);
            hasher.update(&(s.len() as u64).to_le_bytes());
            hasher.update(s.as_bytes());
        }
        Value::Bytes(b) => {
            hasher.update(&[5]);
            hasher.update(&(b.len() as u64).to_le_bytes());
            hasher.update(b);
        }
        Value::List(items) => {
            hasher.update(&[6]);
            hasher.update(&(items.len() as u64).to_le_bytes());
            for item in items {
                feed(hasher, item);
            }
        }
        Value::Map(map) => {
            hasher.update(&[7]);
            hasher.update(&(map.len() as u64).to_le_bytes());
            for (name, item) in map {
                hasher.update(&(name.len() as u64).to_le_bytes());
                hasher.update(name.as_bytes());
                feed(hasher, item);
            }
        }
        // Temporal values hash by their canonical ISO text, tagged by kind.
        temporal => {
            hasher.update(&[8, temporal.kind() as u8]);
            let text = temporal.to_string();
            hasher.update(&(text.len() as u64).to_le_bytes());
            hasher.update(text.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_hash_equal() {
        let a = [Value::Int(7), Value::from("x")];
        let b = [Value::Int(7), Value::from("x")];
        assert_eq!(key_hash(&a), key_hash(&b));
    }

    #[test]
    fn types_are_part_of_the_key() {
        assert_ne!(key_hash(&[Value::Int(5)]), key_hash(&[Value::from("5")]));
    }

    #[test]
    fn column_boundaries_are_part_of_the_key() {
        let ab_c = [Value::from("ab"), Value::from("c")];
        let a_bc = [Value::from("a"), Value::from("bc")];
        assert_ne!(key_hash(&ab_c), key_hash(&a_bc));
    }
}

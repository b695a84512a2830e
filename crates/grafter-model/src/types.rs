//! [`TypePolicy`]: how values that have no exact graph counterpart are converted, the same
//! for every source. Each choice is documented where the config offers it
//! (`[source.types]` in grafter.toml).

use serde::{Deserialize, Serialize};

/// The conversions a user chooses for values a graph cannot hold as they are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TypePolicy {
    /// Integers a signed 64-bit integer cannot hold: MySQL BIGINT UNSIGNED above 2^63-1,
    /// NDJSON integers outside -2^63…2^63-1.
    pub unsigned_overflow: UnsignedOverflow,
    /// Exact decimals (NUMERIC, DECIMAL), and NDJSON numbers with more digits than a float
    /// holds.
    pub decimal: DecimalPolicy,
    /// JSON documents (json, jsonb, MySQL JSON).
    pub json: JsonPolicy,
    /// Binary data (bytea, BLOB).
    pub bytes: BytesPolicy,
    /// MySQL's zero dates (`0000-00-00`, `2024-00-10`).
    pub zero_date: ZeroDatePolicy,
}

/// Integers beyond what a signed 64-bit integer holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsignedOverflow {
    /// Reject the row, with the value in the reason (default: nothing is changed silently).
    #[default]
    Reject,
    /// Store the number as a decimal string.
    String,
}

/// Exact decimals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecimalPolicy {
    /// The exact digits as a string, e.g. `"12.50"` (default: no precision is lost).
    #[default]
    String,
    /// A 64-bit float (rounded to 15–17 significant digits; NaN stays NaN).
    Float,
}

/// JSON documents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JsonPolicy {
    /// Parsed: objects become maps, arrays lists (default; targets without map properties
    /// reject maps, so choose `string` for them).
    #[default]
    Map,
    /// The document's text.
    String,
}

/// Binary data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BytesPolicy {
    /// A base64 string (default: every graph store and every tool can carry it).
    #[default]
    Base64,
    /// Raw bytes, for targets that hold byte arrays.
    Raw,
}

/// MySQL zero dates and dates with a zero month or day, which name no real day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDatePolicy {
    /// NULL: the property is not set (default: MySQL itself treats them as "no date").
    #[default]
    Null,
    /// Reject the row, with the column in the reason.
    Reject,
}

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

/// What a column's values become in the graph when no cast rule says otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// The graph type, in the words `grafter plan` shows (`integer`, `zoned datetime`, …).
    pub graph_type: &'static str,
    /// The `[source.types]` setting that chose it, in words, when the type has more than
    /// one graph form; `None` when it has exactly one.
    pub setting: Option<String>,
}

/// How values of a `logical` column arrive under `policy`.
pub fn arrival(logical: crate::LogicalType, policy: &TypePolicy) -> Arrival {
    use crate::LogicalType as L;
    let defaults = TypePolicy::default();
    let setting = |key: &str, value: &str, is_default: bool| {
        let origin = if is_default { " (the default)" } else { "" };
        Some(format!("[source.types] {key} = \"{value}\"{origin}"))
    };
    let (graph_type, setting) = match logical {
        L::Bool => ("boolean", None),
        L::Int => ("integer", None),
        L::Float => ("float", None),
        L::Decimal => match policy.decimal {
            DecimalPolicy::String => ("string", setting("decimal", "string", policy.decimal == defaults.decimal)),
            DecimalPolicy::Float => ("float", setting("decimal", "float", policy.decimal == defaults.decimal)),
        },
        L::String => ("string", None),
        L::Bytes => match policy.bytes {
            BytesPolicy::Base64 => ("string (base64)", setting("bytes", "base64", policy.bytes == defaults.bytes)),
            BytesPolicy::Raw => ("bytes", setting("bytes", "raw", policy.bytes == defaults.bytes)),
        },
        L::Date => ("date", None),
        L::Time => ("local time", None),
        L::DateTime => ("local datetime", None),
        L::DateTimeTz => ("zoned datetime", None),
        L::Json => match policy.json {
            JsonPolicy::Map => ("map or list (JSON)", setting("json", "map", policy.json == defaults.json)),
            JsonPolicy::String => ("string (JSON text)", setting("json", "string", policy.json == defaults.json)),
        },
        L::Duration => ("duration", None),
        L::List => ("list", None),
        L::Any => ("as read", None),
    };
    Arrival { graph_type, setting }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogicalType;

    #[test]
    fn a_choice_names_its_setting_and_whether_it_is_the_default() {
        let default = arrival(LogicalType::Decimal, &TypePolicy::default());
        assert_eq!(default.graph_type, "string");
        assert_eq!(default.setting.as_deref(), Some("[source.types] decimal = \"string\" (the default)"));
        let float = TypePolicy { decimal: DecimalPolicy::Float, ..TypePolicy::default() };
        let chosen = arrival(LogicalType::Decimal, &float);
        assert_eq!(
            (chosen.graph_type, chosen.setting.as_deref()),
            ("float", Some("[source.types] decimal = \"float\""))
        );
        assert_eq!(arrival(LogicalType::Duration, &float), Arrival { graph_type: "duration", setting: None });
    }
}

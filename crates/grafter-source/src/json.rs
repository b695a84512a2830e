//! JSON text straight into grafter [`Value`]s, refusing what would change silently.
//!
//! Objects become maps and arrays lists, as [`Value::from_json`] makes them, with two rules
//! `serde_json::Value` does not keep:
//!
//! - **A key twice in one object** (`{"id": 1, "id": 2}`) is refused: keeping either value
//!   drops the other.
//! - **Numbers keep their value or are refused**, following [`TypePolicy`]:
//!   - an integer (no fraction, no exponent) that fits a signed 64-bit integer is an
//!     `Int`; one outside that range follows `unsigned_overflow`: refused with the number
//!     in the reason (default), or kept as its exact digits (`"string"`);
//!   - a number with a fraction or an exponent is a `Float` when the float holds it: when
//!     the nearest 64-bit float, written in its shortest form, is the same number (`0.1`,
//!     `1.5e3`, `0.30000000000000004`); one that more digits or a wider exponent than a
//!     float has would change (`3.14159265358979323846`, `1e-400`) follows `decimal`: its
//!     exact text as a string (default), or the nearest float (`"float"`).
//!
//! `serde_json` hands a visitor only the float it made of a big integer or a long
//! fraction, never the text. So the visitor counts the numbers it is handed and, for the
//! ones whose text matters (a float, an integer beyond `u64`), finds that number's text in
//! the document with a small scanner that walks the number tokens in the same order
//! ([`Tokens`]). Documents without such numbers are never scanned.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::ops::Range;

use grafter_model::{DecimalPolicy, TypePolicy, UnsignedOverflow, Value};
use indexmap::IndexMap;
use indexmap::map::Entry as IndexEntry;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// A top-level JSON object: its keys in the order the document has them.
pub(crate) type Object = IndexMap<String, Value>;

/// Why a document was not read.
#[derive(Debug)]
pub(crate) enum JsonError {
    /// Not JSON.
    Syntax(serde_json::Error),
    /// JSON, but not an object where one was asked for; names what it is.
    NotAnObject(&'static str),
    /// JSON that would change silently: a repeated key, a number out of range. The reason
    /// names the key.
    Refused(String),
}

/// Parses `text` as one JSON object, keeping its keys in document order.
pub(crate) fn parse_object(text: &str, policy: &TypePolicy) -> Result<Object, JsonError> {
    let context = Context::new(text, *policy);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let parsed = Top(&context).deserialize(&mut deserializer).and_then(|top| deserializer.end().map(|()| top));
    match parsed {
        Ok(TopLevel::Object(object)) => Ok(object),
        Ok(TopLevel::Other(kind)) => Err(JsonError::NotAnObject(kind)),
        Err(error) => Err(context.take_refusal().map_or(JsonError::Syntax(error), JsonError::Refused)),
    }
}

/// What a value of the document is, for messages.
fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::Float(_) => "a number",
        Value::List(_) => "an array",
        Value::Map(_) => "an object",
        _ => "a string",
    }
}

/// Where a refused value sits: keys and indexes from the document's root.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// A refusal on its way out of the nested visitors, which add the path as they unwind.
#[derive(Debug)]
struct Refusal {
    /// Innermost step first.
    path: Vec<Step>,
    /// What is wrong, without the path.
    reason: String,
    /// The reason names the value it is about (`key `id`: …`) rather than its container.
    about_value: bool,
}

impl Refusal {
    /// The reason with the path: "key `meta.x`: …", or "in `meta`: the key `x` appears twice".
    fn render(&self) -> String {
        let mut path = String::new();
        for step in self.path.iter().rev() {
            match step {
                Step::Key(key) if path.is_empty() => path.push_str(key),
                Step::Key(key) => {
                    path.push('.');
                    path.push_str(key);
                }
                Step::Index(index) => path.push_str(&format!("[{index}]")),
            }
        }
        match (path.is_empty(), self.about_value) {
            (true, _) => self.reason.clone(),
            (false, true) => format!("key `{path}`: {}", self.reason),
            (false, false) => format!("in `{path}`: {}", self.reason),
        }
    }
}

/// What the visitors share while reading one document.
struct Context<'t> {
    text: &'t str,
    policy: TypePolicy,
    /// Numbers handed to the visitors so far: the next one's position among the document's
    /// number tokens.
    numbers: Cell<usize>,
    /// Number tokens found so far, read lazily.
    tokens: RefCell<Tokens<'t>>,
    refusal: RefCell<Option<Refusal>>,
}

impl<'t> Context<'t> {
    fn new(text: &'t str, policy: TypePolicy) -> Context<'t> {
        Context {
            text,
            policy,
            numbers: Cell::new(0),
            tokens: RefCell::new(Tokens { text: text.as_bytes(), at: 0, seen: 0 }),
            refusal: RefCell::new(None),
        }
    }

    fn take_refusal(&self) -> Option<String> {
        self.refusal.borrow_mut().take().map(|refusal| refusal.render())
    }

    /// Records a refusal and returns the error that stops the parse.
    fn refuse<E: serde::de::Error>(&self, reason: String, about_value: bool) -> E {
        *self.refusal.borrow_mut() = Some(Refusal { path: Vec::new(), reason, about_value });
        E::custom("refused")
    }

    /// Adds a step to the path of a refusal unwinding through a container.
    fn within(&self, step: Step) {
        if let Some(refusal) = self.refusal.borrow_mut().as_mut() {
            refusal.path.push(step);
        }
    }

    /// The position of the number being handed over, counted from 0.
    fn next_number(&self) -> usize {
        let ordinal = self.numbers.get();
        self.numbers.set(ordinal + 1);
        ordinal
    }

    /// The text of number `ordinal` (`None` only for a document the scanner cannot follow,
    /// which `serde_json` refuses anyway).
    fn number_text(&self, ordinal: usize) -> Option<&'t str> {
        let range = self.tokens.borrow_mut().nth(ordinal)?;
        self.text.get(range)
    }

    /// An integer beyond `i64`, as written (`digits`), by the unsigned-overflow policy.
    fn big_integer<E: serde::de::Error>(&self, digits: &str) -> Result<Value, E> {
        match self.policy.unsigned_overflow {
            UnsignedOverflow::String => Ok(Value::String(digits.to_owned())),
            UnsignedOverflow::Reject => Err(self.refuse(
                format!(
                    "the integer {digits} does not fit a signed 64-bit integer (set `unsigned_overflow = \"string\"` \
                     in [source.types] to keep its digits as text)"
                ),
                true,
            )),
        }
    }

    /// A number `serde_json` made a float of.
    fn float<E: serde::de::Error>(&self, x: f64) -> Result<Value, E> {
        let ordinal = self.next_number();
        let Some(text) = self.number_text(ordinal) else { return Ok(Value::Float(x)) };
        if !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E')) {
            // An integer too big even for u64 (or below i64::MIN): serde_json rounded it.
            return self.big_integer(text);
        }
        if held_exactly(text, x) {
            return Ok(Value::Float(x));
        }
        match self.policy.decimal {
            DecimalPolicy::String => Ok(Value::String(text.to_owned())),
            DecimalPolicy::Float => Ok(Value::Float(x)),
        }
    }
}

/// Whether the float `x` is the number `text` (a JSON number with a fraction or exponent):
/// its shortest decimal form names the same value.
fn held_exactly(text: &str, x: f64) -> bool {
    if !x.is_finite() {
        return false;
    }
    if quickly_exact(text) {
        return true;
    }
    match (decimal_parts(text), decimal_parts(&format!("{x:e}"))) {
        (Some(written), Some(stored)) => written == stored,
        _ => false,
    }
}

/// Numbers of at most 15 significant digits and a modest exponent survive a float
/// unchanged (15 is `f64::DIGITS`), so most need no closer look.
fn quickly_exact(text: &str) -> bool {
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, ""));
    let digits = mantissa.bytes().filter(u8::is_ascii_digit).skip_while(|&b| b == b'0').count();
    let exponent = exponent.trim_start_matches(['+', '-']).trim_start_matches('0');
    digits <= 15 && exponent.len() <= 2
}

/// A decimal number as (negative, significant digits without leading or trailing zeros,
/// power of ten of the point before the first digit); zero is `(false, "", 0)`.
fn decimal_parts(text: &str) -> Option<(bool, String, i64)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = whole.chars().chain(fraction.chars()).collect();
    let leading = digits.bytes().take_while(|&b| b == b'0').count();
    let significant = digits[leading..].trim_end_matches('0');
    if significant.is_empty() {
        return Some((false, String::new(), 0));
    }
    let point = i64::try_from(whole.len()).ok()? - i64::try_from(leading).ok()? + exponent;
    Some((negative, significant.to_owned(), point))
}

/// The number tokens of a JSON document in order, found by skipping strings: the same order
/// in which `serde_json` hands numbers to a visitor.
struct Tokens<'t> {
    text: &'t [u8],
    /// Where the search goes on.
    at: usize,
    /// Tokens passed so far.
    seen: usize,
}

impl Tokens<'_> {
    /// The byte range of token `ordinal` (0-based); tokens are asked for in increasing order.
    fn nth(&mut self, ordinal: usize) -> Option<Range<usize>> {
        while let Some(&byte) = self.text.get(self.at) {
            match byte {
                b'"' => {
                    self.at += 1;
                    loop {
                        match self.text.get(self.at)? {
                            b'"' => break,
                            b'\\' => self.at += 2,
                            _ => self.at += 1,
                        }
                    }
                    self.at += 1;
                }
                b'-' | b'0'..=b'9' => {
                    let start = self.at;
                    while self
                        .text
                        .get(self.at)
                        .is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    {
                        self.at += 1;
                    }
                    self.seen += 1;
                    if self.seen == ordinal + 1 {
                        return Some(start..self.at);
                    }
                }
                _ => self.at += 1,
            }
        }
        None
    }
}

/// The document's root: an object keeps its key order; anything else only says what it is.
enum TopLevel {
    Object(Object),
    Other(&'static str),
}

#[derive(Clone, Copy)]
struct Top<'c, 't>(&'c Context<'t>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = TopLevel;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<TopLevel, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = TopLevel;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<TopLevel, A::Error> {
        let mut object = Object::with_capacity(map.size_hint().unwrap_or(0).min(256));
        while let Some(key) = map.next_key::<String>()? {
            let value = match map.next_value_seed(Seed(self.0)) {
                Ok(value) => value,
                Err(error) => {
                    self.0.within(Step::Key(key));
                    return Err(error);
                }
            };
            match object.entry(key) {
                IndexEntry::Vacant(slot) => {
                    slot.insert(value);
                }
                IndexEntry::Occupied(taken) => return Err(repeated(self.0, taken.key())),
            }
        }
        Ok(TopLevel::Object(object))
    }

    // Anything else is read whole (so that its errors are found), then named.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<TopLevel, A::Error> {
        Seed(self.0).visit_seq(seq).map(|value| TopLevel::Other(kind_of(&value)))
    }

    fn visit_bool<E>(self, _: bool) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a boolean"))
    }

    fn visit_i64<E: serde::de::Error>(self, i: i64) -> Result<TopLevel, E> {
        Seed(self.0).visit_i64(i).map(|_| TopLevel::Other("a number"))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<TopLevel, E> {
        Seed(self.0).visit_u64(u).map(|_| TopLevel::Other("a number"))
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<TopLevel, E> {
        Seed(self.0).visit_f64(x).map(|_| TopLevel::Other("a number"))
    }

    fn visit_str<E>(self, _: &str) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("a string"))
    }

    fn visit_unit<E>(self) -> Result<TopLevel, E> {
        Ok(TopLevel::Other("null"))
    }
}

/// The refusal of a key met twice in one object.
fn repeated<E: serde::de::Error>(context: &Context<'_>, key: &str) -> E {
    context.refuse(
        format!("the key `{key}` appears twice in one object (keeping either value would drop the other)"),
        false,
    )
}

/// Reads any JSON value.
#[derive(Clone, Copy)]
struct Seed<'c, 't>(&'c Context<'t>);

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        self.0.next_number();
        Ok(Value::Int(i))
    }

    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Value, E> {
        self.0.next_number();
        match i64::try_from(u) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => self.0.big_integer(&u.to_string()),
        }
    }

    fn visit_f64<E: serde::de::Error>(self, x: f64) -> Result<Value, E> {
        self.0.float(x)
    }

    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        loop {
            match seq.next_element_seed(self) {
                Ok(Some(item)) => items.push(item),
                Ok(None) => return Ok(Value::List(items)),
                Err(error) => {
                    self.0.within(Step::Index(items.len()));
                    return Err(error);
                }
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match map.next_value_seed(self) {
                Ok(value) => value,
                Err(error) => {
                    self.0.within(Step::Key(key));
                    return Err(error);
                }
            };
            match entries.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(taken) => return Err(repeated(self.0, taken.key())),
            }
        }
        Ok(Value::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(text: &str, policy: TypePolicy) -> Result<Object, String> {
        parse_object(text, &policy).map_err(|error| match error {
            JsonError::Refused(reason) => reason,
            JsonError::Syntax(error) => format!("syntax: {error}"),
            JsonError::NotAnObject(kind) => format!("not an object: {kind}"),
        })
    }

    fn keep_digits() -> TypePolicy {
        TypePolicy { unsigned_overflow: UnsignedOverflow::String, ..TypePolicy::default() }
    }

    #[test]
    fn integers_outside_i64_are_refused_naming_the_key_or_kept_as_digits() {
        for big in ["18446744073709551616", "12345678901234567890123", "9223372036854775808", "-9223372036854775809"] {
            let text = format!(r#"{{"id": 1, "n": {big}}}"#);
            let reason = object(&text, TypePolicy::default()).unwrap_err();
            assert_eq!(
                reason,
                format!(
                    "key `n`: the integer {big} does not fit a signed 64-bit integer (set `unsigned_overflow = \
                     \"string\"` in [source.types] to keep its digits as text)"
                )
            );
            let kept = object(&text, keep_digits()).unwrap();
            assert_eq!(kept["n"], Value::String(big.into()), "{text}");
        }
        let edges = object(r#"{"max": 9223372036854775807, "min": -9223372036854775808}"#, TypePolicy::default());
        let edges = edges.unwrap();
        assert_eq!((&edges["max"], &edges["min"]), (&Value::Int(i64::MAX), &Value::Int(i64::MIN)));
    }

    #[test]
    fn a_big_integer_deep_inside_names_its_path() {
        let text = r#"{"a": "1e999 \"99999999999999999999\"", "b": [1, 2.5, {"c": 99999999999999999999}]}"#;
        let reason = object(text, TypePolicy::default()).unwrap_err();
        assert!(reason.starts_with("key `b[2].c`: the integer 99999999999999999999 does not fit"), "{reason}");
        let kept = object(text, keep_digits()).unwrap();
        let Value::List(items) = &kept["b"] else { panic!("{kept:?}") };
        assert_eq!(items[1], Value::Float(2.5));
        let Value::Map(inner) = &items[2] else { panic!("{kept:?}") };
        assert_eq!(inner["c"], Value::String("99999999999999999999".into()));
    }

    #[test]
    fn a_repeated_key_is_refused_at_any_depth() {
        assert_eq!(
            object(r#"{"id":1,"id":2}"#, TypePolicy::default()).unwrap_err(),
            "the key `id` appears twice in one object (keeping either value would drop the other)"
        );
        assert_eq!(
            object(r#"{"id":1,"meta":{"x":1,"x":1}}"#, TypePolicy::default()).unwrap_err(),
            "in `meta`: the key `x` appears twice in one object (keeping either value would drop the other)"
        );
    }

    #[test]
    fn floats_the_float_holds_stay_floats_and_others_follow_the_decimal_policy() {
        let text = r#"{"a": 0.1, "b": 1.5e3, "c": 0.30000000000000004, "d": 3.14159265358979323846, "e": 1e-400, "f": -0.0, "g": 1E2, "h": 123456789.12345678}"#;
        let read = object(text, TypePolicy::default()).unwrap();
        assert_eq!(read["a"], Value::Float(0.1));
        assert_eq!(read["b"], Value::Float(1500.0));
        assert_eq!(read["c"], Value::Float(0.30000000000000004));
        assert_eq!(read["d"], Value::String("3.14159265358979323846".into()));
        assert_eq!(read["e"], Value::String("1e-400".into()));
        assert_eq!(read["f"], Value::Float(-0.0));
        assert_eq!(read["g"], Value::Float(100.0));
        assert_eq!(read["h"], Value::Float(123456789.12345678));
        let floats = TypePolicy { decimal: DecimalPolicy::Float, ..TypePolicy::default() };
        let read = object(text, floats).unwrap();
        assert_eq!(read["d"], Value::Float(std::f64::consts::PI));
        assert_eq!(read["e"], Value::Float(0.0));
    }

    #[test]
    fn keys_keep_their_order_and_other_documents_say_what_they_are() {
        let read = object(r#"{"z": 1, "a": {"y": [true, null]}, "m": "x"}"#, TypePolicy::default()).unwrap();
        assert_eq!(read.keys().collect::<Vec<_>>(), ["z", "a", "m"]);
        assert_eq!(object("[1, 2]", TypePolicy::default()).unwrap_err(), "not an object: an array");
        assert_eq!(object("7", TypePolicy::default()).unwrap_err(), "not an object: a number");
        assert!(object(r#"{"a": 1,}"#, TypePolicy::default()).unwrap_err().starts_with("syntax: trailing comma"));
        assert!(object(r#"{"a": 1} x"#, TypePolicy::default()).unwrap_err().starts_with("syntax: trailing characters"));
    }
}

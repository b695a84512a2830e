//! Reading [`BoltValue`]s from PackStream bytes a peer sent.
//!
//! The input is untrusted: every length is checked against the bytes actually there before
//! anything is allocated, nesting is bounded by [`MAX_DEPTH`], and every error names the
//! marker byte and the offset where reading failed, so a protocol problem can be found in
//! a hex dump. Known Bolt structures are checked for their field count (which depends on
//! the negotiated [`StructFormat`]) and field types.

use thiserror::Error;

use super::format::{MAX_DEPTH, StructFormat, marker};
use super::value::{
    BoltMap, BoltValue, Date, DateTime, DateTimeZoneId, Duration, LegacyDateTimeZoneId, LocalDateTime, LocalTime, Node,
    Path, Point2D, Point3D, Relationship, Structure, Time, UnboundRelationship, tag,
};

/// Bytes that are not valid PackStream (or not a valid Bolt structure).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("truncated input: marker 0x{marker:02X} at offset {offset} needs {needed} more bytes, {available} left")]
    Truncated {
        /// The marker of the value being read.
        marker: u8,
        /// Where that value starts.
        offset: usize,
        /// Bytes it still needed.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// The input ended where a value should start.
    #[error("input ended at offset {offset} where a value should start")]
    Empty {
        /// The offset.
        offset: usize,
    },
    /// A byte that is no PackStream marker (0xC4..=0xC7, 0xCF, 0xD3, 0xD7, 0xDB..=0xEF).
    #[error("unknown marker 0x{marker:02X} at offset {offset}")]
    UnknownMarker {
        /// The byte.
        marker: u8,
        /// Where it is.
        offset: usize,
    },
    /// A string whose bytes are not UTF-8.
    #[error("string (marker 0x{marker:02X}) at offset {offset} is not valid UTF-8")]
    InvalidUtf8 {
        /// The string's marker.
        marker: u8,
        /// Where the string starts.
        offset: usize,
    },
    /// A dictionary key that is not a string.
    #[error("dictionary key at offset {offset} is a {found}, not a String")]
    NonStringKey {
        /// Where the key starts.
        offset: usize,
        /// What it was.
        found: &'static str,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("value at offset {offset} nests deeper than {limit} levels")]
    TooDeep {
        /// Where the level that went too deep starts.
        offset: usize,
        /// The limit.
        limit: usize,
    },
    /// A known Bolt structure with the wrong number of fields.
    #[error("{name} structure (tag 0x{tag:02X}) at offset {offset} has {found} fields; {format} expects {expected}")]
    FieldCount {
        /// Structure name.
        name: &'static str,
        /// Its tag.
        tag: u8,
        /// Where it starts.
        offset: usize,
        /// Fields expected for the format.
        expected: usize,
        /// Fields found.
        found: usize,
        /// The negotiated format.
        format: StructFormat,
    },
    /// A field of a known Bolt structure of the wrong type.
    #[error("{name} structure at offset {offset}: field `{field}` should be {expected}, found {found}")]
    FieldType {
        /// Structure name.
        name: &'static str,
        /// Where the structure starts.
        offset: usize,
        /// The field.
        field: &'static str,
        /// The type it should have.
        expected: &'static str,
        /// The type it had.
        found: &'static str,
    },
    /// A legacy date-time whose local seconds cannot be turned into UTC seconds.
    #[error("DateTime structure at offset {offset}: local seconds minus offset overflow")]
    DateTimeOverflow {
        /// Where the structure starts.
        offset: usize,
    },
    /// Bytes after a complete value where none were expected.
    #[error("{count} unexpected bytes after the value, from offset {offset}")]
    TrailingBytes {
        /// Where the extra bytes start.
        offset: usize,
        /// How many.
        count: usize,
    },
}

/// Reads exactly one value from `bytes`; anything left over is an error.
pub fn decode_value(bytes: &[u8], format: StructFormat) -> Result<BoltValue, DecodeError> {
    let mut decoder = Decoder::new(bytes, format);
    let value = decoder.value(0)?;
    decoder.finish()?;
    Ok(value)
}

/// A cursor over PackStream bytes. Message decoding (`message.rs`) reads the message
/// structure header with it and then the fields as values.
pub(crate) struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    format: StructFormat,
}

impl<'a> Decoder<'a> {
    pub(crate) fn new(buf: &'a [u8], format: StructFormat) -> Self {
        Decoder { buf, pos: 0, format }
    }

    /// Errors if bytes remain.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.pos < self.buf.len() {
            return Err(DecodeError::TrailingBytes { offset: self.pos, count: self.buf.len() - self.pos });
        }
        Ok(())
    }

    fn take(&mut self, n: usize, marker: u8, start: usize) -> Result<&'a [u8], DecodeError> {
        let available = self.buf.len() - self.pos;
        if n > available {
            return Err(DecodeError::Truncated { marker, offset: start, needed: n, available });
        }
        let slice = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self, marker: u8, start: usize) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N, marker, start)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// Reads a size field of 1, 2 or 4 bytes (big-endian, unsigned).
    fn size(&mut self, width: usize, marker: u8, start: usize) -> Result<usize, DecodeError> {
        Ok(match width {
            1 => usize::from(self.array::<1>(marker, start)?[0]),
            2 => usize::from(u16::from_be_bytes(self.array(marker, start)?)),
            // u32 always fits usize on the 32- and 64-bit targets Rust runs tokio on.
            _ => u32::from_be_bytes(self.array(marker, start)?) as usize,
        })
    }

    /// Reads a structure marker and tag, returning (field count, tag, offset).
    pub(crate) fn struct_header(&mut self) -> Result<(usize, u8, usize), DecodeError> {
        let start = self.pos;
        let marker = *self.buf.get(self.pos).ok_or(DecodeError::Empty { offset: start })?;
        if marker & 0xF0 != marker::TINY_STRUCT {
            return Err(DecodeError::UnknownMarker { marker, offset: start });
        }
        self.pos += 1;
        let tag = self.array::<1>(marker, start)?[0];
        Ok((usize::from(marker & 0x0F), tag, start))
    }

    pub(crate) fn value(&mut self, depth: usize) -> Result<BoltValue, DecodeError> {
        let start = self.pos;
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep { offset: start, limit: MAX_DEPTH });
        }
        let marker = *self.buf.get(self.pos).ok_or(DecodeError::Empty { offset: start })?;
        self.pos += 1;
        let high = marker & 0xF0;
        let low = usize::from(marker & 0x0F);
        Ok(match marker {
            // Tiny ints: the byte is the value in two's complement.
            0x00..=0x7F | 0xF0..=0xFF => BoltValue::Integer(i64::from(marker as i8)),
            marker::NULL => BoltValue::Null,
            marker::FALSE => BoltValue::Boolean(false),
            marker::TRUE => BoltValue::Boolean(true),
            marker::FLOAT_64 => BoltValue::Float(f64::from_bits(u64::from_be_bytes(self.array(marker, start)?))),
            marker::INT_8 => BoltValue::Integer(i64::from(i8::from_be_bytes(self.array(marker, start)?))),
            marker::INT_16 => BoltValue::Integer(i64::from(i16::from_be_bytes(self.array(marker, start)?))),
            marker::INT_32 => BoltValue::Integer(i64::from(i32::from_be_bytes(self.array(marker, start)?))),
            marker::INT_64 => BoltValue::Integer(i64::from_be_bytes(self.array(marker, start)?)),
            marker::BYTES_8 | marker::BYTES_16 | marker::BYTES_32 => {
                let width = 1 << (marker - marker::BYTES_8);
                let len = self.size(width, marker, start)?;
                BoltValue::Bytes(self.take(len, marker, start)?.to_vec())
            }
            _ if high == marker::TINY_STRING => self.string_body(low, marker, start)?,
            marker::STRING_8 | marker::STRING_16 | marker::STRING_32 => {
                let len = self.size(1 << (marker - marker::STRING_8), marker, start)?;
                self.string_body(len, marker, start)?
            }
            _ if high == marker::TINY_LIST => self.list_body(low, depth)?,
            marker::LIST_8 | marker::LIST_16 | marker::LIST_32 => {
                let len = self.size(1 << (marker - marker::LIST_8), marker, start)?;
                self.list_body(len, depth)?
            }
            _ if high == marker::TINY_MAP => BoltValue::Dictionary(self.map_body(low, depth)?),
            marker::MAP_8 | marker::MAP_16 | marker::MAP_32 => {
                let len = self.size(1 << (marker - marker::MAP_8), marker, start)?;
                BoltValue::Dictionary(self.map_body(len, depth)?)
            }
            _ if high == marker::TINY_STRUCT => {
                let tag = self.array::<1>(marker, start)?[0];
                let mut fields = Vec::with_capacity(low);
                for _ in 0..low {
                    fields.push(self.value(depth + 1)?);
                }
                self.structure(tag, fields, start)?
            }
            _ => return Err(DecodeError::UnknownMarker { marker, offset: start }),
        })
    }

    fn string_body(&mut self, len: usize, marker: u8, start: usize) -> Result<BoltValue, DecodeError> {
        let bytes = self.take(len, marker, start)?;
        let s = std::str::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { marker, offset: start })?;
        Ok(BoltValue::String(s.to_owned()))
    }

    fn list_body(&mut self, len: usize, depth: usize) -> Result<BoltValue, DecodeError> {
        // Every item takes at least one byte, so the bytes left bound a sane capacity even
        // when a hostile size field claims four billion items.
        let mut items = Vec::with_capacity(len.min(self.buf.len() - self.pos));
        for _ in 0..len {
            items.push(self.value(depth + 1)?);
        }
        Ok(BoltValue::List(items))
    }

    pub(crate) fn map_body(&mut self, len: usize, depth: usize) -> Result<BoltMap, DecodeError> {
        let mut map = BoltMap::new();
        for _ in 0..len {
            let key_offset = self.pos;
            let key = match self.value(depth + 1)? {
                BoltValue::String(s) => s,
                other => return Err(DecodeError::NonStringKey { offset: key_offset, found: other.type_name() }),
            };
            let value = self.value(depth + 1)?;
            // The PackStream spec lets the last of duplicate keys win.
            map.insert(key, value);
        }
        Ok(map)
    }

    fn structure(&self, tag: u8, fields: Vec<BoltValue>, offset: usize) -> Result<BoltValue, DecodeError> {
        let v5 = self.format == StructFormat::Bolt5;
        let mut f = Fields { fields, offset, name: "", next: 0 };
        let check = |f: &mut Fields, name: &'static str, expected: usize| -> Result<(), DecodeError> {
            f.name = name;
            if f.fields.len() != expected {
                return Err(DecodeError::FieldCount {
                    name,
                    tag,
                    offset,
                    expected,
                    found: f.fields.len(),
                    format: self.format,
                });
            }
            Ok(())
        };
        Ok(match tag {
            tag::NODE => {
                check(&mut f, "Node", if v5 { 4 } else { 3 })?;
                BoltValue::Node(node_from(&mut f, v5)?)
            }
            tag::RELATIONSHIP => {
                check(&mut f, "Relationship", if v5 { 8 } else { 5 })?;
                let id = f.int("id")?;
                let start_node_id = f.int("startNodeId")?;
                let end_node_id = f.int("endNodeId")?;
                let rel_type = f.string("type")?;
                let properties = f.map("properties")?;
                let (element_id, start_node_element_id, end_node_element_id) = if v5 {
                    (f.string("element_id")?, f.string("start_node_element_id")?, f.string("end_node_element_id")?)
                } else {
                    (id.to_string(), start_node_id.to_string(), end_node_id.to_string())
                };
                BoltValue::Relationship(Relationship {
                    id,
                    start_node_id,
                    end_node_id,
                    rel_type,
                    properties,
                    element_id,
                    start_node_element_id,
                    end_node_element_id,
                })
            }
            tag::UNBOUND_RELATIONSHIP => {
                check(&mut f, "UnboundRelationship", if v5 { 4 } else { 3 })?;
                BoltValue::UnboundRelationship(unbound_from(&mut f, v5)?)
            }
            tag::PATH => {
                check(&mut f, "Path", 3)?;
                let nodes = f
                    .list("nodes")?
                    .into_iter()
                    .map(|v| match v {
                        BoltValue::Node(node) => Ok(node),
                        other => Err(f.wrong("nodes", "List of Node", other.type_name())),
                    })
                    .collect::<Result<_, _>>()?;
                let rels = f
                    .list("rels")?
                    .into_iter()
                    .map(|v| match v {
                        BoltValue::UnboundRelationship(rel) => Ok(rel),
                        other => Err(f.wrong("rels", "List of UnboundRelationship", other.type_name())),
                    })
                    .collect::<Result<_, _>>()?;
                let indices = f
                    .list("indices")?
                    .into_iter()
                    .map(|v| v.as_int().ok_or_else(|| f.wrong("indices", "List of Integer", v.type_name())))
                    .collect::<Result<_, _>>()?;
                BoltValue::Path(Path { nodes, rels, indices })
            }
            tag::DATE => {
                check(&mut f, "Date", 1)?;
                BoltValue::Date(Date { days: f.int("days")? })
            }
            tag::TIME => {
                check(&mut f, "Time", 2)?;
                BoltValue::Time(Time {
                    nanoseconds: f.int("nanoseconds")?,
                    tz_offset_seconds: f.int("tz_offset_seconds")?,
                })
            }
            tag::LOCAL_TIME => {
                check(&mut f, "LocalTime", 1)?;
                BoltValue::LocalTime(LocalTime { nanoseconds: f.int("nanoseconds")? })
            }
            tag::DATE_TIME => {
                check(&mut f, "DateTime", 3)?;
                BoltValue::DateTime(DateTime {
                    seconds: f.int("seconds")?,
                    nanoseconds: f.int("nanoseconds")?,
                    tz_offset_seconds: f.int("tz_offset_seconds")?,
                })
            }
            tag::LEGACY_DATE_TIME => {
                check(&mut f, "DateTime (legacy)", 3)?;
                let local = f.int("seconds")?;
                let nanoseconds = f.int("nanoseconds")?;
                let tz_offset_seconds = f.int("tz_offset_seconds")?;
                // Legacy seconds are the wall clock; UTC is the wall clock minus the offset.
                let seconds = local.checked_sub(tz_offset_seconds).ok_or(DecodeError::DateTimeOverflow { offset })?;
                BoltValue::DateTime(DateTime { seconds, nanoseconds, tz_offset_seconds })
            }
            tag::DATE_TIME_ZONE_ID => {
                check(&mut f, "DateTimeZoneId", 3)?;
                BoltValue::DateTimeZoneId(DateTimeZoneId {
                    seconds: f.int("seconds")?,
                    nanoseconds: f.int("nanoseconds")?,
                    tz_id: f.string("tz_id")?,
                })
            }
            tag::LEGACY_DATE_TIME_ZONE_ID => {
                check(&mut f, "DateTimeZoneId (legacy)", 3)?;
                BoltValue::LegacyDateTimeZoneId(LegacyDateTimeZoneId {
                    local_seconds: f.int("seconds")?,
                    nanoseconds: f.int("nanoseconds")?,
                    tz_id: f.string("tz_id")?,
                })
            }
            tag::LOCAL_DATE_TIME => {
                check(&mut f, "LocalDateTime", 2)?;
                BoltValue::LocalDateTime(LocalDateTime {
                    seconds: f.int("seconds")?,
                    nanoseconds: f.int("nanoseconds")?,
                })
            }
            tag::DURATION => {
                check(&mut f, "Duration", 4)?;
                BoltValue::Duration(Duration {
                    months: f.int("months")?,
                    days: f.int("days")?,
                    seconds: f.int("seconds")?,
                    nanoseconds: f.int("nanoseconds")?,
                })
            }
            tag::POINT_2D => {
                check(&mut f, "Point2D", 3)?;
                BoltValue::Point2D(Point2D { srid: f.int("srid")?, x: f.float("x")?, y: f.float("y")? })
            }
            tag::POINT_3D => {
                check(&mut f, "Point3D", 4)?;
                BoltValue::Point3D(Point3D {
                    srid: f.int("srid")?,
                    x: f.float("x")?,
                    y: f.float("y")?,
                    z: f.float("z")?,
                })
            }
            _ => BoltValue::Structure(Structure { tag, fields: f.fields }),
        })
    }
}

/// The fields of one structure being checked, consumed front to back.
struct Fields {
    fields: Vec<BoltValue>,
    offset: usize,
    name: &'static str,
    next: usize,
}

impl Fields {
    fn wrong(&self, field: &'static str, expected: &'static str, found: &'static str) -> DecodeError {
        DecodeError::FieldType { name: self.name, offset: self.offset, field, expected, found }
    }

    fn take(&mut self) -> BoltValue {
        // The field count was checked before any field is taken, so the index is in range;
        // `Null` is only a fallback that the type checks then reject.
        let value = self.fields.get_mut(self.next).map(std::mem::take).unwrap_or(BoltValue::Null);
        self.next += 1;
        value
    }

    fn int(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        match self.take() {
            BoltValue::Integer(i) => Ok(i),
            other => Err(self.wrong(field, "Integer", other.type_name())),
        }
    }

    fn float(&mut self, field: &'static str) -> Result<f64, DecodeError> {
        match self.take() {
            BoltValue::Float(x) => Ok(x),
            other => Err(self.wrong(field, "Float", other.type_name())),
        }
    }

    fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        match self.take() {
            BoltValue::String(s) => Ok(s),
            other => Err(self.wrong(field, "String", other.type_name())),
        }
    }

    fn map(&mut self, field: &'static str) -> Result<BoltMap, DecodeError> {
        match self.take() {
            BoltValue::Dictionary(m) => Ok(m),
            other => Err(self.wrong(field, "Dictionary", other.type_name())),
        }
    }

    fn list(&mut self, field: &'static str) -> Result<Vec<BoltValue>, DecodeError> {
        match self.take() {
            BoltValue::List(items) => Ok(items),
            other => Err(self.wrong(field, "List", other.type_name())),
        }
    }
}

fn node_from(f: &mut Fields, v5: bool) -> Result<Node, DecodeError> {
    let id = f.int("id")?;
    let labels = f
        .list("labels")?
        .into_iter()
        .map(|v| match v {
            BoltValue::String(s) => Ok(s),
            other => Err(f.wrong("labels", "List of String", other.type_name())),
        })
        .collect::<Result<_, _>>()?;
    let properties = f.map("properties")?;
    // Bolt 4.4 has no element ids; the integer id stands in, as the official drivers do.
    let element_id = if v5 { f.string("element_id")? } else { id.to_string() };
    Ok(Node { id, labels, properties, element_id })
}

fn unbound_from(f: &mut Fields, v5: bool) -> Result<UnboundRelationship, DecodeError> {
    let id = f.int("id")?;
    let rel_type = f.string("type")?;
    let properties = f.map("properties")?;
    let element_id = if v5 { f.string("element_id")? } else { id.to_string() };
    Ok(UnboundRelationship { id, rel_type, properties, element_id })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(bytes: &[u8]) -> Result<BoltValue, DecodeError> {
        decode_value(bytes, StructFormat::Bolt5)
    }

    #[test]
    fn reads_the_spec_examples() {
        assert_eq!(dec(&[0xC0]), Ok(BoltValue::Null));
        assert_eq!(dec(&[0xF0]), Ok(BoltValue::Integer(-16)));
        assert_eq!(dec(&[0xC9, 0x04, 0xD2]), Ok(BoltValue::Integer(1234)));
        // Non-minimal encodings are legal to receive.
        assert_eq!(dec(&[0xCB, 0, 0, 0, 0, 0, 0, 0, 1]), Ok(BoltValue::Integer(1)));
        assert_eq!(dec(&[0x81, 0x41]), Ok(BoltValue::from("A")));
        assert_eq!(dec(&[0x93, 1, 2, 3]), Ok(BoltValue::List(vec![1.into(), 2.into(), 3.into()])));
        assert_eq!(
            dec(&[0xA1, 0x83, 0x6F, 0x6E, 0x65, 0x84, 0x65, 0x69, 0x6E, 0x73]),
            Ok(BoltValue::Dictionary(crate::bolt_map! { "one" => "eins" }))
        );
    }

    #[test]
    fn errors_name_marker_and_offset() {
        assert_eq!(
            dec(&[0x92, 0x01, 0xC9, 0x01]),
            Err(DecodeError::Truncated { marker: 0xC9, offset: 2, needed: 2, available: 1 })
        );
        assert_eq!(dec(&[0x91, 0xC7]), Err(DecodeError::UnknownMarker { marker: 0xC7, offset: 1 }));
        assert_eq!(dec(&[0x82, 0xFF, 0xFE]), Err(DecodeError::InvalidUtf8 { marker: 0x82, offset: 0 }));
        assert_eq!(dec(&[0xA1, 0x01, 0x01]), Err(DecodeError::NonStringKey { offset: 1, found: "Integer" }));
        assert_eq!(dec(&[0x01, 0x02]), Err(DecodeError::TrailingBytes { offset: 1, count: 1 }));
        assert_eq!(dec(&[]), Err(DecodeError::Empty { offset: 0 }));
        let text = dec(&[0x92, 0x01, 0xC9, 0x01]).expect_err("truncated").to_string();
        assert!(text.contains("0xC9") && text.contains("offset 2"), "{text}");
    }

    #[test]
    fn hostile_lengths_do_not_allocate() {
        // A list claiming u32::MAX items with nothing behind it fails, without reserving
        // gigabytes first.
        assert!(matches!(dec(&[0xD6, 0xFF, 0xFF, 0xFF, 0xFF]), Err(DecodeError::Empty { offset: 5 })));
        assert!(matches!(dec(&[0xD2, 0xFF, 0xFF, 0xFF, 0xFF, 0x41]), Err(DecodeError::Truncated { marker: 0xD2, .. })));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let bytes = vec![0x91; 100_000];
        assert!(matches!(dec(&bytes), Err(DecodeError::TooDeep { limit: MAX_DEPTH, .. })));
        let maps: Vec<u8> = std::iter::repeat_n([0xA1, 0x81, 0x6B], 50_000).flatten().collect();
        assert!(matches!(dec(&maps), Err(DecodeError::TooDeep { .. })));
        let structs: Vec<u8> = std::iter::repeat_n([0xB1, 0x01], 50_000).flatten().collect();
        assert!(matches!(dec(&structs), Err(DecodeError::TooDeep { .. })));
    }

    #[test]
    fn structures_are_checked() {
        // Node with 3 fields is a Bolt 4.4 node: fine there, wrong for Bolt 5.
        let node_v4 = [0xB3, 0x4E, 0x01, 0x90, 0xA0];
        assert!(matches!(dec(&node_v4), Err(DecodeError::FieldCount { name: "Node", expected: 4, found: 3, .. })));
        let node = decode_value(&node_v4, StructFormat::Bolt4).expect("a 4.4 node");
        assert_eq!(
            node,
            BoltValue::Node(Node { id: 1, labels: vec![], properties: BoltMap::new(), element_id: "1".into() })
        );
        // A Date whose days field is a string.
        assert_eq!(
            dec(&[0xB1, 0x44, 0x81, 0x41]),
            Err(DecodeError::FieldType {
                name: "Date",
                offset: 0,
                field: "days",
                expected: "Integer",
                found: "String"
            })
        );
        // Unknown tags stay raw.
        assert_eq!(
            dec(&[0xB1, 0x01, 0x05]),
            Ok(BoltValue::Structure(Structure { tag: 0x01, fields: vec![BoltValue::Integer(5)] }))
        );
    }

    #[test]
    fn legacy_date_times_become_utc() {
        // 0x46: local seconds 3601 at offset +3600 is UTC second 1.
        let bytes = [0xB3, 0x46, 0xC9, 0x0E, 0x11, 0x02, 0xC9, 0x0E, 0x10];
        assert_eq!(
            decode_value(&bytes, StructFormat::Bolt4),
            Ok(BoltValue::DateTime(DateTime { seconds: 1, nanoseconds: 2, tz_offset_seconds: 3600 }))
        );
        let zoned = [0xB3, 0x66, 0x01, 0x02, 0x83, b'U', b'T', b'C'];
        assert_eq!(
            decode_value(&zoned, StructFormat::Bolt4),
            Ok(BoltValue::LegacyDateTimeZoneId(LegacyDateTimeZoneId {
                local_seconds: 1,
                nanoseconds: 2,
                tz_id: "UTC".into()
            }))
        );
    }
}

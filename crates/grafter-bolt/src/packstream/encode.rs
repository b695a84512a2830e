//! Writing [`BoltValue`]s as PackStream bytes.
//!
//! Every value takes the smallest encoding the specification allows (a tiny int for
//! -16..=127, the shortest length prefix for strings, bytes, lists and dictionaries), which
//! is what servers and other drivers do and what keeps messages small for servers with tight
//! message limits. Structures are written per [`StructFormat`]: a Bolt 4.4 peer gets nodes
//! without element ids and date-times in local seconds.

use thiserror::Error;

use super::format::{MAX_DEPTH, StructFormat, marker};
use super::value::{
    BoltMap, BoltValue, Date, DateTime, DateTimeZoneId, Duration, LegacyDateTimeZoneId, LocalDateTime, LocalTime, Node,
    Path, Point2D, Point3D, Relationship, Structure, Time, UnboundRelationship, tag,
};

/// A value that cannot be written as PackStream for the negotiated version.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum EncodeError {
    /// A string, byte array, list or dictionary longer than PackStream's 32-bit size field.
    #[error("{what} of {len} entries is longer than PackStream allows (at most {max})", max = u32::MAX)]
    TooLong {
        /// "string", "bytes", "list" or "dictionary".
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A structure with more than 15 fields (the marker has four bits for the count).
    #[error("structure 0x{tag:02X} has {count} fields; PackStream allows at most 15")]
    TooManyFields {
        /// The structure tag.
        tag: u8,
        /// How many fields it had.
        count: usize,
    },
    /// A value with no encoding in the negotiated protocol version.
    #[error("a {type_name} cannot be sent over {format}: {why}")]
    NotInVersion {
        /// The value's type.
        type_name: &'static str,
        /// The negotiated structure format.
        format: StructFormat,
        /// Why not.
        why: &'static str,
    },
    /// Nesting deeper than [`MAX_DEPTH`].
    #[error("value nests deeper than {limit} levels")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
}

/// Appends `value` to `out` as PackStream.
pub fn encode_value(value: &BoltValue, format: StructFormat, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    Encoder { out, format }.value(value, 0)
}

/// The number of bytes `value` takes as PackStream.
pub fn encoded_len(value: &BoltValue, format: StructFormat) -> Result<usize, EncodeError> {
    let mut scratch = Vec::new();
    encode_value(value, format, &mut scratch)?;
    Ok(scratch.len())
}

/// Writes PackStream into a byte vector. Message encoding (`message.rs`) uses the header
/// writers directly to lay out message structures.
pub(crate) struct Encoder<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) format: StructFormat,
}

impl Encoder<'_> {
    pub(crate) fn value(&mut self, value: &BoltValue, depth: usize) -> Result<(), EncodeError> {
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep { limit: MAX_DEPTH });
        }
        match value {
            BoltValue::Null => self.out.push(marker::NULL),
            BoltValue::Boolean(b) => self.out.push(if *b { marker::TRUE } else { marker::FALSE }),
            BoltValue::Integer(i) => self.int(*i),
            BoltValue::Float(f) => {
                self.out.push(marker::FLOAT_64);
                self.out.extend_from_slice(&f.to_bits().to_be_bytes());
            }
            BoltValue::Bytes(bytes) => self.bytes(bytes)?,
            BoltValue::String(s) => self.string(s)?,
            BoltValue::List(items) => {
                self.list_header(items.len())?;
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            BoltValue::Dictionary(map) => self.map(map, depth)?,
            BoltValue::Node(node) => self.node(node, depth)?,
            BoltValue::Relationship(rel) => self.relationship(rel, depth)?,
            BoltValue::UnboundRelationship(rel) => self.unbound(rel, depth)?,
            BoltValue::Path(path) => self.path(path, depth)?,
            BoltValue::Date(Date { days }) => {
                self.struct_header(tag::DATE, 1)?;
                self.int(*days);
            }
            BoltValue::Time(Time { nanoseconds, tz_offset_seconds }) => {
                self.struct_header(tag::TIME, 2)?;
                self.int(*nanoseconds);
                self.int(*tz_offset_seconds);
            }
            BoltValue::LocalTime(LocalTime { nanoseconds }) => {
                self.struct_header(tag::LOCAL_TIME, 1)?;
                self.int(*nanoseconds);
            }
            BoltValue::DateTime(dt) => self.date_time(dt)?,
            BoltValue::DateTimeZoneId(DateTimeZoneId { seconds, nanoseconds, tz_id }) => {
                if self.format == StructFormat::Bolt4 {
                    // 4.4 wants local seconds, and turning UTC into the zone's wall clock needs
                    // a time zone database this crate does not carry.
                    return Err(EncodeError::NotInVersion {
                        type_name: "DateTimeZoneId",
                        format: self.format,
                        why: "Bolt 4.4 needs local seconds, which need a time zone database",
                    });
                }
                self.struct_header(tag::DATE_TIME_ZONE_ID, 3)?;
                self.int(*seconds);
                self.int(*nanoseconds);
                self.string(tz_id)?;
            }
            BoltValue::LegacyDateTimeZoneId(LegacyDateTimeZoneId { local_seconds, nanoseconds, tz_id }) => {
                if self.format == StructFormat::Bolt5 {
                    return Err(EncodeError::NotInVersion {
                        type_name: "LegacyDateTimeZoneId",
                        format: self.format,
                        why: "Bolt 5 needs UTC seconds, which need a time zone database",
                    });
                }
                self.struct_header(tag::LEGACY_DATE_TIME_ZONE_ID, 3)?;
                self.int(*local_seconds);
                self.int(*nanoseconds);
                self.string(tz_id)?;
            }
            BoltValue::LocalDateTime(LocalDateTime { seconds, nanoseconds }) => {
                self.struct_header(tag::LOCAL_DATE_TIME, 2)?;
                self.int(*seconds);
                self.int(*nanoseconds);
            }
            BoltValue::Duration(Duration { months, days, seconds, nanoseconds }) => {
                self.struct_header(tag::DURATION, 4)?;
                self.int(*months);
                self.int(*days);
                self.int(*seconds);
                self.int(*nanoseconds);
            }
            BoltValue::Point2D(Point2D { srid, x, y }) => {
                self.struct_header(tag::POINT_2D, 3)?;
                self.int(*srid);
                self.float(*x);
                self.float(*y);
            }
            BoltValue::Point3D(Point3D { srid, x, y, z }) => {
                self.struct_header(tag::POINT_3D, 4)?;
                self.int(*srid);
                self.float(*x);
                self.float(*y);
                self.float(*z);
            }
            BoltValue::Structure(Structure { tag, fields }) => {
                self.struct_header(*tag, fields.len())?;
                for field in fields {
                    self.value(field, depth + 1)?;
                }
            }
        }
        Ok(())
    }

    /// The smallest of the five integer encodings that holds `i`.
    pub(crate) fn int(&mut self, i: i64) {
        if (-16..=127).contains(&i) {
            // Tiny int: the byte is the value itself (two's complement).
            self.out.push(i as i8 as u8);
        } else if (i64::from(i8::MIN)..=-17).contains(&i) {
            // Positive values 128..=255 do not fit an INT_8 (it is signed), so only the
            // negative range below the tiny ints is left for it.
            self.out.push(marker::INT_8);
            self.out.push(i as i8 as u8);
        } else if let Ok(small) = i16::try_from(i) {
            self.out.push(marker::INT_16);
            self.out.extend_from_slice(&small.to_be_bytes());
        } else if let Ok(small) = i32::try_from(i) {
            self.out.push(marker::INT_32);
            self.out.extend_from_slice(&small.to_be_bytes());
        } else {
            self.out.push(marker::INT_64);
            self.out.extend_from_slice(&i.to_be_bytes());
        }
    }

    fn float(&mut self, f: f64) {
        self.out.push(marker::FLOAT_64);
        self.out.extend_from_slice(&f.to_bits().to_be_bytes());
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        // Bytes have no tiny form: the smallest marker is BYTES_8, even for an empty array.
        let len = bytes.len();
        if let Ok(n) = u8::try_from(len) {
            self.out.push(marker::BYTES_8);
            self.out.push(n);
        } else if let Ok(n) = u16::try_from(len) {
            self.out.push(marker::BYTES_16);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else if let Ok(n) = u32::try_from(len) {
            self.out.push(marker::BYTES_32);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            return Err(EncodeError::TooLong { what: "bytes", len });
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    pub(crate) fn string(&mut self, s: &str) -> Result<(), EncodeError> {
        self.sized_header(
            s.len(),
            marker::TINY_STRING,
            [marker::STRING_8, marker::STRING_16, marker::STRING_32],
            "string",
        )?;
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }

    pub(crate) fn list_header(&mut self, len: usize) -> Result<(), EncodeError> {
        self.sized_header(len, marker::TINY_LIST, [marker::LIST_8, marker::LIST_16, marker::LIST_32], "list")
    }

    pub(crate) fn map_header(&mut self, len: usize) -> Result<(), EncodeError> {
        self.sized_header(len, marker::TINY_MAP, [marker::MAP_8, marker::MAP_16, marker::MAP_32], "dictionary")
    }

    /// Tiny form (size in the marker's low nibble) up to 15, then 8/16/32-bit sizes.
    fn sized_header(&mut self, len: usize, tiny: u8, sized: [u8; 3], what: &'static str) -> Result<(), EncodeError> {
        if len < 16 {
            // len < 16, so it fits the marker's low four bits.
            self.out.push(tiny | len as u8);
        } else if let Ok(n) = u8::try_from(len) {
            self.out.push(sized[0]);
            self.out.push(n);
        } else if let Ok(n) = u16::try_from(len) {
            self.out.push(sized[1]);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else if let Ok(n) = u32::try_from(len) {
            self.out.push(sized[2]);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            return Err(EncodeError::TooLong { what, len });
        }
        Ok(())
    }

    pub(crate) fn struct_header(&mut self, tag: u8, fields: usize) -> Result<(), EncodeError> {
        if fields > 15 {
            return Err(EncodeError::TooManyFields { tag, count: fields });
        }
        // fields <= 15, so it fits the marker's low four bits.
        self.out.push(marker::TINY_STRUCT | fields as u8);
        self.out.push(tag);
        Ok(())
    }

    pub(crate) fn map(&mut self, map: &BoltMap, depth: usize) -> Result<(), EncodeError> {
        self.dictionary(map.len(), map.iter(), depth)
    }

    /// A dictionary from entries kept in their order (PackStream dictionaries are ordered on
    /// the wire; [`BoltMap`] sorts its keys).
    pub(crate) fn entries(&mut self, entries: &[(String, BoltValue)], depth: usize) -> Result<(), EncodeError> {
        self.dictionary(entries.len(), entries.iter().map(|(k, v)| (k, v)), depth)
    }

    fn dictionary<'a>(
        &mut self,
        len: usize,
        entries: impl Iterator<Item = (&'a String, &'a BoltValue)>,
        depth: usize,
    ) -> Result<(), EncodeError> {
        if depth > MAX_DEPTH {
            return Err(EncodeError::TooDeep { limit: MAX_DEPTH });
        }
        self.map_header(len)?;
        for (key, value) in entries {
            self.string(key)?;
            self.value(value, depth + 1)?;
        }
        Ok(())
    }

    fn string_list(&mut self, items: &[String]) -> Result<(), EncodeError> {
        self.list_header(items.len())?;
        for item in items {
            self.string(item)?;
        }
        Ok(())
    }

    fn node(&mut self, node: &Node, depth: usize) -> Result<(), EncodeError> {
        let v5 = self.format == StructFormat::Bolt5;
        self.struct_header(tag::NODE, if v5 { 4 } else { 3 })?;
        self.int(node.id);
        self.string_list(&node.labels)?;
        self.map(&node.properties, depth + 1)?;
        if v5 {
            self.string(&node.element_id)?;
        }
        Ok(())
    }

    fn relationship(&mut self, rel: &Relationship, depth: usize) -> Result<(), EncodeError> {
        let v5 = self.format == StructFormat::Bolt5;
        self.struct_header(tag::RELATIONSHIP, if v5 { 8 } else { 5 })?;
        self.int(rel.id);
        self.int(rel.start_node_id);
        self.int(rel.end_node_id);
        self.string(&rel.rel_type)?;
        self.map(&rel.properties, depth + 1)?;
        if v5 {
            self.string(&rel.element_id)?;
            self.string(&rel.start_node_element_id)?;
            self.string(&rel.end_node_element_id)?;
        }
        Ok(())
    }

    fn unbound(&mut self, rel: &UnboundRelationship, depth: usize) -> Result<(), EncodeError> {
        let v5 = self.format == StructFormat::Bolt5;
        self.struct_header(tag::UNBOUND_RELATIONSHIP, if v5 { 4 } else { 3 })?;
        self.int(rel.id);
        self.string(&rel.rel_type)?;
        self.map(&rel.properties, depth + 1)?;
        if v5 {
            self.string(&rel.element_id)?;
        }
        Ok(())
    }

    fn path(&mut self, path: &Path, depth: usize) -> Result<(), EncodeError> {
        self.struct_header(tag::PATH, 3)?;
        self.list_header(path.nodes.len())?;
        for node in &path.nodes {
            self.node(node, depth + 1)?;
        }
        self.list_header(path.rels.len())?;
        for rel in &path.rels {
            self.unbound(rel, depth + 1)?;
        }
        self.list_header(path.indices.len())?;
        for index in &path.indices {
            self.int(*index);
        }
        Ok(())
    }

    fn date_time(&mut self, dt: &DateTime) -> Result<(), EncodeError> {
        match self.format {
            StructFormat::Bolt5 => {
                self.struct_header(tag::DATE_TIME, 3)?;
                self.int(dt.seconds);
            }
            StructFormat::Bolt4 => {
                // Legacy 0x46 carries the wall-clock seconds: UTC seconds plus the offset.
                let local = dt.seconds.checked_add(dt.tz_offset_seconds).ok_or(EncodeError::NotInVersion {
                    type_name: "DateTime",
                    format: self.format,
                    why: "seconds plus offset overflow a 64-bit integer",
                })?;
                self.struct_header(tag::LEGACY_DATE_TIME, 3)?;
                self.int(local);
            }
        }
        self.int(dt.nanoseconds);
        self.int(dt.tz_offset_seconds);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(value: BoltValue) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(&value, StructFormat::Bolt5, &mut out).expect("encodes");
        out
    }

    // Byte sequences below are the examples of the PackStream specification.

    #[test]
    fn null_and_booleans() {
        assert_eq!(enc(BoltValue::Null), [0xC0]);
        assert_eq!(enc(BoltValue::Boolean(true)), [0xC3]);
        assert_eq!(enc(BoltValue::Boolean(false)), [0xC2]);
    }

    #[test]
    fn integers_take_the_smallest_encoding() {
        assert_eq!(enc(1.into()), [0x01]);
        assert_eq!(enc(42.into()), [0x2A]);
        assert_eq!(enc(127.into()), [0x7F]);
        assert_eq!(enc((-16).into()), [0xF0]);
        assert_eq!(enc((-17).into()), [0xC8, 0xEF]);
        assert_eq!(enc((-128).into()), [0xC8, 0x80]);
        assert_eq!(enc(128.into()), [0xC9, 0x00, 0x80]);
        assert_eq!(enc(1234.into()), [0xC9, 0x04, 0xD2]);
        assert_eq!(enc((-129).into()), [0xC9, 0xFF, 0x7F]);
        assert_eq!(enc(32_767.into()), [0xC9, 0x7F, 0xFF]);
        assert_eq!(enc(32_768.into()), [0xCA, 0x00, 0x00, 0x80, 0x00]);
        assert_eq!(enc((-32_769).into()), [0xCA, 0xFF, 0xFF, 0x7F, 0xFF]);
        assert_eq!(enc(BoltValue::Integer(2_147_483_648)), [0xCB, 0, 0, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(enc(BoltValue::Integer(i64::MIN)), [0xCB, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn floats() {
        assert_eq!(enc(1.23.into()), [0xC1, 0x3F, 0xF3, 0xAE, 0x14, 0x7A, 0xE1, 0x47, 0xAE]);
        assert_eq!(enc((-1.1).into()), [0xC1, 0xBF, 0xF1, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9A]);
    }

    #[test]
    fn bytes() {
        assert_eq!(enc(BoltValue::Bytes(vec![])), [0xCC, 0x00]);
        assert_eq!(enc(BoltValue::Bytes(vec![1, 2, 3])), [0xCC, 0x03, 1, 2, 3]);
        let out = enc(BoltValue::Bytes(vec![0; 256]));
        assert_eq!(out[..3], [0xCD, 0x01, 0x00]);
        let out = enc(BoltValue::Bytes(vec![0; 65_536]));
        assert_eq!(out[..5], [0xCE, 0x00, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn strings() {
        assert_eq!(enc("".into()), [0x80]);
        assert_eq!(enc("A".into()), [0x81, 0x41]);
        assert_eq!(enc("Größenmaßstäbe".into())[..2], [0xD0, 0x12]);
        let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let out = enc(alphabet.into());
        assert_eq!(out[..2], [0xD0, 0x1A]);
        assert_eq!(&out[2..], alphabet.as_bytes());
        assert_eq!(enc("x".repeat(256).into())[..3], [0xD1, 0x01, 0x00]);
        assert_eq!(enc("x".repeat(65_536).into())[..5], [0xD2, 0x00, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn lists() {
        assert_eq!(enc(BoltValue::List(vec![])), [0x90]);
        assert_eq!(enc(BoltValue::List(vec![1.into(), 2.into(), 3.into()])), [0x93, 0x01, 0x02, 0x03]);
        let forty: Vec<BoltValue> = (1..=40).map(BoltValue::from).collect();
        let out = enc(BoltValue::List(forty));
        assert_eq!(out[..3], [0xD4, 0x28, 0x01]);
        assert_eq!(enc(BoltValue::List(vec![BoltValue::Null; 256]))[..3], [0xD5, 0x01, 0x00]);
        assert_eq!(enc(BoltValue::List(vec![BoltValue::Null; 65_536]))[..5], [0xD6, 0x00, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn dictionaries() {
        assert_eq!(enc(BoltValue::Dictionary(BoltMap::new())), [0xA0]);
        let map = crate::bolt_map! { "one" => "eins" };
        assert_eq!(enc(map.into()), [0xA1, 0x83, 0x6F, 0x6E, 0x65, 0x84, 0x65, 0x69, 0x6E, 0x73]);
        let big: BoltMap = (0..16).map(|i| (format!("k{i:02}"), BoltValue::Null)).collect();
        assert_eq!(enc(big.into())[..2], [0xD8, 0x10]);
    }

    #[test]
    fn structures() {
        assert_eq!(enc(BoltValue::Date(Date { days: 1 })), [0xB1, 0x44, 0x01]);
        let dt = DateTime { seconds: 1, nanoseconds: 2, tz_offset_seconds: 3600 };
        assert_eq!(enc(BoltValue::DateTime(dt)), [0xB3, 0x49, 0x01, 0x02, 0xC9, 0x0E, 0x10]);
        // Bolt 4.4 writes the legacy tag and local seconds (1 + 3600 = 3601).
        let mut legacy = Vec::new();
        encode_value(&BoltValue::DateTime(dt), StructFormat::Bolt4, &mut legacy).expect("encodes");
        assert_eq!(legacy, [0xB3, 0x46, 0xC9, 0x0E, 0x11, 0x02, 0xC9, 0x0E, 0x10]);
        let unknown = Structure { tag: 0x01, fields: vec![BoltValue::Null; 16] };
        assert_eq!(
            encode_value(&BoltValue::Structure(unknown), StructFormat::Bolt5, &mut Vec::new()),
            Err(EncodeError::TooManyFields { tag: 0x01, count: 16 })
        );
    }

    #[test]
    fn nodes_follow_the_version() {
        let node = Node { id: 1, labels: vec!["A".into()], properties: BoltMap::new(), element_id: "e1".into() };
        assert_eq!(enc(BoltValue::Node(node.clone())), [0xB4, 0x4E, 0x01, 0x91, 0x81, 0x41, 0xA0, 0x82, 0x65, 0x31]);
        let mut v4 = Vec::new();
        encode_value(&BoltValue::Node(node), StructFormat::Bolt4, &mut v4).expect("encodes");
        assert_eq!(v4, [0xB3, 0x4E, 0x01, 0x91, 0x81, 0x41, 0xA0]);
    }

    #[test]
    fn zone_id_date_times_refuse_the_other_version() {
        let zoned =
            BoltValue::DateTimeZoneId(DateTimeZoneId { seconds: 0, nanoseconds: 0, tz_id: "Europe/Paris".into() });
        assert!(matches!(
            encode_value(&zoned, StructFormat::Bolt4, &mut Vec::new()),
            Err(EncodeError::NotInVersion { type_name: "DateTimeZoneId", .. })
        ));
    }

    #[test]
    fn nesting_is_bounded() {
        let mut value = BoltValue::Null;
        for _ in 0..(MAX_DEPTH + 2) {
            value = BoltValue::List(vec![value]);
        }
        assert_eq!(
            encode_value(&value, StructFormat::Bolt5, &mut Vec::new()),
            Err(EncodeError::TooDeep { limit: MAX_DEPTH })
        );
    }
}

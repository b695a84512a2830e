//! [`BoltValue`]: every value PackStream can carry, with Bolt's structures typed.
//!
//! PackStream itself knows ten kinds of value (Null, Boolean, Integer, Float, Bytes, String,
//! List, Dictionary, Structure); Bolt gives meaning to a set of structure tags (nodes,
//! relationships, paths, temporal and spatial values). Known tags decode into their own
//! variant here so callers never have to read raw fields; a structure with a tag Bolt does
//! not define stays a generic [`Structure`], so nothing a server sends is lost.
//!
//! Temporal values keep the wire's own fields (days, seconds, nanoseconds, offsets) rather
//! than a calendar library's types: the mapping to grafter's `Value` lives in `convert.rs`.

use std::collections::BTreeMap;

/// A PackStream dictionary. Bolt dictionaries have string keys; sorted keys make encoding
/// deterministic, which the byte-cap batch sizing relies on.
pub type BoltMap = BTreeMap<String, BoltValue>;

/// Structure tag bytes Bolt assigns (Bolt "structure semantics").
pub mod tag {
    /// Node.
    pub const NODE: u8 = 0x4E;
    /// Relationship.
    pub const RELATIONSHIP: u8 = 0x52;
    /// UnboundRelationship (inside a Path).
    pub const UNBOUND_RELATIONSHIP: u8 = 0x72;
    /// Path.
    pub const PATH: u8 = 0x50;
    /// Date.
    pub const DATE: u8 = 0x44;
    /// Time (with offset).
    pub const TIME: u8 = 0x54;
    /// LocalTime.
    pub const LOCAL_TIME: u8 = 0x74;
    /// DateTime with offset, UTC-based seconds (Bolt 5.0+, or 4.4 with the `utc` patch).
    pub const DATE_TIME: u8 = 0x49;
    /// DateTime with zone id, UTC-based seconds (Bolt 5.0+).
    pub const DATE_TIME_ZONE_ID: u8 = 0x69;
    /// Legacy DateTime with offset, local seconds (Bolt 4.x and earlier).
    pub const LEGACY_DATE_TIME: u8 = 0x46;
    /// Legacy DateTime with zone id, local seconds (Bolt 4.x and earlier).
    pub const LEGACY_DATE_TIME_ZONE_ID: u8 = 0x66;
    /// LocalDateTime.
    pub const LOCAL_DATE_TIME: u8 = 0x64;
    /// Duration.
    pub const DURATION: u8 = 0x45;
    /// Point2D.
    pub const POINT_2D: u8 = 0x58;
    /// Point3D.
    pub const POINT_3D: u8 = 0x59;
}

/// One PackStream value.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum BoltValue {
    /// Null (marker 0xC0).
    #[default]
    Null,
    /// Boolean (0xC2 false, 0xC3 true).
    Boolean(bool),
    /// 64-bit signed integer, sent in the smallest of its encodings.
    Integer(i64),
    /// 64-bit IEEE 754 float (0xC1).
    Float(f64),
    /// A byte array (0xCC..0xCE).
    Bytes(Vec<u8>),
    /// A UTF-8 string.
    String(String),
    /// A list of values.
    List(Vec<BoltValue>),
    /// A dictionary with string keys.
    Dictionary(BoltMap),
    /// A graph node.
    Node(Node),
    /// A relationship with its end points.
    Relationship(Relationship),
    /// A relationship without end points, as paths carry them.
    UnboundRelationship(UnboundRelationship),
    /// A path.
    Path(Path),
    /// A calendar date.
    Date(Date),
    /// A time of day with a UTC offset.
    Time(Time),
    /// A time of day without zone.
    LocalTime(LocalTime),
    /// An instant with a UTC offset.
    DateTime(DateTime),
    /// An instant with a named time zone.
    DateTimeZoneId(DateTimeZoneId),
    /// A 4.x zone-id date-time, in local seconds: it cannot become UTC without a time zone
    /// database, so it is kept as the server sent it.
    LegacyDateTimeZoneId(LegacyDateTimeZoneId),
    /// A date and time without zone.
    LocalDateTime(LocalDateTime),
    /// A calendar duration.
    Duration(Duration),
    /// A 2D point.
    Point2D(Point2D),
    /// A 3D point.
    Point3D(Point3D),
    /// A structure whose tag Bolt does not define.
    Structure(Structure),
}

/// A structure with a tag Bolt gives no meaning to: kept raw.
#[derive(Debug, Clone, PartialEq)]
pub struct Structure {
    /// The tag byte.
    pub tag: u8,
    /// The fields (at most 15: the structure marker has four bits for the count).
    pub fields: Vec<BoltValue>,
}

/// A node (tag 0x4E). Bolt 4.4 sends no element id; the decoder fills it with the
/// integer id as a string, as the official drivers do, so callers can always use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Legacy integer id.
    pub id: i64,
    /// Labels.
    pub labels: Vec<String>,
    /// Properties.
    pub properties: BoltMap,
    /// Element id (Bolt 5.0+).
    pub element_id: String,
}

/// A relationship (tag 0x52).
#[derive(Debug, Clone, PartialEq)]
pub struct Relationship {
    /// Legacy integer id.
    pub id: i64,
    /// Start node's integer id.
    pub start_node_id: i64,
    /// End node's integer id.
    pub end_node_id: i64,
    /// Relationship type.
    pub rel_type: String,
    /// Properties.
    pub properties: BoltMap,
    /// Element id (Bolt 5.0+).
    pub element_id: String,
    /// Start node's element id (Bolt 5.0+).
    pub start_node_element_id: String,
    /// End node's element id (Bolt 5.0+).
    pub end_node_element_id: String,
}

/// A relationship without its end points (tag 0x72), as a [`Path`] carries it.
#[derive(Debug, Clone, PartialEq)]
pub struct UnboundRelationship {
    /// Legacy integer id.
    pub id: i64,
    /// Relationship type.
    pub rel_type: String,
    /// Properties.
    pub properties: BoltMap,
    /// Element id (Bolt 5.0+).
    pub element_id: String,
}

/// A path (tag 0x50): its distinct nodes and relationships, and the index sequence that
/// walks them (relationship indices are 1-based and negative when walked backwards).
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// Distinct nodes.
    pub nodes: Vec<Node>,
    /// Distinct relationships.
    pub rels: Vec<UnboundRelationship>,
    /// Alternating relationship and node indices.
    pub indices: Vec<i64>,
}

/// A date (tag 0x44): days since 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Date {
    /// Days since the Unix epoch.
    pub days: i64,
}

/// A time of day with offset (tag 0x54).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Time {
    /// Nanoseconds since midnight (local time).
    pub nanoseconds: i64,
    /// Offset from UTC in seconds.
    pub tz_offset_seconds: i64,
}

/// A time of day without zone (tag 0x74).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalTime {
    /// Nanoseconds since midnight.
    pub nanoseconds: i64,
}

/// An instant with a UTC offset. `seconds` are UTC seconds since the epoch (Bolt 5
/// semantics); on Bolt 4.4 the codec converts from and to the legacy local seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// UTC seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// Offset from UTC in seconds.
    pub tz_offset_seconds: i64,
}

/// An instant in a named zone (tag 0x69): UTC seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DateTimeZoneId {
    /// UTC seconds since the epoch.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// IANA zone name.
    pub tz_id: String,
}

/// A Bolt 4.x zone-id date-time (tag 0x66): local seconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LegacyDateTimeZoneId {
    /// Local seconds since the epoch (wall clock in `tz_id`, counted as if it were UTC).
    pub local_seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
    /// IANA zone name.
    pub tz_id: String,
}

/// A date and time without zone (tag 0x64).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LocalDateTime {
    /// Seconds since the epoch, as if the wall clock were UTC.
    pub seconds: i64,
    /// Nanoseconds within the second.
    pub nanoseconds: i64,
}

/// A duration (tag 0x45).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Duration {
    /// Months.
    pub months: i64,
    /// Days.
    pub days: i64,
    /// Seconds.
    pub seconds: i64,
    /// Nanoseconds (the spec requires 0..=999_999_999 when sent).
    pub nanoseconds: i64,
}

/// A 2D point (tag 0x58).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point2D {
    /// Coordinate reference system (4326 = WGS-84, 7203 = cartesian).
    pub srid: i64,
    /// x (or longitude).
    pub x: f64,
    /// y (or latitude).
    pub y: f64,
}

/// A 3D point (tag 0x59).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point3D {
    /// Coordinate reference system (4979 = WGS-84 3D, 9157 = cartesian 3D).
    pub srid: i64,
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
}

impl BoltValue {
    /// The value's PackStream/Bolt type name, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            BoltValue::Null => "Null",
            BoltValue::Boolean(_) => "Boolean",
            BoltValue::Integer(_) => "Integer",
            BoltValue::Float(_) => "Float",
            BoltValue::Bytes(_) => "Bytes",
            BoltValue::String(_) => "String",
            BoltValue::List(_) => "List",
            BoltValue::Dictionary(_) => "Dictionary",
            BoltValue::Node(_) => "Node",
            BoltValue::Relationship(_) => "Relationship",
            BoltValue::UnboundRelationship(_) => "UnboundRelationship",
            BoltValue::Path(_) => "Path",
            BoltValue::Date(_) => "Date",
            BoltValue::Time(_) => "Time",
            BoltValue::LocalTime(_) => "LocalTime",
            BoltValue::DateTime(_) => "DateTime",
            BoltValue::DateTimeZoneId(_) => "DateTimeZoneId",
            BoltValue::LegacyDateTimeZoneId(_) => "LegacyDateTimeZoneId",
            BoltValue::LocalDateTime(_) => "LocalDateTime",
            BoltValue::Duration(_) => "Duration",
            BoltValue::Point2D(_) => "Point2D",
            BoltValue::Point3D(_) => "Point3D",
            BoltValue::Structure(_) => "Structure",
        }
    }

    /// The string inside, if this is a String.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            BoltValue::String(s) => Some(s),
            _ => None,
        }
    }

    /// The integer inside, if this is an Integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            BoltValue::Integer(i) => Some(*i),
            _ => None,
        }
    }

    /// The boolean inside, if this is a Boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            BoltValue::Boolean(b) => Some(*b),
            _ => None,
        }
    }

    /// The list inside, if this is a List.
    pub fn as_list(&self) -> Option<&[BoltValue]> {
        match self {
            BoltValue::List(items) => Some(items),
            _ => None,
        }
    }

    /// The dictionary inside, if this is a Dictionary.
    pub fn as_map(&self) -> Option<&BoltMap> {
        match self {
            BoltValue::Dictionary(map) => Some(map),
            _ => None,
        }
    }

    /// Whether this is Null.
    pub fn is_null(&self) -> bool {
        matches!(self, BoltValue::Null)
    }
}

impl From<bool> for BoltValue {
    fn from(b: bool) -> Self {
        BoltValue::Boolean(b)
    }
}

impl From<i64> for BoltValue {
    fn from(i: i64) -> Self {
        BoltValue::Integer(i)
    }
}

impl From<i32> for BoltValue {
    fn from(i: i32) -> Self {
        BoltValue::Integer(i64::from(i))
    }
}

impl From<f64> for BoltValue {
    fn from(f: f64) -> Self {
        BoltValue::Float(f)
    }
}

impl From<&str> for BoltValue {
    fn from(s: &str) -> Self {
        BoltValue::String(s.to_owned())
    }
}

impl From<String> for BoltValue {
    fn from(s: String) -> Self {
        BoltValue::String(s)
    }
}

impl From<Vec<u8>> for BoltValue {
    fn from(b: Vec<u8>) -> Self {
        BoltValue::Bytes(b)
    }
}

impl From<Vec<BoltValue>> for BoltValue {
    fn from(items: Vec<BoltValue>) -> Self {
        BoltValue::List(items)
    }
}

impl From<BoltMap> for BoltValue {
    fn from(map: BoltMap) -> Self {
        BoltValue::Dictionary(map)
    }
}

impl<T: Into<BoltValue>> From<Option<T>> for BoltValue {
    fn from(value: Option<T>) -> Self {
        value.map_or(BoltValue::Null, Into::into)
    }
}

/// Builds a [`BoltMap`] from `key => value` pairs: `bolt_map! { "x" => 1, "name" => "a" }`.
#[macro_export]
macro_rules! bolt_map {
    () => { $crate::BoltMap::new() };
    ($($key:expr => $value:expr),+ $(,)?) => {{
        let mut map = $crate::BoltMap::new();
        $( map.insert(::std::string::String::from($key), $crate::BoltValue::from($value)); )+
        map
    }};
}

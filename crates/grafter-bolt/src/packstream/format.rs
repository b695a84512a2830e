//! What the encoder and the decoder agree on: the markers of PackStream's value types, the
//! nesting bound, and the structure layouts of the negotiated Bolt version.

/// How deep lists, dictionaries and structures may nest. The decoder recurses, so without
/// a bound a hostile peer could overflow the stack with a few kilobytes of list markers;
/// real data never comes near this.
pub const MAX_DEPTH: usize = 64;

/// The structure layouts of one family of Bolt versions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StructFormat {
    /// Bolt 4.4: no element ids, date-times in local seconds (tags 0x46 / 0x66).
    Bolt4,
    /// Bolt 5.x: element ids on nodes and relationships, date-times in UTC seconds
    /// (tags 0x49 / 0x69).
    Bolt5,
}

impl std::fmt::Display for StructFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            StructFormat::Bolt4 => "Bolt 4.4",
            StructFormat::Bolt5 => "Bolt 5",
        })
    }
}

/// PackStream marker bytes (the PackStream specification's marker table).
pub(crate) mod marker {
    pub const NULL: u8 = 0xC0;
    pub const FLOAT_64: u8 = 0xC1;
    pub const FALSE: u8 = 0xC2;
    pub const TRUE: u8 = 0xC3;
    pub const INT_8: u8 = 0xC8;
    pub const INT_16: u8 = 0xC9;
    pub const INT_32: u8 = 0xCA;
    pub const INT_64: u8 = 0xCB;
    pub const BYTES_8: u8 = 0xCC;
    pub const BYTES_16: u8 = 0xCD;
    pub const BYTES_32: u8 = 0xCE;
    pub const TINY_STRING: u8 = 0x80;
    pub const STRING_8: u8 = 0xD0;
    pub const STRING_16: u8 = 0xD1;
    pub const STRING_32: u8 = 0xD2;
    pub const TINY_LIST: u8 = 0x90;
    pub const LIST_8: u8 = 0xD4;
    pub const LIST_16: u8 = 0xD5;
    pub const LIST_32: u8 = 0xD6;
    pub const TINY_MAP: u8 = 0xA0;
    pub const MAP_8: u8 = 0xD8;
    pub const MAP_16: u8 = 0xD9;
    pub const MAP_32: u8 = 0xDA;
    pub const TINY_STRUCT: u8 = 0xB0;
}

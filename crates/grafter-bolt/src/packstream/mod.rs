//! PackStream: Bolt's binary value format.
//!
//! [`value`] defines [`BoltValue`] and the Bolt structures, [`encode`] writes values in the
//! smallest encoding each one has, [`decode`] reads them back from untrusted bytes and names
//! the marker and offset of anything it cannot read. Both take a [`StructFormat`], because
//! the negotiated Bolt version changes how some structures look on the wire (element ids
//! arrived in 5.0, and date-times switched from local to UTC seconds).
//!
//! Messages (`message.rs`) are PackStream structures too, so they are written with the
//! same encoder.

pub mod decode;
pub mod encode;
mod format;
pub mod value;

pub use decode::{DecodeError, decode_value};
pub use encode::{EncodeError, encode_value, encoded_len};
pub use format::{MAX_DEPTH, StructFormat};
pub use value::{BoltMap, BoltValue};

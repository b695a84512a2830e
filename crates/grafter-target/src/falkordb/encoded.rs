//! A batch in the form FalkorDB's writer sends ([`EncodedBatch`]), made by `write::encode`
//! on a worker thread and carried to the writer in [`crate::Encoded`]. A leaf.

use crate::cypher::batch::PreparedBatch;

/// A batch ready to send: the prepared records, and their rows as parameter text unless
/// the batch may go in bulk (`bulk.rs` takes the values as they are).
pub(crate) struct EncodedBatch {
    pub prepared: PreparedBatch,
    pub literals: Option<Literals>,
}

/// A batch's rows as parameter text.
pub(crate) struct Literals {
    /// `[i, key…]` per record, as literals.
    pub lookup_rows: Vec<String>,
    /// `[i, key…, property…]` per record, as literals.
    pub write_rows: Vec<String>,
}

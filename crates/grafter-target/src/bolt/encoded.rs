//! A batch in the form the Bolt writer sends ([`BoltBatch`]), made by `write::encode` on a
//! worker thread and carried to the writer in [`crate::Encoded`]. A leaf.

use grafter_bolt::BoltValue;

use crate::cypher::batch::PreparedBatch;

/// A row as a parameter, with the positions of its doubles sent as `[m, e]`.
pub(crate) type Row = (BoltValue, Vec<usize>);

/// A batch ready to send.
pub(crate) struct BoltBatch {
    pub prepared: PreparedBatch,
    /// `[i, key…]` per record in `prepared.positions`.
    pub lookup: Vec<Row>,
    /// `[i, key…, property…]` per record in `prepared.positions`.
    pub rows: Vec<Row>,
}

//! [`Encoded`]: a batch in a target's own form, made by [`crate::GraphLoader::encode`] on a
//! worker thread and consumed by the same target's [`crate::GraphLoader::write`]. Each store
//! keeps its form in a leaf of its own folder (`<store>/encoded.rs`) and names it here, in one
//! line of [`Form`]: the writer takes its variant apart, with no cast.

/// A batch encoded by a target, ready for its writer.
pub struct Encoded {
    records: usize,
    pub(crate) form: Form,
}

/// The forms of the stores: one variant per store.
pub(crate) enum Form {
    /// The null target keeps nothing but the count.
    Null,
    /// The embedded store's own types.
    #[cfg(feature = "grafeo")]
    Grafeo(crate::grafeo::encoded::EncodedBatch),
    /// FalkorDB's parameter text or bulk values.
    #[cfg(feature = "falkordb")]
    FalkorDb(crate::falkordb::encoded::EncodedBatch),
    /// Bolt parameters.
    #[cfg(feature = "bolt")]
    Bolt(crate::bolt::encoded::BoltBatch),
}

impl Encoded {
    /// What a writer says when handed a batch another kind of target encoded (the engine
    /// encodes and writes through the same target, so this is a bug, not a user's error).
    pub(crate) const MISMATCH: &'static str = "the batch was encoded by another kind of target";

    /// Wraps a store's batch of `records` records.
    pub(crate) fn new(records: usize, form: Form) -> Encoded {
        Encoded { records, form }
    }

    /// Number of records.
    pub fn records(&self) -> usize {
        self.records
    }
}

impl std::fmt::Debug for Encoded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Encoded({} records)", self.records)
    }
}

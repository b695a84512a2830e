//! What every Cypher server gets written once: a server target says which [`CypherRunner`]
//! carries its statements and how a value reads back ([`CypherServer`]), and gets its
//! [`RunRecords`] — checkpoints and run history as `_Grafter…` nodes
//! ([`super::bookkeeping`]) — and its [`GraphReader`] — paged or streamed scans, counts,
//! lookups, the fingerprint and the census ([`super::scan`], [`super::census`]) — from the
//! blanket implementations here. The lease lock stays each server's own: FalkorDB locks
//! with its own commands, the Bolt servers with a fenced Cypher node.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use grafter_model::{Fingerprint, RunRecord, Value};

use super::{CypherRunner, bookkeeping, census, scan};
use crate::{
    Census, CensusPart, Checkpoint, EndpointSpec, GraphReader, KeyConstraint, KeyIndex, KnownProperties, RowStream,
    RunRecords, TargetError,
};

/// Keys looked up per statement by [`GraphReader::lookup_nodes`] (as many as fit the cap:
/// see [`CypherRunner::fit`]).
const LOOKUP_KEYS: usize = 5_000;

/// A store that speaks Cypher to a server.
pub(crate) trait CypherServer: Send + Sync {
    /// What carries the statements (shared: a read's stream outlives the call).
    fn runner(&self) -> Arc<dyn CypherRunner>;

    /// The value `value` becomes once stored and read back (see
    /// [`GraphReader::stored_form`]).
    fn reads_back_as(&self, value: Value) -> Value;

    /// The most text one statement may carry of a run record, which is then saved in parts
    /// (FalkorDB's Bolt port takes statements of a few KB); `None`: no limit.
    fn record_text_limit(&self) -> Option<usize> {
        None
    }

    /// A read query listing the node keys under a uniqueness constraint, one row of (label,
    /// list of properties, whether it works yet) each; `None` where the target makes none.
    fn key_constraints_query(&self) -> Option<&'static str> {
        None
    }

    /// Whether the server counts a type's relationships without reading them (see
    /// [`GraphReader::relationship_counts`]).
    fn counts_relationships_by_type(&self) -> bool {
        false
    }
}

#[async_trait]
impl<T: CypherServer> RunRecords for T {
    async fn save_checkpoints(&self, checkpoints: &[Checkpoint]) -> Result<(), TargetError> {
        bookkeeping::save_checkpoints(self.runner().as_ref(), checkpoints).await
    }

    async fn checkpoints(&self, run_id: &str) -> Result<Vec<Checkpoint>, TargetError> {
        bookkeeping::checkpoints(self.runner().as_ref(), run_id).await
    }

    async fn latest_checkpoints(&self, mapping: &str, checksum: &str) -> Result<Vec<Checkpoint>, TargetError> {
        bookkeeping::latest_checkpoints(self.runner().as_ref(), mapping, checksum).await
    }

    async fn save_run(&self, record: &RunRecord) -> Result<(), TargetError> {
        bookkeeping::save_run(self.runner().as_ref(), record, self.record_text_limit()).await
    }

    async fn runs(&self) -> Result<Vec<RunRecord>, TargetError> {
        bookkeeping::runs(self.runner().as_ref()).await
    }
}

#[async_trait]
impl<T: CypherServer> GraphReader for T {
    async fn fingerprint(&self) -> Result<Fingerprint, TargetError> {
        scan::fingerprint(self.runner()).await
    }

    fn stored_form(&self, value: Value) -> Value {
        self.reads_back_as(value)
    }

    async fn scan_nodes(&self, label: &str, properties: &[String]) -> Result<RowStream, TargetError> {
        Ok(scan::nodes(self.runner(), label, properties))
    }

    async fn scan_relationships(
        &self,
        rel_type: &str,
        start: &EndpointSpec,
        end: &EndpointSpec,
        properties: &[String],
    ) -> Result<RowStream, TargetError> {
        Ok(scan::relationships(self.runner(), rel_type, start, end, properties, false))
    }

    async fn key_constraints(&self) -> Result<Option<Vec<KeyConstraint>>, TargetError> {
        let Some(query) = self.key_constraints_query() else { return Ok(None) };
        let rows = self.runner().read(query, &[]).await?;
        Ok(Some(
            rows.into_iter()
                .filter_map(|row| match row.as_slice() {
                    [Value::String(label), Value::List(properties), Value::Bool(working)] => Some(KeyConstraint {
                        key: KeyIndex {
                            label: label.clone(),
                            properties: properties.iter().map(ToString::to_string).collect(),
                        },
                        working: *working,
                    }),
                    _ => None,
                })
                .collect(),
        ))
    }

    async fn relationship_counts(&self) -> Result<Option<BTreeMap<String, u64>>, TargetError> {
        if !self.counts_relationships_by_type() {
            return Ok(None);
        }
        census::relationship_counts(self.runner().as_ref()).await.map(Some)
    }

    async fn scan_relationships_counting_properties(
        &self,
        rel_type: &str,
        start: &EndpointSpec,
        end: &EndpointSpec,
        properties: &[String],
    ) -> Result<RowStream, TargetError> {
        Ok(scan::relationships(self.runner(), rel_type, start, end, properties, true))
    }

    async fn count_nodes(&self, label: &str) -> Result<u64, TargetError> {
        scan::count_nodes(self.runner().as_ref(), label).await
    }

    async fn count_relationships(
        &self,
        rel_type: &str,
        start_label: &str,
        end_label: &str,
    ) -> Result<u64, TargetError> {
        scan::count_relationships(self.runner().as_ref(), rel_type, start_label, end_label).await
    }

    async fn lookup_nodes(
        &self,
        label: &str,
        key_properties: &[String],
        keys: &[Vec<Value>],
        properties: &[String],
    ) -> Result<Vec<Vec<Value>>, TargetError> {
        scan::lookup_nodes(self.runner().as_ref(), label, key_properties, keys, properties, LOOKUP_KEYS).await
    }

    async fn census(&self, questions: &[KnownProperties], part: CensusPart) -> Result<Census, TargetError> {
        census::census(self.runner(), questions, part).await
    }
}

//! Labels new to the graph, which a run writes without marks.
//!
//! What a run writes carries the `_grafter_run` mark until the run finishes, so that its
//! lookups tell the run's elements from older ones. Removing the marks costs as much as
//! writing them: 20 of the 58 seconds of a 1M-node, 1M-relationship load into Neo4j. A label
//! that holds no node when the run first writes it needs none: every node of it is the
//! run's, and so is every relationship between two such labels (the run holds the lock).
//! The run *owns* those labels: it writes their elements unmarked, and its lookups take any
//! element found there as its own (`owned` in [`crate::cypher::queries`]).
//!
//! Each owned node batch's checkpoint names its label (`bookkeeping::OWNED_LABEL`), in the
//! batch's transaction, so a resumed run reads back which labels the attempts before it
//! owned. A label neither named there nor empty when first written is not owned.
//!
//! Where the server keeps a uniqueness constraint on the key of an owned label (Neo4j), its
//! node batches skip the lookup too: `CREATE` alone, and the constraint refuses a key met
//! before. Such a batch is then written again the lookup way, which rejects the duplicate
//! with its reason, and so are the label's later batches in this process.

use std::collections::{HashMap, HashSet};

use crate::cypher::batch::Shape;
use crate::cypher::{CypherRunner, bookkeeping, scan};
use crate::{KeyIndex, TargetError};

use super::client::Client;

/// What this process knows of the run's owned labels.
#[derive(Default)]
struct State {
    /// The labels the run's checkpoints name as owned; `None` until read back.
    named: Option<HashSet<String>>,
    /// Labels asked about in this process: whether the run owns them.
    asked: HashMap<String, bool>,
    /// Whether elements may carry the run's mark: written marked by this process, or by an
    /// attempt before it (a resumed run). The run's end removes marks only then.
    marked: bool,
    /// The keys (label, sorted properties) with a uniqueness constraint in the graph.
    constrained: HashSet<(String, Vec<String>)>,
}

/// The run's owned labels and the keys the server holds unique (see the module docs).
#[derive(Default)]
pub(crate) struct Ownership(tokio::sync::Mutex<State>);

impl Ownership {
    /// Forgets everything: a run starts, or another attempt of one (`resumed`).
    pub(crate) async fn begin(&self, resumed: bool) {
        *self.0.lock().await = State { marked: resumed, ..State::default() };
    }

    /// Notes that the graph keeps `index`'s key unique.
    pub(crate) async fn constrained(&self, index: &KeyIndex) {
        self.0.lock().await.constrained.insert(key_of(&index.label, index.properties.iter().map(String::as_str)));
    }

    /// Whether the graph keeps the key of `label` made of `properties` unique.
    pub(crate) async fn is_unique<'a>(&self, label: &str, properties: impl IntoIterator<Item = &'a str>) -> bool {
        self.0.lock().await.constrained.contains(&key_of(label, properties))
    }

    /// Whether the run owns what a batch of `shape` writes and finds: the nodes of its
    /// label, or relationships between two owned labels. A batch that is not owned is
    /// written marked, which this notes.
    pub(crate) async fn owns(&self, client: &Client, run_id: &str, shape: &Shape) -> Result<bool, TargetError> {
        let mut state = self.0.lock().await;
        let owned = match shape {
            Shape::Nodes(spec) => state.owns(client, run_id, &spec.label).await?,
            Shape::Relationships(spec) => {
                state.owns(client, run_id, &spec.start.label).await?
                    && state.owns(client, run_id, &spec.end.label).await?
            }
        };
        if !owned {
            state.marked = true;
        }
        Ok(owned)
    }

    /// Whether elements may carry the run's mark (see [`State::marked`]).
    pub(crate) async fn marked(&self) -> bool {
        self.0.lock().await.marked
    }
}

impl State {
    async fn owns(&mut self, client: &Client, run_id: &str, label: &str) -> Result<bool, TargetError> {
        if let Some(&owned) = self.asked.get(label) {
            return Ok(owned);
        }
        if self.named.is_none() {
            self.named = Some(bookkeeping::owned_labels(client, run_id).await?);
        }
        let named = self.named.as_ref().is_some_and(|named| named.contains(label));
        // Asked before this process writes the label: empty means no one else's nodes.
        let owned = named || scan::count_nodes(client, label).await? == 0;
        if owned {
            tracing::debug!("{}: label `{label}` is new to the graph: written unmarked", client.target());
        }
        self.asked.insert(label.to_owned(), owned);
        Ok(owned)
    }
}

fn key_of<'a>(label: &str, properties: impl IntoIterator<Item = &'a str>) -> (String, Vec<String>) {
    let mut properties: Vec<String> = properties.into_iter().map(str::to_owned).collect();
    properties.sort();
    (label.to_owned(), properties)
}

//! The anchor of the embedded-load benchmark: how fast grafeo itself stores the records a
//! grafter.toml describes, when they are already in memory.
//!
//! It reads the source through grafter's plan and source crates (untimed), so the records
//! are exactly the ones grafter loads, already converted to grafeo values and with every
//! relationship's endpoints already resolved to node ids. Then it times only what the store
//! must do: `batch_create_nodes_with_props` and `batch_create_edges` in transactions of the
//! config's batch size, each committed, and the final `close` that makes the file complete.
//! Prints one JSON object.
//!
//! With `--checkpoints`, each batch also updates a checkpoint node in its transaction, the
//! way grafter does: comparing both runs measures what checkpointing itself costs.
//!
//! Usage: grafeo-anchor CONFIG OUTPUT.grafeo [--checkpoints]

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use grafeo::GrafeoDB;
use grafeo::database::BatchEdge;
use grafeo_common::types::{NodeId, PropertyKey, Value as G};
use grafter_model::{KeyHash, SourceRow, Value, key_hash};
use grafter_plan::{Config, MappingKind, Plan, ReadSpec, bind};
use grafter_source::{Read, ScanRequest, SourceOptions};

// The same allocator as grafter's binary, so the comparison measures loading, not malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

type Properties = HashMap<PropertyKey, G>;

fn to_grafeo(value: &Value) -> G {
    match value {
        Value::Null => G::Null,
        Value::Bool(b) => G::Bool(*b),
        Value::Int(i) => G::Int64(*i),
        Value::Float(x) => G::Float64(*x),
        Value::String(s) => G::String(s.as_str().into()),
        other => G::String(other.to_string().into()),
    }
}

struct NodeSet {
    label: String,
    keys: Vec<KeyHash>,
    properties: Vec<Properties>,
}

struct EdgeSet {
    rel_type: String,
    start_label: String,
    end_label: String,
    ends: Vec<(KeyHash, KeyHash)>,
    properties: Vec<Properties>,
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (config_path, output, checkpoints) = match args.as_slice() {
        [_, config, output] => (Path::new(config), Path::new(output), false),
        [_, config, output, flag] if flag == "--checkpoints" => (Path::new(config), Path::new(output), true),
        _ => {
            eprintln!("usage: grafeo-anchor CONFIG OUTPUT.grafeo [--checkpoints]");
            std::process::exit(2);
        }
    };
    let text = std::fs::read_to_string(config_path).expect("read config");
    let config = Config::parse(&text, &config_path.display().to_string(), |v| std::env::var(v).ok()).expect("config");
    let plan = Plan::build(&config, config_path, &text).expect("plan");
    let base = config_path.parent().unwrap_or(Path::new("."));
    let source = grafter_source::open(&plan.source_url, base, &SourceOptions::default()).await.expect("source");

    // Materialise every record (untimed).
    let mut nodes: Vec<NodeSet> = Vec::new();
    let mut edges: Vec<EdgeSet> = Vec::new();
    let mut rows = 0u64;
    for mapping in &plan.mappings {
        let read = match &mapping.read {
            ReadSpec::Table(t) => Read::Table(t.clone()),
            ReadSpec::Query(q) => Read::Query(q.clone()),
        };
        let columns = source.columns(&read).await.expect("columns");
        let bound = bind(mapping, &columns, &plan.casts, &plan.source_options.types).expect("bind");
        let names: Vec<PropertyKey> = bound.properties.iter().map(|p| PropertyKey::new(p.name.as_str())).collect();
        let request = ScanRequest {
            read,
            columns: bound.scan_columns.clone(),
            skip_null: bound.skip_null.clone(),
            order_by: Vec::new(),
            after: grafter_model::Cursor::Start,
            batch_size: plan.run.batch_size,
            range: grafter_source::KeyRange::all(),
            filters: Vec::new(),
        };
        let mut stream = source.scan(request).await.expect("scan");
        let mut keys = Vec::new();
        let mut ends = Vec::new();
        let mut properties = Vec::new();
        while let Some(batch) = stream.next().await {
            for row in batch.expect("batch").rows {
                let SourceRow::Ok { values, .. } = row else { panic!("malformed row in benchmark data") };
                rows += 1;
                let props: Vec<Value> = bound.properties.iter().map(|p| p.expr.eval(&values).expect("eval")).collect();
                let key_values: Vec<Value> = bound.key.iter().map(|&i| props[i].clone()).collect();
                let map: Properties = names
                    .iter()
                    .zip(&props)
                    .filter(|(_, v)| !v.is_null())
                    .map(|(n, v)| (n.clone(), to_grafeo(v)))
                    .collect();
                properties.push(map);
                match &mapping.kind {
                    MappingKind::Node { .. } => keys.push(key_hash(&key_values)),
                    MappingKind::Relationship { .. } => {
                        let start: Vec<Value> =
                            bound.start_key.iter().map(|e| e.eval(&values).expect("eval")).collect();
                        let end: Vec<Value> = bound.end_key.iter().map(|e| e.eval(&values).expect("eval")).collect();
                        ends.push((key_hash(&start), key_hash(&end)));
                    }
                }
            }
        }
        match &mapping.kind {
            MappingKind::Node { label, .. } => nodes.push(NodeSet { label: label.clone(), keys, properties }),
            MappingKind::Relationship { rel_type, start, end, .. } => edges.push(EdgeSet {
                rel_type: rel_type.clone(),
                start_label: start.label.clone(),
                end_label: end.label.clone(),
                ends,
                properties,
            }),
        }
    }

    let _ = std::fs::remove_file(output);
    let db = GrafeoDB::open(output).expect("open store");
    // grafter's checkpoint: one node per mapping, eight properties updated per batch.
    let checkpoint = |session: &grafeo::session::Session, id: &mut Option<NodeId>, batch: usize| {
        if !checkpoints {
            return;
        }
        let fields: [(&str, G); 8] = [
            ("seconds", G::Float64(batch as f64)),
            ("checksum", G::String("0123456789abcdef0123456789abcdef".into())),
            ("batches", G::Int64(batch as i64)),
            ("cursor", G::String(format!("{{\"rows\":{batch},\"byte_offset\":null}}").into())),
            ("read", G::Int64(batch as i64)),
            ("written", G::Int64(batch as i64)),
            ("rejected", G::Int64(0)),
            ("finished", G::Bool(false)),
        ];
        match id {
            Some(id) => {
                for (name, value) in fields {
                    session.set_node_property(*id, name, value).expect("checkpoint");
                }
            }
            None => *id = Some(session.create_node_with_props(&["_GrafterCheckpoint"], fields).expect("checkpoint")),
        }
    };
    let batch_size = plan.run.batch_size;
    let mut timed = Duration::ZERO;
    let mut ids: HashMap<(String, KeyHash), NodeId> = HashMap::new();
    let mut node_count = 0usize;
    let mut per_label: Vec<(String, f64)> = Vec::new();
    for set in nodes {
        let before = timed;
        let mut checkpoint_node = None;
        let mut keys = set.keys.into_iter();
        let mut properties = set.properties.into_iter().peekable();
        while properties.peek().is_some() {
            let chunk: Vec<Properties> = properties.by_ref().take(batch_size).collect();
            node_count += chunk.len();
            let started = Instant::now();
            let mut session = db.session();
            session.begin_transaction().expect("begin");
            let created = session.batch_create_nodes_with_props(&set.label, chunk).expect("nodes");
            checkpoint(&session, &mut checkpoint_node, node_count);
            session.commit().expect("commit");
            timed += started.elapsed();
            for id in created {
                ids.insert((set.label.clone(), keys.next().expect("key per node")), id);
            }
        }
        per_label.push((set.label.clone(), (timed - before).as_secs_f64()));
    }
    let node_seconds = timed.as_secs_f64();
    let mut edge_count = 0usize;
    for set in edges {
        let before = timed;
        let mut checkpoint_node = None;
        let resolved: Vec<BatchEdge> = set
            .ends
            .iter()
            .zip(set.properties)
            .map(|((s, e), properties)| BatchEdge {
                src: ids[&(set.start_label.clone(), *s)],
                dst: ids[&(set.end_label.clone(), *e)],
                edge_type: set.rel_type.clone(),
                properties,
            })
            .collect();
        let mut resolved = resolved.into_iter().peekable();
        while resolved.peek().is_some() {
            let chunk: Vec<BatchEdge> = resolved.by_ref().take(batch_size).collect();
            edge_count += chunk.len();
            let started = Instant::now();
            let mut session = db.session();
            session.begin_transaction().expect("begin");
            session.batch_create_edges(chunk).expect("edges");
            checkpoint(&session, &mut checkpoint_node, edge_count);
            session.commit().expect("commit");
            timed += started.elapsed();
        }
        per_label.push((set.rel_type.clone(), (timed - before).as_secs_f64()));
    }
    let edge_seconds = timed.as_secs_f64() - node_seconds;
    // The same key indexes grafter leaves behind, built the cheapest way: after the load.
    let started = Instant::now();
    for mapping in &plan.mappings {
        if let MappingKind::Node { label, key } = &mapping.kind {
            for property in key {
                let name = format!("anchor_{label}_{property}");
                db.execute_cypher(&format!("CREATE INDEX `{name}` FOR (n:`{label}`) ON (n.`{property}`)"))
                    .expect("index");
            }
        }
    }
    let index_seconds = started.elapsed().as_secs_f64();
    timed += started.elapsed();
    let started = Instant::now();
    db.close().expect("close");
    let close_seconds = started.elapsed().as_secs_f64();
    let total = timed.as_secs_f64() + close_seconds;
    println!(
        "{}",
        serde_json::json!({
            "rows": rows,
            "nodes": node_count,
            "relationships": edge_count,
            "node_seconds": node_seconds,
            "relationship_seconds": edge_seconds,
            "index_seconds": index_seconds,
            "close_seconds": close_seconds,
            "seconds": total,
            "nodes_per_second": node_count as f64 / node_seconds,
            "relationships_per_second": edge_count as f64 / edge_seconds,
            "rows_per_second": rows as f64 / total,
            "seconds_per_label_or_type": per_label.iter().map(|(n, s)| serde_json::json!([n, s])).collect::<Vec<_>>(),
        })
    );
}

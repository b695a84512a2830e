//! Tables for stdout: the run summary and query results.
//!
//! On a terminal they are drawn with box characters; piped, they become Markdown tables,
//! which stay readable and are easy for scripts to split.

use std::io::IsTerminal as _;

use comfy_table::{Cell, CellAlignment, ContentArrangement, Table, presets};
use std::fmt::Write as _;

use grafter_engine::{MappingStatus, RunSummary};
use grafter_model::{Fingerprint, RunRecord, Value};

pub(crate) fn new_table(header: Vec<&str>) -> Table {
    let mut table = Table::new();
    let preset = if std::io::stdout().is_terminal() { presets::UTF8_FULL_CONDENSED } else { presets::ASCII_MARKDOWN };
    table.load_preset(preset).set_content_arrangement(ContentArrangement::Disabled).set_header(header);
    table
}

pub(crate) fn number(n: u64) -> Cell {
    Cell::new(n).set_alignment(CellAlignment::Right)
}

/// The run summary: one row per mapping and a total.
pub fn summary(summary: &RunSummary) -> String {
    let mut table = if summary.dry_run {
        new_table(vec!["mapping", "creates", "rows to read"])
    } else {
        new_table(vec!["mapping", "creates", "read", "written", "rejected", "seconds", "rows/s"])
    };
    for stats in &summary.mappings {
        let name = match (stats.status, stats.resumed_at) {
            (MappingStatus::Stopped, _) => format!("{} (stopped)", stats.mapping),
            (MappingStatus::NothingToDo, _) => format!("{} (nothing to do)", stats.mapping),
            (MappingStatus::DoneEarlier, _) => format!("{} (done by an earlier attempt)", stats.mapping),
            (_, Some(at)) => format!("{} (resumed after {at})", stats.mapping),
            _ => stats.mapping.clone(),
        };
        if summary.dry_run {
            let total = stats.total.map_or_else(|| "unknown".to_owned(), |t| t.to_string());
            table.add_row(vec![
                Cell::new(name),
                Cell::new(&stats.pattern),
                Cell::new(total).set_alignment(CellAlignment::Right),
            ]);
        } else {
            table.add_row(vec![
                Cell::new(name),
                Cell::new(&stats.pattern),
                number(stats.read),
                number(stats.written),
                number(stats.rejected),
                Cell::new(format!("{:.2}", stats.seconds)).set_alignment(CellAlignment::Right),
                Cell::new(format!("{:.0}", stats.rows_per_second())).set_alignment(CellAlignment::Right),
            ]);
        }
    }
    if !summary.dry_run {
        let rate = if summary.seconds > 0.0 { summary.read() as f64 / summary.seconds } else { 0.0 };
        table.add_row(vec![
            Cell::new("total"),
            Cell::new(""),
            number(summary.read()),
            number(summary.written()),
            number(summary.rejected()),
            Cell::new(format!("{:.2}", summary.seconds)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{rate:.0}")).set_alignment(CellAlignment::Right),
        ]);
    }
    let mut text = table.to_string();
    // Only runs that remap say so, so the summaries of all other runs stay as they were.
    for stats in summary.mappings.iter().filter(|s| s.remapped > 0) {
        let _ = write!(text, "\nremapped: {} values of mapping {}", stats.remapped, stats.mapping);
    }
    text
}

/// Query results as a table.
pub fn rows(columns: &[String], rows: &[Vec<Value>]) -> String {
    let mut table = new_table(columns.iter().map(String::as_str).collect());
    for row in rows {
        table.add_row(row.iter().map(|value| {
            let cell = Cell::new(value.to_string());
            if matches!(value, Value::Int(_) | Value::Float(_)) {
                cell.set_alignment(CellAlignment::Right)
            } else {
                cell
            }
        }));
    }
    table.to_string()
}

/// The run history: one line per run.
pub fn runs(runs: &[RunRecord]) -> String {
    let mut table = new_table(vec![
        "run", "kind", "status", "started", "ended", "by", "mappings", "read", "written", "rejected", "attempts",
        "rollback",
    ]);
    for (run, rollback) in runs.iter().zip(grafter_engine::rollback_states(runs)) {
        let sum = |f: fn(&grafter_model::MappingRecord) -> u64| run.mappings.iter().map(f).sum::<u64>();
        table.add_row(vec![
            Cell::new(&run.id),
            Cell::new(run.kind.to_string()),
            Cell::new(run.status.to_string()),
            Cell::new(&run.started_at),
            Cell::new(run.ended_at.as_deref().unwrap_or("")),
            Cell::new(format!("{}@{}", run.operator, run.host)),
            number(run.mappings.len() as u64),
            number(sum(|m| m.read)),
            number(sum(|m| m.written)),
            number(sum(|m| m.rejected)),
            number(u64::from(run.attempts)),
            Cell::new(rollback.to_string()),
        ]);
    }
    table.to_string()
}

/// One run in full: its record, per-mapping figures and events.
pub fn run_detail(run: &RunRecord) -> String {
    let mut out = String::new();
    let field = |out: &mut String, name: &str, value: &str| {
        let _ = writeln!(out, "{name:<20} {value}");
    };
    field(&mut out, "run", &run.id);
    field(&mut out, "kind", &run.kind.to_string());
    field(&mut out, "status", &run.status.to_string());
    field(&mut out, "started", &run.started_at);
    field(&mut out, "ended", run.ended_at.as_deref().unwrap_or("-"));
    field(&mut out, "operator", &format!("{}@{}", run.operator, run.host));
    field(&mut out, "grafter", &run.grafter_version);
    field(&mut out, "config", &format!("{} (sha256 {})", run.config_path, run.config_checksum));
    field(&mut out, "source", &run.source);
    field(&mut out, "target", &run.target);
    if !run.only.is_empty() {
        field(&mut out, "only", &run.only.join(", "));
    }
    field(&mut out, "attempts", &run.attempts.to_string());
    field(&mut out, "fingerprint before", run.fingerprint_before.as_deref().unwrap_or("-"));
    field(&mut out, "snapshot", run.snapshot.as_deref().unwrap_or("none (no rollback)"));
    if let Some(error) = &run.error {
        field(&mut out, "error", error);
    }
    field(
        &mut out,
        "verification",
        &run.verification
            .as_ref()
            .map_or_else(|| "none (run with --no-verify, or not finished)".to_owned(), ToString::to_string),
    );
    let mut table =
        new_table(vec!["mapping", "status", "read", "written", "rejected", "seconds", "rows/s", "error rate"]);
    for m in &run.mappings {
        table.add_row(vec![
            Cell::new(&m.name),
            Cell::new(&m.status),
            number(m.read),
            number(m.written),
            number(m.rejected),
            Cell::new(format!("{:.2}", m.seconds)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.0}", m.rows_per_second)).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.4}", m.error_rate)).set_alignment(CellAlignment::Right),
        ]);
    }
    let _ = writeln!(out, "\n{table}\n");
    for event in &run.events {
        let _ = writeln!(out, "{}  {}", event.at, event.what);
    }
    out
}

/// A fingerprint, per label and relationship type.
pub fn fingerprint(fingerprint: &Fingerprint) -> String {
    let mut table = new_table(vec!["kind", "label or type", "count", "digest"]);
    for (kind, entries) in [("node", &fingerprint.labels), ("relationship", &fingerprint.types)] {
        for (name, tally) in entries {
            table.add_row(vec![
                Cell::new(kind),
                Cell::new(name),
                number(tally.count),
                Cell::new(format!("{:032x}", tally.digest)),
            ]);
        }
    }
    table.to_string()
}

/// Migration records as a table: one line per version, with its events.
pub fn history_table(records: &[grafter_schema::MigrationRecord]) -> String {
    let mut table = new_table(vec!["version", "description", "status", "when", "by", "seconds", "events"]);
    for record in records {
        table.add_row(vec![
            Cell::new(record.version),
            Cell::new(&record.description),
            Cell::new(record.status.to_string()),
            Cell::new(record.finished_at.as_deref().unwrap_or(&record.started_at)),
            Cell::new(format!("{}@{}", record.operator, record.host)),
            number_seconds(record.seconds),
            Cell::new(record.events.iter().map(|e| format!("{} {}", e.at, e.what)).collect::<Vec<_>>().join("; ")),
        ]);
    }
    table.to_string()
}

fn number_seconds(seconds: f64) -> Cell {
    Cell::new(format!("{seconds:.2}")).set_alignment(CellAlignment::Right)
}

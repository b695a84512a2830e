//! `grafter verify`'s report for a terminal or a log: a verdict line, one table row per
//! mapping, then the findings of each failing mapping, what is not from this config, the
//! custom checks and any warnings.

use std::fmt::Write as _;

use comfy_table::{Cell, CellAlignment};
use grafter_engine::{MappingVerdict, VerifyReport};

use super::table::{new_table, number};

/// Findings listed per mapping; the JSON and HTML reports list them all.
const SHOWN: usize = 20;

/// `1,234,567`: counts in a sentence.
fn grouped(n: u64) -> String {
    super::grouped(n, ',')
}

/// The first [`SHOWN`] of `items`, one a line, and how many more there are.
fn listed<T: std::fmt::Display>(out: &mut String, items: &[T]) {
    for item in items.iter().take(SHOWN) {
        let _ = writeln!(out, "  - {item}");
    }
    if items.len() > SHOWN {
        let _ = writeln!(out, "  … and {} more (`--format json` or `--html FILE` lists them all)", items.len() - SHOWN);
    }
}

/// `2 nodes and 1 relationship`: what is not from this config, counted.
fn not_from_config_count(report: &VerifyReport) -> String {
    let count = |kind: &str| report.not_from_config.iter().filter(|e| e.kind == kind).map(|e| e.count).sum::<u64>();
    let mut parts = Vec::new();
    for (kind, one, many) in [("node", "node", "nodes"), ("relationship", "relationship", "relationships")] {
        let n = count(kind);
        if n > 0 {
            parts.push(format!("{} {}", grouped(n), if n == 1 { one } else { many }));
        }
    }
    parts.join(" and ")
}

/// Where the rejected rows are: the load's reject file, and sync's when it has one.
pub fn reject_files(report: &VerifyReport) -> Vec<&str> {
    report.reject_file.iter().chain(&report.sync_reject_file).map(String::as_str).collect()
}

/// The reject limit, next to the rejected rows: whether they are within it, and what it does.
pub fn reject_limit(report: &VerifyReport) -> String {
    match report.max_rejects {
        None => "no reject limit; --max-rejects N makes a run fail past N".to_owned(),
        Some(limit) if report.rejected_rows <= limit => format!("within --max-rejects {}", grouped(limit)),
        Some(limit) => format!("more than --max-rejects {} allows: a run under it fails", grouped(limit)),
    }
}

/// What the verdict adds after PASSED or FAILED: rows the graph does not hold because they
/// were rejected (how many, against which limit, and where they are), and elements no
/// mapping creates.
pub fn verdict_remarks(report: &VerifyReport) -> String {
    let mut out = String::new();
    if report.rejected_rows > 0 {
        let _ = write!(
            out,
            " — {} of {} rows rejected, not in the graph ({}); see {}",
            grouped(report.rejected_rows),
            grouped(report.source_rows),
            reject_limit(report),
            reject_files(report).join(" and "),
        );
    }
    if !report.not_from_config.is_empty() {
        let _ = write!(
            out,
            "; {} not from this config ({})",
            not_from_config_count(report),
            if report.strict { "--strict fails on them" } else { "listed below; only --strict fails on them" }
        );
    }
    out
}

/// The verdict in a line: what was compared, how, how much was read one by one, and the
/// outcome, with the rows it does not cover.
pub fn verdict(report: &VerifyReport) -> String {
    format!(
        "Verification of {} against {} ({}, {} pass{}, {} of {} rows compared one by one ({:.4}%), {:.2}s): {}{}",
        report.target,
        report.source,
        report.mode,
        report.passes,
        if report.passes == 1 { "" } else { "es" },
        report.rows_individual,
        report.rows_total,
        report.individual_fraction() * 100.0,
        report.seconds,
        if report.passed { "PASSED" } else { "FAILED" },
        verdict_remarks(report)
    )
}

/// The whole report.
pub fn report(report: &VerifyReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", verdict(report));
    let mut table =
        new_table(vec!["mapping", "creates", "source rows", "rejected", "expected", "in graph", "findings", "status"]);
    for m in &report.mappings {
        table.add_row(vec![
            Cell::new(&m.mapping),
            Cell::new(&m.pattern),
            number(m.source_rows),
            number(m.rejected + m.duplicates + m.orphans),
            number(m.expected),
            number(m.in_target),
            number(m.findings.len() as u64),
            Cell::new(match m.status {
                MappingVerdict::Ok => "ok",
                MappingVerdict::Failed => "FAILED",
            })
            .set_alignment(CellAlignment::Left),
        ]);
    }
    let _ = writeln!(out, "{table}");
    for m in report.mappings.iter().filter(|m| !m.findings.is_empty()) {
        let _ = writeln!(out, "\n{} {}:", m.mapping, m.pattern);
        listed(&mut out, &m.findings);
    }
    if !report.not_from_config.is_empty() {
        let _ = writeln!(
            out,
            "\nnot from this config (labels and types no mapping creates; {}):",
            if report.strict { "--strict fails on them" } else { "only --strict fails on them" }
        );
        listed(&mut out, &report.not_from_config);
    }
    if !report.checks.is_empty() {
        let _ = writeln!(out, "\nchecks:");
        for check in &report.checks {
            match &check.reason {
                None => {
                    let _ = writeln!(out, "  ok      {}", check.name);
                }
                Some(reason) => {
                    let _ = writeln!(out, "  FAILED  {}: {reason}", check.name);
                }
            }
        }
    }
    if let Some(constraints) = &report.key_constraints {
        let held = constraints.iter().filter(|k| k.held).count();
        let building = constraints.iter().filter(|k| k.building).count();
        let _ = writeln!(
            out,
            "\nkey constraints: {held} of {} labels' keys held unique by the target{}",
            constraints.len(),
            if building > 0 { format!(", {building} being built by the server") } else { String::new() }
        );
        for constraint in constraints.iter().filter(|k| !k.held) {
            let state = if constraint.building { "BUILDING" } else { "MISSING " };
            let _ = writeln!(out, "  {state} :{} ({})", constraint.label, constraint.properties.join(", "));
        }
    }
    for warning in &report.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    out
}

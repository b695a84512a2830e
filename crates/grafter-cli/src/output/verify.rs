//! `grafter verify`'s report for a terminal or a log: a verdict line, one table row per
//! mapping, then the findings of each failing mapping, the custom checks and any warnings.

use std::fmt::Write as _;

use comfy_table::{Cell, CellAlignment};
use grafter_engine::{MappingVerdict, VerifyReport};

use super::table::{new_table, number};

/// Findings listed per mapping; the JSON and HTML reports list them all.
const SHOWN: usize = 20;

/// The verdict in a line: what was compared, how, and how much was read one by one.
pub fn verdict(report: &VerifyReport) -> String {
    format!(
        "Verification of {} against {}: {} ({}, {} pass{}, {} of {} rows compared one by one ({:.4}%), {:.2}s)",
        report.target,
        report.source,
        if report.passed { "PASSED" } else { "FAILED" },
        report.mode,
        report.passes,
        if report.passes == 1 { "" } else { "es" },
        report.rows_individual,
        report.rows_total,
        report.individual_fraction() * 100.0,
        report.seconds
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
        for finding in m.findings.iter().take(SHOWN) {
            let _ = writeln!(out, "  - {finding}");
        }
        if m.findings.len() > SHOWN {
            let _ = writeln!(
                out,
                "  … and {} more (`--format json` or `--html FILE` lists them all)",
                m.findings.len() - SHOWN
            );
        }
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
    for warning in &report.warnings {
        let _ = writeln!(out, "\nwarning: {warning}");
    }
    out
}

//! `grafter verify --html FILE`: the report as one self-contained page — inline CSS, an inline
//! SVG chart, no scripts, fonts or links to fetch — that opens anywhere and can be mailed.
//!
//! It leads with the verdict, then a table of mappings (failing ones link to their
//! findings), the findings with both sides' values, the custom checks, and the newest run's
//! throughput over time. Every piece of data is HTML-escaped: keys and values come from
//! the source and the graph, and may hold anything.

use std::fmt::Write as _;

use grafter_engine::{
    CheckReport, Finding, MappingReport, MappingVerdict, NotFromConfig, RunGlance, Verdict, VerifyReport,
};

/// Escapes text for HTML element content and attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            other => out.push(other),
        }
    }
    out
}

/// Thousands separated by thin spaces, for tables people read.
fn count(n: u64) -> String {
    super::grouped(n, '\u{2009}')
}

/// An id for a mapping's section (names may hold any character).
fn anchor(mapping: &str) -> String {
    let safe: String = mapping.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    format!("m-{safe}")
}

const STYLE: &str = r#"
:root { --ok: #1b7f3b; --bad: #b42318; --ink: #1d2433; --muted: #5b6477; --line: #e3e7ef; --soft: #f6f8fb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 28px 64px; }
header.verdict { border-radius: 10px; padding: 20px 24px; color: #fff; margin-bottom: 24px; }
header.ok { background: var(--ok); } header.bad { background: var(--bad); }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 2px 0; opacity: .92; }
h2 { font-size: 19px; margin: 34px 0 10px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { font-size: 16px; margin: 22px 0 8px; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 0 0 8px; }
.figure { background: var(--soft); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.figure b { display: block; font-size: 20px; }
.figure span { color: var(--muted); font-size: 13px; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 10px; font-size: 12px; font-weight: 600; color: #fff; }
.badge.ok { background: var(--ok); } .badge.bad { background: var(--bad); }
tr.failed td { background: #fff5f4; }
.kind { white-space: nowrap; color: var(--muted); }
.src { color: #175cd3; } .tgt { color: var(--bad); }
.note { color: var(--muted); }
.warning { background: #fffaeb; border: 1px solid #fedf89; border-radius: 8px; padding: 8px 12px; margin: 6px 0; }
svg text { font-size: 11px; fill: var(--muted); }
"#;

/// The page.
pub fn report(report: &VerifyReport) -> String {
    let mut page = String::new();
    let verdict = if report.passed { "PASSED" } else { "FAILED" };
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>grafter verify: {verdict}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
    );
    header(&mut page, report);
    mappings(&mut page, &report.mappings);
    findings(&mut page, &report.mappings);
    not_from_config(&mut page, &report.not_from_config, report.strict);
    checks(&mut page, &report.checks);
    if !report.warnings.is_empty() {
        page.push_str("<h2>Warnings</h2>\n");
        for warning in &report.warnings {
            let _ = writeln!(page, "<div class=\"warning\">{}</div>", escape(warning));
        }
    }
    run(&mut page, report.latest_run.as_ref());
    page.push_str("</main>\n</body>\n</html>\n");
    page
}

fn header(page: &mut String, report: &VerifyReport) {
    let failing = report.mappings.iter().filter(|m| m.status == MappingVerdict::Failed).count();
    let failed_checks = report.checks.iter().filter(|c| !c.passed).count();
    let foreign = report.not_from_config.len();
    let (class, title) = match report.verdict {
        Verdict::Passed if foreign == 0 => {
            ("ok", "Verification passed: the graph holds exactly what the source says".to_owned())
        }
        Verdict::Passed => ("ok", "Verification passed: the graph holds what the source says".to_owned()),
        Verdict::PassedWithRejects => (
            "ok",
            format!(
                "Verification passed with {} of {} rows rejected",
                count(report.rejected_rows),
                count(report.source_rows)
            ),
        ),
        Verdict::Failed if report.strict && foreign > 0 => (
            "bad",
            format!(
                "Verification FAILED: {failing} mapping(s), {failed_checks} check(s) and {foreign} kind(s) of elements not from this config (--strict)"
            ),
        ),
        Verdict::Failed => {
            ("bad", format!("Verification FAILED: {failing} mapping(s) and {failed_checks} check(s) do not hold"))
        }
    };
    let _ = write!(
        page,
        "<header class=\"verdict {class}\"><h1>{}</h1><p>{} &rarr; {}</p><p>{} verification, {:.2} s</p>",
        escape(&title),
        escape(&report.source),
        escape(&report.target),
        escape(&report.mode),
        report.seconds
    );
    if report.rejected_rows > 0 {
        let files: Vec<String> =
            super::verify::reject_files(report).iter().map(|f| format!("<code>{}</code>", escape(f))).collect();
        let _ = write!(
            page,
            "<p>{} of {} source rows were rejected: they are not in the graph ({}); each is in {} with its reason.</p>",
            count(report.rejected_rows),
            count(report.source_rows),
            escape(&super::verify::reject_limit(report)),
            files.join(" and "),
        );
    }
    if foreign > 0 {
        let _ = write!(
            page,
            "<p>The graph also holds elements of labels or types no mapping creates (<a href=\"#not-from-config\">not from this config</a>){}.</p>",
            if report.strict { ": --strict fails on them" } else { "; only --strict fails on them" }
        );
    }
    page.push_str("</header>\n");
    let findings: usize = report.mappings.iter().map(|m| m.findings.len()).sum();
    let expected: u64 = report.mappings.iter().map(|m| m.expected).sum();
    let figures = [
        (count(report.mappings.len() as u64), "mappings verified".to_owned()),
        (count(expected), "elements expected".to_owned()),
        (count(findings as u64), "findings".to_owned()),
        (
            format!("{:.4} %", report.individual_fraction() * 100.0),
            format!("of {} rows compared one by one", count(report.rows_total)),
        ),
        (count(report.passes), "passes over the data".to_owned()),
    ];
    page.push_str("<div class=\"figures\">");
    for (value, label) in figures {
        let _ = write!(page, "<div class=\"figure\"><b>{}</b><span>{}</span></div>", escape(&value), escape(&label));
    }
    page.push_str("</div>\n");
}

fn badge(ok: bool) -> &'static str {
    if ok { "<span class=\"badge ok\">ok</span>" } else { "<span class=\"badge bad\">FAILED</span>" }
}

fn mappings(page: &mut String, mappings: &[MappingReport]) {
    page.push_str(
        "<h2>Mappings</h2>\n<table>\n<tr><th>mapping</th><th>creates</th><th>source rows</th><th>rejected</th>\
         <th>expected</th><th>in graph</th><th>findings</th><th>status</th></tr>\n",
    );
    for m in mappings {
        let failed = m.status == MappingVerdict::Failed;
        let name = if failed {
            format!("<a href=\"#{}\">{}</a>", anchor(&m.mapping), escape(&m.mapping))
        } else {
            escape(&m.mapping)
        };
        let _ = writeln!(
            page,
            "<tr{}><td>{name}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            if failed { " class=\"failed\"" } else { "" },
            escape(&m.pattern),
            count(m.source_rows),
            count(m.rejected + m.duplicates + m.orphans),
            count(m.expected),
            count(m.in_target),
            count(m.findings.len() as u64),
            badge(!failed),
        );
    }
    page.push_str(
        "</table>\n<p class=\"note\">expected = source rows &minus; rejected (transform failed, key null, \
                   duplicate key, or a relationship end the source does not have — the rows the loader rejects).</p>\n",
    );
}

fn findings(page: &mut String, mappings: &[MappingReport]) {
    let failing: Vec<&MappingReport> = mappings.iter().filter(|m| !m.findings.is_empty()).collect();
    if failing.is_empty() {
        return;
    }
    page.push_str("<h2>Findings</h2>\n");
    for m in failing {
        let _ = writeln!(
            page,
            "<h3 id=\"{}\">{} <span class=\"mono note\">{}</span></h3>\n<table>\n<tr><th>kind</th><th>element</th><th>details</th></tr>",
            anchor(&m.mapping),
            escape(&m.mapping),
            escape(&m.pattern)
        );
        for finding in &m.findings {
            let (element, details) = finding_cells(finding);
            let _ = writeln!(
                page,
                "<tr><td class=\"kind\">{}</td><td class=\"mono\">{element}</td><td>{details}</td></tr>",
                escape(&finding.kind().replace('_', " "))
            );
        }
        page.push_str("</table>\n");
    }
}

/// A finding as (element, details) cells, escaped.
fn finding_cells(finding: &Finding) -> (String, String) {
    match finding {
        Finding::Missing { element } => (escape(&element.to_string()), "in the source, not in the graph".into()),
        Finding::Extra { element } => (escape(&element.to_string()), "in the graph, not in the source".into()),
        Finding::PropertyDiffers { element, fields } => {
            let mut details = String::from("<table>");
            details.push_str("<tr><th>property</th><th>source</th><th>graph</th></tr>");
            for field in fields {
                let _ = write!(
                    details,
                    "<tr><td class=\"mono\">{}</td><td class=\"mono src\">{}</td><td class=\"mono tgt\">{}</td></tr>",
                    escape(&field.property),
                    escape(&field.source.to_string()),
                    escape(&field.target.to_string())
                );
            }
            details.push_str("</table>");
            (escape(&element.to_string()), details)
        }
        Finding::Retargeted { element, actual_end } => (
            escape(&element.to_string()),
            format!("ends at <span class=\"mono tgt\">{}</span> in the graph", escape(&actual_end.to_string())),
        ),
        Finding::Duplicate { element, copies } => {
            (escape(&element.to_string()), format!("{copies} elements in the graph share this identity"))
        }
        Finding::CountMismatch { what, expected, actual } => (
            escape(what),
            format!(
                "<span class=\"tgt\">{}</span> in the graph, <span class=\"src\">{}</span> expected",
                count(*actual),
                count(*expected)
            ),
        ),
        Finding::ExtraProperties { element, properties } => {
            let mut details = String::from("<table><tr><th>property no mapping sets</th><th>graph</th></tr>");
            for (name, value) in properties {
                let _ = write!(
                    details,
                    "<tr><td class=\"mono\">{}</td><td class=\"mono tgt\">{}</td></tr>",
                    escape(name),
                    escape(&value.to_string())
                );
            }
            details.push_str("</table>");
            (escape(&element.to_string()), details)
        }
        Finding::ExtraLabels { what, labels, nodes } => (
            escape(what),
            format!(
                "<span class=\"tgt\">{}</span> node(s) also labelled <span class=\"mono tgt\">{}</span>, which no mapping gives them",
                count(*nodes),
                escape(&labels.iter().map(|l| format!(":{l}")).collect::<String>())
            ),
        ),
        Finding::MisplacedRelationships { what, relationships, mapped } => (
            escape(what),
            format!(
                "<span class=\"tgt\">{}</span> relationship(s) between labels no mapping connects with this type; the mappings create <span class=\"mono src\">{}</span>",
                count(*relationships),
                escape(&mapped.join(", "))
            ),
        ),
        other => (String::new(), escape(&other.to_string())),
    }
}

fn not_from_config(page: &mut String, elements: &[NotFromConfig], strict: bool) {
    if elements.is_empty() {
        return;
    }
    let _ = writeln!(
        page,
        "<h2 id=\"not-from-config\">Not from this config</h2>\n<p class=\"note\">Labels and relationship types no mapping \
         creates: the graph may be shared, or hold what something else wrote. {}</p>\n<table>\n<tr><th>kind</th><th>pattern</th><th>elements</th></tr>",
        if strict { "With --strict they fail the verification." } else { "Only --strict fails on them." }
    );
    for element in elements {
        let _ = writeln!(
            page,
            "<tr><td class=\"kind\">{}</td><td class=\"mono\">{}</td><td class=\"n\">{}</td></tr>",
            element.kind,
            escape(&element.pattern),
            count(element.count)
        );
    }
    page.push_str("</table>\n");
}

fn checks(page: &mut String, checks: &[CheckReport]) {
    if checks.is_empty() {
        return;
    }
    page.push_str("<h2>Checks</h2>\n<table>\n<tr><th>check</th><th>query</th><th>result</th><th>status</th></tr>\n");
    for check in checks {
        let mut result = match &check.reason {
            Some(reason) => escape(reason),
            None => "holds".into(),
        };
        if !check.passed && !check.rows.is_empty() {
            let _ = write!(result, "<br><span class=\"mono note\">{}", escape(&check.columns.join(" | ")));
            for row in check.rows.iter().take(10) {
                let cells: Vec<String> = row.iter().map(ToString::to_string).collect();
                let _ = write!(result, "<br>{}", escape(&cells.join(" | ")));
            }
            result.push_str("</span>");
        }
        let description = check
            .description
            .as_ref()
            .map(|d| format!("<br><span class=\"note\">{}</span>", escape(d)))
            .unwrap_or_default();
        let _ = writeln!(
            page,
            "<tr><td>{}{description}</td><td class=\"mono\">{}</td><td>{result}</td><td>{}</td></tr>",
            escape(&check.name),
            escape(&check.cypher),
            badge(check.passed)
        );
    }
    page.push_str("</table>\n");
}

fn run(page: &mut String, run: Option<&RunGlance>) {
    page.push_str("<h2>Newest run</h2>\n");
    let Some(run) = run else {
        page.push_str("<p class=\"note\">No run is recorded in the target.</p>\n");
        return;
    };
    let _ = writeln!(
        page,
        "<p>Run <code>{}</code>, started {}, {}.</p>",
        escape(&run.id),
        escape(&run.started_at),
        escape(&run.status)
    );
    if run.throughput.len() < 2 {
        page.push_str("<p class=\"note\">No throughput was recorded for this run.</p>\n");
        return;
    }
    page.push_str(&chart(&run.throughput));
}

/// Rows written over time as an SVG line chart, with the average rate.
fn chart(points: &[(f64, u64)]) -> String {
    let (width, height) = (960.0, 300.0);
    let (left, right, top, bottom) = (70.0, 20.0, 16.0, 40.0);
    let max_x = points.iter().map(|p| p.0).fold(0.0_f64, f64::max).max(0.1);
    let max_y = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    // Enough decimals that the ticks of a short run differ.
    let decimals = if max_x < 1.0 {
        2
    } else if max_x < 10.0 {
        1
    } else {
        0
    };
    let x = |v: f64| left + v / max_x * (width - left - right);
    let y = |v: f64| height - bottom - v / max_y * (height - top - bottom);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"rows written over time\" \
         xmlns=\"http://www.w3.org/2000/svg\">\n"
    );
    for i in 0..=4 {
        let fraction = f64::from(i) / 4.0;
        let (gy, gx) = (y(max_y * fraction), x(max_x * fraction));
        let _ = writeln!(
            svg,
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{gy:.1}\" y2=\"{gy:.1}\" stroke=\"#e3e7ef\"/>\
             <text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>\
             <text x=\"{gx:.1}\" y=\"{}\" text-anchor=\"middle\">{:.decimals$} s</text>",
            width - right,
            left - 8.0,
            gy + 4.0,
            count((max_y * fraction).round() as u64),
            height - bottom + 18.0,
            max_x * fraction
        );
    }
    let line: Vec<String> = points.iter().map(|(s, r)| format!("{:.1},{:.1}", x(*s), y(*r as f64))).collect();
    let _ =
        writeln!(svg, "<polyline fill=\"none\" stroke=\"#175cd3\" stroke-width=\"2\" points=\"{}\"/>", line.join(" "));
    let _ = writeln!(
        svg,
        "<text x=\"{left}\" y=\"{}\">rows written</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">seconds since the run started</text>",
        top - 4.0,
        width - right,
        height - 4.0
    );
    svg.push_str("</svg>\n");
    let rate = max_y / max_x;
    format!(
        "{svg}<p class=\"note\">{} rows written in {max_x:.decimals$} s: {} rows/s on average.</p>\n",
        count(max_y as u64),
        count(rate as u64)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(1_234_567), "1\u{2009}234\u{2009}567");
        assert_eq!(count(999), "999");
    }

    #[test]
    fn the_chart_draws_every_point() {
        let svg = chart(&[(0.0, 0), (1.0, 500), (2.0, 1000)]);
        let points = svg.split("points=\"").nth(1).and_then(|rest| rest.split('"').next()).unwrap();
        assert_eq!(points.split(' ').count(), 3, "{svg}");
    }
}

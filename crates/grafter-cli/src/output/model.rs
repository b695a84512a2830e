//! `grafter plan --html FILE`: the graph model as one self-contained page (inline CSS and
//! SVG, no scripts or links to fetch, like the verify report): every label a box with its
//! key, properties and counts, every relationship mapping an arrow between two boxes, and the
//! source's tables no mapping reads greyed below. Counts are the rows each mapping reads
//! from the source ("expected") and, once a run has loaded the target, what the graph holds.
//!
//! The layout is a circle: labels evenly around it in load order, arrows as straight lines
//! (bent apart when two types join one pair of labels, a loop for a label's own hierarchy),
//! which stays readable for the tens of labels a schema maps.

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::fmt::Write as _;

use grafter_engine::ModelCounts;
use grafter_plan::explain::{Explanation, MappingExplanation, PropertyType};
use grafter_plan::{MappingKind, Plan};

use super::html::escape;

const STYLE: &str = r#"
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1d2433; }
main { max-width: 1200px; margin: 0 auto; padding: 24px 28px 64px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { font-size: 19px; margin: 30px 0 10px; border-bottom: 1px solid #e3e7ef; padding-bottom: 6px; }
p.meta { color: #5b6477; margin: 2px 0; }
svg { width: 100%; height: auto; border: 1px solid #e3e7ef; border-radius: 10px; background: #fbfcfe; }
svg .label rect { fill: #e8f0fe; stroke: #3867d6; stroke-width: 1.5; }
svg .label text.name { font-weight: 600; font-size: 15px; }
svg text { font-size: 12px; fill: #1d2433; }
svg .rel path { fill: none; stroke: #5b6477; stroke-width: 1.4; }
svg .rel text, svg text.caption { fill: #3b4254; paint-order: stroke; stroke: #fbfcfe; stroke-width: 4px; }
svg .skipped rect { fill: #f0f1f4; stroke: #b8bdc9; stroke-dasharray: 4 3; }
svg .skipped text { fill: #8a90a0; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #e3e7ef; vertical-align: top; }
th { background: #f6f8fb; } td.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.grey { color: #8a90a0; } .differs { color: #b42318; font-weight: 600; }
"#;

/// A label, the mappings creating it and its figures.
struct LabelFigures<'a> {
    label: String,
    key: String,
    mappings: Vec<&'a MappingExplanation>,
    expected: Option<u64>,
    in_graph: Option<u64>,
}

/// A label's box on the circle.
struct Placed {
    label: String,
    x: f64,
    y: f64,
    width: f64,
    height: f64,
}

/// The page for `plan` (explained as `explanation`) with `counts`; the tables and views no
/// mapping reads are greyed.
pub fn page(plan: &Plan, explanation: &Explanation, counts: &ModelCounts) -> String {
    let not_mapped = &explanation.not_mapped;
    let label_of = |mapping: &MappingExplanation| -> String {
        match plan.mapping(&mapping.name).map(|m| &m.kind) {
            Some(MappingKind::Node { label, .. }) => label.clone(),
            _ => String::new(),
        }
    };
    let pattern_of = |mapping: &MappingExplanation| -> (String, String, String) {
        match plan.mapping(&mapping.name).map(|m| &m.kind) {
            Some(MappingKind::Relationship { rel_type, start, end, .. }) => {
                (start.label.clone(), rel_type.clone(), end.label.clone())
            }
            _ => Default::default(),
        }
    };
    let nodes: Vec<&MappingExplanation> = explanation.mappings.iter().filter(|m| m.kind == "node").collect();
    let rels: Vec<&MappingExplanation> = explanation.mappings.iter().filter(|m| m.kind != "node").collect();
    let actual = counts.actual.as_ref().ok();
    // Each label once (the explanation lists them with their keys), with its figures.
    let labels: Vec<LabelFigures> = explanation
        .keys
        .iter()
        .map(|key| {
            let mappings: Vec<&MappingExplanation> =
                nodes.iter().copied().filter(|m| label_of(m) == key.label).collect();
            LabelFigures {
                label: key.label.clone(),
                key: key.properties.join(", "),
                expected: mappings.iter().map(|m| counts.expected.get(&m.name).copied().flatten()).sum(),
                in_graph: actual.and_then(|a| a.nodes.get(&key.label).copied()),
                mappings,
            }
        })
        .collect();

    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Graph model: {}</title><style>{STYLE}</style></head><body><main>",
        escape(&explanation.config)
    );
    let _ = write!(out, "<h1>Graph model of {}</h1>", escape(&explanation.config));
    let _ = write!(
        out,
        "<p class=\"meta\">source {} → target {}</p>",
        escape(&explanation.source),
        escape(&explanation.target)
    );
    let _ = write!(
        out,
        "<p class=\"meta\">{} labels, {} relationship mappings{}; counts: expected = rows the source gives each mapping{}</p>",
        labels.len(),
        rels.len(),
        if not_mapped.is_empty() {
            String::new()
        } else {
            format!(", {} tables or views not mapped (grey)", not_mapped.len())
        },
        match &counts.actual {
            Ok(_) => ", in graph = what the target holds now".to_owned(),
            Err(reason) => format!(" (the target was not read: {})", escape(reason)),
        }
    );

    // The diagram.
    let subtitle = |l: &LabelFigures| format!("key {} · {}", l.key, figures(l.expected, l.in_graph));
    let widths: Vec<f64> =
        labels.iter().map(|l| text_width(&l.label, 8.5).max(text_width(&subtitle(l), 6.4)).max(120.0)).collect();
    let radius = (labels.len() as f64 * 70.0).max(180.0);
    let margin = 140.0;
    let side = 2.0 * (radius + margin);
    let placed: Vec<Placed> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let angle = -PI / 2.0 + 2.0 * PI * i as f64 / labels.len().max(1) as f64;
            Placed {
                label: l.label.clone(),
                x: side / 2.0 + radius * angle.cos(),
                y: side / 2.0 + radius * angle.sin(),
                width: widths[i],
                height: 54.0,
            }
        })
        .collect();
    let skipped_rows = not_mapped.len().div_ceil(6);
    let height = side + skipped_rows as f64 * 44.0 + if skipped_rows > 0 { 30.0 } else { 0.0 };
    let _ = write!(
        out,
        "<h2>Model</h2><svg viewBox=\"0 0 {side:.0} {height:.0}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"><defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#5b6477\"/></marker></defs>"
    );
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    // Captions go on top of the boxes, drawn last.
    let mut captions = String::new();
    for rel in &rels {
        let (start, rel_type, end) = pattern_of(rel);
        let (Some(a), Some(b)) = (placed.iter().find(|p| p.label == start), placed.iter().find(|p| p.label == end))
        else {
            continue;
        };
        let key = if start <= end { (start.clone(), end.clone()) } else { (end.clone(), start.clone()) };
        let nth = *pairs.entry(key).and_modify(|n| *n += 1).or_insert(0);
        let in_graph =
            actual.and_then(|a| a.relationships.get(&(rel_type.clone(), start.clone(), end.clone())).copied());
        let caption = format!("{rel_type} {}", figures(counts.expected.get(&rel.name).copied().flatten(), in_graph));
        let _ = write!(
            out,
            "<g class=\"rel\" data-type=\"{}\" data-start=\"{}\" data-end=\"{}\"{}>",
            escape(&rel_type),
            escape(&start),
            escape(&end),
            count_attributes(counts.expected.get(&rel.name).copied().flatten(), in_graph)
        );
        if start == end {
            let (x, y) = (a.x, a.y - a.height / 2.0);
            let lift = 46.0 + 18.0 * nth as f64;
            let _ = write!(
                out,
                "<path d=\"M{:.1},{y:.1} C{:.1},{:.1} {:.1},{:.1} {:.1},{y:.1}\" marker-end=\"url(#arrow)\"/>",
                x - 24.0,
                x - 60.0,
                y - lift,
                x + 60.0,
                y - lift,
                x + 24.0,
            );
            let _ = write!(
                captions,
                "<text class=\"caption\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                y - lift * 0.78,
                escape(&caption)
            );
        } else {
            let (sx, sy) = edge_point(a, b.x, b.y);
            let (ex, ey) = edge_point(b, a.x, a.y);
            // Bend the nth arrow between one pair to its side, alternately.
            let bend =
                if nth == 0 { 0.0 } else { 34.0 * nth.div_ceil(2) as f64 * if nth % 2 == 1 { 1.0 } else { -1.0 } };
            let (mx, my) = ((sx + ex) / 2.0, (sy + ey) / 2.0);
            let length = ((ex - sx).powi(2) + (ey - sy).powi(2)).sqrt().max(1.0);
            let (nx, ny) = (-(ey - sy) / length, (ex - sx) / length);
            let (cx, cy) = (mx + nx * bend * 2.0, my + ny * bend * 2.0);
            let (tx, ty) = (mx + nx * bend, my + ny * bend);
            let _ = write!(
                out,
                "<path d=\"M{sx:.1},{sy:.1} Q{cx:.1},{cy:.1} {ex:.1},{ey:.1}\" marker-end=\"url(#arrow)\"/>"
            );
            let _ = write!(
                captions,
                "<text class=\"caption\" x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                ty - 4.0,
                escape(&caption)
            );
        }
        out.push_str("</g>");
    }
    for (p, l) in placed.iter().zip(&labels) {
        let _ = write!(
            out,
            "<g class=\"label\" data-label=\"{}\"{}><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"8\"/><text class=\"name\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
            escape(&p.label),
            count_attributes(l.expected, l.in_graph),
            p.x - p.width / 2.0,
            p.y - p.height / 2.0,
            p.width,
            p.height,
            p.x,
            p.y - 6.0,
            escape(&p.label),
            p.x,
            p.y + 14.0,
            escape(&subtitle(l))
        );
    }
    out.push_str(&captions);
    if !not_mapped.is_empty() {
        let _ = write!(out, "<text x=\"20\" y=\"{:.0}\" class=\"grey\">not mapped</text>", side + 8.0);
        for (i, skipped) in not_mapped.iter().enumerate() {
            let (column, row) = (i % 6, i / 6);
            let width = (side - 40.0) / 6.0 - 10.0;
            let (x, y) = (20.0 + column as f64 * (width + 10.0), side + 20.0 + row as f64 * 44.0);
            let _ = write!(
                out,
                "<g class=\"skipped\" data-table=\"{}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{width:.1}\" height=\"34\" rx=\"6\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{} {}</text></g>",
                escape(&skipped.name),
                x + width / 2.0,
                y + 21.0,
                skipped.kind,
                escape(&skipped.name)
            );
        }
    }
    out.push_str("</svg>");

    // The same in tables, with every property.
    out.push_str("<h2>Labels</h2><table><tr><th>label</th><th>key</th><th>properties (source type → graph type)</th><th>mappings</th><th class=\"n\">expected</th><th class=\"n\">in graph</th></tr>");
    for l in &labels {
        let properties: Vec<String> = l.mappings.iter().flat_map(|m| m.types.iter().map(property_text)).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            escape(&l.label),
            escape(&l.key),
            properties.join("<br>"),
            escape(&l.mappings.iter().map(|m| m.name.as_str()).collect::<Vec<_>>().join(", ")),
            count_cells(l.expected, l.in_graph, actual.is_some())
        );
    }
    out.push_str("</table><h2>Relationships</h2><table><tr><th>pattern</th><th>mapping</th><th>properties</th><th class=\"n\">expected</th><th class=\"n\">in graph</th></tr>");
    for rel in &rels {
        let (start, rel_type, end) = pattern_of(rel);
        let in_graph =
            actual.and_then(|a| a.relationships.get(&(rel_type.clone(), start.clone(), end.clone())).copied());
        let properties: Vec<String> = rel.types.iter().map(property_text).collect();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}</tr>",
            escape(&rel.creates),
            escape(&rel.name),
            if properties.is_empty() { "<span class=\"grey\">none</span>".to_owned() } else { properties.join("<br>") },
            count_cells(counts.expected.get(&rel.name).copied().flatten(), in_graph, actual.is_some())
        );
    }
    out.push_str("</table>");
    if !not_mapped.is_empty() {
        out.push_str("<h2>Not mapped</h2><p class=\"grey\">");
        let names: Vec<String> = not_mapped.iter().map(|s| format!("{} {}", s.kind, escape(&s.name))).collect();
        out.push_str(&names.join(", "));
        out.push_str("</p>");
    }
    out.push_str("</main></body></html>\n");
    out
}

/// `data-expected` and `data-in-graph` attributes, for programs reading the page.
fn count_attributes(expected: Option<u64>, in_graph: Option<u64>) -> String {
    let mut attributes = String::new();
    if let Some(n) = expected {
        let _ = write!(attributes, " data-expected=\"{n}\"");
    }
    if let Some(n) = in_graph {
        let _ = write!(attributes, " data-in-graph=\"{n}\"");
    }
    attributes
}

/// `expected 347 · in graph 347` (either left out when unknown).
fn figures(expected: Option<u64>, in_graph: Option<u64>) -> String {
    let mut parts = Vec::new();
    if let Some(n) = expected {
        parts.push(format!("expected {}", super::grouped(n, '\u{2009}')));
    }
    if let Some(n) = in_graph {
        parts.push(format!("in graph {}", super::grouped(n, '\u{2009}')));
    }
    parts.join(" · ")
}

fn count_cells(expected: Option<u64>, in_graph: Option<u64>, target_read: bool) -> String {
    let show = |n: Option<u64>| n.map_or("<span class=\"grey\">?</span>".to_owned(), |n| super::grouped(n, '\u{2009}'));
    let class = match (expected, in_graph) {
        (Some(e), Some(g)) if e != g => "n differs",
        _ => "n",
    };
    let graph = if target_read { show(in_graph) } else { "<span class=\"grey\">not loaded</span>".to_owned() };
    format!("<td class=\"n\">{}</td><td class=\"{class}\">{graph}</td>", show(expected))
}

fn property_text(t: &PropertyType) -> String {
    match &t.source_type {
        Some(source_type) => format!(
            "{} <span class=\"grey\">{} → {}</span>",
            escape(&t.property),
            escape(source_type),
            escape(&t.graph_type)
        ),
        None => format!("{} <span class=\"grey\">computed</span>", escape(&t.property)),
    }
}

/// Roughly how wide `text` is drawn, in SVG units.
fn text_width(text: &str, per_char: f64) -> f64 {
    text.chars().count() as f64 * per_char + 30.0
}

/// Where the line from `placed`'s centre towards (`x`, `y`) leaves its box.
fn edge_point(placed: &Placed, x: f64, y: f64) -> (f64, f64) {
    let (dx, dy) = (x - placed.x, y - placed.y);
    if dx == 0.0 && dy == 0.0 {
        return (placed.x, placed.y);
    }
    let scale_x = if dx == 0.0 { f64::INFINITY } else { (placed.width / 2.0) / dx.abs() };
    let scale_y = if dy == 0.0 { f64::INFINITY } else { (placed.height / 2.0) / dy.abs() };
    let scale = scale_x.min(scale_y);
    (placed.x + dx * scale, placed.y + dy * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_arrow_leaves_its_box_at_the_edge() {
        let placed = Placed { label: "A".into(), x: 100.0, y: 100.0, width: 100.0, height: 50.0 };
        assert_eq!(edge_point(&placed, 300.0, 100.0), (150.0, 100.0));
        assert_eq!(edge_point(&placed, 100.0, 0.0), (100.0, 75.0));
    }
}

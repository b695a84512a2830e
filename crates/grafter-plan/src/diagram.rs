//! `grafter plan --format mermaid`: the graph a config builds, as a Mermaid flowchart for
//! docs and reviews — one box per label (its key and properties, the tables it comes from),
//! one arrow per relationship mapping, labelled with its type (and its properties), from
//! the start label to the end label.
//!
//! Everything shown comes from the [`Explanation`] `grafter plan` prints otherwise, so the
//! picture and the text never disagree. Names are data: every box has a generated id
//! (`L0`, `L1`, …) and every text is quoted, with the characters Mermaid would read as
//! syntax written as its entity codes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::explain::{Explanation, MappingExplanation};
use crate::{MappingKind, Plan};

/// What one label's box says.
#[derive(Default)]
struct LabelBox {
    key: Vec<String>,
    properties: Vec<String>,
    reads: Vec<String>,
}

/// The flowchart of `plan`, explained as `explanation`.
pub fn mermaid(plan: &Plan, explanation: &Explanation) -> String {
    let explained: BTreeMap<&str, &MappingExplanation> =
        explanation.mappings.iter().map(|m| (m.name.as_str(), m)).collect();
    // Labels in the order the load meets them; several node mappings may share one.
    let mut order: Vec<&str> = Vec::new();
    for mapping in &plan.mappings {
        let labels: Vec<&str> = match &mapping.kind {
            MappingKind::Node { label, .. } => vec![label],
            MappingKind::Relationship { start, end, .. } => vec![&start.label, &end.label],
        };
        for label in labels {
            if !order.contains(&label) {
                order.push(label);
            }
        }
    }
    let mut boxes: BTreeMap<&str, LabelBox> = BTreeMap::new();
    for mapping in &plan.mappings {
        let (MappingKind::Node { label, .. }, Some(explained)) = (&mapping.kind, explained.get(mapping.name.as_str()))
        else {
            continue;
        };
        let entry = boxes.entry(label.as_str()).or_default();
        add_all(&mut entry.key, &explained.key);
        add_all(&mut entry.properties, explained.properties.iter().filter(|p| !explained.key.contains(p)));
        add_all(&mut entry.reads, std::iter::once(&explained.reads));
    }
    let id = |label: &str| format!("L{}", order.iter().position(|l| *l == label).unwrap_or(0));

    let mut out = String::from("flowchart LR\n");
    for label in &order {
        let mut lines = vec![format!("<b>{}</b>", escape(label))];
        match boxes.get(label) {
            Some(found) => {
                if !found.key.is_empty() {
                    lines.push(format!("key: {}", escape(&found.key.join(", "))));
                }
                lines.extend(found.properties.iter().map(|p| escape(p)));
                // "table `Album`" reads better in a box without its backticks.
                lines.push(format!("<i>{}</i>", escape(&found.reads.join("; ").replace('`', ""))));
            }
            // A label only relationships end on: its nodes come from elsewhere.
            None => lines.push("<i>no mapping creates these nodes</i>".to_owned()),
        }
        let _ = writeln!(out, "    {}[\"{}\"]", id(label), lines.join("<br/>"));
    }
    for mapping in &plan.mappings {
        let MappingKind::Relationship { rel_type, start, end, hierarchy, .. } = &mapping.kind else { continue };
        let mut text = escape(rel_type);
        if let Some(explained) = explained.get(mapping.name.as_str())
            && !explained.properties.is_empty()
        {
            let _ = write!(text, "<br/>{}", escape(&explained.properties.join(", ")));
        }
        if *hierarchy {
            text.push_str("<br/><i>hierarchy</i>");
        }
        let _ = writeln!(out, "    {} -->|\"{text}\"| {}", id(&start.label), id(&end.label));
    }
    out
}

/// Adds the items of `more` not in `to` yet, in order.
fn add_all<'a>(to: &mut Vec<String>, more: impl IntoIterator<Item = &'a String>) {
    for item in more {
        if !to.contains(item) {
            to.push(item.clone());
        }
    }
}

/// `text` safe inside a quoted Mermaid label: its markup characters as entity codes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '#' => out.push_str("#35;"),
            '|' => out.push_str("#124;"),
            '`' => out.push_str("#96;"),
            '\n' | '\r' => out.push(' '),
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn markup_in_names_is_written_as_entity_codes() {
        assert_eq!(escape("a\"b<c>|#d`e"), "a#quot;b#lt;c#gt;#124;#35;d#96;e");
        assert_eq!(escape("plain_name"), "plain_name");
    }
}

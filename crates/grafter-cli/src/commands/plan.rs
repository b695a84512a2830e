//! `grafter plan`: explain what a run will do.

use anyhow::Context as _;
use grafter_model::Catalog;
use grafter_plan::{Plan, ReadSpec, diagram, explain};

use crate::cli::{Cli, PlanArgs, PlanFormat};
use crate::exit::Exit;

/// Runs `grafter plan`.
pub async fn run(cli: &Cli, args: &PlanArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    // Reading the source's columns lets the plan list exact properties and catches unknown
    // tables and columns now rather than mid-run; its catalog shows reads that overlap.
    let described = grafter_engine::describe_plan(&plan).await?;
    let mut explanation = explain::explain(&plan, &described.bound, described.catalog.as_ref());
    explanation.key_guard = Some(grafter_target::key_guard(&plan.target_url)?.to_owned());
    if let Some(path) = &args.html {
        let counts = grafter_engine::count_model(&plan).await?;
        let not_mapped = not_mapped(&plan, described.catalog.as_ref());
        let page = crate::output::model::page(&plan, &explanation, &counts, &not_mapped);
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote the model to {}", path.display());
    }
    match args.format {
        PlanFormat::Text => out!("{}", explain::render_text(&explanation)),
        PlanFormat::Json => outln!("{}", serde_json::to_string_pretty(&explanation)?),
        PlanFormat::Mermaid => out!("{}", diagram::mermaid(&plan, &explanation)),
    }
    Ok(Exit::Done)
}

/// The source's tables and views no mapping reads (a table in `public` may be named either
/// way), for the model page to grey.
fn not_mapped(plan: &Plan, catalog: Option<&Catalog>) -> Vec<crate::output::model::NotMapped> {
    let Some(catalog) = catalog else { return Vec::new() };
    let read: Vec<&str> = plan
        .mappings
        .iter()
        .filter_map(|m| match &m.read {
            ReadSpec::Table(table) => Some(table.strip_prefix("public.").unwrap_or(table)),
            ReadSpec::Query(_) => None,
        })
        .collect();
    let tables = catalog.tables.iter().map(|t| ("table", t.name.as_str()));
    let views = catalog.views.iter().map(|v| ("view", v.as_str()));
    tables
        .chain(views)
        .filter(|(_, name)| !read.contains(&name.strip_prefix("public.").unwrap_or(name)))
        .map(|(kind, name)| crate::output::model::NotMapped { kind, name: name.to_owned() })
        .collect()
}

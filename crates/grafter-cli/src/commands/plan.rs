//! `grafter plan`: explain what a run will do.

use anyhow::Context as _;
use grafter_plan::{diagram, explain};

use crate::cli::{Cli, PlanArgs, PlanFormat};
use crate::exit::Exit;

/// Runs `grafter plan`.
pub async fn run(cli: &Cli, args: &PlanArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    // Reading the source's columns lets the plan list exact properties and catches unknown
    // tables and columns now rather than mid-run; its catalog shows reads that overlap.
    let described = grafter_engine::describe_plan(&plan, args.html.is_some()).await?;
    let mut explanation = explain::explain(&plan, &described.bound, described.catalog.as_ref());
    explanation.key_guard = Some(grafter_target::key_guard(&plan.target_url)?.to_owned());
    if let (Some(path), Some(counts)) = (&args.html, &described.counts) {
        let page = crate::output::model::page(&plan, &explanation, counts);
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

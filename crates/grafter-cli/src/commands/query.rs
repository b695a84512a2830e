//! `grafter query`: run Cypher on the target and print the rows.

use grafter_model::Value;
use grafter_target::Access;

use crate::cli::{Cli, Format, QueryArgs};
use crate::commands::UsageError;
use crate::exit::Exit;
use crate::output::table;

/// Runs `grafter query`.
pub async fn run(cli: &Cli, args: &QueryArgs) -> anyhow::Result<Exit> {
    let plan = super::load_plan(&cli.config)?;
    let params = args.params.iter().map(|p| parse_param(p)).collect::<Result<Vec<_>, _>>()?;
    let base = plan.config_dir();
    let access = if args.write { Access::Write } else { Access::Read };
    let target = grafter_target::open(&plan.target_url, base, access).await?;
    // Without --write the target refuses a query that would change the graph.
    let result = if args.write {
        target.query(&args.cypher, params).await
    } else {
        target.read_query(&args.cypher, params).await
    };
    target.close().await?;
    let result = result?;
    match args.format {
        Format::Text => outln!("{}", table::rows(&result.columns, &result.rows)),
        Format::Json => {
            let rows: Vec<serde_json::Value> = result
                .rows
                .iter()
                .map(|row| {
                    serde_json::Value::Object(
                        result.columns.iter().zip(row).map(|(c, v)| (c.clone(), v.to_json())).collect(),
                    )
                })
                .collect();
            outln!("{}", serde_json::to_string_pretty(&rows)?);
        }
    }
    Ok(Exit::Done)
}

/// `name=value`, the value as JSON when it parses, else as a string.
fn parse_param(text: &str) -> Result<(String, Value), UsageError> {
    let (name, value) = text.split_once('=').ok_or_else(|| UsageError {
        message: format!("parameter {text:?} has no `=`"),
        hint: "write --param name=value, e.g. --param uuid=\"'abc'\" or --param limit=10".into(),
    })?;
    let value = serde_json::from_str(value).map(Value::from_json).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((name.to_owned(), value))
}

//! One module per command; no command imports another. Shared here: loading grafter.toml
//! into a plan, and reading the target's migration records (`schema` and `history`).

pub mod archive;
pub mod export;
pub mod fingerprint;
pub mod history;
pub mod init;
pub mod lock;
pub mod plan;
pub mod query;
pub mod rollback;
pub mod run;
pub mod schema;
pub mod snapshots;
pub mod sync;
pub mod verify;

use std::path::Path;

use anyhow::Context as _;
use grafter_plan::{Config, ConfigError, Location, Plan};

/// A mistake in how grafter was called (exits 2, like a config error).
#[derive(Debug, thiserror::Error)]
#[error("{message}\n  hint: {hint}")]
pub struct UsageError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// Reads and plans the config file, and checks its URLs as the source and the target will
/// read them (without connecting): a URL that cannot work is the config's error, found now.
pub fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(UsageError {
                message: format!("config file not found: {}", path.display()),
                hint: "pass -c PATH, or write one with `grafter init --from sqlite:DB`".into(),
            }
            .into());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let file = path.display().to_string();
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(&file, &e))?;
    let config = Config::parse(&text, &file, |name| std::env::var(name).ok())?;
    let plan = Plan::build(&config, path, &text)?;
    crate::output::secrets::remember(&plan.source_url);
    crate::output::secrets::remember(&plan.target_url);
    check_urls(&plan, &file, &text)?;
    Ok(plan)
}

/// The error for a config that is not UTF-8: where the first bad byte is.
fn not_utf8(file: &str, error: &std::string::FromUtf8Error) -> ConfigError {
    let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
    let line = valid.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = valid.len() - valid.iter().rposition(|&b| b == b'\n').map_or(0, |newline| newline + 1) + 1;
    ConfigError {
        location: Location::line(file, line),
        message: format!("the file is not UTF-8 text (byte {column} of the line is not)"),
        hint: Some("save it as UTF-8 (e.g. `iconv -f LATIN1 -t UTF-8`)".into()),
    }
}

/// Checks the source and target URLs without I/O; an error names the line of their `url =`.
fn check_urls(plan: &Plan, file: &str, text: &str) -> Result<(), ConfigError> {
    let at_url = |section: &str, message: String, hint: Option<String>| {
        ConfigError::at_key(file, text, section, "url", message, hint)
    };
    match grafter_source::parse_url(&plan.source_url, plan.config_dir()) {
        Ok(_) => {}
        Err(grafter_source::SourceError::BadUrl { url, reason, hint }) => {
            return Err(at_url("source", format!("source URL {url:?}: {reason}"), Some(hint)));
        }
        Err(other) => return Err(at_url("source", other.to_string(), None)),
    }
    match grafter_target::check_url(&plan.target_url, plan.config_dir()) {
        Ok(_) => Ok(()),
        Err(grafter_target::TargetError::BadUrl { url, reason, hint }) => {
            Err(at_url("target", format!("target URL {url:?}: {reason}"), Some(hint)))
        }
        Err(other) => Err(at_url("target", other.to_string(), None)),
    }
}

/// The migration records of the plan's target (for `grafter history`).
pub async fn migration_history(plan: &grafter_plan::Plan) -> anyhow::Result<Vec<grafter_schema::MigrationRecord>> {
    let base = plan.config_dir();
    let target = grafter_target::open(&plan.target_url, base, grafter_target::Access::Read).await?;
    let records = grafter_schema::history::load(target.as_ref()).await;
    target.close().await?;
    Ok(records?)
}

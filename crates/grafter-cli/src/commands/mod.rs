//! One module per command; shared here: loading grafter.toml into a plan.

pub mod archive;
pub mod export;
pub mod fingerprint;
pub mod generate;
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
use grafter_plan::{Config, Plan};

/// A mistake in how grafter was called (exits 2, like a config error).
#[derive(Debug, thiserror::Error)]
#[error("{message}\n  hint: {hint}")]
pub struct UsageError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// Reads and plans the config file.
pub fn load_plan(path: &Path) -> anyhow::Result<Plan> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
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
    let config = Config::parse(&text, &file, |name| std::env::var(name).ok())?;
    Ok(Plan::build(&config, path, &text)?)
}

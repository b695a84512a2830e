//! The `grafter` binary: parses the command line, runs the command, and maps every error to
//! an exit code in one place ([`exit`]).
//!
//! Data goes to stdout (plans, summaries, query results); everything else — progress, logs,
//! errors — goes to stderr, so output can be piped. Colour is never needed to understand
//! anything, and `NO_COLOR` is respected.

/// Prints to stdout like `print!`, but a reader that has gone away (`grafter … | head`)
/// ends grafter quietly instead of a panic.
macro_rules! out {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), false) };
}

/// Like [`out!`] with a newline, as `println!`.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*), true) };
}

mod cli;
mod commands;
mod exit;
mod output;

use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::exit::Exit;

// Records are built on worker threads and freed on the writer thread; mimalloc handles that
// pattern much better than the system allocator (measured in bench/, see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failure.into();
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Command::Init(args) => commands::init::run(&cli, args).await,
            Command::Plan(args) => commands::plan::run(&cli, args).await,
            Command::Run(args) => commands::run::run(&cli, args).await,
            Command::Sync(args) => commands::sync::run(&cli, args).await,
            Command::Query(args) => commands::query::run(&cli, args).await,
            Command::Verify(args) => commands::verify::run(&cli, args).await,
            Command::History(args) => commands::history::run(&cli, args).await,
            Command::Fingerprint(args) => commands::fingerprint::run(&cli, args).await,
            Command::Rollback(args) => commands::rollback::run(&cli, args).await,
            Command::Lock(command) => commands::lock::run(&cli, command).await,
            Command::Snapshots(command) => commands::snapshots::run(&cli, command).await,
            Command::Export(args) => commands::export::run(&cli, args).await,
            Command::Import(args) => commands::run::import(&cli, args).await,
            Command::Archive(command) => commands::archive::run(command),
            Command::Schema(args) => commands::schema::run(&cli, args).await,
        }
    });
    match result {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprintln!("error: {}", output::secrets::hide(&format_error(&error)));
            exit::of_error(&error).into()
        }
    }
}

/// The error and its causes, each on its own line (causes already in the message are not
/// repeated).
fn format_error(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(&format!("\n  caused by: {cause}"));
        }
    }
    text
}

/// Logs to stderr; `-v` shows info, `-vv` debug. `RUST_LOG` overrides.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{level},grafeo=warn,grafeo_engine=warn,grafeo_core=warn"))
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::env::var_os("NO_COLOR").is_none() && std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

//! The command line as clap sees it: every command, flag and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// What every command's exit code means (kept in step with `crate::exit::Exit`).
pub const EXIT_CODES: &str = "Exit codes: 0 done; 1 a negative answer (verify found differences, also in a run's \
closing verification; sync --until-caught-up did not catch up in time; schema verify or roundtrip failed; an archive \
does not check out); 2 a configuration or usage error, nothing attempted; 3 a failure while working (source, target, file, \
lock); 130 stopped by Ctrl-C or SIGTERM.";

/// grafter moves relational data (PostgreSQL, MySQL/MariaDB, SQLite, CSV, NDJSON) into a
/// property graph — an embedded store, FalkorDB, or Neo4j / Memgraph / FalkorDB over Bolt —
/// checkpointed, idempotent and verified. Start with `grafter init --from
/// postgres://user@host/db` (or `sqlite:app.db`), read `grafter plan`, then `grafter run`.
#[derive(Debug, Parser)]
#[command(name = "grafter", version, max_term_width = 100, after_help = EXIT_CODES)]
pub struct Cli {
    /// Configuration file.
    #[arg(short, long, global = true, default_value = "grafter.toml", env = "GRAFTER_CONFIG")]
    pub config: PathBuf,
    /// Print log lines instead of progress bars.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More detail in the log (repeat for even more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// grafter's commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a starter grafter.toml from a source database's schema.
    Init(InitArgs),
    /// Show what a run will do: every mapping, what it reads and creates, and the load order.
    Plan(PlanArgs),
    /// Load the source into the target graph.
    Run(RunArgs),
    /// Keep the graph in step with a source that is still being written to: apply the rows
    /// changed since the last sync (mappings with `cursor = "…"` or `change_log = "…"`),
    /// once, or `--follow`ing, or `--until-caught-up` for a cut-over.
    Sync(SyncArgs),
    /// Run a Cypher query on the target graph and print the result.
    Query(QueryArgs),
    /// Prove the graph holds exactly what the source says: counts, every property of every
    /// element, relationships' ends, hierarchies, and the custom checks. Exits 1 when
    /// something differs.
    Verify(VerifyArgs),
    /// Show the runs recorded in the target: status, who, when, figures per mapping.
    History(HistoryArgs),
    /// Print an order-independent digest of the target graph, per label and relationship type.
    Fingerprint(FingerprintArgs),
    /// Return the target to its state before a run (from the snapshot taken then).
    Rollback(RollbackArgs),
    /// Show or break the target's lease lock.
    #[command(subcommand)]
    Lock(LockCommand),
    /// List the snapshots kept for rollback, or remove older ones (`[run] keep_snapshots`
    /// keeps the newest 2 by default).
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
    /// Write what the mappings read from the source into a portable archive (a compressed
    /// tar of a manifest and one CSV or NDJSON file per table or query), which `archive:FILE`
    /// reads back as a source on another installation; with `--graph`, dump the target graph
    /// instead, for `grafter import`.
    Export(ExportArgs),
    /// Load a graph dump (`grafter export --graph`) into the target: backup and restore, or a
    /// move between stores. A run like any other: resumable, recorded, verified.
    Import(ImportArgs),
    /// Look into archives.
    #[command(subcommand)]
    Archive(ArchiveCommand),
    /// Versioned migrations of the graph's schema: `V0001__name.cypher` (sections `// up`,
    /// `// down`, `// verify`) and `V0002__name.toml` (declarative refactorings) in
    /// `migrations/` beside the config.
    Schema(SchemaArgs),
}

/// Output format of commands that print data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// JSON for programs.
    Json,
}

/// `grafter init`
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The source to introspect: `postgres://user@host:5432/db`, `mysql://user@host:3306/db`
    /// (or `mariadb://`), or `sqlite:PATH` (relative to the current directory). A password in
    /// the URL is written to the config as `${GRAFTER_SOURCE_PASSWORD}`, never as itself.
    #[arg(long, value_name = "URL")]
    pub from: String,
    /// Where to write the configuration (default: the --config path).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite an existing file, keeping its `[init.relationships]` naming rules (type
    /// template, direction, overrides), which name and direct the new file's relationships.
    #[arg(long)]
    pub force: bool,
    /// Map only the tables matching these patterns (comma-separated or repeated; `*`, `?`
    /// and `[abc]` as in a shell, matched against the name `table = "…"` takes, such as
    /// `orders` or `audit.events`; case-sensitive).
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub include: Vec<String>,
    /// Leave out the tables matching these patterns (wins over --include). What is left
    /// out, and why, is listed and written into the file as a comment.
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub exclude: Vec<String>,
    /// Leave out tables without rows (each asked for its greatest primary key, or counted
    /// when it has none).
    #[arg(long)]
    pub skip_empty: bool,
}

/// `grafter plan`
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// Also write the graph model as a self-contained HTML page: labels as boxes with their
    /// key and properties, relationship types as arrows, each with the rows the source
    /// gives it and, once a run has loaded the target, what the graph holds; the source's
    /// tables no mapping reads greyed.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// What `grafter plan` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Every mapping explained, for people.
    Text,
    /// The same, as JSON for programs.
    Json,
    /// The graph model as a Mermaid flowchart (labels as boxes with their keys and
    /// properties, relationship types as arrows), for docs and reviews.
    Mermaid,
}

/// `grafter run`
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run only these mappings (comma-separated names; see `grafter plan`).
    #[arg(long, value_delimiter = ',', value_name = "MAPPINGS")]
    pub only: Vec<String>,
    /// Rows per batch (one transaction each); overrides `[run] batch_size`.
    #[arg(long, value_name = "ROWS")]
    pub batch_size: Option<usize>,
    /// Stop when more rows than this are rejected; overrides `[run] max_rejects`.
    #[arg(long, value_name = "ROWS")]
    pub max_rejects: Option<u64>,
    /// Check the config against the source and count rows; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Start over: ignore the checkpoints of earlier runs (existing elements are updated in
    /// place by key, not duplicated). Without it, an unfinished run is resumed and finished
    /// mappings are skipped.
    #[arg(long)]
    pub fresh: bool,
    /// Do not snapshot the target before a new run (faster for big graphs; no rollback).
    #[arg(long)]
    pub no_snapshot: bool,
    /// Lease of the target's lock in seconds (at least 3): a lock whose holder stopped
    /// renewing it expires after this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = lock_lease_seconds)]
    pub lock_lease: u64,
    /// Serve live figures in the Prometheus text format at http://ADDR/metrics while running.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Readers working at once: mappings of one stage side by side, and key-range
    /// partitions of each keyed mapping, each with its own checkpoint (default: number of
    /// cores).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Do not end with a verification of the graph against the source (it is on by default;
    /// see `grafter verify`).
    #[arg(long)]
    pub no_verify: bool,
    /// While loading, also write everything the mappings read from the source into this
    /// archive (as `grafter export` does), and check it when both are done: a verified copy
    /// an old system leaves behind. `.tar.zst` or `.tar.bz2`.
    #[arg(long, value_name = "FILE")]
    pub keep_archive: Option<PathBuf>,
    /// Summary format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter sync`
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Sync only these mappings (comma-separated names; default: every mapping with change
    /// tracking).
    #[arg(long, value_delimiter = ',', value_name = "MAPPINGS")]
    pub only: Vec<String>,
    /// Rows per batch (one transaction each, with the watermark); overrides `[run] batch_size`.
    #[arg(long, value_name = "ROWS")]
    pub batch_size: Option<usize>,
    /// Keep going: a pass every --interval until Ctrl-C (which stops after the current
    /// batch), printing each pass's lag and changes.
    #[arg(long)]
    pub follow: bool,
    /// Pause between passes, e.g. `5s`, `500ms` (default: `[sync] interval`, 5s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub interval: Option<std::time::Duration>,
    /// Pass until the lag is under --max-lag and a verification of the graph against the
    /// source passes, then exit 0: the signal a cut-over script waits for.
    #[arg(long)]
    pub until_caught_up: bool,
    /// The lag --until-caught-up waits for (default: `[sync] max_lag`, 10s).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub max_lag: Option<std::time::Duration>,
    /// Give up after this long (exit 1), e.g. `30m`.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Lease of the target's lock in seconds, at least 3 (see `grafter run --lock-lease`).
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = lock_lease_seconds)]
    pub lock_lease: u64,
    /// Summary format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter verify`
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Check the contents of N randomly chosen nodes per label instead of everything (quick;
    /// counts stay exact, relationships are checked by count).
    #[arg(long, value_name = "N")]
    pub sample: Option<usize>,
    /// Verify only these mappings (comma-separated names; a label or type several mappings
    /// share is verified whole).
    #[arg(long, value_delimiter = ',', value_name = "MAPPINGS")]
    pub only: Vec<String>,
    /// Fail also on elements of labels or relationship types no mapping creates ("not from
    /// this config": listed either way, a failure only with this).
    #[arg(long)]
    pub strict: bool,
    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the report as one self-contained HTML page (counts, findings, the last
    /// run's throughput chart).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `grafter query`
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The Cypher query.
    pub cypher: String,
    /// A query parameter, `name=value`; the value is read as JSON when it parses, else as a string.
    #[arg(short, long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// Let the query change the graph. Without it a query that would write is refused and
    /// changes nothing: the embedded store runs it in a read-only session, FalkorDB as
    /// `GRAPH.RO_QUERY`, a Bolt server (Neo4j, Memgraph) in read mode, and where a server has
    /// no such mode (FalkorDB's Bolt port) a query holding a writing clause (CREATE, MERGE,
    /// SET, DELETE, REMOVE, DROP, FOREACH, LOAD, CALL of a procedure) is not sent. Changes
    /// made with it are not runs: the history does not record them, and `grafter verify`
    /// reports whatever no longer matches the source.
    #[arg(long)]
    pub write: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter history`
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// Show this run in full (default: a table of all runs).
    pub run: Option<String>,
    /// Show only the schema migrations' history (`grafter schema`): per version its status,
    /// checksum, operator, timings, what it changed and its events.
    #[arg(long, conflicts_with = "run")]
    pub migrations: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter fingerprint`
#[derive(Debug, Args)]
pub struct FingerprintArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter rollback`
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The run to roll back (default: the last one).
    #[arg(conflicts_with = "last")]
    pub run: Option<String>,
    /// Roll back the newest run that is not rolled back yet.
    #[arg(long)]
    pub last: bool,
    /// Say what would be removed or restored; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter lock`
#[derive(Debug, Subcommand)]
pub enum LockCommand {
    /// Who holds the target's lock, since when, until when.
    Status,
    /// Remove the lock when its holder is gone (its process exited, or its lease ran out);
    /// recorded in the history. A holder that is alive is refused, saying how grafter knows.
    Break {
        /// Break it even though its holder is alive: the holder's next write is then refused
        /// by the target (the lock's fencing token moves on).
        #[arg(long)]
        force: bool,
    },
}

/// `grafter snapshots`
#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// The runs whose snapshot is kept, and whether each can be rolled back now.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Remove the snapshots of all but the newest runs (takes the target's lock; recorded in
    /// each run's history, which can then no longer be rolled back).
    Prune {
        /// How many of the newest snapshots to keep (default: `[run] keep_snapshots`).
        #[arg(long, value_name = "N")]
        keep: Option<usize>,
        /// Show which would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

/// `grafter schema`
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The migrations folder (default: `migrations/` beside the config file).
    #[arg(long, global = true, value_name = "DIR")]
    pub migrations: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: SchemaCommand,
}

/// `grafter schema …`
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Write a new migration file with the next version; prints its path.
    New {
        /// What it does, in letters, digits and `_` (`add_status`).
        name: String,
        /// A declarative refactoring (`.toml`) instead of Cypher sections.
        #[arg(long)]
        toml: bool,
    },
    /// Every version: applied, pending, failed or rolled back; checksum state; when, by whom,
    /// how long, what it changed.
    Status {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Apply pending migrations, each verified, with a snapshot restored if it fails.
    Up(SchemaUpArgs),
    /// Revert the last applied migration (or all after `--to V`) with its `// down` section.
    Down(SchemaDownArgs),
    /// Re-run the verify queries of every applied migration; exits 1 when one fails.
    Verify {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Accept applied migration files that were changed on purpose (shows the old and new
    /// checksums and the diff of the text); restore the snapshot of an attempt that was
    /// killed half-way, or mark a failed one resolved. Recorded in the history.
    Repair {
        /// Show what would be accepted; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove the old values an applied migration's transform_property kept
    /// (`<property>_old`); it can no longer be reverted afterwards.
    Finalize {
        /// The migration (`V0003`).
        version: String,
    },
    /// Adopt an existing graph: mark every migration up to VERSION applied without running it.
    Baseline {
        /// The newest migration the graph already has (`V0003`).
        version: String,
    },
    /// For CI: up, down, up again on the target; fails unless down restores the graph's
    /// fingerprint exactly and the second up equals the first.
    Roundtrip {
        /// Let destructive statements run.
        #[arg(long)]
        allow_destructive: bool,
    },
}

/// `grafter schema up`
#[derive(Debug, Args)]
pub struct SchemaUpArgs {
    /// Apply up to and including this version (default: all pending).
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Print every statement that would run, additive or destructive, with a count of what
    /// it touches now; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Let destructive statements (DELETE, REMOVE, DROP, SET … = null) run.
    #[arg(long)]
    pub allow_destructive: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter schema down`
#[derive(Debug, Args)]
pub struct SchemaDownArgs {
    /// Revert every migration applied after this version (`V0000` or `0`: all); default:
    /// only the last one.
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// Print every statement that would run, with a count of what it touches now; change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `grafter export`
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The archive to write: `*.tar.zst` (zstd) or `*.tar.bz2` (bzip2). Written under a
    /// temporary name and renamed when complete.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Export only these entities (comma-separated table names, or mapping names for the
    /// tables or queries they read).
    #[arg(long, value_delimiter = ',', value_name = "ENTITIES")]
    pub only: Vec<String>,
    /// How entity files are written inside the archive (values keep their types either way).
    #[arg(long, value_enum, default_value_t = DataFormatArg::Csv)]
    pub format: DataFormatArg,
    /// Dump the target graph instead of the source: per label its nodes, per relationship
    /// type its relationships (with their ends' keys), every property; `grafter import`
    /// loads it.
    #[arg(long)]
    pub graph: bool,
}

/// `grafter import`
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The graph dump to load.
    pub file: PathBuf,
    /// The run's options.
    #[command(flatten)]
    pub run: RunArgs,
}

/// How entity files are written inside an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormatArg {
    /// CSV with a header row; `\N` is NULL.
    Csv,
    /// One JSON object per line.
    Ndjson,
}

/// `grafter archive`
#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Show an archive's manifest and check every entity's row count and SHA-256 (exit 1 if
    /// anything differs).
    Inspect(InspectArgs),
}

/// `grafter archive inspect`
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The archive.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `--lock-lease`: whole seconds, at least 3 (the lock is renewed every third of its lease,
/// and a shorter one would expire between two renewals of a busy process).
fn lock_lease_seconds(text: &str) -> Result<u64, String> {
    let seconds: u64 = text.parse().map_err(|_| format!("`{text}` is not a whole number of seconds"))?;
    if seconds < 3 {
        return Err(format!(
            "{seconds} s is too short: a lease is at least 3 seconds (the lock is renewed every third of it)"
        ));
    }
    Ok(seconds)
}

//! `docs/grafter.reference.toml` documents every option; this test keeps it true. The file
//! must parse and plan (every key known, every expression valid), and the values it shows
//! must come out of the parser as written. A key added to the file that grafter does not
//! know fails here, with the line.

use std::path::Path;

use grafter_plan::{Config, Expect, MappingKind, NullReference, OneOrMany, Plan, ReadSpec};

fn reference_text() -> String {
    let path = package_dir().join("../../docs/grafter.reference.toml");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The environment the file's `${DATA_DIR}` is read from.
fn env(name: &str) -> Option<String> {
    (name == "DATA_DIR").then(|| "/srv/data".to_owned())
}

fn parse(text: &str) -> Config {
    Config::parse(text, "grafter.reference.toml", env).unwrap_or_else(|e| panic!("the reference does not parse: {e}"))
}

#[test]
fn reference_config_parses_and_plans() {
    let text = reference_text();
    let config = parse(&text);
    let plan = Plan::build(&config, Path::new("/project/grafter.reference.toml"), &text)
        .unwrap_or_else(|e| panic!("the reference does not plan: {e}"));
    assert_eq!(plan.mappings.len(), config.nodes.len() + config.relationships.len());
}

#[test]
fn reference_config_values_round_trip() {
    let text = reference_text();
    let config = parse(&text);

    assert_eq!(config.source.url, "sqlite:/srv/data/shop.sqlite", "${{DATA_DIR}} is interpolated");
    let csv = &config.source.csv;
    assert_eq!(
        (csv.delimiter, csv.quote, csv.null.as_deref(), csv.has_header, csv.trim),
        (b',', b'"', Some(""), true, false)
    );
    assert_eq!(config.target.url.as_deref(), Some("grafeo:shop.grafeo"));
    assert_eq!(config.run.batch_size, Some(10_000));
    assert_eq!(config.run.max_rejects, Some(1000));
    assert_eq!(config.run.reject_file.as_deref(), Some("shop.rejects.ndjson"));

    let labels: Vec<&str> = config.nodes.iter().map(|n| n.label.as_str()).collect();
    assert_eq!(labels, ["Customer", "Country"]);
    let customers = &config.nodes[0];
    assert_eq!(customers.name.as_deref(), Some("customers"));
    assert_eq!(customers.key, OneOrMany::One("id".into()));
    assert_eq!(customers.exclude, ["country_code"]);
    assert_eq!(customers.rename.get("name").map(String::as_str), Some("full_name"));
    assert_eq!(customers.transform.get("email").map(String::as_str), Some("lower(trim(email))"));
    assert!(!customers.key_guessed);
    assert_eq!(customers.soft_delete.as_deref(), Some("deleted_at"));
    assert_eq!((customers.cursor.as_deref(), customers.change_log.as_deref()), (Some("updated_at"), None));
    let sync = &config.sync;
    assert_eq!(
        (sync.overlap.as_deref(), sync.overlap_integer, sync.interval.as_deref(), sync.max_lag.as_deref()),
        (Some("5s"), Some(0), Some("5s"), Some("10s"))
    );
    assert_eq!(sync.pending_timeout.as_deref(), Some("5m"));
    assert_eq!(sync.change_log, grafter_plan::ChangeLogConfig::default(), "the reference shows the defaults");
    assert!(config.nodes[1].query.is_some() && config.nodes[1].table.is_none());

    let lives_in = &config.relationships[0];
    assert_eq!(lives_in.rel_type, "LIVES_IN");
    assert_eq!((lives_in.start.label.as_str(), lives_in.end.label.as_str()), ("Customer", "Country"));
    assert_eq!(lives_in.end.key, OneOrMany::One("upper(country_code)".into()));
    assert_eq!(lives_in.null_reference, NullReference::Skip);
    assert!(!lives_in.hierarchy);
    assert_eq!(lives_in.cursor.as_deref(), Some("updated_at"));

    let checks: Vec<(&str, Option<Expect>, bool)> =
        config.checks.iter().map(|c| (c.name.as_str(), c.expect, c.sql.is_some())).collect();
    assert_eq!(
        checks,
        [
            ("customers match the source", None, true),
            ("no customer without a country", Some(Expect::Zero), false),
            ("emails are lower case", Some(Expect::Valid), false),
        ]
    );

    let casts: Vec<(Option<&str>, Option<&str>, &str)> =
        config.casts.iter().map(|c| (c.source_type.as_deref(), c.column.as_deref(), c.to.as_str())).collect();
    assert_eq!(casts, [(Some("numeric"), None, "float"), (None, Some("customers.born"), "string")]);

    let naming = &config.init.relationships;
    assert_eq!((naming.template.as_str(), naming.direction), ("{column}", grafter_plan::init::Direction::Outgoing));
    let billed = &naming.overrides["Invoice.CustomerId"];
    assert_eq!(
        (billed.rel_type.as_deref(), billed.direction),
        (Some("BILLED_TO"), Some(grafter_plan::init::Direction::Outgoing))
    );
}

#[test]
fn reference_config_plan_resolves_paths_beside_the_config() {
    let text = reference_text();
    let plan = Plan::build(&parse(&text), Path::new("/project/grafter.reference.toml"), &text).unwrap();
    assert_eq!(plan.target_url, "grafeo:shop.grafeo");
    assert_eq!(plan.run.reject_file, Path::new("/project/shop.rejects.ndjson"));
    assert_eq!(plan.run.batch_size, 10_000);
    assert_eq!(plan.sync.overlap, std::time::Duration::from_secs(5));
    assert_eq!(plan.sync.pending_timeout, std::time::Duration::from_secs(300));
    assert_eq!(plan.mapping("customers").unwrap().tracking, Some(grafter_plan::Tracking::Cursor("updated_at".into())));
    let country = plan.mapping("Country").expect("a query mapping is named after its label");
    assert!(matches!(&country.read, ReadSpec::Query(sql) if sql.starts_with("SELECT DISTINCT")));
    let lives_in = plan.mapping("customer_country").unwrap();
    let MappingKind::Relationship { start, end, .. } = &lives_in.kind else {
        panic!("customer_country is a relationship")
    };
    assert_eq!(start.key_properties, ["id"]);
    assert_eq!(end.key_properties, ["code"]);
    // Relationships come after the nodes they connect.
    let stage = |name: &str| plan.mapping(name).unwrap().stage;
    assert!(stage("customer_country") > stage("customers") && stage("customer_country") > stage("Country"));
}

/// `text` without its line starting with `start` (which must be there).
fn without_line(text: &str, start: &str) -> String {
    let before = text.lines().count();
    let kept: Vec<&str> = text.lines().filter(|line| !line.starts_with(start)).collect();
    assert_eq!(kept.len() + 1, before, "the reference should have exactly one line starting with {start:?}");
    kept.join("\n")
}

#[test]
fn reference_config_documented_defaults_hold_when_the_keys_are_omitted() {
    let mut text = reference_text();
    for key in [
        "null = ",
        "url = \"grafeo:",
        "max_rejects = ",
        "reject_file = ",
        "name = \"customers\"",
        "overlap = ",
        "interval = ",
        "max_lag = ",
        "pending_timeout = ",
    ] {
        text = without_line(&text, key);
    }
    let config = parse(&text);
    // "the field text that means NULL (default: the empty field)"
    assert_eq!(config.source.csv.null.as_deref(), Some(""));
    let plan = Plan::build(&config, Path::new("/project/shop.toml"), &text).unwrap();
    // "Default when omitted: grafeo:<config file name>.grafeo beside this file."
    // (relative, so resolved against the config's folder when opened, like a written URL)
    assert_eq!(plan.target_url, "grafeo:shop.grafeo");
    assert_eq!(plan.config_dir(), Path::new("/project"));
    // "(default: no limit)"
    assert_eq!(plan.run.max_rejects, None);
    // "default: <config file name>.rejects.ndjson"
    assert_eq!(plan.run.reject_file, Path::new("/project/shop.rejects.ndjson"));
    // [sync]: "(default "5s")", "(default "10s")", "(default "5m")".
    let seconds = std::time::Duration::from_secs;
    assert_eq!(
        (plan.sync.overlap, plan.sync.interval, plan.sync.max_lag, plan.sync.pending_timeout),
        (seconds(5), seconds(5), seconds(10), seconds(300))
    );
    // "default: the table's name (or the label)"
    assert!(plan.mapping("customers").is_some_and(|m| m.is_node()));
    // "at most one per pair and type" unless `key` says otherwise; no properties by default.
    let lives_in = &config.relationships[0];
    assert!(lives_in.key.is_empty() && lives_in.columns.is_empty());
}

/// The strictness the first test relies on: an unknown key in this very file is an error
/// naming its line.
#[test]
fn unknown_key_added_to_the_reference_is_rejected_with_its_line() {
    let text = reference_text().replacen("[run]\n", "[run]\nbatch_sise = 5\n", 1);
    let line = text.lines().position(|l| l == "batch_sise = 5").unwrap() + 1;
    let err = Config::parse(&text, "grafter.reference.toml", env).unwrap_err();
    assert_eq!(err.location.to_string(), format!("grafter.reference.toml:{line}"));
    assert!(err.message.starts_with("unknown key `batch_sise`"), "{}", err.message);
    assert_eq!(err.hint.as_deref(), Some("did you mean `batch_size`?"));
}

/// The target URLs the reference shows in comments (Bolt's settings among them) are ones
/// grafter reads, with the settings it documents.
#[test]
fn reference_target_urls_in_comments_parse() {
    let text = reference_text();
    let start = text.find("\n[target]").expect("a [target] section");
    let end = start + text[start..].find("\n[run]").expect("[run] after [target]");
    let urls: Vec<&str> = text[start..end]
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("# url = \""))
        .filter_map(|rest| rest.strip_suffix('"'))
        .collect();
    assert!(
        urls.iter().any(|u| u.starts_with("neo4j+s://")) && urls.iter().any(|u| u.starts_with("bolt://")),
        "{urls:?}"
    );
    for url in &urls {
        grafter_target::check_url(url, Path::new("/project"))
            .unwrap_or_else(|e| panic!("the reference's {url} does not parse: {e}"));
        if url.contains("max_message_bytes") {
            let bolt = grafter_target::bolt::BoltUrl::parse(url).expect("checked above");
            assert_eq!(bolt.max_message_bytes, Some(2048), "{url}");
            assert_eq!(bolt.server.as_deref(), Some("falkordb"), "{url}");
            assert!(!bolt.connect.contains("max_message_bytes"), "grafter's settings stay out of the server's URL");
        }
    }
}

/// This package's directory, read when the test runs (cargo sets it then too): a test binary
/// built from another checkout of the repository still finds this checkout's files.
fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}

//! Archives end to end, through the binary: Chinook from PostgreSQL exported into every kind
//! of archive (zstd and bzip2, CSV and NDJSON), uploaded from it with `grafter run` into a
//! fresh target, verified, and equal to a load straight from PostgreSQL; `archive inspect`
//! shows the manifest and checks it; and archives that are cut short, have a byte changed, a
//! manifest whose counts lie, or a newer format version are refused with a clear error
//! before anything is written; an upload killed anywhere resumes to one clean upload; and a
//! graph dump (`export --graph`) imported into another target gives the same graph, also
//! when a mapped label or relationship type has no elements left (embedded and FalkorDB).

use crate::common;

use std::io::Read as _;
use std::path::Path;

use common::postgres::Postgres;
use common::{Project, Target};
use serde_json::Value as Json;

/// `grafter <args>` in `project`, which must succeed; its stdout.
fn ok(project: &Project, args: &[&str]) -> String {
    let assert = project.grafter().args(args).assert().success();
    String::from_utf8(assert.get_output().stdout.clone()).expect("utf-8")
}

/// `grafter <args>` in `project`, which must fail with exit code `code`; its stderr.
fn fails(project: &Project, args: &[&str], code: i32) -> String {
    let assert = project.grafter().args(args).assert().code(code);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

fn fingerprint(project: &Project) -> Json {
    serde_json::from_str(&ok(project, &["fingerprint", "--format", "json"])).expect("JSON")
}

/// A project uploading from `archive` with `config`'s mappings: its `[source] url` becomes
/// `archive:<archive>`.
fn project_reading(archive: &Path, config: &str) -> Project {
    let project = Project::new();
    let url_line = config.lines().find(|l| l.trim_start().starts_with("url = ")).expect("a source url line");
    let config = config.replacen(url_line, &format!("url = \"archive:{}\"", archive.display()), 1);
    project.write("grafter.toml", config);
    project
}

#[test]
fn chinook_from_postgres_round_trips_through_every_kind_of_archive() {
    let db = Postgres::new();
    db.load_chinook();
    let origin = Project::new();
    ok(&origin, &["init", "--from", &db.url()]);
    let config = std::fs::read_to_string(origin.file("grafter.toml")).expect("config");
    // The graph a load straight from PostgreSQL makes: what every archive must give too.
    ok(&origin, &["run", "-q"]);
    let direct = fingerprint(&origin);

    for (name, format) in [
        ("chinook.tar.zst", "csv"),
        ("chinook.tar.zst", "ndjson"),
        ("chinook.tar.bz2", "csv"),
        ("chinook.tar.bz2", "ndjson"),
    ] {
        let exports = tempfile::tempdir().expect("tempdir");
        let archive = exports.path().join(name);
        let table = ok(&origin, &["export", "-o", archive.to_str().expect("utf-8"), "--format", format]);
        assert!(table.contains("invoice_line") && table.contains("2240"), "every table with its rows:\n{table}");
        let leftovers = std::fs::read_dir(exports.path()).expect("dir").count();
        assert_eq!(leftovers, 1, "{name} {format}: only the archive is left, no spool or partial file");

        let inspect: Json =
            serde_json::from_str(&ok(&origin, &["archive", "inspect", "--format", "json", archive.to_str().unwrap()]))
                .expect("JSON");
        assert_eq!(inspect["intact"], Json::Bool(true));
        assert_eq!(inspect["manifest"]["data_format"], Json::String(format.into()));
        let tracks = inspect["manifest"]["entities"].as_array().unwrap().iter().find(|e| e["name"] == "track").unwrap();
        assert_eq!(tracks["rows"].as_i64(), Some(db.count("SELECT count(*) FROM track")));
        assert!(
            tracks["columns"].as_array().unwrap().iter().any(|c| c["name"] == "unit_price" && c["type"] == "decimal")
        );

        let target = project_reading(&archive, &config);
        ok(&target, &["run", "-q"]);
        ok(&target, &["verify"]);
        assert_eq!(fingerprint(&target), direct, "{name} {format}: the same graph as a load straight from PostgreSQL");
    }
}

/// A Chinook archive (from the SQLite file: quick) and the config to upload it.
fn sqlite_chinook_archive(exports: &Path) -> (std::path::PathBuf, String) {
    let origin = Project::new();
    origin.init_from_sqlite(&common::chinook());
    let archive = exports.join("good.tar.zst");
    ok(&origin, &["export", "-o", archive.to_str().unwrap()]);
    (archive, std::fs::read_to_string(origin.file("grafter.toml")).expect("config"))
}

/// The archive's entries, decompressed: (name, bytes).
fn entries(archive: &Path) -> Vec<(String, Vec<u8>)> {
    let decoder = zstd::stream::read::Decoder::new(std::fs::File::open(archive).unwrap()).unwrap();
    let mut tar = tar::Archive::new(decoder);
    tar.entries()
        .unwrap()
        .map(|entry| {
            let mut entry = entry.unwrap();
            let name = entry.path().unwrap().to_string_lossy().into_owned();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).unwrap();
            (name, bytes)
        })
        .collect()
}

/// Writes `entries` as a zstd tar at `path`.
fn write_entries(path: &Path, entries: &[(String, Vec<u8>)]) {
    let encoder = zstd::stream::write::Encoder::new(std::fs::File::create(path).unwrap(), 3).unwrap();
    let mut tar = tar::Builder::new(encoder);
    for (name, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, bytes.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap();
}

/// A copy of `good` whose manifest `edit` changed.
fn with_manifest(good: &Path, bad: &Path, edit: impl FnOnce(&mut Json)) {
    let mut entries = entries(good);
    assert_eq!(entries[0].0, "manifest.json", "the manifest comes first");
    let mut manifest: Json = serde_json::from_slice(&entries[0].1).unwrap();
    edit(&mut manifest);
    entries[0].1 = serde_json::to_vec_pretty(&manifest).unwrap();
    write_entries(bad, &entries);
}

#[test]
fn a_damaged_or_newer_archive_is_refused_before_anything_is_written() {
    let exports = tempfile::tempdir().expect("tempdir");
    let (good, config) = sqlite_chinook_archive(exports.path());
    let bytes = std::fs::read(&good).unwrap();

    let truncated = exports.path().join("truncated.tar.zst");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let flipped = exports.path().join("flipped.tar.zst");
    let mut changed = bytes.clone();
    changed[bytes.len() * 2 / 3] ^= 0x40;
    std::fs::write(&flipped, changed).unwrap();
    let lying = exports.path().join("lying.tar.zst");
    with_manifest(&good, &lying, |m| {
        let album = m["entities"].as_array_mut().unwrap().iter_mut().find(|e| e["name"] == "Album").unwrap();
        album["rows"] = Json::from(album["rows"].as_u64().unwrap() + 1);
    });
    let newer = exports.path().join("newer.tar.zst");
    with_manifest(&good, &newer, |m| {
        m["format_version"] = Json::from(2);
        m["entities"] = Json::String("changed in version 2".into());
    });

    // A changed byte breaks the compressed stream, or changes an entity's bytes: its SHA-256,
    // or first a row that no longer parses (which byte it hits depends on the archive's
    // creation time, in the manifest).
    for (archive, expected) in [
        (&truncated, &["is damaged"][..]),
        (&flipped, &["is damaged", "its SHA-256 is", "cannot be read"][..]),
        (&lying, &["entity `Album` (data/000-Album.csv): the manifest says 348 rows, the file has 347"][..]),
        (&newer, &["has format version 2, newer than this grafter"][..]),
    ] {
        let said = |stderr: &str| expected.iter().any(|e| stderr.contains(e));
        let target = project_reading(archive, &config);
        // Reading a damaged archive fails (3); inspecting one answers no (1).
        let stderr = fails(&target, &["run", "-q"], 3);
        assert!(stderr.contains(&archive.display().to_string()) && said(&stderr), "{stderr}");
        assert!(stderr.contains("hint:"), "{stderr}");
        let written: Vec<_> = std::fs::read_dir(target.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(written, ["grafter.toml"], "{}: nothing was written, not even the store", archive.display());
        let stderr = fails(&target, &["archive", "inspect", archive.to_str().unwrap()], 1);
        assert!(said(&stderr), "inspect says it too: {stderr}");
    }
    // The good one is intact, entity by entity.
    let inspect = Project::new();
    let output = inspect.grafter().args(["archive", "inspect", good.to_str().unwrap()]).output().unwrap();
    let (stdout, stderr) = common::output_text(&output);
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("sqlite:") && stdout.contains("Album") && stdout.contains("347"), "{stdout}");
    assert!(
        stderr.contains("ok  Album (347 rows, sha256 matches)") && stderr.contains("archive intact: 11 entities"),
        "{stderr}"
    );
}

/// What a user compares between two uploads: the graph, and per mapping what was read and
/// written in the end.
fn outcome(project: &Project) -> (Json, Vec<Json>) {
    let history: Json = serde_json::from_str(&ok(project, &["history", "--format", "json"])).expect("JSON");
    let last = history.as_array().and_then(|runs| runs.last()).expect("a run");
    assert_eq!(last["status"], "completed", "{last:#}");
    let mappings = last["mappings"].as_array().expect("mappings");
    let figures =
        mappings.iter().map(|m| serde_json::json!([m["name"], m["read"], m["written"], m["rejected"]])).collect();
    (fingerprint(project)["overall"].clone(), figures)
}

#[test]
fn an_upload_from_an_archive_killed_anywhere_resumes_without_duplicates() {
    let exports = tempfile::tempdir().expect("tempdir");
    let (archive, config) = sqlite_chinook_archive(exports.path());
    let args = ["run", "-q", "--batch-size", "200", "--workers", "1"];
    let clean = project_reading(&archive, &config);
    ok(&clean, &args);
    let expected = outcome(&clean);

    for point in ["before-commit:1", "before-commit:9", "after-commit:14", "after-commit:30", "validating:1"] {
        let project = project_reading(&archive, &config);
        let killed = project.grafter().args(args).env("GRAFTER_KILL_AT", point).output().expect("start grafter");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&killed.status),
            Some(9),
            "{point}: killed by SIGKILL ({})",
            String::from_utf8_lossy(&killed.stderr)
        );
        let resumed = project.grafter().args(args).output().expect("start grafter");
        let stderr = String::from_utf8_lossy(&resumed.stderr);
        assert!(resumed.status.success(), "{point}: {stderr}");
        // Killed inside the first batch, nothing of the run was committed: it starts anew.
        if point != "before-commit:1" {
            assert!(stderr.contains("resuming run"), "{point}: the run was resumed, not started over: {stderr}");
        }
        assert_eq!(outcome(&project), expected, "{point}: the graph and figures of one clean upload");
    }
}

#[test]
fn a_graph_dump_imported_into_another_target_gives_an_equal_fingerprint() {
    let origin = Project::new();
    origin.init_from_sqlite(&common::chinook());
    ok(&origin, &["run", "-q"]);
    let dumps = tempfile::tempdir().expect("tempdir");
    let dump = dumps.path().join("graph.tar.bz2");
    let table = ok(&origin, &["export", "--graph", "-o", dump.to_str().unwrap(), "--format", "ndjson"]);
    assert!(table.contains("(:Playlist)-[:PLAYLIST_TRACK]->(:Track)") && table.contains("8715"), "{table}");

    // Another installation with the same config: its own, empty store.
    let restored = Project::new();
    restored.write("grafter.toml", std::fs::read_to_string(origin.file("grafter.toml")).unwrap());
    ok(&restored, &["import", "-q", dump.to_str().unwrap()]);
    assert_eq!(fingerprint(&restored), fingerprint(&origin), "the imported graph equals the dumped one");

    // A source archive is no graph dump: refused, nothing written.
    let rows = dumps.path().join("rows.tar.zst");
    ok(&origin, &["export", "-o", rows.to_str().unwrap()]);
    let elsewhere = Project::new();
    elsewhere.write("grafter.toml", std::fs::read_to_string(origin.file("grafter.toml")).unwrap());
    let assert = elsewhere.grafter().args(["import", rows.to_str().unwrap()]).assert().code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("holds source rows, not a graph dump"), "{stderr}");
    assert!(!elsewhere.file("grafter.grafeo").exists(), "nothing was written");
}

on_every_target!(a_graph_dump_with_an_empty_label_and_type_imports_to_an_equal_graph);

fn a_graph_dump_with_an_empty_label_and_type_imports_to_an_equal_graph(target: Target) {
    let origin = Project::new();
    origin.init_from_sqlite(&common::chinook());
    // The target section comes last (init writes one that only holds comments).
    let config = std::fs::read_to_string(origin.file("grafter.toml")).unwrap().replacen("\n[target]\n", "\n", 1);
    origin.write("grafter.toml", format!("{config}{}", target.section("dump_origin")));
    ok(&origin, &["run", "-q"]);
    // Genre stays mapped (and so does the relationship type to it) but has no elements left.
    ok(&origin, &["query", "--write", "MATCH (g:Genre) DETACH DELETE g"]);
    assert_eq!(origin.query_int("MATCH (g:Genre) RETURN count(g)"), 0);
    let dumps = tempfile::tempdir().expect("tempdir");
    let dump = dumps.path().join("graph.tar.zst");
    let table = ok(&origin, &["export", "--graph", "-o", dump.to_str().unwrap()]);
    // `| entity | read | rows |`
    let rows = |read: &str| -> String {
        let line = table.lines().find(|l| l.contains(read)).unwrap_or_else(|| panic!("{read}: {table}"));
        line.split('|').nth(3).unwrap_or_default().trim().to_owned()
    };
    assert_eq!((rows("nodes :Genre"), rows("(:Track)-[:GENRE]->(:Genre)")), ("0".into(), "0".into()), "{table}");
    assert_eq!(rows("nodes :Track"), "3503", "{table}");

    let restored = Project::new();
    restored.write("grafter.toml", format!("{config}{}", target.section("dump_restored")));
    ok(&restored, &["import", "-q", dump.to_str().unwrap()]);
    assert_eq!(fingerprint(&restored), fingerprint(&origin), "the imported graph equals the dumped one");
    assert_eq!(restored.query_int("MATCH (g:Genre) RETURN count(g)"), 0);
}

#[test]
fn a_run_keeps_a_verified_archive_that_uploads_to_the_same_graph() {
    let origin = Project::new();
    origin.init_from_sqlite(&common::chinook());
    let kept = tempfile::tempdir().expect("tempdir");
    let archive = kept.path().join("kept.tar.bz2");
    let assert = origin.grafter().args(["run", "-q", "--keep-archive", archive.to_str().unwrap()]).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(stderr.contains("entities, 15607 rows, every row count and checksum verified"), "{stderr}");
    ok(&origin, &["archive", "inspect", archive.to_str().unwrap()]);

    let config = std::fs::read_to_string(origin.file("grafter.toml")).unwrap();
    let target = project_reading(&archive, &config);
    ok(&target, &["run", "-q"]);
    assert_eq!(fingerprint(&target), fingerprint(&origin), "the kept copy uploads to the same graph");

    // A run killed half-way leaves no half archive (the copy may have been completed before
    // the kill: then it is whole); resumed, it keeps a complete copy, not only what the
    // resumed part read.
    let killed = Project::new();
    killed.write("grafter.toml", &config);
    let again = kept.path().join("again.tar.zst");
    let args = ["run", "-q", "--batch-size", "200", "--workers", "1", "--keep-archive", again.to_str().unwrap()];
    let output = killed.grafter().args(args).env("GRAFTER_KILL_AT", "after-commit:20").output().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&output.status), Some(9));
    if again.exists() {
        ok(&killed, &["archive", "inspect", again.to_str().unwrap()]);
    }
    let assert = killed.grafter().args(args).assert().success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("resuming run") && stderr.contains("15607 rows, every row count and checksum verified"),
        "{stderr}"
    );
}

#[test]
fn export_only_picks_entities_and_a_query_mapping_reads_its_own_entity_back() {
    let origin = Project::new();
    let config = format!(
        "[source]\nurl = \"sqlite:{}\"\n\n\
         [[nodes]]\nlabel = \"Genre\"\ntable = \"Genre\"\nkey = \"GenreId\"\n\n\
         [[nodes]]\nname = \"long_tracks\"\nlabel = \"LongTrack\"\nkey = \"TrackId\"\n\
         query = \"SELECT TrackId, Name, Milliseconds FROM Track WHERE Milliseconds > 600000\"\n\n\
         [[nodes]]\nlabel = \"Artist\"\ntable = \"Artist\"\nkey = \"ArtistId\"\n",
        common::chinook().display()
    );
    origin.write("grafter.toml", &config);
    ok(&origin, &["run", "-q"]);
    let exports = tempfile::tempdir().expect("tempdir");
    let archive = exports.path().join("some.tar.zst");
    let table = ok(&origin, &["export", "-o", archive.to_str().unwrap(), "--only", "Genre,long_tracks"]);
    assert!(table.contains("Genre") && table.contains("long_tracks") && !table.contains("Artist"), "{table}");

    let unknown =
        origin.grafter().args(["export", "-o", archive.to_str().unwrap(), "--only", "Genres"]).assert().code(2);
    let stderr = String::from_utf8_lossy(&unknown.get_output().stderr).into_owned();
    assert!(stderr.contains("no entity or mapping called `Genres`; did you mean `Genre`?"), "{stderr}");

    // The same config without the Artist mapping uploads from the archive.
    let without_artists = config.split("\n[[nodes]]\nlabel = \"Artist\"").next().unwrap().to_owned();
    let target = project_reading(&archive, &without_artists);
    ok(&target, &["run", "-q"]);
    assert_eq!(target.label_counts(), {
        let mut counts = origin.label_counts();
        counts.remove("Artist");
        counts
    });
}

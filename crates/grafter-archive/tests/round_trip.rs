//! Archives written and read back: every value keeps its type, in both data formats and both
//! compressions; damage is found by `verify`.

use std::path::Path;

use grafter_archive::{
    ArchiveError, ArchiveOptions, ArchiveReader, ArchiveWriter, Content, DataFormat, EntityRead, ManifestColumn,
};
use grafter_model::{LogicalType, Value};

fn column(name: &str, logical_type: LogicalType) -> ManifestColumn {
    ManifestColumn { name: name.into(), logical_type, declared: None, nullable: None }
}

fn rows() -> Vec<Vec<Value>> {
    (0..1000)
        .map(|i| {
            vec![
                Value::Int(i),
                if i % 7 == 0 { Value::Null } else { Value::String(format!("name, \"{i}\"\n\\N")) },
                Value::Float(f64::from(i32::try_from(i).unwrap()) / 3.0),
                Value::List(vec![Value::Int(i), Value::from("x")]),
            ]
        })
        .collect()
}

fn write(path: &Path, data_format: DataFormat) {
    let options =
        ArchiveOptions { data_format, content: Content::Source, source: "postgres://app:s3cret@db/shop".into() };
    let writer = ArchiveWriter::create(path, options).unwrap();
    let columns = vec![
        column("id", LogicalType::Int),
        column("name", LogicalType::String),
        column("ratio", LogicalType::Float),
        column("tags", LogicalType::Json),
    ];
    let mut people = writer.entity("people", EntityRead::Table("people".into()), columns).unwrap();
    let empty = writer
        .entity("empty", EntityRead::Query("SELECT 1 AS one".into()), vec![column("one", LogicalType::Int)])
        .unwrap();
    for row in rows() {
        people.write_row(&row).unwrap();
    }
    writer.add(people.finish().unwrap());
    writer.add(empty.finish().unwrap());
    writer.finish().unwrap();
}

fn read_all(reader: &ArchiveReader, entity: &str) -> Vec<Vec<Value>> {
    let mut out = Vec::new();
    reader
        .read_rows(entity, |row| {
            out.push(row.values.unwrap());
            true
        })
        .unwrap();
    out
}

#[test]
fn rows_come_back_exactly_in_every_format_and_compression() {
    for name in ["a.tar.zst", "a.tar.bz2"] {
        for format in [DataFormat::Csv, DataFormat::Ndjson] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(name);
            write(&path, format);
            let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(leftovers.len(), 1, "no spool or partial file stays behind: {leftovers:?}");
            let reader = ArchiveReader::open(&path).unwrap();
            let manifest = reader.manifest();
            assert_eq!(manifest.source, "postgres://app:***@db/shop", "the password is redacted");
            assert_eq!(manifest.entities[0].rows, 1000);
            assert_eq!(manifest.entities[1].rows, 0);
            let checks = reader.verify(|_| {}).unwrap();
            assert_eq!(checks.len(), 2);
            let read = read_all(&reader, "people");
            assert_eq!(read.len(), 1000, "{name} {format:?}");
            for (got, wanted) in read.iter().zip(rows()) {
                assert_eq!(got, &wanted, "{name} {format:?}");
            }
            assert!(read_all(&reader, "empty").is_empty());
        }
    }
}

#[test]
fn an_extracted_archive_reads_each_entity_from_its_own_file_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar.zst");
    write(&path, DataFormat::Ndjson);
    let reader = ArchiveReader::open(&path).unwrap();
    let mut intact = Vec::new();
    let extracted = reader.extract(|check| intact.push(check.name.clone())).unwrap();
    assert_eq!(intact, ["people", "empty"], "verified while unpacking");
    let mut people = Vec::new();
    extracted
        .read_rows("people", |row| {
            people.push(row.values.unwrap());
            true
        })
        .unwrap();
    assert_eq!(people, rows());
    let unpacked = extracted.unpacked_dir().to_path_buf();
    assert!(unpacked.is_dir());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(unpacked.metadata().unwrap().permissions().mode() & 0o777, 0o700, "the owner's only");
    }
    drop(extracted);
    assert!(!unpacked.exists(), "the unpacked files are removed with it");
}

#[test]
fn an_unknown_extension_is_refused_with_the_names_to_use() {
    let dir = tempfile::tempdir().unwrap();
    let options = ArchiveOptions { data_format: DataFormat::Csv, content: Content::Source, source: "x".into() };
    let err = ArchiveWriter::create(&dir.path().join("a.zip"), options).unwrap_err().to_string();
    assert!(err.contains(".tar.zst") && err.contains(".tar.bz2"), "{err}");
}

#[test]
fn a_truncated_archive_fails_verification() {
    for name in ["a.tar.zst", "a.tar.bz2"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        write(&path, DataFormat::Csv);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
        let err = ArchiveReader::open(&path).and_then(|r| r.verify(|_| {})).unwrap_err();
        assert!(matches!(err, ArchiveError::Damaged { .. }), "{name}: {err}");
    }
}

#[test]
fn an_entity_name_is_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let options = ArchiveOptions { data_format: DataFormat::Csv, content: Content::Source, source: "x".into() };
    let writer = ArchiveWriter::create(&dir.path().join("a.tar.zst"), options).unwrap();
    let _first = writer.entity("t", EntityRead::Table("t".into()), vec![]).unwrap();
    assert!(writer.entity("t", EntityRead::Table("t".into()), vec![]).is_err());
}

#[cfg(target_os = "linux")]
#[test]
fn unpacked_files_left_by_a_process_that_is_gone_are_removed() {
    // No process has a pid this high (pid_max is at most 2^22).
    let orphan = std::env::temp_dir().join("grafter-archive-4294967294-abc");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("0"), "old rows").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.tar.zst");
    write(&path, DataFormat::Csv);
    let extracted = ArchiveReader::open(&path).unwrap().extract(|_| {}).unwrap();
    assert!(!orphan.exists(), "the orphan was removed");
    assert!(extracted.unpacked_dir().is_dir(), "the live one stays");
}

//! What every source test shares: a scan request, a whole scan with its cursors, the values
//! of the rows, and where this package is.

pub mod mysql;
pub mod postgres;

use futures::StreamExt as _;
use grafter_model::{Cursor, SourceRow, Value};
use grafter_source::{KeyRange, Read, ScanRequest, Source};

/// A request for `columns` of `read`, ordered by `order_by`, from the start.
pub fn request(read: Read, columns: &[&str], order_by: &[&str], batch_size: usize) -> ScanRequest {
    ScanRequest {
        read,
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        skip_null: Vec::new(),
        order_by: order_by.iter().map(|c| (*c).to_owned()).collect(),
        after: Cursor::Start,
        batch_size,
        range: KeyRange::all(),
        filters: Vec::new(),
    }
}

/// The table `name`.
pub fn table(name: &str) -> Read {
    Read::Table(name.to_owned())
}

/// Every row of a scan, with the cursor after each batch.
pub async fn scan_all(source: &dyn Source, request: ScanRequest) -> (Vec<SourceRow>, Vec<Cursor>) {
    let mut stream = source.scan(request).await.expect("scan starts");
    let (mut rows, mut cursors) = (Vec::new(), Vec::new());
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("batch");
        rows.extend(batch.rows);
        cursors.push(batch.cursor_after);
    }
    (rows, cursors)
}

/// The values of rows that must all have been read whole.
pub fn values(rows: &[SourceRow]) -> Vec<Vec<Value>> {
    rows.iter()
        .map(|row| match row {
            SourceRow::Ok { values, .. } => values.clone(),
            SourceRow::Malformed { reason, raw, .. } => panic!("unexpected malformed row: {reason}: {raw}"),
        })
        .collect()
}

/// This package's directory, read when the test runs (cargo sets it then too): a test binary
/// built from another checkout of the repository still finds this checkout's files.
pub fn package_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")), std::path::PathBuf::from)
}

//! Sizing UNWIND batches by encoded bytes.
//!
//! A loader sends rows as one list parameter (`UNWIND $rows AS row …`). Counting rows is not
//! enough: FalkorDB's experimental Bolt crashes on messages above a few kilobytes, and even
//! servers without such a limit are better served by batches of even size. [`BatchSizer`]
//! encodes each row once and says how many rows fit under a byte cap, either for the list
//! alone ([`BatchSizer::for_list`]) or for the whole RUN message on the wire, query text,
//! other parameters and chunk headers included ([`BatchSizer::for_run`]).

use std::ops::Range;

use crate::chunk::chunked_len;
use crate::error::BoltError;
use crate::handshake::Version;
use crate::message::Request;
use crate::packstream::{BoltMap, BoltValue, StructFormat, encoded_len};

/// How many rows fit, and the bytes they make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchFit {
    /// Rows from the front of the input that fit.
    pub rows: usize,
    /// The bytes of the measured unit (the list, or the framed RUN message) with those rows.
    pub bytes: usize,
}

/// Counts how many rows fit under a byte cap.
#[derive(Debug, Clone)]
pub struct BatchSizer {
    /// Bytes of everything but the list's header and items.
    overhead: usize,
    /// Whether the measured unit is a framed message (adds chunk headers).
    framed: bool,
    max_bytes: usize,
    format: StructFormat,
}

/// The bytes of a list header for `n` items.
fn list_header_len(n: usize) -> usize {
    match n {
        0..=15 => 1,
        16..=0xFF => 2,
        0x100..=0xFFFF => 3,
        _ => 5,
    }
}

impl BatchSizer {
    /// Measures the list parameter alone: `rows` as one PackStream list.
    pub fn for_list(max_bytes: usize, format: StructFormat) -> BatchSizer {
        BatchSizer { overhead: 0, framed: false, max_bytes, format }
    }

    /// Measures the whole RUN message as it goes on the wire (chunk headers and end marker
    /// included): `RUN query {list_param: [rows…], other_params…} extra`.
    pub fn for_run(
        query: &str,
        list_param: &str,
        other_params: &BoltMap,
        extra: &[(String, BoltValue)],
        version: Version,
        max_bytes: usize,
    ) -> Result<BatchSizer, BoltError> {
        let mut parameters = other_params.clone();
        parameters.insert(list_param.to_owned(), BoltValue::List(Vec::new()));
        let run = Request::Run { query: query.to_owned(), parameters, extra: extra.to_vec() };
        let mut body = Vec::new();
        run.encode(version, &mut body)?;
        // The empty list's header (one byte) is counted per batch instead.
        let overhead = body.len() - list_header_len(0);
        Ok(BatchSizer { overhead, framed: true, max_bytes, format: version.struct_format() })
    }

    /// The cap.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    fn total(&self, rows: usize, items_bytes: usize) -> usize {
        let body = self.overhead + list_header_len(rows) + items_bytes;
        if self.framed { chunked_len(body) } else { body }
    }

    /// How many rows from the front of `rows` fit under the cap. At least one row must fit,
    /// or this says which row is too large on its own.
    pub fn fit(&self, rows: &[BoltValue]) -> Result<BatchFit, BoltError> {
        self.fit_iter(rows)
    }

    /// [`BatchSizer::fit`] over borrowed rows from anywhere (no need to gather them first).
    pub fn fit_iter<'a>(&self, rows: impl IntoIterator<Item = &'a BoltValue>) -> Result<BatchFit, BoltError> {
        let mut items = 0usize;
        let mut fit = BatchFit { rows: 0, bytes: self.total(0, 0) };
        for (index, row) in rows.into_iter().enumerate() {
            items += encoded_len(row, self.format)?;
            let bytes = self.total(index + 1, items);
            if bytes > self.max_bytes {
                if index == 0 {
                    return Err(BoltError::RowTooLarge { index, bytes, cap: self.max_bytes });
                }
                break;
            }
            fit = BatchFit { rows: index + 1, bytes };
        }
        Ok(fit)
    }

    /// Splits all of `rows` into consecutive batches that each fit under the cap.
    pub fn split(&self, rows: &[BoltValue]) -> Result<Vec<Range<usize>>, BoltError> {
        let mut batches = Vec::new();
        let mut start = 0;
        while start < rows.len() {
            let fit = self.fit(&rows[start..]).map_err(|e| match e {
                BoltError::RowTooLarge { index, bytes, cap } => {
                    BoltError::RowTooLarge { index: start + index, bytes, cap }
                }
                other => other,
            })?;
            batches.push(start..start + fit.rows);
            start += fit.rows;
        }
        Ok(batches)
    }
}

/// How many of `rows` (parameter maps), encoded as one PackStream list, fit in `max_bytes`.
pub fn rows_fitting(rows: &[BoltMap], max_bytes: usize, format: StructFormat) -> Result<BatchFit, BoltError> {
    let values: Vec<BoltValue> = rows.iter().cloned().map(BoltValue::Dictionary).collect();
    BatchSizer::for_list(max_bytes, format).fit(&values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt_map;
    use crate::chunk::write_chunked;
    use crate::packstream::encode_value;

    fn rows(n: usize) -> Vec<BoltValue> {
        (0..n)
            .map(|i| BoltValue::Dictionary(bolt_map! { "id" => i as i64, "name" => format!("row number {i}") }))
            .collect()
    }

    fn wire_len(query: &str, rows: &[BoltValue]) -> usize {
        let run = Request::Run {
            query: query.into(),
            parameters: bolt_map! { "rows" => BoltValue::List(rows.to_vec()) },
            extra: Vec::new(),
        };
        let mut body = Vec::new();
        run.encode(Version::V5_7, &mut body).expect("encodes");
        let mut wire = Vec::new();
        write_chunked(&body, &mut wire);
        wire.len()
    }

    #[test]
    fn run_sizing_is_exact() {
        let query = "UNWIND $rows AS row CREATE (:R {id: row.id, name: row.name})";
        let all = rows(500);
        for cap in [200, 1_000, 4_096, 8_000, 70_000] {
            let sizer = BatchSizer::for_run(query, "rows", &BoltMap::new(), &[], Version::V5_7, cap).expect("sizer");
            let fit = sizer.fit(&all).expect("fits");
            assert_eq!(fit.bytes, wire_len(query, &all[..fit.rows]), "cap {cap}");
            assert!(fit.bytes <= cap);
            if fit.rows < all.len() {
                assert!(wire_len(query, &all[..fit.rows + 1]) > cap, "cap {cap}: one more row would still fit");
            }
        }
    }

    #[test]
    fn list_sizing_is_exact_across_header_sizes() {
        let all = rows(70_000);
        let sizer = BatchSizer::for_list(usize::MAX, StructFormat::Bolt5);
        for n in [0, 15, 16, 255, 256, 65_535, 65_536] {
            let mut bytes = Vec::new();
            encode_value(&BoltValue::List(all[..n].to_vec()), StructFormat::Bolt5, &mut bytes).expect("encodes");
            assert_eq!(sizer.fit(&all[..n]).expect("fits").bytes, bytes.len(), "{n} rows");
        }
    }

    #[test]
    fn split_covers_everything_in_order() {
        let all = rows(1000);
        let sizer =
            BatchSizer::for_run("UNWIND $rows AS r RETURN r", "rows", &BoltMap::new(), &[], Version::V5_7, 4096)
                .expect("sizer");
        let batches = sizer.split(&all).expect("splits");
        assert!(batches.len() > 1);
        assert_eq!(batches.first().map(|b| b.start), Some(0));
        assert_eq!(batches.last().map(|b| b.end), Some(1000));
        for pair in batches.windows(2) {
            assert_eq!(pair[0].end, pair[1].start);
        }
        for batch in &batches {
            assert!(wire_len("UNWIND $rows AS r RETURN r", &all[batch.clone()]) <= 4096);
        }
    }

    #[test]
    fn a_row_too_big_alone_is_named() {
        let mut all = rows(3);
        all.push(BoltValue::Dictionary(bolt_map! { "blob" => "x".repeat(10_000) }));
        let sizer = BatchSizer::for_list(1000, StructFormat::Bolt5);
        match sizer.split(&all) {
            Err(BoltError::RowTooLarge { index: 3, cap: 1000, bytes }) => assert!(bytes > 10_000),
            other => panic!("expected RowTooLarge for row 3, got {other:?}"),
        }
    }

    #[test]
    fn rows_fitting_counts_maps() {
        let maps: Vec<BoltMap> = (0..100).map(|i| bolt_map! { "i" => i as i64 }).collect();
        // Each map is A1 81 69 <int>: 4 bytes for i < 128; header 0x90|n or D4 n.
        let fit = rows_fitting(&maps, 2 + 4 * 20, StructFormat::Bolt5).expect("fits");
        assert_eq!(fit, BatchFit { rows: 20, bytes: 82 });
    }
}

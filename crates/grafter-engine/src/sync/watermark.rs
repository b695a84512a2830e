//! The watermark's arithmetic: where a pass starts reading, and when a row moves it on.
//!
//! The watermark is the position of the last change applied: the pair (cursor value, key)
//! in cursor mode, (changed at, id) in a change log. Without an overlap a pass continues
//! strictly after it, in the source's own `(cursor, key)` order, so rows sharing a cursor
//! value are neither skipped nor read twice. That alone loses a row whose transaction
//! commits late: its cursor value (taken when the transaction began, or when the statement
//! ran) can be older than rows another transaction committed and a pass already applied.
//! So by default each pass starts `overlap` before the watermark's cursor value and reads
//! that window again; what it finds already applied is counted as unchanged and not
//! written. The rule: **a change is never missed if its transaction commits within
//! `overlap` of the cursor value it wrote.**

use std::cmp::Ordering;

use grafter_model::Value;
use grafter_plan::SyncSettings;

use super::tracked::CursorKind;

/// Where a pass starts when the watermark's cursor value is `value`: `overlap` before it,
/// or `None` when there is no overlap (continue strictly after the watermark).
pub(crate) fn step_back(value: &Value, kind: CursorKind, settings: &SyncSettings) -> Option<Value> {
    match kind {
        CursorKind::Integer => {
            let Value::Int(n) = value else { return None };
            (settings.overlap_integer > 0).then(|| Value::Int(n.saturating_sub(settings.overlap_integer)))
        }
        CursorKind::Temporal => {
            if settings.overlap.is_zero() {
                return None;
            }
            let overlap = chrono::Duration::from_std(settings.overlap).unwrap_or(chrono::Duration::days(1));
            match value {
                Value::DateTime(at) => Some(Value::DateTime(*at - overlap)),
                Value::DateTimeTz(at) => Some(Value::DateTimeTz(*at - overlap)),
                // A date cursor cannot tell the hours apart: step back whole days.
                Value::Date(day) => {
                    let days = (settings.overlap.as_secs()).div_ceil(86_400).max(1);
                    Some(Value::Date(*day - chrono::Duration::days(days as i64)))
                }
                _ => None,
            }
        }
    }
}

/// The order of two cursor values of one column (integers, dates, timestamps); `None` for
/// values that cannot be compared.
pub(crate) fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(a), Value::Int(b)) => Some(a.cmp(b)),
        (Value::Date(a), Value::Date(b)) => Some(a.cmp(b)),
        (Value::DateTime(a), Value::DateTime(b)) => Some(a.cmp(b)),
        (Value::DateTimeTz(a), Value::DateTimeTz(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// The watermark after a batch whose last row (in read order) is at `last`: that row's
/// position when it lies beyond the current watermark's cursor value, or read without an
/// overlap (every row read then lies beyond); else (a row read again in the overlap
/// window, or sharing the watermark's cursor value) the watermark stays.
pub(crate) fn advance(current: &[Value], last: &[Value], overlapping: bool) -> Vec<Value> {
    if current.is_empty() || !overlapping {
        return last.to_vec();
    }
    match (current.first(), last.first()) {
        (Some(now), Some(then)) if compare(then, now) == Some(Ordering::Greater) => last.to_vec(),
        _ => current.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use chrono::NaiveDate;

    use super::*;

    fn settings(overlap: Duration, overlap_integer: i64) -> SyncSettings {
        SyncSettings {
            overlap,
            overlap_integer,
            interval: Duration::from_secs(5),
            max_lag: Duration::from_secs(10),
            pending_timeout: Duration::from_secs(300),
            change_log: grafter_plan::ChangeLogConfig::default(),
        }
    }

    fn at(h: u32, m: u32, s: u32) -> Value {
        Value::DateTime(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap().and_hms_opt(h, m, s).unwrap())
    }

    #[test]
    fn a_pass_starts_the_overlap_before_the_watermark() {
        let five = settings(Duration::from_secs(5), 0);
        assert_eq!(step_back(&at(10, 0, 3), CursorKind::Temporal, &five), Some(at(9, 59, 58)));
        let day = Value::Date(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        assert_eq!(
            step_back(&day, CursorKind::Temporal, &five),
            Some(Value::Date(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()))
        );
        assert_eq!(
            step_back(&Value::Int(100), CursorKind::Integer, &settings(Duration::ZERO, 10)),
            Some(Value::Int(90))
        );
    }

    #[test]
    fn without_an_overlap_a_pass_continues_strictly_after_the_watermark() {
        assert_eq!(step_back(&at(10, 0, 3), CursorKind::Temporal, &settings(Duration::ZERO, 7)), None);
        assert_eq!(step_back(&Value::Int(100), CursorKind::Integer, &settings(Duration::from_secs(5), 0)), None);
    }

    #[test]
    fn rows_read_again_in_the_overlap_do_not_move_the_watermark_back() {
        let current = vec![at(10, 0, 3), Value::Int(7)];
        // Read again: older, or the same second with a smaller key.
        assert_eq!(advance(&current, &[at(10, 0, 1), Value::Int(9)], true), current);
        assert_eq!(advance(&current, &[at(10, 0, 3), Value::Int(2)], true), current);
        // Beyond.
        let later = vec![at(10, 0, 4), Value::Int(1)];
        assert_eq!(advance(&current, &later, true), later);
        // Without an overlap every row read lies beyond the watermark, ties included.
        let tie = vec![at(10, 0, 3), Value::Int(8)];
        assert_eq!(advance(&current, &tie, false), tie);
    }
}

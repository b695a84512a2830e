//! The string functions whose rules need more than one line: positions count characters
//! (not bytes) and follow PostgreSQL, so a mapping ported from SQL keeps its meaning.
//!
//! These work on `&str`; checking that arguments are strings is `functions.rs`'s job.

/// `length(s)`: the number of characters.
pub(crate) fn length(s: &str) -> i64 {
    i64::try_from(s.chars().count()).unwrap_or(i64::MAX)
}

/// `replace(s, from, to)`: every occurrence. An empty `from` leaves `s` unchanged (as in
/// PostgreSQL) rather than inserting `to` between every character.
pub(crate) fn replace(s: &str, from: &str, to: &str) -> String {
    if from.is_empty() { s.to_owned() } else { s.replace(from, to) }
}

/// `split_part(s, delimiter, n)`: field `n` counting from 1, or from the end when negative
/// (PostgreSQL 14). A field beyond the last is `''`. An empty delimiter makes `s` one field.
pub(crate) fn split_part<'s>(s: &'s str, delimiter: &str, n: i64) -> Result<&'s str, String> {
    if n == 0 {
        return Err("field position must not be zero".to_owned());
    }
    if delimiter.is_empty() {
        return Ok(if n == 1 || n == -1 { s } else { "" });
    }
    // Count from the front even for negative positions: with overlapping delimiters
    // (`'aaa'` split on `'aa'`) splitting from the back would find different fields.
    let index = if n > 0 {
        usize::try_from(n - 1).ok()
    } else {
        let count = s.split(delimiter).count();
        usize::try_from(n.unsigned_abs()).ok().and_then(|back| count.checked_sub(back))
    };
    Ok(index.and_then(|i| s.split(delimiter).nth(i)).unwrap_or(""))
}

/// `substring(s, start[, length])`: characters from `start` (1-based). As in PostgreSQL, a
/// start before 1 still counts toward the length: `substring('hello', 0, 3)` is `'he'`.
pub(crate) fn substring(s: &str, start: i64, length: Option<i64>) -> Result<String, String> {
    if let Some(length) = length
        && length < 0
    {
        return Err(format!("negative length {length}"));
    }
    let first = start.max(1);
    // One past the last character wanted, 1-based; saturating so huge arguments cannot overflow.
    let end = length.map(|length| start.saturating_add(length));
    if end.is_some_and(|end| end <= first) {
        return Ok(String::new());
    }
    let skip = usize::try_from(first - 1).unwrap_or(usize::MAX);
    let take = end.map_or(usize::MAX, |end| usize::try_from(end - first).unwrap_or(usize::MAX));
    // Slice by byte offsets rather than collecting chars: one allocation of the exact size.
    let mut offsets = s.char_indices().map(|(i, _)| i).chain(std::iter::once(s.len()));
    let Some(from) = offsets.nth(skip) else { return Ok(String::new()) };
    let to = if take == usize::MAX { s.len() } else { offsets.nth(take - 1).unwrap_or(s.len()) };
    Ok(s[from..to].to_owned())
}

/// `to_upper_snake(s)`: words split at case changes and non-alphanumeric characters, joined
/// by `_`, upper-cased. `SupportRepId` → `SUPPORT_REP_ID`, `HTTPServer` → `HTTP_SERVER`,
/// `Unit Price` → `UNIT_PRICE`, `Line2Text` → `LINE2_TEXT`.
pub(crate) fn to_upper_snake(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    let mut separator_pending = false;
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            separator_pending = !out.is_empty();
            continue;
        }
        let prev = i.checked_sub(1).and_then(|j| chars.get(j)).copied();
        let next = chars.get(i + 1).copied();
        // A capital starts a word after a small letter or digit, and ends an acronym when a
        // small letter follows it (the `S` in `HTTPServer`).
        let word_start = c.is_uppercase()
            && prev.is_some_and(|p| {
                p.is_lowercase() || p.is_numeric() || (p.is_uppercase() && next.is_some_and(char::is_lowercase))
            });
        if (word_start || separator_pending) && !out.is_empty() {
            out.push('_');
        }
        separator_pending = false;
        out.extend(c.to_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_counts_characters_not_bytes() {
        assert_eq!(length("naïve"), 5);
        assert_eq!(length(""), 0);
    }

    #[test]
    fn replace_with_empty_pattern_changes_nothing() {
        assert_eq!(replace("a.b.c", ".", "::"), "a::b::c");
        assert_eq!(replace("abc", "", "-"), "abc");
    }

    #[test]
    fn split_part_like_postgres() {
        assert_eq!(split_part("a,b,c", ",", 1), Ok("a"));
        assert_eq!(split_part("a,b,c", ",", 3), Ok("c"));
        assert_eq!(split_part("a,b,c", ",", 4), Ok(""));
        assert_eq!(split_part("a,b,c", ",", -1), Ok("c"));
        assert_eq!(split_part("a,b,c", ",", -3), Ok("a"));
        assert_eq!(split_part("a,b,c", ",", -4), Ok(""));
        assert_eq!(split_part("a,,c", ",", 2), Ok(""));
        assert_eq!(split_part("", ",", 1), Ok(""));
        assert_eq!(split_part("abc", "", 1), Ok("abc"));
        assert_eq!(split_part("abc", "", 2), Ok(""));
        assert_eq!(split_part("abc", ",", i64::MAX), Ok(""));
        assert_eq!(split_part("abc", ",", i64::MIN), Ok(""));
        assert_eq!(split_part("abc", ",", 0), Err("field position must not be zero".to_owned()));
    }

    #[test]
    fn substring_like_postgres() {
        assert_eq!(substring("hello", 1, None).as_deref(), Ok("hello"));
        assert_eq!(substring("hello", 2, Some(3)).as_deref(), Ok("ell"));
        assert_eq!(substring("hello", 0, Some(3)).as_deref(), Ok("he"));
        assert_eq!(substring("hello", -3, Some(3)).as_deref(), Ok(""));
        assert_eq!(substring("hello", 4, Some(10)).as_deref(), Ok("lo"));
        assert_eq!(substring("hello", 6, None).as_deref(), Ok(""));
        assert_eq!(substring("hello", 2, Some(0)).as_deref(), Ok(""));
        assert_eq!(substring("日本語です", 2, Some(2)).as_deref(), Ok("本語"));
        assert_eq!(substring("hello", i64::MAX, Some(i64::MAX)).as_deref(), Ok(""));
        assert_eq!(substring("hello", i64::MIN, Some(i64::MAX)).as_deref(), Ok(""));
        assert_eq!(substring("hello", 2, Some(i64::MAX)).as_deref(), Ok("ello"));
        assert_eq!(substring("hello", 1, Some(-1)), Err("negative length -1".to_owned()));
    }

    #[test]
    fn upper_snake_splits_case_changes_and_separators() {
        assert_eq!(to_upper_snake("SupportRepId"), "SUPPORT_REP_ID");
        assert_eq!(to_upper_snake("supportRepId"), "SUPPORT_REP_ID");
        assert_eq!(to_upper_snake("HTTPServer"), "HTTP_SERVER");
        assert_eq!(to_upper_snake("userID"), "USER_ID");
        assert_eq!(to_upper_snake("Unit Price"), "UNIT_PRICE");
        assert_eq!(to_upper_snake("already_snake"), "ALREADY_SNAKE");
        assert_eq!(to_upper_snake("__x--y__"), "X_Y");
        assert_eq!(to_upper_snake("Line2Text"), "LINE2_TEXT");
        assert_eq!(to_upper_snake("ABC"), "ABC");
        assert_eq!(to_upper_snake(""), "");
    }
}

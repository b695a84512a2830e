//! Typo hints: [`suggest`] finds the name someone probably meant, for every "did you mean"
//! grafter prints (tables, columns, databases, URL schemes).

/// The candidate nearest to `wanted` (case-insensitive, by edit distance), if it is close
/// enough to be a plausible typo.
pub fn suggest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let wanted_lower = wanted.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&wanted_lower, &c.to_lowercase()), c))
        .filter(|(distance, c)| *distance <= (wanted.len().max(c.len()) / 3).max(2))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(suggest("Artst", ["Album", "Artist", "Track"]), Some("Artist".into()));
        assert_eq!(suggest("artist", ["Album", "Artist"]), Some("Artist".into()));
        assert_eq!(suggest("zzzzzz", ["Album", "Artist"]), None);
        assert_eq!(suggest("falkor", ["grafeo", "falkordb", "bolt"]), Some("falkordb".into()));
    }
}

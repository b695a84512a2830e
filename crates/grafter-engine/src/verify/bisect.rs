//! Finding the few elements that differ between two streams without holding either: digests
//! per bucket of identity hash, and the buckets that differ split again, pass after pass,
//! until they hold few enough elements to compare one by one (the technique data-diff made
//! known, over hash ranges instead of key ranges).
//!
//! Hash ranges, not key ranges, because the two sides sort keys differently (collations,
//! types) while an identity hashes the same on both. An element's bucket is given by the low
//! bits of its identity hash: the first pass sums `(count, digest)` into 65,536 buckets per
//! side — O(buckets) memory, whatever the number of rows — and a clean comparison ends
//! there. Each differing bucket becomes a range (`prefix` over `depth` low bits) that the
//! next pass either splits by the next bits (when it is big) or resolves: its elements are
//! kept, on both sides, and handed back for a one-by-one comparison. This module is pure
//! bookkeeping; the streams are the caller's.

use rustc_hash::FxHashMap;

/// Buckets of the first pass, as bits: 65,536 buckets, 3 MB a side. At 1M rows a bucket
/// holds about 15 elements, so one differing row is found in the second pass.
pub(crate) const FIRST_BITS: u32 = 16;

/// A differing range with at most this many elements on either side is compared one by one.
pub(crate) const FEW: u64 = 16;

/// The most ranges itemised per comparison: beyond it, differences are counted, not listed
/// (memory stays bounded when everything differs, e.g. a label that was never loaded).
pub(crate) const MAX_RANGES: usize = 4096;

/// The most buckets a later pass keeps per side.
const MAX_SLOTS: usize = 1 << 20;

/// Elements and the wrapping sum of their digests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    /// Elements.
    pub count: u64,
    /// Wrapping sum of their digests: order-independent, sensitive to every element.
    pub sum: u128,
}

impl Bucket {
    fn add(&mut self, digest: u128) {
        self.count += 1;
        self.sum = self.sum.wrapping_add(digest);
    }
}

/// What a pass does with the elements of one range.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Sum them into child buckets starting at `base`.
    Split { base: usize },
    /// Keep them for a comparison one by one.
    Resolve,
}

/// Where an element goes in a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Route {
    /// Not in a range of this pass (its bucket matched earlier).
    Skip,
    /// Summed into this bucket.
    Count(usize),
    /// Kept, in the range with this prefix.
    Keep(u64),
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 { u64::MAX } else { (1u64 << bits) - 1 }
}

/// One pass: the ranges still in question and what to do with each.
#[derive(Debug, Clone)]
pub(crate) struct Pass {
    depth: u32,
    split_bits: u32,
    ranges: FxHashMap<u64, Action>,
    /// Prefixes of the split ranges, in slot order.
    split: Vec<u64>,
}

impl Pass {
    /// The first pass: everything, into `2^bits` buckets.
    pub fn first(bits: u32) -> Pass {
        let mut ranges = FxHashMap::default();
        ranges.insert(0, Action::Split { base: 0 });
        Pass { depth: 0, split_bits: bits, ranges, split: vec![0] }
    }

    /// Buckets a side sums into.
    pub fn slots(&self) -> usize {
        self.split.len() << self.split_bits
    }

    /// Where the element with this identity goes.
    pub fn route(&self, identity: u128) -> Route {
        let low = identity as u64;
        match self.ranges.get(&(low & mask(self.depth))) {
            None => Route::Skip,
            Some(Action::Split { base }) => Route::Count(base + ((low >> self.depth) & mask(self.split_bits)) as usize),
            Some(Action::Resolve) => Route::Keep(low & mask(self.depth)),
        }
    }
}

/// One side's sums and kept elements over a pass.
#[derive(Debug)]
pub(crate) struct Tally<K> {
    buckets: Vec<Bucket>,
    kept: FxHashMap<u64, Vec<K>>,
    /// Elements streamed.
    pub elements: u64,
    /// Elements kept.
    pub kept_count: u64,
}

impl<K> Tally<K> {
    /// An empty tally for `pass`.
    pub fn new(pass: &Pass) -> Tally<K> {
        Tally { buckets: vec![Bucket::default(); pass.slots()], kept: FxHashMap::default(), elements: 0, kept_count: 0 }
    }

    /// Adds an element; `materialise` builds its kept form, called only when it is kept.
    pub fn add(&mut self, pass: &Pass, identity: u128, digest: u128, materialise: impl FnOnce() -> K) {
        self.elements += 1;
        match pass.route(identity) {
            Route::Skip => {}
            Route::Count(slot) => self.buckets[slot].add(digest),
            Route::Keep(prefix) => {
                self.kept_count += 1;
                self.kept.entry(prefix).or_default().push(materialise());
            }
        }
    }
}

/// What a pass concluded.
pub(crate) struct Outcome<K> {
    /// Ranges to compare one by one: the expected side's elements and the actual side's.
    pub resolved: Vec<(Vec<K>, Vec<K>)>,
    /// The next pass, when ranges are left to split.
    pub next: Option<Pass>,
    /// Elements in differing ranges beyond the budget: (expected side, actual side).
    pub not_itemised: (u64, u64),
}

/// Compares the two sides of `pass`: resolves what it kept, and lays out the next pass for the
/// buckets that differ. `budget` is how many more ranges may be opened.
pub(crate) fn conclude<K>(pass: &Pass, expected: Tally<K>, actual: Tally<K>, budget: &mut usize) -> Outcome<K> {
    let (mut expected_kept, mut actual_kept) = (expected.kept, actual.kept);
    let mut resolved = Vec::new();
    let mut prefixes: Vec<u64> =
        pass.ranges.iter().filter(|(_, a)| matches!(a, Action::Resolve)).map(|(p, _)| *p).collect();
    prefixes.sort_unstable();
    for prefix in prefixes {
        resolved
            .push((expected_kept.remove(&prefix).unwrap_or_default(), actual_kept.remove(&prefix).unwrap_or_default()));
    }

    let depth = pass.depth + pass.split_bits;
    let mut differing: Vec<(u64, Bucket, Bucket)> = Vec::new();
    for (index, prefix) in pass.split.iter().enumerate() {
        let base = index << pass.split_bits;
        for child in 0..(1usize << pass.split_bits) {
            let (e, a) = (expected.buckets[base + child], actual.buckets[base + child]);
            if e != a {
                differing.push((prefix | ((child as u64) << pass.depth), e, a));
            }
        }
    }
    let mut not_itemised = (0, 0);
    let mut ranges = FxHashMap::default();
    let mut split = Vec::new();
    let mut biggest = 0;
    for (prefix, e, a) in differing {
        if *budget == 0 {
            not_itemised.0 += e.count;
            not_itemised.1 += a.count;
            continue;
        }
        *budget -= 1;
        let size = e.count.max(a.count);
        // Past 64 bits the hash cannot tell the elements apart any further: compare them.
        if size <= FEW || depth >= 64 {
            ranges.insert(prefix, Action::Resolve);
        } else {
            biggest = biggest.max(size);
            split.push(prefix);
        }
    }
    if ranges.is_empty() && split.is_empty() {
        return Outcome { resolved, next: None, not_itemised };
    }
    // Enough bits that the children hold about FEW / 2 elements, within the slot limit.
    let mut bits = (64 - (biggest / (FEW / 2)).leading_zeros()).clamp(1, 16).min(64 - depth.min(63));
    while bits > 1 && split.len() << bits > MAX_SLOTS {
        bits -= 1;
    }
    for (index, prefix) in split.iter().enumerate() {
        ranges.insert(*prefix, Action::Split { base: index << bits });
    }
    Outcome { resolved, next: Some(Pass { depth, split_bits: bits, ranges, split }), not_itemised }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Elements as (identity, digest); the "kept form" is the identity.
    fn run(expected: &[(u128, u128)], actual: &[(u128, u128)], first_bits: u32) -> (Vec<u128>, u64, u64) {
        let mut pass = Pass::first(first_bits);
        let mut budget = MAX_RANGES;
        let (mut found, mut passes, mut kept) = (Vec::new(), 0, 0);
        loop {
            passes += 1;
            let (mut e, mut a) = (Tally::new(&pass), Tally::new(&pass));
            for &(id, digest) in expected {
                e.add(&pass, id, digest, || id);
            }
            for &(id, digest) in actual {
                a.add(&pass, id, digest, || id);
            }
            kept += e.kept_count + a.kept_count;
            let outcome = conclude(&pass, e, a, &mut budget);
            for (e, a) in outcome.resolved {
                // The differing identities: those not on both sides with the same digest.
                let digest_of = |side: &[(u128, u128)], id: u128| {
                    side.iter().filter(|(i, _)| *i == id).map(|(_, d)| *d).sum::<u128>()
                };
                for id in e.iter().chain(&a) {
                    if digest_of(expected, *id) != digest_of(actual, *id) && !found.contains(id) {
                        found.push(*id);
                    }
                }
            }
            match outcome.next {
                Some(next) => pass = next,
                None => break,
            }
        }
        found.sort_unstable();
        (found, passes, kept)
    }

    fn elements(n: u128) -> Vec<(u128, u128)> {
        (0..n).map(|i| (grafter_model::combine_hashes(&[i]), grafter_model::combine_hashes(&[i, 1]))).collect()
    }

    #[test]
    fn equal_sides_take_one_pass_and_keep_nothing() {
        let data = elements(5_000);
        assert_eq!(run(&data, &data, FIRST_BITS), (vec![], 1, 0));
    }

    #[test]
    fn one_changed_element_among_many_is_found_keeping_only_its_bucket() {
        let expected = elements(200_000);
        let mut actual = expected.clone();
        actual[123_456].1 ^= 1;
        let (found, passes, kept) = run(&expected, &actual, FIRST_BITS);
        assert_eq!(found, [expected[123_456].0]);
        assert_eq!(passes, 2);
        assert!(kept <= 2 * 16, "kept {kept} elements");
    }

    #[test]
    fn big_buckets_are_split_again_until_few_elements_remain() {
        // Four first-level buckets of ~2,500 elements: the differing ones need further passes.
        let expected = elements(10_000);
        let mut actual = expected.clone();
        actual.remove(77);
        actual.push((42, 43));
        actual[5_000].1 = 0;
        let (found, passes, kept) = run(&expected, &actual, 2);
        let mut wanted = vec![expected[77].0, 42, expected[5_001].0];
        wanted.sort_unstable();
        assert_eq!(found, wanted);
        assert!(passes > 2, "{passes} passes");
        assert!(kept < 200, "kept {kept} elements");
    }

    #[test]
    fn a_duplicate_on_one_side_is_found() {
        let expected = elements(1_000);
        let mut actual = expected.clone();
        actual.push(actual[10]);
        let (found, _, _) = run(&expected, &actual, FIRST_BITS);
        assert_eq!(found, [expected[10].0]);
    }

    #[test]
    fn beyond_the_budget_differences_are_counted_not_kept() {
        let expected = elements(50_000);
        let actual: Vec<(u128, u128)> = Vec::new();
        let pass = Pass::first(FIRST_BITS);
        let (mut e, a) = (Tally::new(&pass), Tally::<u128>::new(&pass));
        for &(id, digest) in &expected {
            e.add(&pass, id, digest, || id);
        }
        let mut budget = 100;
        let outcome = conclude(&pass, e, a, &mut budget);
        assert_eq!(budget, 0);
        assert!(outcome.not_itemised.0 > 40_000 && outcome.not_itemised.1 == 0, "{:?}", outcome.not_itemised);
        assert!(actual.is_empty());
    }
}

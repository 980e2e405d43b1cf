//! The fixed bucket layout of per-window histograms: two significant decimal figures over the
//! whole `u64` range, so that every window of every metric shares one layout, quantiles come
//! straight from bucket counts, and merging windows is adding counts.
//!
//! Values below 100 have a bucket each (exact). Above, a bucket holds the values that share
//! their first two digits: 100-109, 110-119, ..., 990-999, 1000-1099, and so on. A quantile
//! is reported as the middle of its bucket (clamped to the samples' exact min and max), so it
//! is off by at most half a bucket: [`MAX_RELATIVE_ERROR`] of the true value.

/// Number of buckets: 100 exact ones, then 90 per decade up to `u64::MAX` (whose decade is
/// cut short at 18 × 10^18).
pub(crate) const BUCKETS: usize = bucket(u64::MAX) + 1;

/// The largest error of a reported quantile, relative to the value: half a bucket of width
/// 10^d over a bucket that starts at 10 × 10^d.
pub const MAX_RELATIVE_ERROR: f64 = 0.05;

const POW10: [u64; 20] = {
    let mut p = [1u64; 20];
    let mut i = 1;
    while i < 20 {
        p[i] = p[i - 1] * 10;
        i += 1;
    }
    p
};

/// The bucket of `v`.
#[inline]
pub(crate) const fn bucket(v: u64) -> usize {
    if v < 100 {
        return v as usize;
    }
    // v has digits + 1 digits; its first two are mantissa (10..=99).
    let d = v.ilog10() as usize - 1;
    let mantissa = (v / POW10[d]) as usize;
    100 + (d - 1) * 90 + (mantissa - 10)
}

/// The smallest and largest value of bucket `b`.
pub(crate) fn bounds(b: usize) -> (u64, u64) {
    if b < 100 {
        return (b as u64, b as u64);
    }
    let d = (b - 100) / 90 + 1;
    let mantissa = ((b - 100) % 90 + 10) as u64;
    let low = mantissa * POW10[d];
    (low, low.saturating_add(POW10[d] - 1))
}

/// The value reported for bucket `b`: its middle (135 for 130-139, 1050 for 1000-1099).
pub(crate) fn middle(b: usize) -> u64 {
    let (low, high) = bounds(b);
    low + (high - low).div_ceil(2)
}

/// The `q` quantile of counts given as `(bucket, count)` in bucket order, with `total` samples
/// whose exact extremes are `min` and `max`. `None` when there are no samples.
pub(crate) fn quantile(
    counts: impl Iterator<Item = (usize, u64)>,
    total: u64,
    q: f64,
    min: u64,
    max: u64,
) -> Option<u64> {
    if total == 0 {
        return None;
    }
    // The rank of the sample at quantile q, 1-based, as HdrHistogram counts it.
    let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
    let mut seen = 0;
    for (b, c) in counts {
        seen += c;
        if seen >= rank {
            return Some(middle(b).clamp(min, max));
        }
    }
    Some(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_values_are_exact_and_larger_ones_keep_two_digits() {
        assert_eq!(bucket(0), 0);
        assert_eq!(bucket(99), 99);
        assert_eq!(bucket(100), 100);
        assert_eq!(bucket(109), 100);
        assert_eq!(bucket(110), 101);
        assert_eq!(bucket(999), 189);
        assert_eq!(bucket(1000), 190);
        assert_eq!(bucket(1099), 190);
        assert_eq!(bounds(190), (1000, 1099));
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        assert_eq!(bounds(BUCKETS - 1).1, u64::MAX);
    }

    #[test]
    fn every_bucket_holds_exactly_its_bounds() {
        for b in 0..BUCKETS {
            let (low, high) = bounds(b);
            assert_eq!(bucket(low), b, "low end of {b}");
            assert_eq!(bucket(high), b, "high end of {b}");
            if b + 1 < BUCKETS {
                assert_eq!(bounds(b + 1).0, high + 1, "bucket {b} and the next are contiguous");
            }
        }
    }

    #[test]
    fn the_middle_is_within_the_stated_error_of_every_value_in_the_bucket() {
        for b in 0..BUCKETS {
            let (low, high) = bounds(b);
            let m = middle(b) as f64;
            for v in [low, high] {
                let err = (m - v as f64).abs() / (v as f64).max(1.0);
                assert!(err <= MAX_RELATIVE_ERROR, "bucket {b}: {v} reported as {m}");
            }
        }
    }

    #[test]
    fn quantiles_follow_ranks_and_stay_within_the_extremes() {
        // 90 samples of 5 and 10 of 1234: the median is 5, p99 is 1234's bucket, clamped to 1234.
        let counts = [(bucket(5), 90), (bucket(1234), 10)];
        assert_eq!(quantile(counts.into_iter(), 100, 0.5, 5, 1234), Some(5));
        assert_eq!(quantile(counts.into_iter(), 100, 0.9, 5, 1234), Some(5));
        assert_eq!(quantile(counts.into_iter(), 100, 0.91, 5, 1234), Some(1234));
        assert_eq!(quantile(std::iter::empty(), 0, 0.5, 0, 0), None);
    }
}

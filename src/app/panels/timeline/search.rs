//! Searches over sorted lists for the per-pixel-column strips of dense lanes.

/// First index at or after `from` where `before` stops holding (it holds for a prefix of
/// `list`): exponential then binary search, because the next column's boundary is usually a
/// few items away (and stays in cache).
pub(super) fn gallop<T>(list: &[T], from: usize, before: impl Fn(&T) -> bool) -> usize {
    let mut step = 1;
    let mut prev = from;
    while from + step <= list.len() && before(&list[from + step - 1]) {
        prev = from + step;
        step *= 2;
    }
    let end = (from + step).min(list.len());
    prev + list[prev..end].partition_point(before)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallop_finds_the_boundary() {
        let ts: Vec<i64> = (0..1000).map(|k| k * 3).collect();
        for t in [-5.0, 0.0, 1.0, 3.0, 299.5, 2997.0, 5000.0] {
            for from in [0usize, 10, 500, 999, 1000] {
                let expected = from + ts[from..].partition_point(|&x| (x as f64) < t);
                let got = gallop(&ts, from, |&x| (x as f64) < t);
                assert_eq!(got, expected, "t={t} from={from}");
            }
        }
    }
}

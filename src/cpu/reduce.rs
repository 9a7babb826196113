//! Reference reductions used by samplers: argmax and top-k.

use std::cmp::Ordering;

/// Returns `(index, value)` of the first maximum of `x`, ignoring NaN.
///
/// "First" makes greedy decoding deterministic when logits tie, and the GPU
/// reduction must break ties toward the smaller index as well. If every
/// element is NaN the result is `(0, NaN)`.
///
/// Panics (test reference) if `x` is empty.
pub fn argmax(x: &[f32]) -> (u32, f32) {
    assert!(!x.is_empty(), "argmax: empty input");
    let mut best: Option<(u32, f32)> = None;
    for (i, &v) in x.iter().enumerate() {
        if v.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| v > b) {
            best = Some((i as u32, v));
        }
    }
    best.unwrap_or((0, f32::NAN))
}

/// The `k` largest values as `(index, value)`, sorted by value descending,
/// ties broken by smaller index; `k` is clipped to `x.len()`.
///
/// NaN is never returned (so fewer than `k` pairs come back when the input has
/// fewer than `k` non-NaN values); `-0.0` and `0.0` compare equal.
pub fn top_k(x: &[f32], k: usize) -> Vec<(u32, f32)> {
    // NaN never enters the list (as in the GPU kernel): a sampler must not pick it.
    let mut idx: Vec<(u32, f32)> = x
        .iter()
        .enumerate()
        .filter(|(_, v)| !v.is_nan())
        .map(|(i, &v)| (i as u32, v))
        .collect();
    idx.sort_by(|a, b| desc_nan_last(a.1, b.1).then(a.0.cmp(&b.0)));
    idx.truncate(k.min(x.len()));
    idx
}

/// Descending order with NaN last.
fn desc_nan_last(a: f32, b: f32) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => b.partial_cmp(&a).unwrap_or(Ordering::Equal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_first_and_nan() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, 2.0]), (1, 3.0));
        assert_eq!(argmax(&[f32::NAN, -1.0, f32::NAN, -0.5]), (3, -0.5));
        assert_eq!(argmax(&[f32::NEG_INFINITY]), (0, f32::NEG_INFINITY));
        let (i, v) = argmax(&[f32::NAN]);
        assert!(i == 0 && v.is_nan());
    }

    #[test]
    fn top_k_order_and_ties() {
        let x = [0.5, 2.0, f32::NAN, 2.0, -1.0, 0.5];
        assert_eq!(top_k(&x, 4), vec![(1, 2.0), (3, 2.0), (0, 0.5), (5, 0.5)]);
        let all = top_k(&x, 100);
        assert_eq!(all.len(), 5, "NaN is dropped");
        assert_eq!(all[4], (4, -1.0));
        assert!(top_k(&x, 0).is_empty());
        assert!(top_k(&[], 3).is_empty());
    }
}

//! CPU twin of `kernels/topk.rs`: the k largest logits, best first, as the sampler sees them.

use std::cmp::Ordering;

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

//! Reference row-wise softmax.

/// Softmax over each row of `dim` elements: `exp(x - max) / sum`.
///
/// Subtracting the row max keeps `exp` from overflowing, which is exactly
/// what the GPU kernel must do too. The sum is accumulated in f32 left to
/// right. A row that is entirely `-inf` (fully masked) yields zeros instead
/// of NaN.
///
/// Panics (test reference) if `dim == 0` or `x.len() % dim != 0`.
pub fn softmax(x: &[f32], dim: usize) -> Vec<f32> {
    assert!(dim > 0 && x.len().is_multiple_of(dim), "softmax: x not [rows, dim]");
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(dim) {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if max == f32::NEG_INFINITY {
            y.resize(y.len() + dim, 0.0);
            continue;
        }
        let start = y.len();
        y.extend(row.iter().map(|v| (v - max).exp()));
        let sum: f32 = y[start..].iter().sum();
        for v in &mut y[start..] {
            *v /= sum;
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    #[test]
    fn sums_to_one_and_ordered() {
        let x = Rng::new(3).vec_f32(4 * 50, -20.0, 20.0);
        let y = softmax(&x, 50);
        for (xr, yr) in x.chunks(50).zip(y.chunks(50)) {
            let s: f32 = yr.iter().sum();
            assert!((s - 1.0).abs() < 1e-5);
            for i in 1..50 {
                assert_eq!(xr[i] > xr[0], yr[i] > yr[0]);
            }
        }
    }

    #[test]
    fn known_and_large_values() {
        let y = softmax(&[0.0, 2f32.ln(), 1000.0, 1000.0], 2);
        assert!((y[0] - 1.0 / 3.0).abs() < 1e-7 && (y[1] - 2.0 / 3.0).abs() < 1e-7);
        assert_eq!(&y[2..], &[0.5, 0.5]);
        assert_eq!(softmax(&[f32::NEG_INFINITY; 3], 3), vec![0.0; 3]);
        assert_eq!(softmax(&[f32::NEG_INFINITY, 1.0], 2), vec![0.0, 1.0]);
    }
}

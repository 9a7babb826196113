//! Reference RMSNorm and LayerNorm over the last dimension.

/// RMSNorm over rows of `dim`: `y = x / sqrt(mean(x^2) + eps) * g` where
/// `g = w` or `g = 1 + w` when `add_one` (Gemma stores weights offset by 1).
///
/// Computed as `(x * inv) * g` with `inv = 1 / sqrt(mean + eps)` and the sum
/// of squares accumulated in f32 left to right, like llama.cpp's `rms_norm`
/// followed by a weight multiply.
///
/// Panics (test reference) if `dim == 0`, `x.len() % dim != 0` or
/// `w.len() != dim`.
pub fn rms_norm(x: &[f32], dim: usize, w: &[f32], eps: f32, add_one: bool) -> Vec<f32> {
    assert!(dim > 0 && x.len().is_multiple_of(dim), "rms_norm: x not [rows, dim]");
    assert_eq!(w.len(), dim, "rms_norm: w must have dim elements");
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(dim) {
        let ss: f32 = row.iter().map(|v| v * v).sum();
        let inv = 1.0 / (ss / dim as f32 + eps).sqrt();
        for (&v, &g) in row.iter().zip(w) {
            let g = if add_one { 1.0 + g } else { g };
            y.push(v * inv * g);
        }
    }
    y
}

/// LayerNorm over rows of `dim`, biased variance (divide by `dim`) like
/// `torch.nn.LayerNorm`: `y = (x - mean) / sqrt(var + eps) * w + b`.
///
/// Two-pass (mean, then centred squares) in f32, which is what a GPU
/// workgroup reduction naturally does and avoids the cancellation of the
/// `E[x^2] - E[x]^2` form.
///
/// Panics (test reference) on shape mismatch as for [`rms_norm`], and if
/// `b.len() != dim`.
pub fn layer_norm(x: &[f32], dim: usize, w: &[f32], b: &[f32], eps: f32) -> Vec<f32> {
    assert!(dim > 0 && x.len().is_multiple_of(dim), "layer_norm: x not [rows, dim]");
    assert_eq!(w.len(), dim, "layer_norm: w must have dim elements");
    assert_eq!(b.len(), dim, "layer_norm: b must have dim elements");
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks_exact(dim) {
        let mean = row.iter().sum::<f32>() / dim as f32;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / dim as f32;
        let inv = 1.0 / (var + eps).sqrt();
        for ((&v, &g), &bb) in row.iter().zip(w).zip(b) {
            y.push((v - mean) * inv * g + bb);
        }
    }
    y
}

/// MobileBERT's `NoNorm`: an elementwise affine map `y = x * w + b` over rows of `dim`, used
/// where BERT has a LayerNorm (no statistics at all, which is what makes it cheap).
///
/// Panics (test reference) on shape mismatch as for [`layer_norm`].
pub fn no_norm(x: &[f32], dim: usize, w: &[f32], b: &[f32]) -> Vec<f32> {
    assert!(dim > 0 && x.len().is_multiple_of(dim), "no_norm: x not [rows, dim]");
    assert_eq!(w.len(), dim, "no_norm: w must have dim elements");
    assert_eq!(b.len(), dim, "no_norm: b must have dim elements");
    x.chunks_exact(dim)
        .flat_map(|row| row.iter().zip(w).zip(b).map(|((v, g), bb)| v * g + bb))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f32, b: f32) -> bool {
        (a - b).abs() <= 1e-5 * (1.0 + b.abs())
    }

    #[test]
    fn rms_known() {
        // row [3, 4]: mean sq = 12.5, rms = 3.5355
        let y = rms_norm(&[3.0, 4.0, 0.0, 0.0], 2, &[1.0, 2.0], 1e-20, false);
        let r = 12.5f32.sqrt();
        assert!(close(y[0], 3.0 / r) && close(y[1], 8.0 / r));
        // A zero row stays zero: eps keeps the inverse finite.
        assert_eq!(&y[2..], &[0.0, 0.0]);
    }

    #[test]
    fn rms_add_one_and_unit_rms() {
        let x = [1.0, -1.0, 1.0, -1.0];
        let y = rms_norm(&x, 4, &[0.0, 1.0, 0.5, -1.0], 1e-6, true);
        let want = [1.0, -2.0, 1.5, 0.0];
        for (a, b) in y.iter().zip(want) {
            assert!(close(*a, b), "{a} vs {b}");
        }
    }

    #[test]
    fn layer_norm_known() {
        let y = layer_norm(&[1.0, 2.0, 3.0, 4.0], 4, &[1.0; 4], &[0.5; 4], 0.0);
        // mean 2.5, var 1.25
        let s = 1.25f32.sqrt();
        let want = [-1.5 / s + 0.5, -0.5 / s + 0.5, 0.5 / s + 0.5, 1.5 / s + 0.5];
        for (a, b) in y.iter().zip(want) {
            assert!(close(*a, b), "{a} vs {b}");
        }
        let m: f32 = y.iter().sum::<f32>() / 4.0;
        assert!(close(m, 0.5));
    }

    #[test]
    #[should_panic]
    fn bad_weight_len() {
        rms_norm(&[1.0; 4], 4, &[1.0; 3], 1e-6, false);
    }
}

//! Reference matrix multiply against a (possibly quantised) Linear weight.

use crate::formats::quant::{dequantize, f16_to_f32, f32_to_f16, WeightFormat};

/// `y[i][j] = sum_t x[i][t] * W[j][t]`, returning `y` as `[m, n]` row-major.
///
/// `x` is `[m, k]` f32; `w` holds `n` rows of `k` elements in `fmt` (the
/// `[out_features, in_features]` layout of a Linear / GGUF weight). The
/// weight is dequantised exactly as [`dequantize`] does, and the dot products
/// are accumulated in f64 and rounded once at the end, so this reference is
/// tighter than any f32 GPU accumulation order; compare with a tolerance
/// scaled by `k`.
///
/// Panics (test reference) if `x.len() != m*k` or if `w` is not exactly `n`
/// rows of `k` elements in `fmt`.
pub fn matmul(x: &[f32], m: usize, k: usize, w: &[u8], fmt: WeightFormat, n: usize) -> Vec<f32> {
    matmul_rounded(x, m, k, w, fmt, n, |v| v)
}

/// As [`matmul`], with each dequantised weight rounded to f16 (to nearest, ties to even) first:
/// the twin of the tiled GEMM with f16 weight tiles (`kernels::gemm_gpu`), which decodes a block
/// in f32 and stores it to workgroup memory as f16.
pub fn matmul_f16_weights(x: &[f32], m: usize, k: usize, w: &[u8], fmt: WeightFormat, n: usize) -> Vec<f32> {
    matmul_rounded(x, m, k, w, fmt, n, |v| f16_to_f32(f32_to_f16(v)))
}

fn matmul_rounded(
    x: &[f32],
    m: usize,
    k: usize,
    w: &[u8],
    fmt: WeightFormat,
    n: usize,
    round: impl Fn(f32) -> f32,
) -> Vec<f32> {
    assert_eq!(x.len(), m * k, "matmul: x must be [m, k]");
    let mut wf = vec![0.0f32; n * k];
    if let Err(e) = dequantize(fmt, w, k, &mut wf) {
        panic!("matmul: bad weight buffer: {e}");
    }
    for v in &mut wf {
        *v = round(*v);
    }
    let mut y = vec![0.0f32; m * n];
    for (xi, yi) in x.chunks_exact(k.max(1)).zip(y.chunks_exact_mut(n.max(1))) {
        for (yij, wj) in yi.iter_mut().zip(wf.chunks_exact(k.max(1))) {
            let acc: f64 = xi.iter().zip(wj).map(|(&a, &b)| a as f64 * b as f64).sum();
            *yij = acc as f32;
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::quant::{random_weights, ALL_FORMATS};
    use crate::rng::Rng;

    #[test]
    fn small_f32_known_answer() {
        // x = [[1,2],[3,4]], W = [[1,0],[0,1],[1,1]] -> y = [[1,2,3],[3,4,7]]
        let w: Vec<u8> = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let y = matmul(&[1.0, 2.0, 3.0, 4.0], 2, 2, &w, WeightFormat::F32, 3);
        assert_eq!(y, vec![1.0, 2.0, 3.0, 3.0, 4.0, 7.0]);
    }

    #[test]
    fn f16_weights() {
        let w: Vec<u8> = [0.5f32, -1.0]
            .iter()
            .flat_map(|&v| f32_to_f16(v).to_le_bytes())
            .collect();
        assert_eq!(matmul(&[2.0, 3.0], 1, 2, &w, WeightFormat::F16, 1), vec![-2.0]);
    }

    #[test]
    fn quantised_matches_dequantised_f32() {
        let (m, k, n) = (3, 256, 5);
        let x = Rng::new(1).vec_f32(m * k, -1.0, 1.0);
        for f in ALL_FORMATS {
            let w = random_weights(f, n, k, 2);
            let mut wf = vec![0.0; n * k];
            dequantize(f, &w, k, &mut wf).unwrap();
            let wb: Vec<u8> = wf.iter().flat_map(|v| v.to_le_bytes()).collect();
            assert_eq!(matmul(&x, m, k, &w, f, n), matmul(&x, m, k, &wb, WeightFormat::F32, n));
        }
    }

    #[test]
    fn f16_rounding_twin() {
        // 1 + 2^-12 is not an f16: it rounds to 1 (ties to even); 0.5 is exact.
        let w: Vec<u8> = [1.0f32 + 2f32.powi(-12), 0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            matmul_f16_weights(&[1.0, 2.0], 1, 2, &w, WeightFormat::F32, 1),
            vec![2.0]
        );
    }

    #[test]
    #[should_panic]
    fn wrong_weight_size_panics() {
        matmul(&[0.0; 32], 1, 32, &[0u8; 33], WeightFormat::Q8_0, 1);
    }
}

//! Activations quantised to 8 bits per block, so the dot products against GGUF blocks are integer
//! multiply-adds with one float product per block (llama.cpp's Q8_0 / Q8_1 / Q8_K scheme, written
//! from its description in `ggml-quants.c`, `quantize_row_q8_0_ref` / `quantize_row_q8_K_ref`).
//!
//! Both schemes are symmetric: `d = max|x| / 127`, `q = round(x / d)` (half away from zero, as C's
//! `roundf`), so `|x - d*q| <= d/2` for every element; `tests/cpu_simd.rs` checks the dot products
//! against that bound. Scales are kept in f32 (llama.cpp's Q8_0 stores f16): the activation is never
//! written to a file, and f32 removes one rounding from the error.
//!
//! Quantising is O(k) per activation row against O(n*k) for the product, so it stays scalar.

/// Elements per block of the 32-element formats (Q4_0, Q4_1, Q5_0, Q8_0).
pub const QK8: usize = 32;
/// Elements per K-quant super-block (Q4_K, Q6_K).
pub const QK_K: usize = 256;

/// 32 activations as i8 with one scale: the partner of Q4_0, Q4_1, Q5_0 and Q8_0 weight blocks.
/// `s = d * sum(qs)` is llama.cpp's Q8_1 term: a Q4_1 block's offset `m` multiplies it, so the
/// offset costs one product per block instead of one per element.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Q8Block {
    pub d: f32,
    pub s: f32,
    pub qs: [i8; QK8],
}

/// 256 activations as i8 with one scale and the sums of each 16 quants (`bsums`): the partner of
/// Q4_K and Q6_K super-blocks. The sums carry the Q4_K mins and the Q6_K `-32` offset, so the inner
/// loops multiply unsigned weight quants only.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Q8KBlock {
    pub d: f32,
    pub qs: [i8; QK_K],
    pub bsums: [i16; QK_K / 16],
}

/// `d = amax / 127` and the values quantised with it; all zeros (d = 0) for an all-zero block, so
/// nothing divides by zero. Non-finite inputs give a non-finite `d` (the product is then NaN or
/// infinite, as the f32 one would be); `as i8` saturates, so nothing panics.
fn quantize_block(x: &[f32], qs: &mut [i8]) -> f32 {
    let amax = x.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    for (q, &v) in qs.iter_mut().zip(x) {
        *q = (v * id).round() as i8;
    }
    d
}

/// Quantises `x` (a multiple of 32 long; callers check) into Q8 blocks.
pub fn quantize_q8(x: &[f32]) -> Vec<Q8Block> {
    x.chunks_exact(QK8)
        .map(|xb| {
            let mut b = Q8Block {
                d: 0.0,
                s: 0.0,
                qs: [0; QK8],
            };
            b.d = quantize_block(xb, &mut b.qs);
            b.s = b.d * b.qs.iter().map(|&q| q as i32).sum::<i32>() as f32;
            b
        })
        .collect()
}

/// Quantises `x` (a multiple of 256 long; callers check) into Q8_K super-blocks.
pub fn quantize_q8k(x: &[f32]) -> Vec<Q8KBlock> {
    x.chunks_exact(QK_K)
        .map(|xb| {
            let mut b = Q8KBlock {
                d: 0.0,
                qs: [0; QK_K],
                bsums: [0; QK_K / 16],
            };
            b.d = quantize_block(xb, &mut b.qs);
            for (s, q) in b.bsums.iter_mut().zip(b.qs.chunks_exact(16)) {
                // 16 * 127 fits an i16.
                *s = q.iter().map(|&v| v as i16).sum();
            }
            b
        })
        .collect()
}

/// The values a Q8 block stands for (`d * q`): the tests' view of what the kernels multiply.
pub fn dequantize_q8(blocks: &[Q8Block]) -> Vec<f32> {
    blocks.iter().flat_map(|b| b.qs.map(|q| b.d * q as f32)).collect()
}

/// The values a Q8_K block stands for.
pub fn dequantize_q8k(blocks: &[Q8KBlock]) -> Vec<f32> {
    blocks.iter().flat_map(|b| b.qs.map(|q| b.d * q as f32)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_within_half_a_step() {
        let x: Vec<f32> = (0..512).map(|i| 0.1 + 2.0 * (i as f32).cos()).collect();
        for (xs, ys, d) in [
            (&x, dequantize_q8(&quantize_q8(&x)), quantize_q8(&x)[0].d),
            (&x, dequantize_q8k(&quantize_q8k(&x)), quantize_q8k(&x)[0].d),
        ] {
            for (a, b) in xs.iter().zip(&ys) {
                assert!((a - b).abs() <= d * 0.5 * 1.0001, "{a} vs {b}");
            }
        }
    }

    #[test]
    fn zero_block_and_sums() {
        let b = quantize_q8(&[0.0; 32]);
        assert_eq!((b[0].d, b[0].s), (0.0, 0.0));
        let mut x = vec![0.0f32; 256];
        x[3] = -2.0;
        x[17] = 1.0;
        let k = quantize_q8k(&x);
        assert_eq!(k[0].qs[3], -127);
        assert_eq!(k[0].bsums[0], -127);
        assert_eq!(k[0].bsums[1], 64); // round(63.5) away from zero
    }
}

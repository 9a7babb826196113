//! The block formats llama.cpp's quantiser writes besides the 4/6/8-bit ones the shipped models
//! use: Q5_1, the 2-, 3- and 5-bit K-quants, and the non-linear 4-bit IQ4_NL / IQ4_XS.
//!
//! Each follows `dequantize_row_*` in ggml-quants.c operation by operation (f16 decode, then the
//! f32 products in the order written there), so the results are bit-exact with llama.cpp and
//! with the `gguf` package (tests/quant_fixtures.rs checks both on real tensors). The slices
//! are whole blocks from `chunks_exact` of the format's block size, so indexing is in bounds.

use super::le_f16;

/// Q5_1 block, 24 bytes / 32 elements:
/// ```text
/// [0..2)   d      f16
/// [2..4)   m      f16
/// [4..8)   qh     u32 LE: bit j is the 5th (high) bit of element j
/// [8..24)  qs[16] low 4 bits: low nibble -> y[j], high nibble -> y[j+16]
/// ```
/// `y = q5 * d + m` (unsigned, no bias).
pub(super) fn dequant_q5_1(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let m = le_f16(&b[2..4]);
    for (y, q) in y.iter_mut().zip(super::q5_values(&b[4..24])) {
        *y = q as f32 * d + m;
    }
}

/// Q2_K super-block, 84 bytes / 256 elements:
/// ```text
/// [0..16)   scales[16] per 16 elements: low nibble scale, high nibble min
/// [16..80)  qs[64]     2-bit quants, four per byte
/// [80..82)  d          f16 super-scale of the scales
/// [82..84)  dmin       f16 super-scale of the mins
/// ```
/// Element `128h + 32j + l` (h < 2, j < 4, l < 32) is bits 2j..2j+2 of `qs[32h + l]`, with the
/// scale byte `scales[8h + 2j + l/16]`: `y = (d * sc) * q - (dmin * m)`.
pub(super) fn dequant_q2_k(b: &[u8], y: &mut [f32]) {
    let scales = &b[0..16];
    let d = le_f16(&b[80..82]);
    let min = le_f16(&b[82..84]);
    for h in 0..2 {
        let q = &b[16 + 32 * h..16 + 32 * h + 32];
        for j in 0..4 {
            for half in 0..2 {
                let sc = scales[8 * h + 2 * j + half];
                let dl = d * (sc & 0x0F) as f32;
                let ml = min * (sc >> 4) as f32;
                for l in 16 * half..16 * half + 16 {
                    let x = (q[l] >> (2 * j)) & 3;
                    y[128 * h + 32 * j + l] = dl * x as f32 - ml;
                }
            }
        }
    }
}

/// The sixteen 6-bit scales of a Q3_K block, unpacked from its 12 bytes as ggml does with
/// `kmask1`/`kmask2`: scale s has its low 4 bits in nibble `s / 8` of byte `s % 8` and its high
/// 2 bits in bits `2 * (s / 4)..` of byte `8 + s % 4`.
fn q3_k_scale(s: usize, sc: &[u8]) -> i32 {
    let lo = (sc[s % 8] >> (4 * (s / 8))) & 0x0F;
    let hi = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
    (lo | (hi << 4)) as i32 - 32
}

/// Q3_K super-block, 110 bytes / 256 elements:
/// ```text
/// [0..32)    hmask[32]  high bit of each quant: element 128h + 32j + l uses bit 4h + j of hmask[l]
/// [32..96)   qs[64]     low 2 bits, four per byte (as Q2_K)
/// [96..108)  scales[12] sixteen 6-bit signed scales (bias 32), see q3_k_scale
/// [108..110) d          f16
/// ```
/// `q = low2 - (high bit set ? 0 : 4)`, `y = (d * (scale - 32)) * q`.
pub(super) fn dequant_q3_k(b: &[u8], y: &mut [f32]) {
    let hmask = &b[0..32];
    let scales = &b[96..108];
    let d_all = le_f16(&b[108..110]);
    for h in 0..2 {
        let q = &b[32 + 32 * h..32 + 32 * h + 32];
        for j in 0..4 {
            let m = 1u8 << (4 * h + j);
            for half in 0..2 {
                let dl = d_all * q3_k_scale(8 * h + 2 * j + half, scales) as f32;
                for l in 16 * half..16 * half + 16 {
                    let low = ((q[l] >> (2 * j)) & 3) as i32;
                    let x = low - if hmask[l] & m != 0 { 0 } else { 4 };
                    y[128 * h + 32 * j + l] = dl * x as f32;
                }
            }
        }
    }
}

/// Q5_K super-block, 176 bytes / 256 elements:
/// ```text
/// [0..2)     d          f16 super-scale for the 6-bit scales
/// [2..4)     dmin       f16 super-scale for the 6-bit mins
/// [4..16)    scales[12] 8 (scale, min) pairs, packed as Q4_K's
/// [16..48)   qh[32]     5th bits: element 64g + 32half + l uses bit 2g + half of qh[l]
/// [48..176)  qs[128]    low 4 bits, laid out as Q4_K's
/// ```
/// `y = (d*sc) * q5 - (dmin*m)`.
pub(super) fn dequant_q5_k(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let min = le_f16(&b[2..4]);
    let scales = &b[4..16];
    let qh = &b[16..48];
    for g in 0..4 {
        let ql = &b[48 + 32 * g..48 + 32 * g + 32];
        let [(d1, m1), (d2, m2)] = super::k_group_scales(g, d, min, scales);
        let (u1, u2) = (1u8 << (2 * g), 2u8 << (2 * g));
        for l in 0..32 {
            let x1 = (ql[l] & 0x0F) + if qh[l] & u1 != 0 { 16 } else { 0 };
            let x2 = (ql[l] >> 4) + if qh[l] & u2 != 0 { 16 } else { 0 };
            y[64 * g + l] = d1 * x1 as f32 - m1;
            y[64 * g + 32 + l] = d2 * x2 as f32 - m2;
        }
    }
}

/// The 16 levels of IQ4_NL and IQ4_XS (`kvalues_iq4nl` in ggml-common.h): a non-uniform grid,
/// denser near zero where most weights are.
pub const KVALUES_IQ4NL: [i8; 16] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113];

/// IQ4_NL block, 18 bytes / 32 elements (Q4_0's layout with a lookup instead of `q - 8`):
/// ```text
/// [0..2)   d      f16
/// [2..18)  qs[16] 4-bit indices: low nibble -> y[j], high nibble -> y[j+16]
/// ```
/// `y = d * kvalues[index]`.
pub(super) fn dequant_iq4_nl(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let qs = &b[2..18];
    for j in 0..16 {
        y[j] = d * KVALUES_IQ4NL[(qs[j] & 0x0F) as usize] as f32;
        y[j + 16] = d * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as f32;
    }
}

/// IQ4_XS super-block, 136 bytes / 256 elements:
/// ```text
/// [0..2)    d          f16
/// [2..4)    scales_h   u16 LE: bits 2ib..2ib+2 are the high bits of sub-block ib's scale
/// [4..8)    scales_l[4] low 4 bits of the scales, sub-block ib in nibble ib % 2 of byte ib / 2
/// [8..136)  qs[128]    eight IQ4_NL-style 16-byte groups, one per 32-element sub-block
/// ```
/// `y = (d * (scale6 - 32)) * kvalues[index]`.
pub(super) fn dequant_iq4_xs(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let scales_h = u16::from_le_bytes([b[2], b[3]]) as i32;
    let scales_l = &b[4..8];
    for ib in 0..8 {
        let lo = ((scales_l[ib / 2] >> (4 * (ib % 2))) & 0x0F) as i32;
        let ls = lo | (((scales_h >> (2 * ib)) & 3) << 4);
        let dl = d * (ls - 32) as f32;
        let qs = &b[8 + 16 * ib..8 + 16 * ib + 16];
        let yb = &mut y[32 * ib..32 * ib + 32];
        for j in 0..16 {
            yb[j] = dl * KVALUES_IQ4NL[(qs[j] & 0x0F) as usize] as f32;
            yb[j + 16] = dl * KVALUES_IQ4NL[(qs[j] >> 4) as usize] as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{dequantize, f16_to_f32, random_weights, WeightFormat};
    use super::{q3_k_scale, KVALUES_IQ4NL};

    fn f16_at(b: &[u8], o: usize) -> f32 {
        f16_to_f32(u16::from_le_bytes([b[o], b[o + 1]]))
    }

    fn decoded(fmt: WeightFormat, seed: u64) -> (Vec<u8>, Vec<f32>) {
        let b = random_weights(fmt, 1, fmt.block_elems(), seed);
        let mut y = vec![0.0; fmt.block_elems()];
        dequantize(fmt, &b, fmt.block_elems(), &mut y).unwrap();
        (b, y)
    }

    /// Each block written element by element from the layout in its doc comment, a second
    /// formulation beside the loops above (which follow ggml's loop structure).
    #[test]
    fn per_element_formulas() {
        for seed in 0..8 {
            let (b, y) = decoded(WeightFormat::Q5_1, seed);
            let qh = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
            for (i, &yi) in y.iter().enumerate() {
                let nib = (b[8 + i % 16] >> (4 * (i / 16))) & 0xF;
                let q = nib as u32 | (((qh >> i) & 1) << 4);
                assert_eq!(yi, q as f32 * f16_at(&b, 0) + f16_at(&b, 2), "q5_1 {i}");
            }

            let (b, y) = decoded(WeightFormat::Q2_K, seed);
            for (i, &yi) in y.iter().enumerate() {
                let (h, j, l) = (i / 128, (i % 128) / 32, i % 32);
                let q = (b[16 + 32 * h + l] >> (2 * j)) & 3;
                let sc = b[8 * h + 2 * j + l / 16];
                let want = f16_at(&b, 80) * (sc & 0xF) as f32 * q as f32 - f16_at(&b, 82) * (sc >> 4) as f32;
                assert_eq!(yi, want, "q2_k {i}");
            }

            let (b, y) = decoded(WeightFormat::Q3_K, seed);
            for (i, &yi) in y.iter().enumerate() {
                let (h, j, l) = (i / 128, (i % 128) / 32, i % 32);
                let low = ((b[32 + 32 * h + l] >> (2 * j)) & 3) as i32;
                let high = ((b[l] >> (4 * h + j)) & 1) as i32;
                let scale = q3_k_scale(8 * h + 2 * j + l / 16, &b[96..108]);
                let want = f16_at(&b, 108) * scale as f32 * (low + 4 * high - 4) as f32;
                assert_eq!(yi, want, "q3_k {i}");
            }

            let (b, y) = decoded(WeightFormat::Q5_K, seed);
            for (i, &yi) in y.iter().enumerate() {
                let (g, half, l) = (i / 64, (i % 64) / 32, i % 32);
                let s = 2 * g + half;
                let nib = (b[48 + 32 * g + l] >> (4 * half)) & 0xF;
                let q = nib + 16 * ((b[16 + l] >> s) & 1);
                let (sc, m) = super::super::get_scale_min_k4(s, &b[4..16]);
                let want = f16_at(&b, 0) * sc as f32 * q as f32 - f16_at(&b, 2) * m as f32;
                assert_eq!(yi, want, "q5_k {i}");
            }

            let (b, y) = decoded(WeightFormat::IQ4_NL, seed);
            for (i, &yi) in y.iter().enumerate() {
                let nib = (b[2 + i % 16] >> (4 * (i / 16))) & 0xF;
                assert_eq!(yi, f16_at(&b, 0) * KVALUES_IQ4NL[nib as usize] as f32, "iq4_nl {i}");
            }

            let (b, y) = decoded(WeightFormat::IQ4_XS, seed);
            let scales_h = u16::from_le_bytes([b[2], b[3]]);
            for (i, &yi) in y.iter().enumerate() {
                let (ib, j) = (i / 32, i % 32);
                let lo = (b[4 + ib / 2] >> (4 * (ib % 2))) & 0xF;
                let ls = lo as i32 | ((((scales_h >> (2 * ib)) & 3) as i32) << 4);
                let nib = (b[8 + 16 * ib + j % 16] >> (4 * (j / 16))) & 0xF;
                let want = f16_at(&b, 0) * (ls - 32) as f32 * KVALUES_IQ4NL[nib as usize] as f32;
                assert_eq!(yi, want, "iq4_xs {i}");
            }
        }
    }

    /// The 6-bit Q3_K scales unpack as ggml's kmask1/kmask2 word arithmetic does.
    #[test]
    fn q3_k_scales_match_ggml_word_unpacking() {
        let mut rng = crate::rng::Rng::new(21);
        for _ in 0..50 {
            let sc: [u8; 12] = std::array::from_fn(|_| rng.next_u32() as u8);
            let word = |i: usize| u32::from_le_bytes([sc[4 * i], sc[4 * i + 1], sc[4 * i + 2], sc[4 * i + 3]]);
            let (a0, a1, tmp) = (word(0), word(1), word(2));
            let (k1, k2) = (0x0303_0303u32, 0x0f0f_0f0fu32);
            let aux = [
                (a0 & k2) | ((tmp & k1) << 4),
                (a1 & k2) | (((tmp >> 2) & k1) << 4),
                ((a0 >> 4) & k2) | (((tmp >> 4) & k1) << 4),
                ((a1 >> 4) & k2) | (((tmp >> 6) & k1) << 4),
            ];
            for s in 0..16 {
                let want = ((aux[s / 4] >> (8 * (s % 4))) & 0xFF) as i8 as i32 - 32;
                assert_eq!(q3_k_scale(s, &sc), want, "scale {s}");
            }
        }
    }
}

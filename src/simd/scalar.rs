//! Scalar integer dot products of one GGUF weight row (whole blocks, read in place) with quantised
//! activations: the reference the AVX2 and simd128 versions are tested against, and the fallback
//! where neither exists. Each block's integer sum is exact, so the vector versions differ from
//! these only in the order of the float sums.
//!
//! Block layouts are documented with their dequantisers in `formats/quant.rs`.

use super::quantize::{Q8Block, Q8KBlock};
use crate::formats::quant::{bf16_to_f32, f16_to_f32, get_scale_min_k4};

pub(super) fn f16_at(b: &[u8], at: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[at], b[at + 1]]))
}

/// Q4_0 (18 bytes: d, 16 bytes of nibbles; low nibble element j, high j + 16; value nibble - 8).
pub fn dot_q4_0(w: &[u8], a: &[Q8Block]) -> f32 {
    w.chunks_exact(18).zip(a).fold(0.0, |acc, (b, a)| {
        let sumi: i32 = (0..16)
            .map(|j| {
                let lo = (b[2 + j] & 0x0F) as i32 - 8;
                let hi = (b[2 + j] >> 4) as i32 - 8;
                lo * a.qs[j] as i32 + hi * a.qs[j + 16] as i32
            })
            .sum();
        acc + f16_at(b, 0) * a.d * sumi as f32
    })
}

/// Q4_1 (20 bytes: d, m, 16 bytes of nibbles; value nibble * d + m): the `m` term is `m * a.s`.
pub fn dot_q4_1(w: &[u8], a: &[Q8Block]) -> f32 {
    w.chunks_exact(20).zip(a).fold(0.0, |acc, (b, a)| {
        let sumi: i32 = (0..16)
            .map(|j| (b[4 + j] & 0x0F) as i32 * a.qs[j] as i32 + (b[4 + j] >> 4) as i32 * a.qs[j + 16] as i32)
            .sum();
        acc + f16_at(b, 0) * a.d * sumi as f32 + f16_at(b, 2) * a.s
    })
}

/// Q5_0 (22 bytes: d, qh u32 with the fifth bit of element j at bit j, 16 bytes of nibbles;
/// value q5 - 16).
pub fn dot_q5_0(w: &[u8], a: &[Q8Block]) -> f32 {
    w.chunks_exact(22).zip(a).fold(0.0, |acc, (b, a)| {
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        let sumi: i32 = (0..16)
            .map(|j| {
                let lo = ((b[6 + j] & 0x0F) as u32 | (((qh >> j) & 1) << 4)) as i32 - 16;
                let hi = ((b[6 + j] >> 4) as u32 | (((qh >> (j + 16)) & 1) << 4)) as i32 - 16;
                lo * a.qs[j] as i32 + hi * a.qs[j + 16] as i32
            })
            .sum();
        acc + f16_at(b, 0) * a.d * sumi as f32
    })
}

/// Q8_0 (34 bytes: d, 32 i8).
pub fn dot_q8_0(w: &[u8], a: &[Q8Block]) -> f32 {
    w.chunks_exact(34).zip(a).fold(0.0, |acc, (b, a)| {
        let sumi: i32 = b[2..34]
            .iter()
            .zip(&a.qs)
            .map(|(&q, &x)| q as i8 as i32 * x as i32)
            .sum();
        acc + f16_at(b, 0) * a.d * sumi as f32
    })
}

/// The 8 (scale, min) pairs of a Q4_K super-block.
pub(super) fn q4k_scales(scales: &[u8]) -> ([i32; 8], [i32; 8]) {
    let mut sc = [0; 8];
    let mut m = [0; 8];
    for j in 0..8 {
        let (s, mm) = get_scale_min_k4(j, scales);
        (sc[j], m[j]) = (s as i32, mm as i32);
    }
    (sc, m)
}

/// `sum_j m[j] * (sum of the 32 activation quants of sub-block j)`, from the 16-element `bsums`.
pub(super) fn q4k_min_term(m: &[i32; 8], a: &Q8KBlock) -> i32 {
    (0..8)
        .map(|j| m[j] * (a.bsums[2 * j] as i32 + a.bsums[2 * j + 1] as i32))
        .sum()
}

/// Q4_K (144 bytes: d, dmin, 12 scale bytes, 128 bytes of nibbles in 4 groups of 32; group g's
/// low nibbles are sub-block 2g, its high nibbles 2g + 1; value d*sc*q - dmin*m).
pub fn dot_q4_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    w.chunks_exact(144).zip(a).fold(0.0, |acc, (b, a)| {
        let (sc, m) = q4k_scales(&b[4..16]);
        let mut sumi = 0i32;
        for g in 0..4 {
            let q = &b[16 + 32 * g..48 + 32 * g];
            let x = &a.qs[64 * g..64 * g + 64];
            let lo: i32 = (0..32).map(|l| (q[l] & 0x0F) as i32 * x[l] as i32).sum();
            let hi: i32 = (0..32).map(|l| (q[l] >> 4) as i32 * x[l + 32] as i32).sum();
            sumi += sc[2 * g] * lo + sc[2 * g + 1] * hi;
        }
        let d = f16_at(b, 0) * a.d;
        let dmin = f16_at(b, 2) * a.d;
        acc + d * sumi as f32 - dmin * q4k_min_term(&m, a) as f32
    })
}

/// Q6_K (210 bytes: ql[128], qh[64], 16 i8 scales, d at the end; value d*sc*(q6 - 32), one scale
/// per 16 elements; the unpacking follows `dequant_q6_k`).
pub fn dot_q6_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    w.chunks_exact(210).zip(a).fold(0.0, |acc, (b, a)| {
        let mut isum = [0i32; 16];
        for n in 0..2 {
            let ql = &b[64 * n..64 * n + 64];
            let qh = &b[128 + 32 * n..160 + 32 * n];
            let x = &a.qs[128 * n..128 * n + 128];
            for l in 0..32 {
                let q = [
                    (ql[l] & 0x0F) | ((qh[l] & 3) << 4),
                    (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4),
                    (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                    (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
                ];
                for (i, &qi) in q.iter().enumerate() {
                    isum[8 * n + l / 16 + 2 * i] += (qi as i32 - 32) * x[l + 32 * i] as i32;
                }
            }
        }
        let sumi: i32 = isum.iter().zip(&b[192..208]).map(|(&s, &sc)| s * sc as i8 as i32).sum();
        acc + f16_at(b, 208) * a.d * sumi as f32
    })
}

/// F32 row against f32 activations.
pub fn dot_f32(w: &[u8], x: &[f32]) -> f32 {
    w.chunks_exact(4)
        .zip(x)
        .map(|(b, &x)| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * x)
        .sum()
}

/// F16 row against f32 activations.
pub fn dot_f16(w: &[u8], x: &[f32]) -> f32 {
    w.chunks_exact(2).zip(x).map(|(b, &x)| f16_at(b, 0) * x).sum()
}

/// BF16 row against f32 activations.
pub fn dot_bf16(w: &[u8], x: &[f32]) -> f32 {
    w.chunks_exact(2)
        .zip(x)
        .map(|(b, &x)| bf16_to_f32(u16::from_le_bytes([b[0], b[1]])) * x)
        .sum()
}

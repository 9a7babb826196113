//! wasm32 `simd128` versions of the `scalar.rs` dot products (16 bytes per instruction). Compiled
//! only when the build enables the feature (`.cargo/config.toml` does for wasm32): every browser
//! with WebGPU, and every one since Chrome 91, Firefox 89 and Safari 16.4, runs it.
//!
//! simd128 has no u8 x i8 multiply-add, so quants are widened to i16 and multiplied with
//! `i32x4_dot_i16x8` (pairs of i16 products summed into i32 lanes); every quant here fits an i8
//! (nibbles, 6-bit quants, Q5_0's q - 16, Q8_0), so a signed widening is right for all of them.
//!
//! Safety: loads are unaligned `v128_load`s inside slices of whole blocks (`chunks_exact`), so every
//! load is in bounds; the functions are `unsafe` only because of the raw-pointer loads.

use super::quantize::{Q8Block, Q8KBlock};
use super::scalar::{f16_at, q4k_min_term, q4k_scales};
use core::arch::wasm32::*;

#[inline]
unsafe fn load(p: *const u8) -> v128 {
    v128_load(p as *const v128)
}

#[inline]
fn hsum_f32(v: v128) -> f32 {
    f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v) + f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v)
}

#[inline]
fn hsum_i32(v: v128) -> i32 {
    i32x4_extract_lane::<0>(v) + i32x4_extract_lane::<1>(v) + i32x4_extract_lane::<2>(v) + i32x4_extract_lane::<3>(v)
}

/// 16 signed bytes times 16 signed bytes, summed into 4 i32 lanes.
#[inline]
fn dot16(w: v128, x: v128) -> v128 {
    let lo = i32x4_dot_i16x8(i16x8_extend_low_i8x16(w), i16x8_extend_low_i8x16(x));
    let hi = i32x4_dot_i16x8(i16x8_extend_high_i8x16(w), i16x8_extend_high_i8x16(x));
    i32x4_add(lo, hi)
}

/// A 32-element block's nibbles (16 bytes at `p`) times its activations: low nibbles are elements
/// 0..16, high nibbles 16..32. `adjust` turns each 16-byte half into signed quants.
#[inline]
unsafe fn nibble_dot(p: *const u8, a: &Q8Block, adjust: impl Fn(v128, usize) -> v128) -> v128 {
    let q = load(p);
    let lo = adjust(v128_and(q, u8x16_splat(0x0F)), 0);
    let hi = adjust(u8x16_shr(q, 4), 1);
    let x = a.qs.as_ptr() as *const u8;
    i32x4_add(dot16(lo, load(x)), dot16(hi, load(x.add(16))))
}

pub unsafe fn dot_q4_0(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for (b, a) in w.chunks_exact(18).zip(a) {
        let s = nibble_dot(b.as_ptr().add(2), a, |q, _| i8x16_sub(q, i8x16_splat(8)));
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(f16_at(b, 0) * a.d)));
    }
    hsum_f32(acc)
}

pub unsafe fn dot_q4_1(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    let mut acc_m = 0.0f32;
    for (b, a) in w.chunks_exact(20).zip(a) {
        let s = nibble_dot(b.as_ptr().add(4), a, |q, _| q);
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(f16_at(b, 0) * a.d)));
        acc_m += f16_at(b, 2) * a.s;
    }
    hsum_f32(acc) + acc_m
}

/// 16 bits of `bits` (from bit `16 * half`) to 16 bytes: 0xFF where the bit is set.
#[inline]
fn bytes_from_bits16(bits: u32, half: usize) -> v128 {
    let v = u32x4_splat(bits >> (16 * half));
    let spread = i8x16_swizzle(v, i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
    let mask = u8x16(1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128);
    i8x16_eq(v128_and(spread, mask), mask)
}

pub unsafe fn dot_q5_0(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for (b, a) in w.chunks_exact(22).zip(a) {
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        // q5 - 16: the nibble where the fifth bit is set, else nibble | 0xF0 (nibble - 16 as i8).
        let s = nibble_dot(b.as_ptr().add(6), a, |q, half| {
            v128_or(q, v128_andnot(u8x16_splat(0xF0), bytes_from_bits16(qh, half)))
        });
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(f16_at(b, 0) * a.d)));
    }
    hsum_f32(acc)
}

pub unsafe fn dot_q8_0(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = f32x4_splat(0.0);
    for (b, a) in w.chunks_exact(34).zip(a) {
        let x = a.qs.as_ptr() as *const u8;
        let s = i32x4_add(
            dot16(load(b.as_ptr().add(2)), load(x)),
            dot16(load(b.as_ptr().add(18)), load(x.add(16))),
        );
        acc = f32x4_add(acc, f32x4_mul(f32x4_convert_i32x4(s), f32x4_splat(f16_at(b, 0) * a.d)));
    }
    hsum_f32(acc)
}

pub unsafe fn dot_q4_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    let mut acc = 0.0f32;
    for (b, a) in w.chunks_exact(144).zip(a) {
        let (sc, m) = q4k_scales(&b[4..16]);
        let x = a.qs.as_ptr() as *const u8;
        let mut sumi = i32x4_splat(0);
        for g in 0..4 {
            let (mut lo, mut hi) = (i32x4_splat(0), i32x4_splat(0));
            for h in 0..2 {
                let q = load(b.as_ptr().add(16 + 32 * g + 16 * h));
                lo = i32x4_add(lo, dot16(v128_and(q, u8x16_splat(0x0F)), load(x.add(64 * g + 16 * h))));
                hi = i32x4_add(hi, dot16(u8x16_shr(q, 4), load(x.add(64 * g + 32 + 16 * h))));
            }
            sumi = i32x4_add(sumi, i32x4_mul(lo, i32x4_splat(sc[2 * g])));
            sumi = i32x4_add(sumi, i32x4_mul(hi, i32x4_splat(sc[2 * g + 1])));
        }
        let d = f16_at(b, 0) * a.d;
        let dmin = f16_at(b, 2) * a.d;
        acc += d * hsum_i32(sumi) as f32 - dmin * q4k_min_term(&m, a) as f32;
    }
    acc
}

pub unsafe fn dot_q6_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    let mut acc = 0.0f32;
    let m4 = u8x16_splat(0x0F);
    let m2 = u8x16_splat(0x03);
    for (b, a) in w.chunks_exact(210).zip(a) {
        let sc = &b[192..208];
        let x = a.qs.as_ptr() as *const u8;
        let mut sumi = i32x4_splat(0);
        for n in 0..2 {
            // h = 0: elements l < 16 of each quarter (scale 2i), h = 1: l >= 16 (scale 2i + 1).
            for h in 0..2 {
                let ql0 = load(b.as_ptr().add(64 * n + 16 * h));
                let ql1 = load(b.as_ptr().add(64 * n + 32 + 16 * h));
                let qh = load(b.as_ptr().add(128 + 32 * n + 16 * h));
                let q = [
                    v128_or(v128_and(ql0, m4), i8x16_shl(v128_and(qh, m2), 4)),
                    v128_or(v128_and(ql1, m4), i8x16_shl(v128_and(u8x16_shr(qh, 2), m2), 4)),
                    v128_or(u8x16_shr(ql0, 4), i8x16_shl(v128_and(u8x16_shr(qh, 4), m2), 4)),
                    v128_or(u8x16_shr(ql1, 4), i8x16_shl(u8x16_shr(qh, 6), 4)),
                ];
                for (i, &qi) in q.iter().enumerate() {
                    let s = dot16(qi, load(x.add(128 * n + 32 * i + 16 * h)));
                    let scale = sc[8 * n + 2 * i + h] as i8 as i32;
                    sumi = i32x4_add(sumi, i32x4_mul(s, i32x4_splat(scale)));
                }
            }
        }
        // The -32 offset of every quant, through the activations' 16-element sums.
        let bias: i32 = (0..16).map(|j| sc[j] as i8 as i32 * a.bsums[j] as i32).sum();
        acc += f16_at(b, 208) * a.d * (hsum_i32(sumi) - 32 * bias) as f32;
    }
    acc
}

/// A float row against f32 activations: `load4` turns 4 weights at an element offset into f32s;
/// two accumulators, the tail (k % 4) scalar. simd128 has no fused multiply-add outside
/// relaxed-simd, so products are rounded before the sum, as the scalar twin does.
#[inline]
unsafe fn dot_float(k: usize, x: &[f32], load4: impl Fn(usize) -> v128, one: impl Fn(usize) -> f32) -> f32 {
    let xp = x.as_ptr() as *const u8;
    let (mut a0, mut a1) = (f32x4_splat(0.0), f32x4_splat(0.0));
    let mut i = 0;
    while i + 8 <= k {
        a0 = f32x4_add(a0, f32x4_mul(load4(i), load(xp.add(4 * i))));
        a1 = f32x4_add(a1, f32x4_mul(load4(i + 4), load(xp.add(4 * i + 16))));
        i += 8;
    }
    while i + 4 <= k {
        a0 = f32x4_add(a0, f32x4_mul(load4(i), load(xp.add(4 * i))));
        i += 4;
    }
    hsum_f32(f32x4_add(a0, a1)) + (i..k).map(|t| one(t) * x[t]).sum::<f32>()
}

pub unsafe fn dot_f32(w: &[u8], x: &[f32]) -> f32 {
    let k = x.len().min(w.len() / 4);
    let p = w.as_ptr();
    dot_float(
        k,
        x,
        |i| load(p.add(4 * i)),
        |i| (p.add(4 * i) as *const f32).read_unaligned(),
    )
}

/// Four f16 (8 bytes at `p`) to f32, exactly: the f16's exponent and mantissa moved to an f32's
/// places and scaled by 2^112 re-bias normals and turn subnormals into normals; exponent 31
/// (inf / NaN) is made all-ones.
#[inline]
unsafe fn f16x4_to_f32(p: *const u8) -> v128 {
    let h = u32x4_extend_low_u16x8(v128_load64_zero(p as *const u64));
    let sign = i32x4_shl(v128_and(h, u32x4_splat(0x8000)), 16);
    let em = i32x4_shl(v128_and(h, u32x4_splat(0x7FFF)), 13);
    let scaled = f32x4_mul(em, f32x4_splat(f32::from_bits((127 + 112) << 23)));
    let is_special = i32x4_eq(v128_and(h, u32x4_splat(0x7C00)), u32x4_splat(0x7C00));
    let special = v128_or(em, u32x4_splat(0x7F80_0000));
    v128_or(sign, v128_bitselect(special, scaled, is_special))
}

pub unsafe fn dot_f16(w: &[u8], x: &[f32]) -> f32 {
    let k = x.len().min(w.len() / 2);
    let p = w.as_ptr();
    dot_float(k, x, |i| f16x4_to_f32(p.add(2 * i)), |i| f16_at(w, 2 * i))
}

pub unsafe fn dot_bf16(w: &[u8], x: &[f32]) -> f32 {
    let k = x.len().min(w.len() / 2);
    let p = w.as_ptr();
    dot_float(
        k,
        x,
        |i| i32x4_shl(u32x4_extend_low_u16x8(v128_load64_zero(p.add(2 * i) as *const u64)), 16),
        |i| f32::from_bits((u16::from_le_bytes([w[2 * i], w[2 * i + 1]]) as u32) << 16),
    )
}

//! x86_64 AVX2 + FMA + F16C versions of the `scalar.rs` dot products (32 bytes per instruction).
//!
//! The integer core is `_mm256_maddubs_epi16` (unsigned u8 x signed i8, pairs summed to i16) then
//! `_mm256_madd_epi16` (pairs to i32), as llama.cpp's x86 kernels do. maddubs wants its first operand
//! unsigned: signed weights (Q4_0, Q5_0, Q8_0) go in as |w| with the activation's sign flipped where
//! w < 0 (`_mm256_sign_epi8`); unsigned quants (Q4_1, Q4_K, Q6_K) go in directly. No i16 pair can
//! saturate: the largest is 2 * 128 * 127 = 32512 (a Q8_0 weight of -128), and activations never
//! reach -128.
//!
//! Safety: every function here is `unsafe` because it needs the CPU features; `dot::Dot` hands them
//! out only after `is_x86_feature_detected!` said yes. Loads are unaligned (`loadu`) from slices of
//! whole blocks (`chunks_exact`), so every load is in bounds.

use super::quantize::{Q8Block, Q8KBlock};
use super::scalar::{q4k_min_term, q4k_scales};
use std::arch::x86_64::*;

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_ps(v: __m256) -> f32 {
    let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn hsum_epi32(v: __m256i) -> i32 {
    let s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    let s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0b01_00_11_10));
    _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0b10_11_00_01)))
}

/// The f16 at `p` (unaligned) as f32, through F16C.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn f16_at(p: *const u8) -> f32 {
    let h = (p as *const u16).read_unaligned();
    _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h as i32)))
}

/// Unsigned bytes `u` times signed bytes `s`, summed into 8 i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_u8_i8(u: __m256i, s: __m256i) -> __m256i {
    _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
}

/// Signed bytes `w` times signed bytes `x`, summed into 8 i32 lanes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_i8_i8(w: __m256i, x: __m256i) -> __m256i {
    dot_u8_i8(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w))
}

/// 16 bytes of packed nibbles to 32 bytes in element order: low nibbles (elements 0..16) in the
/// low lane, high nibbles (16..32) in the high lane, as the 32-element formats store them.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn nibbles_32(p: *const u8) -> __m256i {
    let q = _mm_loadu_si128(p as *const __m128i);
    let m = _mm_set1_epi8(0x0F);
    _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m))
}

#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn load32(p: *const i8) -> __m256i {
    _mm256_loadu_si256(p as *const __m256i)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_0(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (b, a) in w.chunks_exact(18).zip(a) {
        let q = _mm256_sub_epi8(nibbles_32(b.as_ptr().add(2)), _mm256_set1_epi8(8));
        let s = _mm256_cvtepi32_ps(dot_i8_i8(q, load32(a.qs.as_ptr())));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(b.as_ptr()) * a.d), s, acc);
    }
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_1(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    let mut acc_m = 0.0f32;
    for (b, a) in w.chunks_exact(20).zip(a) {
        let s = _mm256_cvtepi32_ps(dot_u8_i8(nibbles_32(b.as_ptr().add(4)), load32(a.qs.as_ptr())));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(b.as_ptr()) * a.d), s, acc);
        acc_m += f16_at(b.as_ptr().add(2)) * a.s;
    }
    hsum_ps(acc) + acc_m
}

/// 32 bits to 32 bytes: 0xFF where bit j of `bits` is set (byte j takes byte j/8 of the word and
/// tests bit j%8 of it).
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn bytes_from_bits(bits: u32) -> __m256i {
    let v = _mm256_set1_epi32(bits as i32);
    #[rustfmt::skip]
    let idx = _mm256_setr_epi8(
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,
        2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3,
    );
    let mask = _mm256_set1_epi64x(0x8040_2010_0804_0201u64 as i64);
    _mm256_cmpeq_epi8(_mm256_and_si256(_mm256_shuffle_epi8(v, idx), mask), mask)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q5_0(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (b, a) in w.chunks_exact(22).zip(a) {
        let qh = u32::from_le_bytes([b[2], b[3], b[4], b[5]]);
        // q5 - 16 is the nibble where the fifth bit is set, else nibble - 16 = nibble | 0xF0 as i8.
        let hi = _mm256_andnot_si256(bytes_from_bits(qh), _mm256_set1_epi8(0xF0u8 as i8));
        let q = _mm256_or_si256(nibbles_32(b.as_ptr().add(6)), hi);
        let s = _mm256_cvtepi32_ps(dot_i8_i8(q, load32(a.qs.as_ptr())));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(b.as_ptr()) * a.d), s, acc);
    }
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q8_0(w: &[u8], a: &[Q8Block]) -> f32 {
    let mut acc = _mm256_setzero_ps();
    for (b, a) in w.chunks_exact(34).zip(a) {
        let q = _mm256_loadu_si256(b.as_ptr().add(2) as *const __m256i);
        let s = _mm256_cvtepi32_ps(dot_i8_i8(q, load32(a.qs.as_ptr())));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(f16_at(b.as_ptr()) * a.d), s, acc);
    }
    hsum_ps(acc)
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q4_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    let mut acc = 0.0f32;
    let m4 = _mm256_set1_epi8(0x0F);
    for (b, a) in w.chunks_exact(144).zip(a) {
        let (sc, m) = q4k_scales(&b[4..16]);
        let mut sumi = _mm256_setzero_si256();
        for g in 0..4 {
            let q = _mm256_loadu_si256(b.as_ptr().add(16 + 32 * g) as *const __m256i);
            let lo = _mm256_maddubs_epi16(_mm256_and_si256(q, m4), load32(a.qs.as_ptr().add(64 * g)));
            let hi = _mm256_maddubs_epi16(
                _mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                load32(a.qs.as_ptr().add(64 * g + 32)),
            );
            // Scales are at most 63 and each i16 pair at most 2 * 15 * 127, so the i32s are small.
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(lo, _mm256_set1_epi16(sc[2 * g] as i16)));
            sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(hi, _mm256_set1_epi16(sc[2 * g + 1] as i16)));
        }
        let d = f16_at(b.as_ptr()) * a.d;
        let dmin = f16_at(b.as_ptr().add(2)) * a.d;
        acc += d * hsum_epi32(sumi) as f32 - dmin * q4k_min_term(&m, a) as f32;
    }
    acc
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_q6_k(w: &[u8], a: &[Q8KBlock]) -> f32 {
    let mut acc = 0.0f32;
    let m4 = _mm256_set1_epi8(0x0F);
    let m2 = _mm256_set1_epi8(0x03);
    for (b, a) in w.chunks_exact(210).zip(a) {
        let sc = &b[192..208];
        let mut sumi = _mm256_setzero_si256();
        for n in 0..2 {
            let ql0 = _mm256_loadu_si256(b.as_ptr().add(64 * n) as *const __m256i);
            let ql1 = _mm256_loadu_si256(b.as_ptr().add(64 * n + 32) as *const __m256i);
            let qh = _mm256_loadu_si256(b.as_ptr().add(128 + 32 * n) as *const __m256i);
            // The unsigned 6-bit quants of elements l + 32i (see scalar::dot_q6_k); the 16-bit
            // shifts never carry a bit that survives the byte masks into a neighbouring byte.
            let q = [
                _mm256_or_si256(
                    _mm256_and_si256(ql0, m4),
                    _mm256_slli_epi16(_mm256_and_si256(qh, m2), 4),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(ql1, m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), m2), 4),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(ql0, 4), m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 4), m2), 4),
                ),
                _mm256_or_si256(
                    _mm256_and_si256(_mm256_srli_epi16(ql1, 4), m4),
                    _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 6), m2), 4),
                ),
            ];
            for (i, &qi) in q.iter().enumerate() {
                let p = _mm256_maddubs_epi16(qi, load32(a.qs.as_ptr().add(128 * n + 32 * i)));
                // i16 lanes 0..8 are elements l < 16 (scale 2i), lanes 8..16 are l >= 16 (2i + 1).
                let (s0, s1) = (sc[8 * n + 2 * i] as i8 as i16, sc[8 * n + 2 * i + 1] as i8 as i16);
                let s = _mm256_setr_epi16(s0, s0, s0, s0, s0, s0, s0, s0, s1, s1, s1, s1, s1, s1, s1, s1);
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(p, s));
            }
        }
        // The -32 offset of every quant, through the activations' 16-element sums.
        let bias: i32 = (0..16).map(|j| sc[j] as i8 as i32 * a.bsums[j] as i32).sum();
        acc += f16_at(b.as_ptr().add(208)) * a.d * (hsum_epi32(sumi) - 32 * bias) as f32;
    }
    acc
}

/// A float row against f32 activations: `load8` turns 8 weights at an element offset into f32s;
/// four accumulators hide the FMA latency, the tail (k % 8) is scalar.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn dot_float(k: usize, x: &[f32], load8: impl Fn(usize) -> __m256, one: impl Fn(usize) -> f32) -> f32 {
    let xp = x.as_ptr();
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    while i + 32 <= k {
        for (j, a) in acc.iter_mut().enumerate() {
            *a = _mm256_fmadd_ps(load8(i + 8 * j), _mm256_loadu_ps(xp.add(i + 8 * j)), *a);
        }
        i += 32;
    }
    while i + 8 <= k {
        acc[0] = _mm256_fmadd_ps(load8(i), _mm256_loadu_ps(xp.add(i)), acc[0]);
        i += 8;
    }
    let v = _mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3]));
    hsum_ps(v) + (i..k).map(|t| one(t) * x[t]).sum::<f32>()
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_f32(w: &[u8], x: &[f32]) -> f32 {
    let k = x.len().min(w.len() / 4);
    let p = w.as_ptr() as *const f32;
    dot_float(k, x, |i| _mm256_loadu_ps(p.add(i)), |i| p.add(i).read_unaligned())
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_f16(w: &[u8], x: &[f32]) -> f32 {
    let k = x.len().min(w.len() / 2);
    let p = w.as_ptr();
    dot_float(
        k,
        x,
        |i| _mm256_cvtph_ps(_mm_loadu_si128(p.add(2 * i) as *const __m128i)),
        |i| f16_at(p.add(2 * i)),
    )
}

#[target_feature(enable = "avx2,fma,f16c")]
pub unsafe fn dot_bf16(w: &[u8], x: &[f32]) -> f32 {
    let k = x.len().min(w.len() / 2);
    let p = w.as_ptr();
    dot_float(
        k,
        x,
        |i| {
            let h = _mm256_cvtepu16_epi32(_mm_loadu_si128(p.add(2 * i) as *const __m128i));
            _mm256_castsi256_ps(_mm256_slli_epi32(h, 16))
        },
        |i| f32::from_bits(((p.add(2 * i) as *const u16).read_unaligned() as u32) << 16),
    )
}

// Weight decoders: read GGUF blocks exactly as they sit in the file, from a storage buffer
// declared by the kernel as `weights: array<u32>`. Nothing is dequantised ahead of time.
//
// Every decoder has the same shape, `load_w4_<format>(row, k, k_len) -> vec4<f32>`: the four
// weights W[row][k..k+4] of a matrix with k_len columns, `row` counted from the start of the bound
// buffer. k is a multiple of 4, so for block formats the four values never straddle a block.
//
// GGUF blocks are 2-byte aligned (34, 18, 20, 22, 110, 210 bytes), so 32-bit reads at an even byte
// offset may straddle two words; w_u32_at stitches them.

fn w_u32_at(o: u32) -> u32 {
    let i = o >> 2u;
    if ((o & 3u) == 0u) {
        return weights[i];
    }
    return (weights[i] >> 16u) | (weights[i + 1u] << 16u);
}

fn w_u16_at(o: u32) -> u32 {
    return (weights[o >> 2u] >> ((o & 2u) * 8u)) & 0xFFFFu;
}

fn w_u8_at(o: u32) -> u32 {
    return (weights[o >> 2u] >> ((o & 3u) * 8u)) & 0xFFu;
}

// f16 scales are unpacked with unpack2x16float, which needs no shader-f16 feature.
fn w_f16_at(o: u32) -> f32 {
    return unpack2x16float(w_u16_at(o)).x;
}

// Four unsigned bytes of q as floats.
fn u8x4(q: u32) -> vec4<f32> {
    return vec4<f32>(f32(q & 0xFFu), f32((q >> 8u) & 0xFFu), f32((q >> 16u) & 0xFFu), f32(q >> 24u));
}

// Four signed bytes of q as floats.
fn i8x4(q: u32) -> vec4<f32> {
    return vec4<f32>(f32(i32(q << 24u) >> 24u), f32(i32(q << 16u) >> 24u), f32(i32(q << 8u) >> 24u), f32(i32(q) >> 24u));
}

// The low (shift 0) or high (shift 4) nibbles of the four bytes of q.
fn nib4(q: u32, shift: u32) -> vec4<f32> {
    return u8x4((q >> shift) & 0x0F0F0F0Fu);
}

// ---- Float formats: any k_len; elements past the row end read as 0 ----

fn load_w4_f32(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = row * k_len + k;
    if (k + 4u <= k_len) {
        return vec4<f32>(bitcast<f32>(weights[b]), bitcast<f32>(weights[b + 1u]), bitcast<f32>(weights[b + 2u]), bitcast<f32>(weights[b + 3u]));
    }
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < k_len) {
            v[i] = bitcast<f32>(weights[b + i]);
        }
    }
    return v;
}

// f16 without shader-f16: halves packed two per u32.
fn load_w4_f16(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * k_len + k) * 2u;
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < k_len) {
            v[i] = w_f16_at(b + 2u * i);
        }
    }
    return v;
}

// bf16 is the top half of an f32.
fn load_w4_bf16(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * k_len + k) * 2u;
    var v = vec4<f32>(0.0);
    for (var i = 0u; i < 4u; i++) {
        if (k + i < k_len) {
            v[i] = bitcast<f32>(w_u16_at(b + 2u * i) << 16u);
        }
    }
    return v;
}

// ---- 32-element blocks ----

// Q8_0, 34 bytes: d f16 | qs[32] i8.  w = d * q
fn load_w4_q8_0(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 32u) + k / 32u) * 34u;
    return w_f16_at(b) * i8x4(w_u32_at(b + 2u + (k % 32u)));
}

// Q4_0, 18 bytes: d f16 | qs[16]; element j < 16 is the low nibble of qs[j], j >= 16 the high
// nibble of qs[j - 16].  w = d * (q - 8)
fn load_w4_q4_0(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 32u) + k / 32u) * 18u;
    let j = k % 32u;
    let q = nib4(w_u32_at(b + 2u + (j & 15u)), select(0u, 4u, j >= 16u));
    return w_f16_at(b) * (q - 8.0);
}

// Q4_1, 20 bytes: d f16 | m f16 | qs[16], nibbles as Q4_0.  w = d * q + m
fn load_w4_q4_1(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 32u) + k / 32u) * 20u;
    let j = k % 32u;
    let q = nib4(w_u32_at(b + 4u + (j & 15u)), select(0u, 4u, j >= 16u));
    return w_f16_at(b) * q + w_f16_at(b + 2u);
}

// Q5_0, 22 bytes: d f16 | qh u32 | qs[16]; nibbles as Q4_0, bit j of qh is bit 4 of element j.
// w = d * (q - 16)
fn load_w4_q5_0(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 32u) + k / 32u) * 22u;
    let j = k % 32u;
    let lo = nib4(w_u32_at(b + 6u + (j & 15u)), select(0u, 4u, j >= 16u));
    let hb = (w_u32_at(b + 2u) >> j) & 0xFu;
    let hi = vec4<f32>(f32(hb & 1u), f32((hb >> 1u) & 1u), f32((hb >> 2u) & 1u), f32(hb >> 3u)) * 16.0;
    return w_f16_at(b) * (lo + hi - 16.0);
}

// ---- 256-element super-blocks (K-quants) ----

// Q4_K, 144 bytes: d f16 | dmin f16 | scales[12] (eight 6-bit scale/min pairs) | qs[128].
// Elements 64g..64g+31 are low nibbles of qs[32g..], 64g+32.. the high nibbles; sub-block
// s = 2g (+1 for high) has w = d * sc[s] * q - dmin * m[s].
// Sub-block s's (scale, min) of a Q4_K / Q5_K super-block at byte b, times its f16 d and dmin
// (both word-aligned: 144- and 176-byte blocks).
fn kquant_scale_min(b: u32, s: u32) -> vec2<f32> {
    let dd = unpack2x16float(weights[b / 4u]);
    return dd * q4k_scale_min(b, s);
}

fn q4k_scale_min(b: u32, s: u32) -> vec2<f32> {
    let sb = b + 4u;
    if (s < 4u) {
        return vec2<f32>(f32(w_u8_at(sb + s) & 63u), f32(w_u8_at(sb + s + 4u) & 63u));
    }
    let sc = (w_u8_at(sb + s + 4u) & 0xFu) | ((w_u8_at(sb + s - 4u) >> 6u) << 4u);
    let m = (w_u8_at(sb + s + 4u) >> 4u) | ((w_u8_at(sb + s) >> 6u) << 4u);
    return vec2<f32>(f32(sc), f32(m));
}

fn load_w4_q4_k(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 256u) + k / 256u) * 144u;
    let e = k % 256u;
    let g = e / 64u;
    let high = (e % 64u) >= 32u;
    let sm = q4k_scale_min(b, 2u * g + select(0u, 1u, high));
    let q = nib4(w_u32_at(b + 16u + 32u * g + (e % 32u)), select(0u, 4u, high));
    return (w_f16_at(b) * sm.x) * q - w_f16_at(b + 2u) * sm.y;
}

// Where weight k of a row sits in a 256-weight super-block of `block_bytes` whose quants run in
// two 128-weight halves of four 32-weight quarters (Q6_K, Q3_K, Q2_K).
struct KPos {
    b: u32, // the super-block's first byte
    h: u32, // the half, 0 or 1
    q: u32, // the quarter within the half, 0..4
    l: u32, // the lane within the quarter, 0..32
}

fn kquant_pos(row: u32, k: u32, k_len: u32, block_bytes: u32) -> KPos {
    let e = k % 256u;
    return KPos((row * (k_len / 256u) + k / 256u) * block_bytes, e / 128u, (e % 128u) / 32u, e % 32u);
}

// Q6_K, 210 bytes: ql[128] (low 4 bits) | qh[64] (high 2 bits) | scales[16] i8 | d f16.
// Each 128-element half h uses ql[64h..], qh[32h..], scales[8h..]; its quarter c (32 elements)
// takes ql nibble (c >> 1) of ql[64h + 32(c & 1) + l] and bits 2c..2c+1 of qh[32h + l].
// w = d * scale[8h + l/16 + 2c] * (q - 32)
fn load_w4_q6_k(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let p = kquant_pos(row, k, k_len, 210u);
    let ql = (w_u32_at(p.b + 64u * p.h + 32u * (p.q & 1u) + p.l) >> (4u * (p.q >> 1u))) & 0x0F0F0F0Fu;
    let qh = (w_u32_at(p.b + 128u + 32u * p.h + p.l) >> (2u * p.q)) & 0x03030303u;
    let sc = f32(i32(w_u8_at(p.b + 192u + 8u * p.h + p.l / 16u + 2u * p.q) << 24u) >> 24u);
    return (w_f16_at(p.b + 208u) * sc) * (u8x4(ql | (qh << 4u)) - 32.0);
}

// ---- Whole 32-element chunks, for GEMV ----
//
// `load_w32_<format>(row, c, k_len)` returns weights W[row][32c .. 32c + 32] as 8 vec4s. Block
// formats decode their scales once per chunk and read quants as whole words, which cuts the
// loads per weight several times over (storage loads are the bottleneck on CPU adapters).
// Needs k_len % 32 == 0.

fn load_w32_f32(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let k = c * 32u;
    return array<vec4<f32>, 8>(load_w4_f32(row, k, k_len), load_w4_f32(row, k + 4u, k_len),
        load_w4_f32(row, k + 8u, k_len), load_w4_f32(row, k + 12u, k_len), load_w4_f32(row, k + 16u, k_len),
        load_w4_f32(row, k + 20u, k_len), load_w4_f32(row, k + 24u, k_len), load_w4_f32(row, k + 28u, k_len));
}

// Halves two to a word: with k_len even, a chunk starts on a word boundary.
fn load_w32_f16(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let i = (row * k_len + c * 32u) / 2u;
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 8u; j++) {
        out[j] = vec4<f32>(unpack2x16float(weights[i + 2u * j]), unpack2x16float(weights[i + 2u * j + 1u]));
    }
    return out;
}

fn bf16_pair(w: u32) -> vec2<f32> {
    return vec2<f32>(bitcast<f32>(w << 16u), bitcast<f32>(w & 0xFFFF0000u));
}

fn load_w32_bf16(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let i = (row * k_len + c * 32u) / 2u;
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 8u; j++) {
        out[j] = vec4<f32>(bf16_pair(weights[i + 2u * j]), bf16_pair(weights[i + 2u * j + 1u]));
    }
    return out;
}

// Eight consecutive words from an even byte offset with 9 aligned loads (instead of two loads
// per word), written out so no private array is indexed dynamically.
fn words8(o: u32) -> array<u32, 8> {
    let i = o >> 2u;
    let a0 = weights[i];
    let a1 = weights[i + 1u];
    let a2 = weights[i + 2u];
    let a3 = weights[i + 3u];
    let a4 = weights[i + 4u];
    let a5 = weights[i + 5u];
    let a6 = weights[i + 6u];
    let a7 = weights[i + 7u];
    if ((o & 3u) == 0u) {
        return array<u32, 8>(a0, a1, a2, a3, a4, a5, a6, a7);
    }
    let a8 = weights[i + 8u];
    return array<u32, 8>((a0 >> 16u) | (a1 << 16u), (a1 >> 16u) | (a2 << 16u), (a2 >> 16u) | (a3 << 16u),
        (a3 >> 16u) | (a4 << 16u), (a4 >> 16u) | (a5 << 16u), (a5 >> 16u) | (a6 << 16u),
        (a6 >> 16u) | (a7 << 16u), (a7 >> 16u) | (a8 << 16u));
}

// Four consecutive words from an even byte offset with at most 5 aligned loads.
fn words4(o: u32) -> array<u32, 4> {
    let i = o >> 2u;
    let a0 = weights[i];
    let a1 = weights[i + 1u];
    let a2 = weights[i + 2u];
    let a3 = weights[i + 3u];
    if ((o & 3u) == 0u) {
        return array<u32, 4>(a0, a1, a2, a3);
    }
    let a4 = weights[i + 4u];
    return array<u32, 4>((a0 >> 16u) | (a1 << 16u), (a1 >> 16u) | (a2 << 16u), (a2 >> 16u) | (a3 << 16u),
        (a3 >> 16u) | (a4 << 16u));
}

fn load_w32_q8_0(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 32u) + c) * 34u;
    let d = w_f16_at(b);
    let q = words8(b + 2u);
    return array<vec4<f32>, 8>(d * i8x4(q[0]), d * i8x4(q[1]), d * i8x4(q[2]), d * i8x4(q[3]),
        d * i8x4(q[4]), d * i8x4(q[5]), d * i8x4(q[6]), d * i8x4(q[7]));
}

// Low nibbles of the 16 quant bytes are elements 0..15, high nibbles 16..31.
fn load_w32_q4_0(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 32u) + c) * 18u;
    let d = w_f16_at(b);
    let q = words4(b + 2u);
    return array<vec4<f32>, 8>(d * (nib4(q[0], 0u) - 8.0), d * (nib4(q[1], 0u) - 8.0), d * (nib4(q[2], 0u) - 8.0),
        d * (nib4(q[3], 0u) - 8.0), d * (nib4(q[0], 4u) - 8.0), d * (nib4(q[1], 4u) - 8.0),
        d * (nib4(q[2], 4u) - 8.0), d * (nib4(q[3], 4u) - 8.0));
}

// 20-byte blocks stay word-aligned: d and m share the first word.
fn load_w32_q4_1(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let i = (row * (k_len / 32u) + c) * 5u;
    let dm = unpack2x16float(weights[i]);
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 4u; j++) {
        let q = weights[i + 1u + j];
        out[j] = dm.x * nib4(q, 0u) + dm.y;
        out[j + 4u] = dm.x * nib4(q, 4u) + dm.y;
    }
    return out;
}

fn q5_high4(qh: u32, e: u32) -> vec4<f32> {
    let hb = (qh >> e) & 0xFu;
    return vec4<f32>(f32(hb & 1u), f32((hb >> 1u) & 1u), f32((hb >> 2u) & 1u), f32(hb >> 3u)) * 16.0;
}

fn load_w32_q5_0(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 32u) + c) * 22u;
    let d = w_f16_at(b);
    let qh = w_u32_at(b + 2u);
    let q = words4(b + 6u);
    return array<vec4<f32>, 8>(d * (nib4(q[0], 0u) + q5_high4(qh, 0u) - 16.0),
        d * (nib4(q[1], 0u) + q5_high4(qh, 4u) - 16.0), d * (nib4(q[2], 0u) + q5_high4(qh, 8u) - 16.0),
        d * (nib4(q[3], 0u) + q5_high4(qh, 12u) - 16.0), d * (nib4(q[0], 4u) + q5_high4(qh, 16u) - 16.0),
        d * (nib4(q[1], 4u) + q5_high4(qh, 20u) - 16.0), d * (nib4(q[2], 4u) + q5_high4(qh, 24u) - 16.0),
        d * (nib4(q[3], 4u) + q5_high4(qh, 28u) - 16.0));
}

// Chunk c is sub-block c % 8 of its super-block; 144-byte super-blocks stay word-aligned.
fn load_w32_q4_k(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    return load_w32_kquant(row, c, k_len, 144u, 16u, false);
}

// Q4_K and Q5_K share the layout but for Q5_K's plane of high bits (32 bytes after the scales,
// which moves the nibbles from byte 16 to 48): a sub-block is scale * q - min.
fn load_w32_kquant(row: u32, c: u32, k_len: u32, block_bytes: u32, qs_at: u32, high_bits: bool) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 256u) + c / 8u) * block_bytes;
    let s = c % 8u;
    let sm = kquant_scale_min(b, s);
    let qi = (b + qs_at + 32u * (s / 2u)) / 4u;
    let hi = (b + 16u) / 4u;
    let shift = 4u * (s % 2u);
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 8u; j++) {
        var q = nib4(weights[qi + j], shift);
        if (high_bits) {
            q += 16.0 * u8x4((weights[hi + j] >> s) & 0x01010101u);
        }
        out[j] = sm.x * q - sm.y;
    }
    return out;
}

fn q6k_quad(ql: u32, qh: u32, q: u32, sc: f32) -> vec4<f32> {
    let lo = (ql >> (4u * (q >> 1u))) & 0x0F0F0F0Fu;
    let hi = (qh >> (2u * q)) & 0x03030303u;
    return sc * (u8x4(lo | (hi << 4u)) - 32.0);
}

fn load_w32_q6_k(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 256u) + c / 8u) * 210u;
    let h = (c % 8u) / 4u;
    let q = c % 4u;
    let d = w_f16_at(b + 208u);
    let ql = words8(b + 64u * h + 32u * (q & 1u));
    let qh = words8(b + 128u + 32u * h);
    let s0 = d * f32(i32(w_u8_at(b + 192u + 8u * h + 2u * q) << 24u) >> 24u);
    let s1 = d * f32(i32(w_u8_at(b + 193u + 8u * h + 2u * q) << 24u) >> 24u);
    return array<vec4<f32>, 8>(q6k_quad(ql[0], qh[0], q, s0), q6k_quad(ql[1], qh[1], q, s0),
        q6k_quad(ql[2], qh[2], q, s0), q6k_quad(ql[3], qh[3], q, s0), q6k_quad(ql[4], qh[4], q, s1),
        q6k_quad(ql[5], qh[5], q, s1), q6k_quad(ql[6], qh[6], q, s1), q6k_quad(ql[7], qh[7], q, s1));
}

// ---- Formats llama.cpp's quantiser writes for requantised downloads ----
// (Q5_1, Q2_K, Q3_K, Q5_K, IQ4_NL, IQ4_XS; byte layouts in src/formats/quant/lowbit.rs.)

// Q5_1, 24 bytes: d f16 | m f16 | qh u32 | qs[16]; nibbles and high bits as Q5_0.  w = d * q + m
fn load_w4_q5_1(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 32u) + k / 32u) * 24u;
    let j = k % 32u;
    let lo = nib4(w_u32_at(b + 8u + (j & 15u)), select(0u, 4u, j >= 16u));
    return w_f16_at(b) * (lo + q5_high4(w_u32_at(b + 4u), j)) + w_f16_at(b + 2u);
}

// 24-byte blocks stay word-aligned: d and m share word 0, qh is word 1, qs words 2..5.
fn load_w32_q5_1(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let i = (row * (k_len / 32u) + c) * 6u;
    let dm = unpack2x16float(weights[i]);
    let qh = weights[i + 1u];
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 4u; j++) {
        let q = weights[i + 2u + j];
        out[j] = dm.x * (nib4(q, 0u) + q5_high4(qh, 4u * j)) + dm.y;
        out[j + 4u] = dm.x * (nib4(q, 4u) + q5_high4(qh, 16u + 4u * j)) + dm.y;
    }
    return out;
}

// Q2_K, 84 bytes: scales[16] (scale nibble | min nibble << 4) | qs[64] | d f16 | dmin f16.
// Element 128h + 32j + l is bits 2j..2j+1 of qs[32h + l]; its scale byte is scales[8h + 2j + l/16].
// w = (d * sc) * q - dmin * m
fn load_w4_q2_k(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let p = kquant_pos(row, k, k_len, 84u);
    let q = (weights[(p.b + 16u + 32u * p.h + p.l) / 4u] >> (2u * p.q)) & 0x03030303u;
    let sc = w_u8_at(p.b + 8u * p.h + 2u * p.q + p.l / 16u);
    let dd = unpack2x16float(weights[(p.b + 80u) / 4u]);
    return (dd.x * f32(sc & 0xFu)) * u8x4(q) - dd.y * f32(sc >> 4u);
}

// Chunk c is (h, j) = ((c % 8) / 4, c % 4) of its super-block; 84-byte super-blocks stay
// word-aligned. The chunk's first 16 weights use one scale byte, the last 16 the next.
fn load_w32_q2_k(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 256u) + c / 8u) * 84u;
    let h = (c % 8u) / 4u;
    let j = c % 4u;
    let dd = unpack2x16float(weights[(b + 80u) / 4u]);
    let sc0 = w_u8_at(b + 8u * h + 2u * j);
    let sc1 = w_u8_at(b + 8u * h + 2u * j + 1u);
    let d0 = dd.x * f32(sc0 & 0xFu);
    let m0 = dd.y * f32(sc0 >> 4u);
    let d1 = dd.x * f32(sc1 & 0xFu);
    let m1 = dd.y * f32(sc1 >> 4u);
    let qi = (b + 16u + 32u * h) / 4u;
    var out: array<vec4<f32>, 8>;
    for (var w = 0u; w < 4u; w++) {
        out[w] = d0 * u8x4((weights[qi + w] >> (2u * j)) & 0x03030303u) - m0;
        out[w + 4u] = d1 * u8x4((weights[qi + 4u + w] >> (2u * j)) & 0x03030303u) - m1;
    }
    return out;
}

// Q3_K, 110 bytes: hmask[32] | qs[64] | scales[12] (sixteen 6-bit scales) | d f16.
// Element 128h + 32j + l: low bits as Q2_K from qs[32h + l], high bit 4h + j of hmask[l]
// (clear means minus 4), scale s = 8h + 2j + l/16 with its low nibble in nibble s/8 of
// scales[s % 8] and its top two bits at bit 2(s/4) of scales[8 + s % 4].
// w = (d * (scale - 32)) * (q - (hbit ? 0 : 4))
fn q3k_scale(b: u32, s: u32) -> f32 {
    let lo = (w_u8_at(b + 96u + s % 8u) >> (4u * (s / 8u))) & 0xFu;
    let hi = (w_u8_at(b + 104u + s % 4u) >> (2u * (s / 4u))) & 3u;
    return f32(i32(lo | (hi << 4u)) - 32);
}

fn q3k_quad(qs: u32, hm: u32, h: u32, j: u32) -> vec4<f32> {
    let low = (qs >> (2u * j)) & 0x03030303u;
    let high = (hm >> (4u * h + j)) & 0x01010101u;
    return u8x4(low) + 4.0 * u8x4(high) - 4.0;
}

fn load_w4_q3_k(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let p = kquant_pos(row, k, k_len, 110u);
    let q = q3k_quad(w_u32_at(p.b + 32u + 32u * p.h + p.l), w_u32_at(p.b + p.l), p.h, p.q);
    return (w_f16_at(p.b + 108u) * q3k_scale(p.b, 8u * p.h + 2u * p.q + p.l / 16u)) * q;
}

// 110-byte super-blocks are only 2-byte aligned: words8 stitches the chunk's quants and masks.
fn load_w32_q3_k(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 256u) + c / 8u) * 110u;
    let h = (c % 8u) / 4u;
    let j = c % 4u;
    let d = w_f16_at(b + 108u);
    let s0 = d * q3k_scale(b, 8u * h + 2u * j);
    let s1 = d * q3k_scale(b, 8u * h + 2u * j + 1u);
    let qs = words8(b + 32u + 32u * h);
    let hm = words8(b);
    return array<vec4<f32>, 8>(s0 * q3k_quad(qs[0], hm[0], h, j), s0 * q3k_quad(qs[1], hm[1], h, j),
        s0 * q3k_quad(qs[2], hm[2], h, j), s0 * q3k_quad(qs[3], hm[3], h, j), s1 * q3k_quad(qs[4], hm[4], h, j),
        s1 * q3k_quad(qs[5], hm[5], h, j), s1 * q3k_quad(qs[6], hm[6], h, j), s1 * q3k_quad(qs[7], hm[7], h, j));
}

// Q5_K, 176 bytes: d f16 | dmin f16 | scales[12] (as Q4_K) | qh[32] | qs[128] (as Q4_K's qs).
// Sub-block s (32 elements) takes its fifth bits from bit s of qh[l].
// w = (d * sc[s]) * q - dmin * m[s]
fn load_w4_q5_k(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 256u) + k / 256u) * 176u;
    let e = k % 256u;
    let g = e / 64u;
    let high = (e % 64u) >= 32u;
    let s = 2u * g + select(0u, 1u, high);
    let l = e % 32u;
    let sm = q4k_scale_min(b, s);
    let lo = nib4(weights[(b + 48u + 32u * g + l) / 4u], select(0u, 4u, high));
    let hi = 16.0 * u8x4((weights[(b + 16u + l) / 4u] >> s) & 0x01010101u);
    return (w_f16_at(b) * sm.x) * (lo + hi) - w_f16_at(b + 2u) * sm.y;
}

// 176-byte super-blocks stay word-aligned.
fn load_w32_q5_k(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    return load_w32_kquant(row, c, k_len, 176u, 48u, true);
}

// kvalues_iq4nl (ggml-common.h), the 16 signed levels of IQ4_NL / IQ4_XS, four bytes a word.
// A vector rather than an array: every backend indexes a vector dynamically without a local copy.
const IQ4NL_LEVELS = vec4<u32>(0xBFAD9881u, 0xF6EADDCFu, 0x26190D01u, 0x71594535u);

fn iq4nl_level(n: u32) -> f32 {
    return f32(i32(IQ4NL_LEVELS[n >> 2u] << (24u - 8u * (n & 3u))) >> 24u);
}

// The levels of the low (shift 0) or high (shift 4) nibbles of the four bytes of q.
fn iq4nl4(q: u32, shift: u32) -> vec4<f32> {
    let n = (q >> shift) & 0x0F0F0F0Fu;
    return vec4<f32>(iq4nl_level(n & 0xFu), iq4nl_level((n >> 8u) & 0xFu), iq4nl_level((n >> 16u) & 0xFu),
        iq4nl_level(n >> 24u));
}

// IQ4_NL, 18 bytes: Q4_0's layout, the nibble indexing the levels.  w = d * level[q]
fn load_w4_iq4_nl(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 32u) + k / 32u) * 18u;
    let j = k % 32u;
    return w_f16_at(b) * iq4nl4(w_u32_at(b + 2u + (j & 15u)), select(0u, 4u, j >= 16u));
}

fn load_w32_iq4_nl(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 32u) + c) * 18u;
    let d = w_f16_at(b);
    let q = words4(b + 2u);
    return array<vec4<f32>, 8>(d * iq4nl4(q[0], 0u), d * iq4nl4(q[1], 0u), d * iq4nl4(q[2], 0u),
        d * iq4nl4(q[3], 0u), d * iq4nl4(q[0], 4u), d * iq4nl4(q[1], 4u), d * iq4nl4(q[2], 4u),
        d * iq4nl4(q[3], 4u));
}

// IQ4_XS, 136 bytes: d f16 | scales_h u16 | scales_l[4] | qs[128]. Sub-block ib (32 elements)
// is an IQ4_NL block's quants at qs[16ib..] with the 6-bit scale (nibble ib % 2 of
// scales_l[ib / 2]) | (bits 2ib..2ib+1 of scales_h) << 4.  w = (d * (scale - 32)) * level[q]
fn iq4xs_scale(b: u32, ib: u32) -> f32 {
    let lo = (w_u8_at(b + 4u + ib / 2u) >> (4u * (ib % 2u))) & 0xFu;
    let hi = (w_u16_at(b + 2u) >> (2u * ib)) & 3u;
    return w_f16_at(b) * f32(i32(lo | (hi << 4u)) - 32);
}

fn load_w4_iq4_xs(row: u32, k: u32, k_len: u32) -> vec4<f32> {
    let b = (row * (k_len / 256u) + k / 256u) * 136u;
    let e = k % 256u;
    let ib = e / 32u;
    let j = e % 32u;
    let q = weights[(b + 8u + 16u * ib + (j & 15u)) / 4u];
    return iq4xs_scale(b, ib) * iq4nl4(q, select(0u, 4u, j >= 16u));
}

// 136-byte super-blocks stay word-aligned; chunk c is sub-block c % 8.
fn load_w32_iq4_xs(row: u32, c: u32, k_len: u32) -> array<vec4<f32>, 8> {
    let b = (row * (k_len / 256u) + c / 8u) * 136u;
    let ib = c % 8u;
    let dl = iq4xs_scale(b, ib);
    let qi = (b + 8u + 16u * ib) / 4u;
    var out: array<vec4<f32>, 8>;
    for (var j = 0u; j < 4u; j++) {
        let q = weights[qi + j];
        out[j] = dl * iq4nl4(q, 0u);
        out[j + 4u] = dl * iq4nl4(q, 4u);
    }
    return out;
}

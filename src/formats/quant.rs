//! GGML/GGUF weight block formats and their reference dequantisers.
//!
//! Every dequantiser here is meant to be bit-exact with llama.cpp's
//! `dequantize_row_*` in `ggml-quants.c`: the same f16 decode, the same f32
//! products in the same order (Rust never contracts `a*b - c` into an FMA, so
//! the rounding sequence is exactly the one written in the source). The GPU
//! kernels are tested against these, so any deviation here would silently
//! move the goalposts for them.
//!
//! Nothing in this module panics on malformed input: bad sizes, unaligned
//! row lengths and unknown type ids are reported as [`QuantError`], because
//! these values come straight from untrusted GGUF files.

use std::fmt;

// Q5_1, Q2_K, Q3_K, Q5_K, IQ4_NL and IQ4_XS: the formats no shipped model uses but requantised
// downloads do, kept apart so this file stays about the shared tables. The explicit path lets
// tests/wasm_simd include this file by #[path] and still find it.
#[path = "quant/lowbit.rs"]
mod lowbit;
pub use lowbit::KVALUES_IQ4NL;
use lowbit::{dequant_iq4_nl, dequant_iq4_xs, dequant_q2_k, dequant_q3_k, dequant_q5_1, dequant_q5_k};

/// Elements per "super-block" of the K-quant formats.
const QK_K: usize = 256;
/// Elements per block of the legacy 32-element formats.
const QK32: usize = 32;

/// A tensor encoding we can load and dequantise.
///
/// Variant names mirror ggml's (`Q4_K`, not `Q4K`) so they grep-match
/// llama.cpp sources and GGUF tooling output.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WeightFormat {
    F32,
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q2_K,
    Q3_K,
    Q4_K,
    Q5_K,
    Q6_K,
    IQ4_NL,
    IQ4_XS,
}

/// Every supported format, handy for exhaustive tests.
pub const ALL_FORMATS: [WeightFormat; 15] = [
    WeightFormat::F32,
    WeightFormat::F16,
    WeightFormat::BF16,
    WeightFormat::Q8_0,
    WeightFormat::Q4_0,
    WeightFormat::Q4_1,
    WeightFormat::Q5_0,
    WeightFormat::Q5_1,
    WeightFormat::Q2_K,
    WeightFormat::Q3_K,
    WeightFormat::Q4_K,
    WeightFormat::Q5_K,
    WeightFormat::Q6_K,
    WeightFormat::IQ4_NL,
    WeightFormat::IQ4_XS,
];

/// Errors for malformed or unsupported quantised data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QuantError {
    /// The GGML type id is not one we can decode.
    UnsupportedType { id: u32 },
    /// Row length `k` is not a multiple of the format's block size.
    NotBlockAligned { format: WeightFormat, k: usize },
    /// The byte buffer does not hold exactly the expected number of bytes.
    SizeMismatch {
        format: WeightFormat,
        expected: usize,
        actual: usize,
    },
    /// The output length is not a whole number of rows of `k` (or `k == 0`).
    BadOutputLen { k: usize, len: usize },
    /// A size computation overflowed `usize`.
    Overflow,
}

impl fmt::Display for QuantError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            QuantError::UnsupportedType { id } => match ggml_type_name(id) {
                Some(name) => write!(f, "unsupported GGML tensor type {id} ({name})"),
                None => write!(f, "unsupported GGML tensor type {id} (unknown id)"),
            },
            QuantError::NotBlockAligned { format, k } => write!(
                f,
                "row length {k} is not a multiple of the {} block size {}",
                format.name(),
                format.block_elems()
            ),
            QuantError::SizeMismatch {
                format,
                expected,
                actual,
            } => write!(f, "{} data has {actual} bytes, expected {expected}", format.name()),
            QuantError::BadOutputLen { k, len } => write!(
                f,
                "output length {len} is not a positive whole number of rows of {k} elements"
            ),
            QuantError::Overflow => write!(f, "tensor size overflows usize"),
        }
    }
}

impl std::error::Error for QuantError {}

/// Human-readable ggml name for a type id (from `ggml.h`), used only to make
/// "unsupported type" errors actionable: a user seeing "q5_k" knows to
/// re-quantise, a bare "13" tells them nothing.
fn ggml_type_name(id: u32) -> Option<&'static str> {
    const NAMES: [&str; 40] = [
        "f32",
        "f16",
        "q4_0",
        "q4_1",
        "q4_2 (removed)",
        "q4_3 (removed)",
        "q5_0",
        "q5_1",
        "q8_0",
        "q8_1",
        "q2_k",
        "q3_k",
        "q4_k",
        "q5_k",
        "q6_k",
        "q8_k",
        "iq2_xxs",
        "iq2_xs",
        "iq3_xxs",
        "iq1_s",
        "iq4_nl",
        "iq3_s",
        "iq2_s",
        "iq4_xs",
        "i8",
        "i16",
        "i32",
        "i64",
        "f64",
        "iq1_m",
        "bf16",
        "q4_0_4_4 (removed)",
        "q4_0_4_8 (removed)",
        "q4_0_8_8 (removed)",
        "tq1_0",
        "tq2_0",
        "iq4_nl_4_4 (removed)",
        "iq4_nl_4_8 (removed)",
        "iq4_nl_8_8 (removed)",
        "mxfp4",
    ];
    NAMES.get(id as usize).copied()
}

impl WeightFormat {
    /// Lower-case name as used by ggml (`ggml_type_name`).
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::F16 => "f16",
            WeightFormat::BF16 => "bf16",
            WeightFormat::Q8_0 => "q8_0",
            WeightFormat::Q4_0 => "q4_0",
            WeightFormat::Q4_1 => "q4_1",
            WeightFormat::Q5_0 => "q5_0",
            WeightFormat::Q5_1 => "q5_1",
            WeightFormat::Q2_K => "q2_k",
            WeightFormat::Q3_K => "q3_k",
            WeightFormat::Q4_K => "q4_k",
            WeightFormat::Q5_K => "q5_k",
            WeightFormat::Q6_K => "q6_k",
            WeightFormat::IQ4_NL => "iq4_nl",
            WeightFormat::IQ4_XS => "iq4_xs",
        }
    }

    /// Elements per block (1 for plain float formats).
    pub fn block_elems(self) -> usize {
        match self {
            WeightFormat::F32 | WeightFormat::F16 | WeightFormat::BF16 => 1,
            WeightFormat::Q8_0
            | WeightFormat::Q4_0
            | WeightFormat::Q4_1
            | WeightFormat::Q5_0
            | WeightFormat::Q5_1
            | WeightFormat::IQ4_NL => QK32,
            WeightFormat::Q2_K
            | WeightFormat::Q3_K
            | WeightFormat::Q4_K
            | WeightFormat::Q5_K
            | WeightFormat::Q6_K
            | WeightFormat::IQ4_XS => QK_K,
        }
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> usize {
        match self {
            WeightFormat::F32 => 4,
            WeightFormat::F16 | WeightFormat::BF16 => 2,
            WeightFormat::Q8_0 => 34,
            WeightFormat::Q4_0 => 18,
            WeightFormat::Q4_1 => 20,
            WeightFormat::Q5_0 => 22,
            WeightFormat::Q5_1 => 24,
            WeightFormat::Q2_K => 84,
            WeightFormat::Q3_K => 110,
            WeightFormat::Q4_K => 144,
            WeightFormat::Q5_K => 176,
            WeightFormat::Q6_K => 210,
            WeightFormat::IQ4_NL => 18,
            WeightFormat::IQ4_XS => 136,
        }
    }

    /// The `ggml_type` enum value stored in GGUF tensor infos.
    pub fn ggml_type(self) -> u32 {
        match self {
            WeightFormat::F32 => 0,
            WeightFormat::F16 => 1,
            WeightFormat::Q4_0 => 2,
            WeightFormat::Q4_1 => 3,
            WeightFormat::Q5_0 => 6,
            WeightFormat::Q5_1 => 7,
            WeightFormat::Q8_0 => 8,
            WeightFormat::Q2_K => 10,
            WeightFormat::Q3_K => 11,
            WeightFormat::Q4_K => 12,
            WeightFormat::Q5_K => 13,
            WeightFormat::Q6_K => 14,
            WeightFormat::IQ4_NL => 20,
            WeightFormat::IQ4_XS => 23,
            WeightFormat::BF16 => 30,
        }
    }

    /// Inverse of [`WeightFormat::ggml_type`]; unknown or unsupported ids are
    /// an error whose message names the ggml type when known.
    pub fn from_ggml_type(id: u32) -> Result<Self, QuantError> {
        ALL_FORMATS
            .iter()
            .copied()
            .find(|f| f.ggml_type() == id)
            .ok_or(QuantError::UnsupportedType { id })
    }

    /// Bytes in one row of `k` elements. Rows must be whole blocks because
    /// ggml never splits a block across rows.
    pub fn row_bytes(self, k: usize) -> Result<usize, QuantError> {
        if !k.is_multiple_of(self.block_elems()) {
            return Err(QuantError::NotBlockAligned { format: self, k });
        }
        (k / self.block_elems())
            .checked_mul(self.block_bytes())
            .ok_or(QuantError::Overflow)
    }

    /// True for the block-quantised formats (everything but F32/F16/BF16).
    pub fn is_quantized(self) -> bool {
        !matches!(self, WeightFormat::F32 | WeightFormat::F16 | WeightFormat::BF16)
    }
}

// ---------------------------------------------------------------------------
// Scalar float conversions
// ---------------------------------------------------------------------------

/// IEEE half -> f32. Exact for every input (every f16 is representable in
/// f32), including subnormals, infinities and NaN (payload preserved).
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1F) as u32;
    let mant = (h & 0x3FF) as u32;
    match exp {
        0 => {
            // Zero or subnormal: value = mant * 2^-24, exact in f32.
            let mag = mant as f32 * (1.0 / 16_777_216.0);
            if sign != 0 {
                -mag
            } else {
                mag
            }
        }
        31 => f32::from_bits(sign | 0x7F80_0000 | (mant << 13)),
        _ => f32::from_bits(sign | ((exp + 112) << 23) | (mant << 13)),
    }
}

/// f32 -> IEEE half with round-to-nearest-even; overflow gives ±inf,
/// underflow gives (signed) zero or a correctly rounded subnormal. NaN stays
/// NaN (quiet bit set, top payload bits kept).
pub fn f32_to_f16(x: f32) -> u16 {
    let bits = x.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exp = ((bits >> 23) & 0xFF) as i32;
    let mant = bits & 0x7F_FFFF;
    if exp == 0xFF {
        return if mant == 0 {
            sign | 0x7C00
        } else {
            sign | 0x7E00 | (mant >> 13) as u16
        };
    }
    let e = exp - 127 + 15; // re-biased exponent
    if e >= 31 {
        return sign | 0x7C00;
    }
    if e <= 0 {
        // Result is subnormal (or rounds up to the smallest normal).
        // value = m * 2^(exp-150); in units of 2^-24 that is m >> (126-exp).
        let shift = (14 - e) as u32;
        if shift > 24 {
            return sign; // < 2^-25: rounds to zero (ties included, to even)
        }
        let m = mant | 0x80_0000;
        let mut half = m >> shift;
        let rem = m & ((1 << shift) - 1);
        let halfway = 1 << (shift - 1);
        if rem > halfway || (rem == halfway && (half & 1) == 1) {
            half += 1; // may carry into the exponent field: that is correct
        }
        return sign | half as u16;
    }
    let mut half = ((e as u32) << 10) | (mant >> 13);
    let rem = mant & 0x1FFF;
    if rem > 0x1000 || (rem == 0x1000 && (half & 1) == 1) {
        half += 1; // carry may produce 0x7C00 = inf, which is correct
    }
    sign | half as u16
}

/// bfloat16 -> f32: bf16 is the top half of an f32, so this is exact.
pub fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits((h as u32) << 16)
}

/// f32 -> bfloat16 with round-to-nearest-even (NaN stays a quiet NaN).
pub fn f32_to_bf16(x: f32) -> u16 {
    let bits = x.to_bits();
    if x.is_nan() {
        return ((bits >> 16) | 0x40) as u16;
    }
    let rounding = 0x7FFF + ((bits >> 16) & 1);
    (bits.wrapping_add(rounding) >> 16) as u16
}

// ---------------------------------------------------------------------------
// Dequantisation
// ---------------------------------------------------------------------------

/// Reads a little-endian u16 from the first two bytes. Callers only pass
/// slices from `chunks_exact` of the right block size, so indexing is in
/// bounds by construction.
fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le_f16(b: &[u8]) -> f32 {
    f16_to_f32(le_u16(b))
}

/// Dequantise `rows` consecutive rows of `k` elements each (all
/// little-endian) into `out` (len `rows*k`). `rows = out.len() / k`.
///
/// Errors: `k == 0` or `out.len()` not a multiple of `k` (`BadOutputLen`),
/// `k` not block aligned (`NotBlockAligned`), or
/// `bytes.len() != rows * row_bytes(k)` (`SizeMismatch`).
///
/// Because every row is a whole number of blocks, the rows are simply one
/// contiguous run of blocks, which is how the loop below treats them.
pub fn dequantize(fmt: WeightFormat, bytes: &[u8], k: usize, out: &mut [f32]) -> Result<(), QuantError> {
    if k == 0 || !out.len().is_multiple_of(k) {
        return Err(QuantError::BadOutputLen { k, len: out.len() });
    }
    let rows = out.len() / k;
    let expected = rows.checked_mul(fmt.row_bytes(k)?).ok_or(QuantError::Overflow)?;
    if bytes.len() != expected {
        return Err(QuantError::SizeMismatch {
            format: fmt,
            expected,
            actual: bytes.len(),
        });
    }
    let blocks = bytes.chunks_exact(fmt.block_bytes());
    let outs = out.chunks_exact_mut(fmt.block_elems());
    for (b, y) in blocks.zip(outs) {
        match fmt {
            WeightFormat::F32 => y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
            WeightFormat::F16 => y[0] = f16_to_f32(le_u16(b)),
            WeightFormat::BF16 => y[0] = bf16_to_f32(le_u16(b)),
            WeightFormat::Q8_0 => dequant_q8_0(b, y),
            WeightFormat::Q4_0 => dequant_q4_0(b, y),
            WeightFormat::Q4_1 => dequant_q4_1(b, y),
            WeightFormat::Q5_0 => dequant_q5_0(b, y),
            WeightFormat::Q5_1 => dequant_q5_1(b, y),
            WeightFormat::Q2_K => dequant_q2_k(b, y),
            WeightFormat::Q3_K => dequant_q3_k(b, y),
            WeightFormat::Q4_K => dequant_q4_k(b, y),
            WeightFormat::Q5_K => dequant_q5_k(b, y),
            WeightFormat::Q6_K => dequant_q6_k(b, y),
            WeightFormat::IQ4_NL => dequant_iq4_nl(b, y),
            WeightFormat::IQ4_XS => dequant_iq4_xs(b, y),
        }
    }
    Ok(())
}

/// Q8_0 block, 34 bytes / 32 elements:
/// ```text
/// [0..2)   d      f16
/// [2..34)  qs[32] i8
/// ```
/// `y[j] = qs[j] * d`.
fn dequant_q8_0(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    for (yj, &q) in y.iter_mut().zip(&b[2..34]) {
        *yj = (q as i8) as f32 * d;
    }
}

/// Q4_0 block, 18 bytes / 32 elements:
/// ```text
/// [0..2)   d      f16
/// [2..18)  qs[16] two 4-bit quants per byte: low nibble -> y[j], high -> y[j+16]
/// ```
/// `y = (nibble - 8) * d`.
fn dequant_q4_0(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let qs = &b[2..18];
    for j in 0..16 {
        let x0 = (qs[j] & 0x0F) as i32 - 8;
        let x1 = (qs[j] >> 4) as i32 - 8;
        y[j] = x0 as f32 * d;
        y[j + 16] = x1 as f32 * d;
    }
}

/// Q4_1 block, 20 bytes / 32 elements:
/// ```text
/// [0..2)   d      f16 (scale)
/// [2..4)   m      f16 (min / offset)
/// [4..20)  qs[16] low nibble -> y[j], high nibble -> y[j+16]
/// ```
/// `y = nibble * d + m` (unsigned nibbles, no -8 bias).
fn dequant_q4_1(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let m = le_f16(&b[2..4]);
    let qs = &b[4..20];
    for j in 0..16 {
        y[j] = (qs[j] & 0x0F) as f32 * d + m;
        y[j + 16] = (qs[j] >> 4) as f32 * d + m;
    }
}

/// Q5_0 block, 22 bytes / 32 elements:
/// ```text
/// [0..2)   d      f16
/// [2..6)   qh     u32 LE: bit j is the 5th (high) bit of element j
/// [6..22)  qs[16] low 4 bits: low nibble -> y[j], high nibble -> y[j+16]
/// ```
/// `y = (q5 - 16) * d`.
fn dequant_q5_0(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    for (y, q) in y.iter_mut().zip(q5_values(&b[2..22])) {
        *y = (q as i32 - 16) as f32 * d;
    }
}

/// The 32 unsigned 5-bit values of a Q5_0 / Q5_1 block from its `qh` (4 bytes: bit j is the high
/// bit of element j) and `qs` (16 bytes: low nibble element j, high nibble element j + 16).
pub(super) fn q5_values(qh_qs: &[u8]) -> [u8; 32] {
    let qh = u32::from_le_bytes([qh_qs[0], qh_qs[1], qh_qs[2], qh_qs[3]]);
    let qs = &qh_qs[4..20];
    let mut q = [0u8; 32];
    for j in 0..16 {
        let xh0 = (((qh >> j) << 4) & 0x10) as u8;
        let xh1 = ((qh >> (j + 12)) & 0x10) as u8;
        q[j] = (qs[j] & 0x0F) | xh0;
        q[j + 16] = (qs[j] >> 4) | xh1;
    }
    q
}

/// Unpacks the 6-bit (scale, min) pair `j` (0..8) of a Q4_K block from its
/// 12 packed scale bytes. Layout (`sc`/`m` are 6-bit):
/// ```text
/// bytes 0..4 : sc[j]   (bits 0..6) | sc[j+4] >> 4 (bits 6..8)
/// bytes 4..8 : m[j]    (bits 0..6) | m[j+4]  >> 4 (bits 6..8)
/// bytes 8..12: sc[j+4] & 0xF (bits 0..4) | (m[j+4] & 0xF) << 4
/// ```
/// The (scale, min) of group g's two 32-element halves in a Q4_K / Q5_K block, times d and dmin.
pub(super) fn k_group_scales(g: usize, d: f32, dmin: f32, scales: &[u8]) -> [(f32, f32); 2] {
    [2 * g, 2 * g + 1].map(|j| {
        let (sc, m) = get_scale_min_k4(j, scales);
        (d * sc as f32, dmin * m as f32)
    })
}

/// The 6-bit (scale, min) pair `j` (0..8) of a Q4_K / Q5_K block's 12 packed scale bytes (layout
/// above); public for the integer dot products in `simd`, which apply them to whole sub-blocks.
pub fn get_scale_min_k4(j: usize, q: &[u8]) -> (u8, u8) {
    if j < 4 {
        (q[j] & 63, q[j + 4] & 63)
    } else {
        let sc = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
        let m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
        (sc, m)
    }
}

/// Q4_K super-block, 144 bytes / 256 elements:
/// ```text
/// [0..2)     d          f16 super-scale for the 6-bit scales
/// [2..4)     dmin       f16 super-scale for the 6-bit mins
/// [4..16)    scales[12] 8 (scale, min) pairs, see get_scale_min_k4
/// [16..144)  qs[128]    4 groups of 32 bytes; group g covers y[64g..64g+64]:
///                       low nibbles -> first 32 (pair 2g), high -> next 32 (pair 2g+1)
/// ```
/// `y = (d*sc) * q - (dmin*m)`, in exactly that f32 order.
fn dequant_q4_k(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[0..2]);
    let dmin = le_f16(&b[2..4]);
    let scales = &b[4..16];
    let qs = &b[16..144];
    for g in 0..4 {
        let q = &qs[32 * g..32 * g + 32];
        let [(d1, m1), (d2, m2)] = k_group_scales(g, d, dmin, scales);
        let yg = &mut y[64 * g..64 * g + 64];
        for l in 0..32 {
            yg[l] = d1 * (q[l] & 0x0F) as f32 - m1;
            yg[l + 32] = d2 * (q[l] >> 4) as f32 - m2;
        }
    }
}

/// Q6_K super-block, 210 bytes / 256 elements:
/// ```text
/// [0..128)    ql[128]    low 4 bits of each 6-bit quant
/// [128..192)  qh[64]     high 2 bits, four elements per byte
/// [192..208)  scales[16] i8 sub-block scales (16 elements each)
/// [208..210)  d          f16 super-scale (note: at the END)
/// ```
/// Two halves n of 128 elements (ql+64n, qh+32n, scales+8n, y+128n); within
/// a half, for l < 32 the four elements y[l + 32i] (i = 0..4) take their low
/// nibble from ql[l] (i=0: lo, 2: hi) or ql[l+32] (1: lo, 3: hi) and their
/// high bits from (qh[l] >> 2i) & 3; scale index = l/16 + 2i.
/// `y = (d * sc) * (q6 - 32)`.
fn dequant_q6_k(b: &[u8], y: &mut [f32]) {
    let d = le_f16(&b[208..210]);
    for n in 0..2 {
        let ql = &b[64 * n..64 * n + 64];
        let qh = &b[128 + 32 * n..128 + 32 * n + 32];
        let sc = &b[192 + 8 * n..192 + 8 * n + 8];
        let yh = &mut y[128 * n..128 * n + 128];
        for l in 0..32 {
            let is = l / 16;
            let q1 = ((ql[l] & 0x0F) | ((qh[l] & 3) << 4)) as i32 - 32;
            let q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
            let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
            let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
            let s = |i: usize| d * (sc[is + i] as i8) as f32;
            yh[l] = s(0) * q1 as f32;
            yh[l + 32] = s(2) * q2 as f32;
            yh[l + 64] = s(4) * q3 as f32;
            yh[l + 96] = s(6) * q4 as f32;
        }
    }
}

// ---------------------------------------------------------------------------
// Test data
// ---------------------------------------------------------------------------

/// Deterministic random but *valid* weights for tests: `rows` rows of `k`
/// elements in `fmt` (little-endian, ready for [`dequantize`]).
///
/// Why these ranges: scales are moderate finite f16 values so dequantised
/// weights stay finite and O(1..100), while quant bytes are fully random so
/// every bit of every field is exercised.
/// - float formats: values ~ U(-1, 1) (rounded to f16/bf16 where needed);
/// - `d` ~ U(0.002, 0.05) for every quantised format;
/// - Q4_1/Q5_1 `m` ~ U(-0.05, 0.05); Q2_K/Q4_K/Q5_K `dmin` ~ U(0.002, 0.05);
/// - K-quant and IQ4_XS sub-block scales and all quant bytes: uniform random bytes.
///
/// Panics if `k` is not block aligned (test misuse, not input data).
pub fn random_weights(fmt: WeightFormat, rows: usize, k: usize, seed: u64) -> Vec<u8> {
    let row_bytes = fmt.row_bytes(k).unwrap_or_else(|e| panic!("random_weights: {e}"));
    let n_blocks = rows * k / fmt.block_elems();
    let mut rng = crate::rng::Rng::new(seed);
    let mut out = Vec::with_capacity(rows * row_bytes);
    for _ in 0..n_blocks {
        let start = out.len();
        match fmt {
            WeightFormat::F32 => {
                out.extend_from_slice(&rng.f32_range(-1.0, 1.0).to_le_bytes());
                continue;
            }
            WeightFormat::F16 => {
                out.extend_from_slice(&f32_to_f16(rng.f32_range(-1.0, 1.0)).to_le_bytes());
                continue;
            }
            WeightFormat::BF16 => {
                out.extend_from_slice(&f32_to_bf16(rng.f32_range(-1.0, 1.0)).to_le_bytes());
                continue;
            }
            _ => {}
        }
        // Fill the whole block with random bytes, then overwrite the f16
        // scale fields with valid, moderate values.
        for _ in 0..fmt.block_bytes() {
            out.push(rng.next_u32() as u8);
        }
        let blk = &mut out[start..];
        let mut put = |off: usize, v: f32| {
            blk[off..off + 2].copy_from_slice(&f32_to_f16(v).to_le_bytes());
        };
        let d = rng.f32_range(0.002, 0.05);
        match fmt {
            WeightFormat::Q8_0
            | WeightFormat::Q4_0
            | WeightFormat::Q5_0
            | WeightFormat::IQ4_NL
            | WeightFormat::IQ4_XS => put(0, d),
            WeightFormat::Q4_1 | WeightFormat::Q5_1 => {
                put(0, d);
                put(2, rng.f32_range(-0.05, 0.05));
            }
            WeightFormat::Q4_K | WeightFormat::Q5_K => {
                put(0, d);
                put(2, rng.f32_range(0.002, 0.05));
            }
            WeightFormat::Q2_K => {
                put(80, d);
                put(82, rng.f32_range(0.002, 0.05));
            }
            WeightFormat::Q3_K => put(108, d),
            WeightFormat::Q6_K => put(208, d),
            WeightFormat::F32 | WeightFormat::F16 | WeightFormat::BF16 => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deq(fmt: WeightFormat, bytes: &[u8], k: usize) -> Vec<f32> {
        let mut out = vec![0.0; bytes.len() / fmt.row_bytes(k).unwrap() * k];
        dequantize(fmt, bytes, k, &mut out).unwrap();
        out
    }

    fn h(x: f32) -> [u8; 2] {
        f32_to_f16(x).to_le_bytes()
    }

    #[test]
    fn f16_known_patterns() {
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x7BFF), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x03FF), 1023.0 * 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x0400), 2f32.powi(-14));
        assert_eq!(f16_to_f32(0x7C00), f32::INFINITY);
        assert_eq!(f16_to_f32(0xFC00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7E00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert_eq!(f32_to_f16(1.0), 0x3C00);
        assert_eq!(f32_to_f16(65504.0), 0x7BFF);
        assert_eq!(f32_to_f16(65520.0), 0x7C00); // halfway to 2^16 rounds to inf
        assert_eq!(f32_to_f16(65519.0), 0x7BFF);
        assert_eq!(f32_to_f16(1e10), 0x7C00);
        assert_eq!(f32_to_f16(-1e10), 0xFC00);
        assert_eq!(f32_to_f16(2f32.powi(-24)), 0x0001);
        assert_eq!(f32_to_f16(2f32.powi(-25)), 0x0000); // tie -> even (0)
        assert_eq!(f32_to_f16(1.5 * 2f32.powi(-25)), 0x0001);
        assert_eq!(f32_to_f16(3.0 * 2f32.powi(-25)), 0x0002); // tie -> even (2)
        assert_eq!(f32_to_f16(-0.0), 0x8000);
        assert_eq!(f32_to_f16(1e-30), 0);
        assert_eq!(f32_to_f16(f32::NAN) & 0x7E00, 0x7E00);
        // 1 + 2^-11 is exactly halfway between 1 and 1+2^-10: ties to even.
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11)), 0x3C00);
        assert_eq!(f32_to_f16(1.0 + 3.0 * 2f32.powi(-11)), 0x3C02);
        assert_eq!(f32_to_f16(1.0 + 2f32.powi(-11) + 2f32.powi(-20)), 0x3C01);
    }

    #[test]
    fn f16_round_trip_all() {
        for hbits in 0..=u16::MAX {
            let x = f16_to_f32(hbits);
            if x.is_nan() {
                assert!(f16_to_f32(f32_to_f16(x)).is_nan());
                continue;
            }
            assert_eq!(f32_to_f16(x), hbits, "bits {hbits:#06x}");
        }
    }

    #[test]
    fn f16_rounding_matches_f64_nearest() {
        // For random f32 inputs, the chosen f16 must be the nearest one.
        let mut rng = crate::rng::Rng::new(7);
        for _ in 0..20_000 {
            let x = f32::from_bits(rng.next_u32() & 0x477F_FFFF); // |x| < 65536-ish
            let hb = f32_to_f16(x);
            let y = f16_to_f32(hb) as f64;
            let err = (y - x as f64).abs();
            for nb in [hb.wrapping_sub(1), hb.wrapping_add(1)] {
                let z = f16_to_f32(nb);
                if z.is_finite() && (nb & 0x7FFF) != 0x7FFF {
                    assert!(err <= (z as f64 - x as f64).abs(), "x={x} h={hb:#x}");
                }
            }
        }
    }

    #[test]
    fn bf16_conversions() {
        assert_eq!(bf16_to_f32(0x3F80), 1.0);
        assert_eq!(f32_to_bf16(1.0), 0x3F80);
        assert_eq!(f32_to_bf16(f32::from_bits(0x3F80_8000)), 0x3F80); // tie -> even
        assert_eq!(f32_to_bf16(f32::from_bits(0x3F81_8000)), 0x3F82); // tie -> even
        assert_eq!(f32_to_bf16(f32::from_bits(0x3F80_8001)), 0x3F81);
        assert_eq!(f32_to_bf16(f32::MAX), 0x7F80); // overflow -> inf
        assert!(bf16_to_f32(f32_to_bf16(f32::NAN)).is_nan());
        for hb in 0..=u16::MAX {
            let x = bf16_to_f32(hb);
            if !x.is_nan() {
                assert_eq!(f32_to_bf16(x), hb);
            }
        }
    }

    #[test]
    fn format_tables() {
        for f in ALL_FORMATS {
            assert_eq!(WeightFormat::from_ggml_type(f.ggml_type()), Ok(f));
            assert_eq!(f.is_quantized(), f.block_elems() > 1);
        }
        let e = WeightFormat::from_ggml_type(16).unwrap_err();
        assert_eq!(e, QuantError::UnsupportedType { id: 16 });
        assert!(e.to_string().contains("iq2_xxs"), "{e}");
        assert!(WeightFormat::from_ggml_type(9)
            .unwrap_err()
            .to_string()
            .contains("q8_1"));
        assert!(WeightFormat::from_ggml_type(1000).is_err());
        // Block sizes from ggml's type_traits (sizeof(block_*)).
        let sizes = [
            (WeightFormat::Q5_1, 7, 24),
            (WeightFormat::Q2_K, 10, 84),
            (WeightFormat::Q3_K, 11, 110),
            (WeightFormat::Q5_K, 13, 176),
            (WeightFormat::IQ4_NL, 20, 18),
            (WeightFormat::IQ4_XS, 23, 136),
        ];
        for (f, id, bytes) in sizes {
            assert_eq!(WeightFormat::from_ggml_type(id), Ok(f));
            assert_eq!(f.row_bytes(f.block_elems()), Ok(bytes), "{}", f.name());
        }
        assert_eq!(WeightFormat::Q4_K.row_bytes(512), Ok(288));
        assert_eq!(WeightFormat::Q6_K.row_bytes(256), Ok(210));
        assert_eq!(
            WeightFormat::Q3_K.row_bytes(576),
            Err(QuantError::NotBlockAligned {
                format: WeightFormat::Q3_K,
                k: 576
            })
        );
        assert_eq!(WeightFormat::F16.row_bytes(3), Ok(6));
        assert_eq!(
            WeightFormat::Q8_0.row_bytes(33),
            Err(QuantError::NotBlockAligned {
                format: WeightFormat::Q8_0,
                k: 33
            })
        );
        assert_eq!(WeightFormat::F32.row_bytes(usize::MAX), Err(QuantError::Overflow));
    }

    #[test]
    fn dequantize_rejects_bad_sizes() {
        let mut out = vec![0.0; 64];
        let w = random_weights(WeightFormat::Q8_0, 2, 32, 1);
        assert!(dequantize(WeightFormat::Q8_0, &w, 32, &mut out).is_ok());
        assert!(matches!(
            dequantize(WeightFormat::Q8_0, &w[..67], 32, &mut out),
            Err(QuantError::SizeMismatch {
                expected: 68,
                actual: 67,
                ..
            })
        ));
        assert!(matches!(
            dequantize(WeightFormat::Q8_0, &w, 0, &mut out),
            Err(QuantError::BadOutputLen { .. })
        ));
        assert!(matches!(
            dequantize(WeightFormat::Q8_0, &w, 48, &mut out[..48]),
            Err(QuantError::NotBlockAligned { .. })
        ));
        assert!(matches!(
            dequantize(WeightFormat::Q8_0, &w, 32, &mut out[..40]),
            Err(QuantError::BadOutputLen { .. })
        ));
    }

    /// A truncated block or a row that is not whole blocks is a typed error for every format.
    #[test]
    fn every_format_rejects_truncated_blocks() {
        for f in ALL_FORMATS {
            let k = f.block_elems() * 2;
            let w = random_weights(f, 1, k, 4);
            let mut out = vec![0.0; k];
            assert!(dequantize(f, &w, k, &mut out).is_ok());
            let cut = dequantize(f, &w[..w.len() - 1], k, &mut out);
            assert_eq!(
                cut,
                Err(QuantError::SizeMismatch {
                    format: f,
                    expected: w.len(),
                    actual: w.len() - 1
                }),
                "{}",
                f.name()
            );
            if f.is_quantized() {
                let ragged = dequantize(f, &w, k - 1, &mut out[..k - 1]);
                assert_eq!(ragged, Err(QuantError::NotBlockAligned { format: f, k: k - 1 }));
            }
        }
    }

    #[test]
    fn plain_float_formats() {
        let vals = [1.0f32, -2.5, 0.125];
        let b: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(deq(WeightFormat::F32, &b, 3), vals);
        let b: Vec<u8> = vals.iter().flat_map(|&v| h(v)).collect();
        assert_eq!(deq(WeightFormat::F16, &b, 3), vals);
        let b: Vec<u8> = vals.iter().flat_map(|&v| f32_to_bf16(v).to_le_bytes()).collect();
        assert_eq!(deq(WeightFormat::BF16, &b, 1), vals);
    }

    #[test]
    fn q8_0_block() {
        let mut b = h(0.5).to_vec();
        b.extend((0..32).map(|j| (j as i8 - 16) as u8));
        let y = deq(WeightFormat::Q8_0, &b, 32);
        for (j, v) in y.iter().enumerate() {
            assert_eq!(*v, (j as f32 - 16.0) * 0.5);
        }
        b[2] = 0x80; // -128
        assert_eq!(deq(WeightFormat::Q8_0, &b, 32)[0], -64.0);
    }

    #[test]
    fn q4_0_block() {
        let mut b = h(2.0).to_vec();
        // low nibble j, high nibble 15-j
        b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let y = deq(WeightFormat::Q4_0, &b, 32);
        for j in 0..16 {
            assert_eq!(y[j], (j as f32 - 8.0) * 2.0);
            assert_eq!(y[j + 16], (7.0 - j as f32) * 2.0);
        }
    }

    #[test]
    fn q4_1_block() {
        let mut b = h(0.25).to_vec();
        b.extend(h(-1.0));
        b.extend((0..16u8).map(|j| j | ((15 - j) << 4)));
        let y = deq(WeightFormat::Q4_1, &b, 32);
        for j in 0..16 {
            assert_eq!(y[j], j as f32 * 0.25 - 1.0);
            assert_eq!(y[j + 16], (15 - j) as f32 * 0.25 - 1.0);
        }
    }

    #[test]
    fn q5_0_block() {
        let mut b = h(1.0).to_vec();
        // High bit set for elements 0, 3 and 16+1, 16+15 (= bits 17 and 31).
        let qh: u32 = (1 << 0) | (1 << 3) | (1 << 17) | (1 << 31);
        b.extend(qh.to_le_bytes());
        b.extend((0..16u8).map(|j| j | (j << 4)));
        let y = deq(WeightFormat::Q5_0, &b, 32);
        for (j, &yj) in y.iter().enumerate() {
            let hi = (qh >> j) & 1;
            let q = (j % 16) as i32 | ((hi as i32) << 4);
            assert_eq!(yj, (q - 16) as f32, "j={j}");
        }
        assert_eq!(y[0], 0.0);
        assert_eq!(y[1], -15.0);
        assert_eq!(y[31], 15.0);
    }

    /// Q4_K block with d=1, dmin=0.5, scale 1 everywhere, min 2 for the first
    /// four pairs (first 128 elements) and 0 for the rest.
    #[test]
    fn q4_k_known_block() {
        let mut b = h(1.0).to_vec();
        b.extend(h(0.5));
        b.extend([1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1]);
        b.extend((0..128).map(|i| (i % 16) as u8 | ((((i + 3) % 16) as u8) << 4)));
        let y = deq(WeightFormat::Q4_K, &b, 256);
        for g in 0..4 {
            let minus = if g < 2 { 1.0 } else { 0.0 };
            for l in 0..32 {
                let byte = 32 * g + l;
                assert_eq!(y[64 * g + l], (byte % 16) as f32 - minus);
                assert_eq!(y[64 * g + 32 + l], ((byte + 3) % 16) as f32 - minus);
            }
        }
    }

    /// Packs eight (sc, m) 6-bit pairs the way llama.cpp's quantiser does.
    fn pack_k4_scales(sc: &[u8; 8], m: &[u8; 8]) -> [u8; 12] {
        let mut q = [0u8; 12];
        for j in 0..4 {
            q[j] = sc[j] | ((sc[j + 4] >> 4) << 6);
            q[j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
            q[j + 8] = (sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4);
        }
        q
    }

    #[test]
    fn q4_k_scale_unpacking_and_per_element_formula() {
        let mut rng = crate::rng::Rng::new(3);
        for _ in 0..20 {
            let sc: [u8; 8] = std::array::from_fn(|_| (rng.next_u32() % 64) as u8);
            let m: [u8; 8] = std::array::from_fn(|_| (rng.next_u32() % 64) as u8);
            let packed = pack_k4_scales(&sc, &m);
            for j in 0..8 {
                assert_eq!(get_scale_min_k4(j, &packed), (sc[j], m[j]));
            }
            let (d, dmin) = (0.03125f32, 0.0078125f32);
            let mut b = h(d).to_vec();
            b.extend(h(dmin));
            b.extend(packed);
            let qs: Vec<u8> = (0..128).map(|_| rng.next_u32() as u8).collect();
            b.extend(&qs);
            let y = deq(WeightFormat::Q4_K, &b, 256);
            // Independent per-element formulation of the same layout.
            for (i, &yi) in y.iter().enumerate() {
                let (g, half, l) = (i / 64, (i % 64) / 32, i % 32);
                let byte = qs[32 * g + l];
                let q = if half == 0 { byte & 0xF } else { byte >> 4 };
                let j = 2 * g + half;
                let want = d * sc[j] as f32 * q as f32 - dmin * m[j] as f32;
                assert_eq!(yi, want, "i={i}");
            }
        }
    }

    /// Q6_K with d=1, all scales 1, ql=0x21, qh=0xE4 gives the four quant
    /// values -31, -15, 2, 18 in the four 32-element quarters of each half.
    #[test]
    fn q6_k_known_block() {
        let mut b = vec![0x21u8; 128];
        b.extend([0xE4u8; 64]);
        b.extend([1u8; 16]);
        b.extend(h(1.0));
        assert_eq!(b.len(), 210);
        let y = deq(WeightFormat::Q6_K, &b, 256);
        let want = [-31.0, -15.0, 2.0, 18.0];
        for (i, v) in y.iter().enumerate() {
            assert_eq!(*v, want[(i % 128) / 32], "i={i}");
        }
        // Now distinct scales sc[s] = s + 1 (and one negative) with d = 0.5.
        for s in 0..16 {
            b[192 + s] = (s + 1) as u8;
        }
        b[192 + 15] = (-3i8) as u8;
        b[208..210].copy_from_slice(&h(0.5));
        let y = deq(WeightFormat::Q6_K, &b, 256);
        assert_eq!(y[0], 0.5 * 1.0 * -31.0); // n0 l0 q1 sc[0]
        assert_eq!(y[16 + 32], 0.5 * 4.0 * -15.0); // n0 l16 q2 sc[1+2]
        assert_eq!(y[128 + 64 + 20], 0.5 * 14.0 * 2.0); // n1 l20 q3 sc[8+1+4]
        assert_eq!(y[255], 0.5 * -3.0 * 18.0); // n1 l31 q4 sc[8+1+6]
    }

    #[test]
    fn q6_k_per_element_formula() {
        let b = random_weights(WeightFormat::Q6_K, 1, 256, 11);
        let y = deq(WeightFormat::Q6_K, &b, 256);
        let d = f16_to_f32(u16::from_le_bytes([b[208], b[209]]));
        for (i, &yi) in y.iter().enumerate() {
            let (n, quarter, l) = (i / 128, (i % 128) / 32, i % 32);
            let qlb = b[64 * n + l + 32 * (quarter & 1)];
            let lo = if quarter < 2 { qlb & 0xF } else { qlb >> 4 };
            let hi = (b[128 + 32 * n + l] >> (2 * quarter)) & 3;
            let q = (lo | (hi << 4)) as i32 - 32;
            let sc = b[192 + 8 * n + l / 16 + 2 * quarter] as i8;
            assert_eq!(yi, d * sc as f32 * q as f32, "i={i}");
        }
    }

    #[test]
    fn random_weights_are_valid_and_deterministic() {
        for f in ALL_FORMATS {
            let k = 512;
            let w = random_weights(f, 3, k, 5);
            assert_eq!(w.len(), 3 * f.row_bytes(k).unwrap());
            assert_eq!(w, random_weights(f, 3, k, 5));
            assert_ne!(w, random_weights(f, 3, k, 6));
            let y = deq(f, &w, k);
            assert!(y.iter().all(|v| v.is_finite()), "{}", f.name());
            assert!(y.iter().any(|v| *v != 0.0));
            let max = y.iter().fold(0.0f32, |a, v| a.max(v.abs()));
            assert!(max < 300.0, "{} max {max}", f.name());
            if !f.is_quantized() {
                assert!(max <= 1.0); // f16 rounding can reach exactly 1.0
            }
        }
    }

    #[test]
    fn multi_row_matches_row_by_row() {
        for f in ALL_FORMATS {
            let k = 256;
            let w = random_weights(f, 4, k, 9);
            let all = deq(f, &w, k);
            let rb = f.row_bytes(k).unwrap();
            for r in 0..4 {
                assert_eq!(deq(f, &w[r * rb..(r + 1) * rb], k), all[r * k..(r + 1) * k]);
            }
        }
    }
}

//! One dispatch over the dot-product implementations: `Isa` names an instruction set, `Dot` is the
//! kernel for one (instruction set, weight format) pair, chosen once and then called per row.
//! Building a `Dot` is where the CPU features are checked, so calling it needs no check.

use super::error::SimdError;
use super::quantize::{quantize_q8, quantize_q8k, Q8Block, Q8KBlock, QK8, QK_K};
use super::scalar;
use crate::formats::quant::WeightFormat;

/// The instruction sets a dot product can run on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust: the reference, and what runs where nothing else does.
    Scalar,
    /// x86_64 AVX2 with FMA and F16C (Haswell, 2013, and later; Zen).
    Avx2,
    /// wasm32 `simd128`.
    Simd128,
}

impl Isa {
    pub fn name(self) -> &'static str {
        match self {
            Isa::Scalar => "scalar",
            Isa::Avx2 => "avx2",
            Isa::Simd128 => "simd128",
        }
    }

    /// Whether this machine (or this wasm build) can run it.
    pub fn available(self) -> bool {
        match self {
            Isa::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 => {
                is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
            }
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            Isa::Simd128 => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The fastest available here.
    pub fn best() -> Isa {
        [Isa::Avx2, Isa::Simd128]
            .into_iter()
            .find(|i| i.available())
            .unwrap_or(Isa::Scalar)
    }

    /// Every instruction set available here, scalar first.
    pub fn all_available() -> Vec<Isa> {
        [Isa::Scalar, Isa::Avx2, Isa::Simd128]
            .into_iter()
            .filter(|i| i.available())
            .collect()
    }
}

// `unsafe fn` pointers because the vector kernels need CPU features; `Dot::new` checked them.
type Q8Fn = unsafe fn(&[u8], &[Q8Block]) -> f32;
type Q8KFn = unsafe fn(&[u8], &[Q8KBlock]) -> f32;
type F32Fn = unsafe fn(&[u8], &[f32]) -> f32;

/// The kernel, by the activations it takes.
#[derive(Clone, Copy, Debug)]
pub(super) enum Kernel {
    Q8(Q8Fn),
    Q8K(Q8KFn),
    F32(F32Fn),
}

/// Which kernel (isa, format) selects; `None` for formats without an integer dot product yet.
fn select_kernel(isa: Isa, fmt: WeightFormat) -> Option<Kernel> {
    use WeightFormat as F;
    Some(match (isa, fmt) {
        (Isa::Scalar, F::Q4_0) => Kernel::Q8(scalar::dot_q4_0),
        (Isa::Scalar, F::Q4_1) => Kernel::Q8(scalar::dot_q4_1),
        (Isa::Scalar, F::Q5_0) => Kernel::Q8(scalar::dot_q5_0),
        (Isa::Scalar, F::Q8_0) => Kernel::Q8(scalar::dot_q8_0),
        (Isa::Scalar, F::Q4_K) => Kernel::Q8K(scalar::dot_q4_k),
        (Isa::Scalar, F::Q6_K) => Kernel::Q8K(scalar::dot_q6_k),
        (Isa::Scalar, F::F32) => Kernel::F32(scalar::dot_f32),
        (Isa::Scalar, F::F16) => Kernel::F32(scalar::dot_f16),
        (Isa::Scalar, F::BF16) => Kernel::F32(scalar::dot_bf16),
        #[cfg(target_arch = "x86_64")]
        (Isa::Avx2, f) => {
            use super::avx2;
            match f {
                F::Q4_0 => Kernel::Q8(avx2::dot_q4_0),
                F::Q4_1 => Kernel::Q8(avx2::dot_q4_1),
                F::Q5_0 => Kernel::Q8(avx2::dot_q5_0),
                F::Q8_0 => Kernel::Q8(avx2::dot_q8_0),
                F::Q4_K => Kernel::Q8K(avx2::dot_q4_k),
                F::Q6_K => Kernel::Q8K(avx2::dot_q6_k),
                F::F32 => Kernel::F32(avx2::dot_f32),
                F::F16 => Kernel::F32(avx2::dot_f16),
                F::BF16 => Kernel::F32(avx2::dot_bf16),
                _ => return None,
            }
        }
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        (Isa::Simd128, f) => {
            use super::wasm128;
            match f {
                F::Q4_0 => Kernel::Q8(wasm128::dot_q4_0),
                F::Q4_1 => Kernel::Q8(wasm128::dot_q4_1),
                F::Q5_0 => Kernel::Q8(wasm128::dot_q5_0),
                F::Q8_0 => Kernel::Q8(wasm128::dot_q8_0),
                F::Q4_K => Kernel::Q8K(wasm128::dot_q4_k),
                F::Q6_K => Kernel::Q8K(wasm128::dot_q6_k),
                F::F32 => Kernel::F32(wasm128::dot_f32),
                F::F16 => Kernel::F32(wasm128::dot_f16),
                F::BF16 => Kernel::F32(wasm128::dot_bf16),
                _ => return None,
            }
        }
        _ => return None,
    })
}

/// The formats with a dot product here (the ones the shipped models use).
pub const DOT_FORMATS: [WeightFormat; 9] = [
    WeightFormat::Q4_0,
    WeightFormat::Q4_1,
    WeightFormat::Q5_0,
    WeightFormat::Q8_0,
    WeightFormat::Q4_K,
    WeightFormat::Q6_K,
    WeightFormat::F32,
    WeightFormat::F16,
    WeightFormat::BF16,
];

/// Activation rows prepared for one kind of kernel.
#[derive(Clone, Debug)]
pub enum Activations {
    Q8 { blocks: Vec<Q8Block>, per_row: usize },
    Q8K { blocks: Vec<Q8KBlock>, per_row: usize },
    F32 { x: Vec<f32>, k: usize },
}

impl Activations {
    /// Row `i` of `Q8` activations (`per_row` blocks each).
    pub fn q8_row(blocks: &[Q8Block], per_row: usize, i: usize) -> &[Q8Block] {
        &blocks[i * per_row..(i + 1) * per_row]
    }
}

/// The dot product of one weight format on one instruction set.
#[derive(Clone, Copy, Debug)]
pub struct Dot {
    pub isa: Isa,
    pub fmt: WeightFormat,
    pub(super) kernel: Kernel,
}

impl Dot {
    /// The kernel for `fmt` on `isa`: `IsaUnavailable` where this CPU or build lacks `isa`,
    /// `UnsupportedFormat` for a format without one.
    pub fn new(isa: Isa, fmt: WeightFormat) -> Result<Dot, SimdError> {
        if !isa.available() {
            return Err(SimdError::IsaUnavailable { isa: isa.name() });
        }
        let kernel = select_kernel(isa, fmt).ok_or(SimdError::UnsupportedFormat { format: fmt })?;
        Ok(Dot { isa, fmt, kernel })
    }

    /// The fastest kernel here for `fmt`.
    pub fn best(fmt: WeightFormat) -> Result<Dot, SimdError> {
        Dot::new(Isa::best(), fmt)
    }

    /// Prepares `m` rows of `k` activations (`x` is `[m, k]`) for this kernel: quantised to Q8 or
    /// Q8_K blocks, or copied for the float formats. `k` must be a whole number of weight blocks.
    pub fn prepare(&self, x: &[f32], m: usize, k: usize) -> Result<Activations, SimdError> {
        check_len("activations", m.checked_mul(k), x.len())?;
        self.fmt.row_bytes(k)?; // k block-aligned for this format
        Ok(match self.kernel {
            Kernel::Q8(_) => Activations::Q8 {
                blocks: quantize_q8(x),
                per_row: k / QK8,
            },
            Kernel::Q8K(_) => Activations::Q8K {
                blocks: quantize_q8k(x),
                per_row: k / QK_K,
            },
            Kernel::F32(_) => Activations::F32 { x: x.to_vec(), k },
        })
    }

    /// One weight row (`row_bytes(k)` bytes) against activation row `i`. The slices are validated
    /// by the callers (`prepare`, `matvec::matmul`); a short row or activation gives a shorter
    /// sum (the kernels zip whole blocks), never an out-of-bounds read.
    pub(super) fn row(&self, w: &[u8], act: &Activations, i: usize) -> Result<f32, SimdError> {
        // SAFETY: `Dot::new` checked that this CPU / build has the kernel's instruction set, and
        // every kernel reads only whole blocks of the slices it is given.
        unsafe {
            Ok(match (self.kernel, act) {
                (Kernel::Q8(f), Activations::Q8 { blocks, per_row }) => f(w, Activations::q8_row(blocks, *per_row, i)),
                (Kernel::Q8K(f), Activations::Q8K { blocks, per_row }) => f(w, &blocks[i * per_row..(i + 1) * per_row]),
                (Kernel::F32(f), Activations::F32 { x, k }) => f(w, &x[i * k..(i + 1) * k]),
                _ => return Err(SimdError::ActivationKind { format: self.fmt }),
            })
        }
    }
}

pub(super) fn check_len(what: &'static str, expected: Option<usize>, actual: usize) -> Result<(), SimdError> {
    match expected {
        Some(e) if e == actual => Ok(()),
        Some(e) => Err(SimdError::Shape {
            what,
            expected: e,
            actual,
        }),
        None => Err(SimdError::Overflow),
    }
}

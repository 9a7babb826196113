//! CPU kernels with explicit SIMD: the foundation of the CPU backend (issue 17) for browsers
//! without WebGPU and machines without a GPU. Not yet wired into the models.
//!
//! - `quantize`: activations to 8 bits per block (Q8 for the 32-element formats, Q8_K for the
//!   K-quants), so products against GGUF blocks are integer multiply-adds read in place.
//! - `scalar`, `avx2`, `wasm128`: the same dot products in plain Rust (the reference), x86_64
//!   AVX2/FMA/F16C (runtime detection) and wasm32 simd128 (compile-time, `.cargo/config.toml`).
//! - `dot`: `Isa` and `Dot`, the one dispatch, chosen once per (instruction set, format).
//! - `matvec`: matrix-vector and matrix-matrix products over weight rows, on a rayon pool natively,
//!   on the calling thread in wasm.
//!
//! NEON is not here: this machine has no aarch64 target to compile-check it against.
//! `src/cpu/matmul.rs` (dequantise to f32, sum in f64) is the oracle `tests/cpu_simd.rs` compares
//! every kernel with; this module is runtime code and does not depend on `cpu`.

#[cfg(target_arch = "x86_64")]
mod avx2;
pub mod dot;
mod error;
pub mod matvec;
pub mod quantize;
pub mod scalar;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm128;

pub use dot::{Activations, Dot, Isa, DOT_FORMATS};
pub use error::SimdError;
pub use matvec::{matmul, matmul_prepared, ROWS_PER_TASK};

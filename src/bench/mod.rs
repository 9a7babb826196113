//! Benchmarks behind the CLI: `webslm bench-kernels` (each kernel against its CPU twin),
//! `webslm bench-cpu` (the SIMD CPU products, `cpu_kernels`) and `webslm bench` (a whole decoder:
//! load, prefill, decode, and where a decoded token's time and bytes go).
//! Timings never appear in tests; reports give ratios against peers run alongside.

#[cfg(not(target_arch = "wasm32"))]
pub mod constraint;
#[cfg(not(target_arch = "wasm32"))]
pub mod cpu_kernels;
pub mod gpu_model;
pub mod kernels;
#[cfg(not(target_arch = "wasm32"))]
pub mod lora;
#[cfg(not(target_arch = "wasm32"))]
pub mod model;
#[cfg(not(target_arch = "wasm32"))]
pub mod prompt;

pub use kernels::{bench_matmul, bench_ops, BenchConfig, BenchRow};

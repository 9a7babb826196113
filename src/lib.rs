//! webslm: small language models on WebGPU compute shaders, in the browser and natively.
//! See ARCHITECTURE.md for how file bytes become logits and where each part lives.

#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod chat_template;
pub mod cpu;
pub mod formats;
pub mod gpu;
pub mod kernels;

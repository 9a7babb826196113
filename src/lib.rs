//! webslm: small language models on WebGPU compute shaders, in the browser and natively.
//! See ARCHITECTURE.md for how file bytes become logits and where each part lives.

pub mod analysis;
#[cfg(not(target_arch = "wasm32"))]
pub mod bench;
pub mod catalogue;
#[cfg(not(target_arch = "wasm32"))]
pub mod chat;
pub mod chat_template;
pub mod clock;
pub mod constraint;
pub mod cpu;
pub mod engine;
pub mod formats;
pub mod generate;
pub mod gpu;
pub mod kernels;
pub mod logprobs;
pub mod lora;
pub mod models;
pub mod ops;
#[cfg(not(target_arch = "wasm32"))]
pub mod recovery;
pub mod rng;
pub mod sampling;
pub mod simd;
pub mod tokenizer;
#[cfg(target_arch = "wasm32")]
pub mod web;

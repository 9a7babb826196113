//! On-disk model formats: GGUF (llama.cpp), safetensors and HF `config.json` (Hugging Face), and
//! the GGML tensor encodings they point at.

pub mod gguf;
pub mod hf_config;
#[cfg(not(target_arch = "wasm32"))]
pub mod inspect;
pub mod quant;
pub mod safetensors;

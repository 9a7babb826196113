//! On-disk model formats: GGUF (llama.cpp), safetensors and HF `config.json` (Hugging Face), and
//! the GGML tensor encodings they point at.

pub mod gguf;
pub mod hf_config;
pub mod quant;
pub mod safetensors;

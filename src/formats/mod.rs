//! On-disk model formats: GGUF (llama.cpp) and the GGML tensor encodings it points at.

pub mod gguf;
pub mod quant;

//! On-disk weight formats (GGML/GGUF tensor encodings).

pub mod quant;

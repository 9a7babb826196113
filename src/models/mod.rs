//! Decoder models (GGUF or an HF folder) and encoder models (safetensors, `encoder/`).
//!
//! Each decoder family file (`llama.rs`, `qwen2.rs`, `gemma.rs`, `gemma2.rs`, `gemma3.rs`,
//! `phi2.rs`) turns a GGUF header or an HF `config.json` into a [`DecoderConfig`] and names the HF
//! tensors that differ: what differs between families is which of the transformer's knobs are
//! set. `family.rs` dispatches on [`Family`]; `config.rs` holds the knobs and the GGUF keys every
//! family shares; `hf.rs` is the HF folder route (config, end-of-text ids, tensor names);
//! `files.rs` what else a decoder's files say (tokenizer, chat template, stop ids).
//! `decoder.rs` is the one forward pass they share, `kv_cache.rs` its cache. Tensors come through
//! a [`tensor_source::TensorSource`]: a GGUF file (`source.rs`), safetensors
//! (`safetensors_source.rs`) or bytes streamed in by the browser (`streaming.rs`).

pub mod config;
pub mod decoder;
pub mod encoder;
pub mod error;
pub mod family;
pub mod files;
pub mod gemma;
pub mod gemma2;
pub mod gemma3;
pub mod hf;
pub mod kv_cache;
pub mod linear;
pub mod llama;
pub mod phi2;
pub mod qwen2;
pub mod safetensors_source;
pub mod source;
pub mod streaming;
pub mod tensor_source;

pub use config::DecoderConfig;
pub use decoder::Decoder;
pub use error::ModelError;
pub use family::{BlockKind, Family};
pub use kv_cache::{KvCache, KvDtype};

use crate::formats::gguf::GgufFile;

/// The decoder configuration for a GGUF file, by its `general.architecture`.
pub fn config_from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    Family::from_gguf_arch(gguf.arch()?)?.config_from_gguf(gguf)
}

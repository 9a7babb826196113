//! Decoder models (GGUF) and encoder models (safetensors, `encoder/`).
//!
//! Each decoder family file (`llama.rs`, `qwen2.rs`, `gemma3.rs`) turns a GGUF header into a
//! [`DecoderConfig`]: what differs between families is which of the transformer's knobs are set.
//! `decoder.rs` is the one forward pass they share, `kv_cache.rs` its cache.

pub mod config;
pub mod decoder;
pub mod encoder;
pub mod gemma;
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
pub use kv_cache::KvCache;

use crate::formats::gguf::{GgufError, GgufFile};
use crate::gpu::GpuError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("unsupported architecture `{0}` (supported: llama, qwen2, gemma, gemma2, gemma3, phi2)")]
    UnknownArchitecture(String),
    #[error("tensor `{name}` has shape {got:?}, expected {expected:?}")]
    BadShape {
        name: String,
        expected: Vec<u64>,
        got: Vec<u64>,
    },
    #[error("reading tensor `{name}` from the model file failed: {source}")]
    Io { name: String, source: std::io::Error },
    #[error("the prompt needs {needed} positions but the context holds {context}; use a shorter prompt or a larger --context")]
    ContextOverflow { needed: usize, context: usize },
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Safetensors(Box<crate::formats::safetensors::SafetensorsError>),
    #[error(transparent)]
    Tokenizer(#[from] crate::tokenizer::TokenizerError),
    #[error(transparent)]
    HfConfig(#[from] crate::formats::hf_config::HfConfigError),
    #[error("input {index} has {tokens} tokens but the model takes at most {max}; shorten it or enable truncation")]
    InputTooLong { index: usize, tokens: usize, max: usize },
    #[error("the question takes {question} tokens; a window of {window} with a stride of {stride} leaves no room for the context")]
    QuestionTooLong {
        question: usize,
        window: usize,
        stride: usize,
    },
    #[error("{0}")]
    EmptyInput(&'static str),
    #[error("this {architecture} checkpoint has no {task} head")]
    NoHead { architecture: String, task: &'static str },
}

/// The decoder configuration for a GGUF file, by its `general.architecture`.
pub fn config_from_gguf(gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
    match gguf.arch()? {
        "llama" => llama::config(gguf),
        "qwen2" => qwen2::config(gguf),
        "gemma" => gemma::config_gemma(gguf),
        "gemma2" => gemma::config_gemma2(gguf),
        "gemma3" => gemma3::config(gguf),
        "phi2" => phi2::config(gguf),
        other => Err(ModelError::UnknownArchitecture(other.to_string())),
    }
}

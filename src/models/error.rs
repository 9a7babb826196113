//! What can go wrong loading or running a model. Configuration errors carry the offending value in
//! their message; conditions a caller can act on (a prompt too long, a token outside the
//! vocabulary, a download not finished) have their own variants, so the CLI and the browser can
//! tell them apart. The encoder tasks' own errors are `analysis::AnalysisError`.

use crate::formats::gguf::GgufError;
use crate::gpu::GpuError;

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("unsupported architecture `{0}` (supported: llama, qwen2, gemma, gemma2, gemma3, phi2)")]
    UnknownArchitecture(String),
    #[error("model_type {0} is an encoder, not a decoder: open it as a text model (embed, classify, ner, qa)")]
    NotADecoder(String),
    #[error("tensor `{name}` has shape {got:?}, expected {expected:?}")]
    BadShape {
        name: String,
        expected: Vec<u64>,
        got: Vec<u64>,
    },
    #[error("no tensor named {0:?} in the model file")]
    MissingTensor(String),
    #[error("{dir} has neither model.safetensors nor model.safetensors.index.json")]
    NoWeights { dir: String },
    #[error("reading tensor `{name}` from the model file failed: {source}")]
    Io { name: String, source: std::io::Error },
    #[error("tensor {0} has not arrived (the download is incomplete)")]
    NotArrived(String),
    #[error("received more than the {0} bytes the file should have")]
    TooManyBytes(u64),
    #[error("the prompt needs {needed} positions but the context holds {context}; use a shorter prompt or a larger --context")]
    ContextOverflow { needed: usize, context: usize },
    #[error("nothing to run: the prompt has no tokens")]
    EmptyPrompt,
    #[error("scoring needs at least two tokens, got {0}")]
    TooFewTokens(usize),
    #[error("a forward pass takes 1..={max} tokens, got {got}")]
    ChunkTooLong { got: usize, max: usize },
    #[error("token id {id} is outside the vocabulary of {vocab}")]
    TokenOutOfVocab { id: u32, vocab: usize },
    #[error("token type {id} is outside the model's {types} types")]
    TokenTypeOutOfRange { id: u32, types: usize },
    #[error("a batch of {batch} x {seq} needs that many ids, type ids and mask values")]
    BatchShape { batch: usize, seq: usize },
    #[error("a sequence of {tokens} tokens is longer than the model's {max} positions")]
    SequenceTooLong { tokens: usize, max: usize },
    #[error("invalid model configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Safetensors(Box<crate::formats::safetensors::SafetensorsError>),
    #[error(transparent)]
    Tokenizer(#[from] crate::tokenizer::TokenizerError),
    /// Structured output: a bad schema or grammar (before generation), or the matcher failing.
    #[error(transparent)]
    Constraint(#[from] crate::constraint::ConstraintError),
    #[error(transparent)]
    HfConfig(#[from] crate::formats::hf_config::HfConfigError),
}

//! What the text-analysis tasks report beyond the encoder's own errors: inputs that do not fit,
//! a task the checkpoint has no head for, and sentence-transformers settings webslm does not run.

use crate::gpu::GpuError;
use crate::models::ModelError;
use crate::tokenizer::TokenizerError;

#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    #[error(transparent)]
    Model(#[from] ModelError),
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
    /// A model folder setting webslm does not run (sharded encoders, some sentence-transformers
    /// modules and poolings); the message names it.
    #[error("{0}")]
    Unsupported(String),
    #[error("the GPU returned {got} values, fewer than the batch needs")]
    ShortReadback { got: usize },
}

impl From<GpuError> for AnalysisError {
    fn from(e: GpuError) -> Self {
        AnalysisError::Model(e.into())
    }
}

/// Tokenizer errors travel as `ModelError::Tokenizer`, as they do from the decoders.
impl From<TokenizerError> for AnalysisError {
    fn from(e: TokenizerError) -> Self {
        AnalysisError::Model(e.into())
    }
}

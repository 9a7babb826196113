//! What can be wrong with an adapter: its file, or how it fits the base model. Each variant names
//! the tensor and the shapes, so a user can tell a wrong base model from a broken file.

use crate::formats::gguf::GgufError;
use crate::formats::safetensors::SafetensorsError;
use crate::gpu::GpuError;

#[derive(Debug, thiserror::Error)]
pub enum LoraError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Safetensors(#[from] Box<SafetensorsError>),
    #[error(transparent)]
    Gpu(#[from] GpuError),
    #[error("not a LoRA adapter: {0}")]
    NotAnAdapter(String),
    #[error("adapter_config.json: {0}")]
    Config(String),
    #[error("the adapter uses {0}, which webslm does not apply")]
    Unsupported(String),
    #[error("the adapter has no LoRA tensors")]
    Empty,
    #[error("adapter tensor {tensor}: {problem}")]
    BadTensor { tensor: String, problem: String },
    #[error(
        "{target}: lora_a is {a:?} and lora_b is {b:?}; A must be [r, k] and B [n, r] with the same r in 1..=1024"
    )]
    RankMismatch { target: String, a: [u64; 2], b: [u64; 2] },
    /// `hint` says why when the reason is known (an output projection tied to the embeddings).
    #[error("the adapter targets {target}, which the base model does not have{hint}")]
    MissingTarget { target: String, hint: String },
    #[error("{target} has lora_{have} but no lora_{missing}")]
    HalfPair {
        target: String,
        have: &'static str,
        missing: &'static str,
    },
    #[error("{target}: the adapter maps [{k}] -> [{n}] (A {a:?}, B {b:?}); the base projection is [{base_n}, {base_k}] (out x in)")]
    ShapeMismatch {
        target: String,
        n: u64,
        k: u64,
        a: [u64; 2],
        b: [u64; 2],
        base_n: u64,
        base_k: u64,
    },
    /// A GGUF adapter records its base's `general.architecture`; a PEFT folder does not.
    #[error("the adapter is for architecture `{adapter}`, the base model is `{base}`")]
    Architecture { adapter: String, base: String },
    #[error("{tensor} has shape {got:?}; the base model's is {expected:?}")]
    SavedShape {
        tensor: String,
        expected: Vec<u64>,
        got: Vec<u64>,
    },
    /// An encoder adapter's classification head with another label count than the base's and no
    /// `id2label` of its own, or an `id2label` that does not match the head.
    #[error("the adapter's {head} head has {outputs} outputs, {problem}")]
    HeadLabels {
        head: String,
        outputs: usize,
        problem: String,
    },
    /// Two adapters with their own task heads active at once: only one head can run.
    #[error("adapters {0} and {1} both replace the task head; activate one of them at a time")]
    TwoHeads(u32, u32),
    #[error("no adapter with id {0} is loaded")]
    UnknownId(u32),
    #[error("adapter scale {0} is not a finite number")]
    BadScale(f32),
}

impl From<SafetensorsError> for LoraError {
    fn from(e: SafetensorsError) -> Self {
        LoraError::Safetensors(Box::new(e))
    }
}

//! Task heads on top of the encoder, chosen by the checkpoint's `architectures[0]`:
//!
//! | architecture suffix          | head                                                        |
//! |------------------------------|-------------------------------------------------------------|
//! | `ForSequenceClassification`  | `[CLS]` -> pooler (BERT: dense+tanh, DistilBERT: pre_classifier+ReLU, MobileBERT: dense+tanh if `classifier_activation`) -> `classifier` |
//! | `ForTokenClassification`     | every position -> `classifier`                              |
//! | `ForQuestionAnswering`       | every position -> `qa_outputs` (start and end logits)       |
//! | anything else (`BertModel`)  | none: the hidden states (embeddings)                        |

use crate::formats::hf_config::ModelFamily;
use crate::gpu::{Batch, GpuContext, GpuError, GpuTensor};
use crate::kernels::pool::pool;
use crate::ops::Activation;
use crate::ops::Pooling;

use super::{EncoderBatch, EncoderConfig, Linear};
use crate::models::tensor_source::TensorSource;
use crate::models::ModelError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadKind {
    None,
    SequenceClassification,
    TokenClassification,
    QuestionAnswering,
}

impl HeadKind {
    pub fn from_architecture(arch: &str) -> HeadKind {
        if arch.ends_with("ForSequenceClassification") {
            HeadKind::SequenceClassification
        } else if arch.ends_with("ForTokenClassification") {
            HeadKind::TokenClassification
        } else if arch.ends_with("ForQuestionAnswering") {
            HeadKind::QuestionAnswering
        } else {
            HeadKind::None
        }
    }

    pub fn task_name(self) -> &'static str {
        match self {
            HeadKind::None => "feature-extraction",
            HeadKind::SequenceClassification => "sequence-classification",
            HeadKind::TokenClassification => "token-classification",
            HeadKind::QuestionAnswering => "question-answering",
        }
    }
}

pub struct Head {
    pub kind: HeadKind,
    /// Sequence classification: the dense layer on `[CLS]` and its activation.
    pooler: Option<(Linear, Activation)>,
    /// The output projection (`classifier` or `qa_outputs`); `None` for a bare encoder.
    out: Option<Linear>,
    /// Label names by id (`LABEL_i` when the config has no `id2label`).
    pub labels: Vec<String>,
}

impl Head {
    pub(super) fn load(
        ctx: &GpuContext,
        cfg: &EncoderConfig,
        src: &mut dyn TensorSource,
        base: &str,
    ) -> Result<Head, ModelError> {
        let kind = HeadKind::from_architecture(&cfg.architecture);
        let h = cfg.hidden;
        let out_name = match kind {
            HeadKind::None => {
                return Ok(Head {
                    kind,
                    pooler: None,
                    out: None,
                    labels: Vec::new(),
                })
            }
            HeadKind::QuestionAnswering => "qa_outputs",
            _ => "classifier",
        };
        let n_out = match kind {
            HeadKind::QuestionAnswering => 2,
            // Labels come from the weight when the config does not list them (HF's default
            // config has two, LABEL_0 and LABEL_1).
            _ => match src
                .shape(&format!("{out_name}.weight"))
                .and_then(|s| s.first().copied())
            {
                Some(n) if cfg.labels.is_empty() => n as usize,
                _ => cfg.labels.len(),
            },
        };
        let labels = match kind {
            HeadKind::QuestionAnswering => Vec::new(),
            _ if cfg.labels.is_empty() => (0..n_out).map(|i| format!("LABEL_{i}")).collect(),
            _ => cfg.labels.clone(),
        };
        let pooler = match (kind, cfg.family) {
            (HeadKind::SequenceClassification, ModelFamily::DistilBert) => Some((
                Linear::load(ctx, src, "pre_classifier", (h, h), true)?,
                Activation::Relu,
            )),
            (HeadKind::SequenceClassification, ModelFamily::MobileBert)
                if !cfg.mobile.as_ref().is_some_and(|m| m.classifier_activation) =>
            {
                None
            }
            (HeadKind::SequenceClassification, _) => Some((
                Linear::load(ctx, src, &format!("{base}pooler.dense"), (h, h), true)?,
                Activation::Tanh,
            )),
            _ => None,
        };
        Ok(Head {
            kind,
            pooler,
            out: Some(Linear::load(ctx, src, out_name, (n_out, h), true)?),
            labels,
        })
    }

    fn out(&self) -> Result<&Linear, GpuError> {
        self.out
            .as_ref()
            .ok_or_else(|| GpuError::InvalidArgument("this encoder has no task head".into()))
    }

    /// Sequence classification logits `[batch, labels]` from the hidden states.
    pub fn sequence_logits(
        &self,
        batch: &mut Batch<'_>,
        cfg: &EncoderConfig,
        hidden: &GpuTensor,
        input: &EncoderBatch,
    ) -> Result<GpuTensor, GpuError> {
        let dims = (input.batch, input.seq, cfg.hidden);
        let mut x = pool(batch, hidden, &input.mask, dims, Pooling::First)?;
        if let Some((dense, act)) = &self.pooler {
            x = dense.forward_act(batch, &x, *act)?;
        }
        self.out()?.forward(batch, &x)
    }

    /// Per-position logits `[batch * seq, outputs]`: token labels, or QA's (start, end) pairs.
    pub fn token_logits(&self, batch: &mut Batch<'_>, hidden: &GpuTensor) -> Result<GpuTensor, GpuError> {
        self.out()?.forward(batch, hidden)
    }

    /// Outputs per row of [`Head::token_logits`] or [`Head::sequence_logits`].
    pub fn n_outputs(&self) -> usize {
        self.out.as_ref().map_or(0, Linear::out_features)
    }
}

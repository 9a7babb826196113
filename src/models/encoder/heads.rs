//! Task heads on top of the encoder, chosen by the checkpoint's `architectures[0]`:
//!
//! | architecture suffix          | head                                                        |
//! |------------------------------|-------------------------------------------------------------|
//! | `ForSequenceClassification`  | `[CLS]` -> pooler (BERT: dense+tanh, DistilBERT: pre_classifier+ReLU, MobileBERT: dense+tanh if `classifier_activation`) -> `classifier` |
//! | `ForTokenClassification`     | every position -> `classifier`                              |
//! | `ForQuestionAnswering`       | every position -> `qa_outputs` (start and end logits)       |
//! | anything else (`BertModel`)  | none: the hidden states (embeddings)                        |
//!
//! A LoRA adapter may bring its own copy of the head (PEFT `modules_to_save`: the classifier, and
//! optionally the pooler, trained with the adapter, possibly for other labels). Such a copy is an
//! [`AdapterHead`]; while its adapter is active it runs instead of the base's.

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
    labels: Vec<String>,
    /// The HF module names of `pooler` and `out` (what adapters call them).
    pub pooler_name: Option<String>,
    pub out_name: Option<&'static str>,
    /// Heads that attached adapters brought, and the adapter whose head runs (`None`: the base's).
    pub adapters: Vec<AdapterHead>,
    pub active: Option<u32>,
}

/// An adapter's own copy of the head's layers (each `None` keeps the base's).
pub struct AdapterHead {
    pub adapter: u32,
    pub pooler: Option<Linear>,
    pub out: Option<Linear>,
    /// The labels of `out` (the base's when the adapter's head has as many outputs).
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
                    pooler_name: None,
                    out_name: None,
                    adapters: Vec::new(),
                    active: None,
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
        let pooler_name = match (kind, cfg.family) {
            (HeadKind::SequenceClassification, ModelFamily::DistilBert) => {
                Some(("pre_classifier".to_string(), Activation::Relu))
            }
            (HeadKind::SequenceClassification, ModelFamily::MobileBert)
                if !cfg.mobile.as_ref().is_some_and(|m| m.classifier_activation) =>
            {
                None
            }
            (HeadKind::SequenceClassification, _) => Some((format!("{base}pooler.dense"), Activation::Tanh)),
            _ => None,
        };
        let pooler = match &pooler_name {
            Some((name, act)) => Some((Linear::load(ctx, src, name, (h, h), true)?, *act)),
            None => None,
        };
        Ok(Head {
            kind,
            pooler,
            out: Some(Linear::load(ctx, src, out_name, (n_out, h), true)?),
            labels,
            pooler_name: pooler_name.map(|(n, _)| n),
            out_name: Some(out_name),
            adapters: Vec::new(),
            active: None,
        })
    }

    /// The active adapter's head, if it brought one.
    fn adapter_head(&self) -> Option<&AdapterHead> {
        let id = self.active?;
        self.adapters.iter().find(|a| a.adapter == id)
    }

    fn out(&self) -> Result<&Linear, GpuError> {
        self.adapter_head()
            .and_then(|a| a.out.as_ref())
            .or(self.out.as_ref())
            .ok_or_else(|| GpuError::InvalidArgument("this encoder has no task head".into()))
    }

    /// The pooler that runs (the active adapter's copy, else the base's) and its activation.
    fn pooler(&self) -> Option<(&Linear, Activation)> {
        let (base, act) = self.pooler.as_ref()?;
        Some((
            self.adapter_head().and_then(|a| a.pooler.as_ref()).unwrap_or(base),
            *act,
        ))
    }

    /// The label names of the head that runs, by id.
    pub fn labels(&self) -> &[String] {
        match self.adapter_head() {
            Some(a) if a.out.is_some() => &a.labels,
            _ => &self.labels,
        }
    }

    /// The base head's own layers, under their HF module names (LoRA targets, and what a saved
    /// head copy replaces), with their `[out, in]` shapes.
    pub fn base_linears_mut(&mut self) -> Vec<(String, &mut Linear)> {
        let mut out = Vec::new();
        if let (Some(name), Some((lin, _))) = (&self.pooler_name, self.pooler.as_mut()) {
            out.push((name.clone(), lin));
        }
        if let (Some(name), Some(lin)) = (self.out_name, self.out.as_mut()) {
            out.push((name.to_string(), lin));
        }
        out
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
        if let Some((dense, act)) = self.pooler() {
            x = dense.forward_act(batch, &x, act)?;
        }
        self.out()?.forward(batch, &x)
    }

    /// Per-position logits `[batch * seq, outputs]`: token labels, or QA's (start, end) pairs.
    pub fn token_logits(&self, batch: &mut Batch<'_>, hidden: &GpuTensor) -> Result<GpuTensor, GpuError> {
        self.out()?.forward(batch, hidden)
    }

    /// Outputs per row of [`Head::token_logits`] or [`Head::sequence_logits`].
    pub fn n_outputs(&self) -> usize {
        self.out().map_or(0, Linear::out_features)
    }

    /// The base head's label count (what an adapter's head must match unless it names its own).
    pub fn base_labels(&self) -> &[String] {
        &self.labels
    }
}

//! Encoder hyper-parameters from a Hugging Face `config.json`.
//!
//! `save_pretrained` writes only the fields that differ from the config class's defaults, so a
//! missing field means "transformers' default for this model type". [`EncoderConfig::parse`]
//! fills those in first (the values of `BertConfig`, `DistilBertConfig` and `MobileBertConfig`),
//! then reads the shared fields through [`HfConfig`] and the MobileBERT-only ones here.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::formats::hf_config::{HfConfig, ModelFamily};
use crate::kernels::attention::MAX_HEAD_DIM;
use crate::models::ModelError;
use crate::ops::Activation;
use crate::ops::NormKind;

/// Sizes beyond these are refused before anything is allocated (a hostile config.json must not
/// make us try to allocate terabytes). Real encoders are far below them.
const MAX_HIDDEN: usize = 16_384;
const MAX_LAYERS: usize = 256;
const MAX_VOCAB: usize = 1 << 21;
const MAX_POSITIONS: usize = 16_384;

/// MobileBERT's extra structure (see `mobilebert.rs`).
#[derive(Clone, Debug, PartialEq)]
pub struct MobileBertConfig {
    /// Width of the word-embedding table (128 in the released model).
    pub embedding_size: usize,
    /// Width inside the bottlenecks, where attention and the FFNs run.
    pub true_hidden: usize,
    pub use_bottleneck: bool,
    pub use_bottleneck_attention: bool,
    pub key_query_shared_bottleneck: bool,
    /// FFN blocks per layer: `num_feedforward_networks - 1` extra ones, then the final one.
    pub n_ffn: usize,
    pub trigram_input: bool,
    /// Whether the pooler applies dense + tanh (else it passes `[CLS]` through).
    pub classifier_activation: bool,
}

/// transformers' `problem_type` for classification heads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// Softmax over the labels (a single label, or a sigmoid when there is one output).
    SingleLabel,
    /// A sigmoid per label.
    MultiLabel,
    /// The raw outputs.
    Regression,
}

/// What the encoder's forward pass needs, for every supported family.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderConfig {
    pub family: ModelFamily,
    /// `architectures[0]`, e.g. `BertForTokenClassification` (empty when absent).
    pub architecture: String,
    pub vocab: usize,
    pub hidden: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub intermediate: usize,
    pub max_positions: usize,
    /// 0 when the model has no token-type embeddings (DistilBERT).
    pub type_vocab: usize,
    pub eps: f32,
    pub act: Activation,
    pub norm: NormKind,
    pub mobile: Option<MobileBertConfig>,
    /// Labels of a classification head, by id (`id2label`).
    pub labels: Vec<String>,
    /// How classification logits become scores (`problem_type`).
    pub problem: Problem,
}

/// Field names `HfConfig` accepts for the same value.
const ALIASES: [[&str; 2]; 5] = [
    ["dim", "hidden_size"],
    ["n_layers", "num_hidden_layers"],
    ["n_heads", "num_attention_heads"],
    ["hidden_dim", "intermediate_size"],
    ["activation", "hidden_act"],
];

/// The config class defaults of transformers for fields that `save_pretrained` may leave out.
fn defaults(family: ModelFamily) -> Value {
    match family {
        ModelFamily::DistilBert => json!({
            "vocab_size": 30522, "max_position_embeddings": 512, "n_layers": 6, "n_heads": 12,
            "dim": 768, "hidden_dim": 3072, "activation": "gelu",
        }),
        ModelFamily::MobileBert => json!({
            "vocab_size": 30522, "hidden_size": 512, "num_hidden_layers": 24,
            "num_attention_heads": 4, "intermediate_size": 512, "hidden_act": "relu",
            "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
            "embedding_size": 128, "trigram_input": true, "use_bottleneck": true,
            "intra_bottleneck_size": 128, "use_bottleneck_attention": false,
            "key_query_shared_bottleneck": true, "num_feedforward_networks": 4,
            "normalization_type": "no_norm", "classifier_activation": true,
        }),
        _ => json!({
            "vocab_size": 30522, "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "hidden_act": "gelu",
            "max_position_embeddings": 512, "type_vocab_size": 2, "layer_norm_eps": 1e-12,
        }),
    }
}

/// Fields only the encoder reads.
#[derive(Deserialize)]
struct Extra {
    position_embedding_type: Option<String>,
    problem_type: Option<String>,
    embedding_size: Option<usize>,
    intra_bottleneck_size: Option<usize>,
    use_bottleneck: Option<bool>,
    use_bottleneck_attention: Option<bool>,
    key_query_shared_bottleneck: Option<bool>,
    num_feedforward_networks: Option<usize>,
    normalization_type: Option<String>,
    trigram_input: Option<bool>,
    classifier_activation: Option<bool>,
}

fn activation(name: &str) -> Result<Activation, ModelError> {
    Ok(match name {
        "gelu" => Activation::GeluErf,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        "relu" => Activation::Relu,
        "silu" | "swish" => Activation::Silu,
        other => return Err(ModelError::Config(format!("unsupported activation {other:?}"))),
    })
}

fn bad(msg: String) -> ModelError {
    ModelError::Config(msg)
}

impl EncoderConfig {
    pub fn parse(json: &[u8]) -> Result<EncoderConfig, ModelError> {
        let mut value: Value =
            serde_json::from_slice(json).map_err(|e| bad(format!("config.json is not valid JSON: {e}")))?;
        let model_type = value.get("model_type").and_then(Value::as_str).unwrap_or_default();
        let family = ModelFamily::parse(model_type)?;
        if !family.is_encoder() {
            return Err(bad(format!(
                "model_type {model_type:?} is a decoder; encoders are bert, distilbert and mobilebert"
            )));
        }
        if let (Some(obj), Value::Object(d)) = (value.as_object_mut(), defaults(family)) {
            for (k, v) in d {
                // A field given under its other name (DistilBERT's `dim` or `hidden_size`) must
                // not get a default too: serde would see it twice.
                let given = ALIASES
                    .iter()
                    .any(|pair| pair.contains(&k.as_str()) && pair.iter().any(|a| obj.contains_key(*a)));
                if !given {
                    obj.entry(k).or_insert(v);
                }
            }
        }
        let bytes = serde_json::to_vec(&value).map_err(|e| bad(e.to_string()))?;
        let hf = HfConfig::parse(&bytes)?;
        let extra: Extra = serde_json::from_value(value).map_err(|e| bad(format!("config.json: {e}")))?;
        Self::from_parts(family, &hf, &extra)
    }

    fn from_parts(family: ModelFamily, hf: &HfConfig, x: &Extra) -> Result<EncoderConfig, ModelError> {
        if let Some(t) = x.position_embedding_type.as_deref().filter(|t| *t != "absolute") {
            return Err(bad(format!(
                "position_embedding_type {t:?} is not supported (absolute only)"
            )));
        }
        let norm = match x.normalization_type.as_deref() {
            Some("no_norm") if family == ModelFamily::MobileBert => NormKind::NoNorm,
            None | Some("layer_norm") => NormKind::Layer,
            Some(other) => return Err(bad(format!("normalization_type {other:?} is not supported"))),
        };
        let mobile = (family == ModelFamily::MobileBert).then(|| {
            let use_bottleneck = x.use_bottleneck.unwrap_or(true);
            let intra = x.intra_bottleneck_size.unwrap_or(128);
            MobileBertConfig {
                embedding_size: x.embedding_size.unwrap_or(128),
                true_hidden: if use_bottleneck { intra } else { hf.hidden_size },
                use_bottleneck,
                use_bottleneck_attention: x.use_bottleneck_attention.unwrap_or(false),
                key_query_shared_bottleneck: x.key_query_shared_bottleneck.unwrap_or(true),
                n_ffn: x.num_feedforward_networks.unwrap_or(4),
                trigram_input: x.trigram_input.unwrap_or(true),
                classifier_activation: x.classifier_activation.unwrap_or(true),
            }
        });
        let cfg = EncoderConfig {
            family,
            architecture: hf.architectures.first().cloned().unwrap_or_default(),
            vocab: hf.vocab_size,
            hidden: hf.hidden_size,
            n_layer: hf.num_hidden_layers,
            n_head: hf.num_attention_heads,
            intermediate: hf.intermediate_size,
            max_positions: hf.max_position_embeddings.unwrap_or(512),
            type_vocab: match family {
                ModelFamily::DistilBert => 0,
                _ => hf.type_vocab_size.unwrap_or(2),
            },
            // DistilBERT hard-codes its LayerNorm eps (and ignores layer_norm_eps).
            eps: match family {
                ModelFamily::DistilBert => 1e-12,
                _ => hf.layer_norm_eps.unwrap_or(1e-12) as f32,
            },
            act: activation(hf.hidden_act.as_deref().unwrap_or("gelu"))?,
            norm,
            mobile,
            labels: labels(&hf.id2label)?,
            problem: match x.problem_type.as_deref() {
                Some("multi_label_classification") => Problem::MultiLabel,
                Some("regression") => Problem::Regression,
                _ => Problem::SingleLabel,
            },
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Epsilon of the norms transformers' MobileBERT builds without `layer_norm_eps`
    /// (`embeddings.LayerNorm` and the last FFN's `output.LayerNorm`): torch's default 1e-5 for
    /// a LayerNorm. NoNorm has no epsilon.
    pub fn unpassed_eps(&self) -> f32 {
        match self.family {
            ModelFamily::MobileBert => 1e-5,
            _ => self.eps,
        }
    }

    /// Width where attention runs: the bottleneck for MobileBERT, else the hidden size.
    pub fn attn_width(&self) -> usize {
        self.mobile.as_ref().map_or(self.hidden, |m| m.true_hidden)
    }

    pub fn head_dim(&self) -> usize {
        self.attn_width() / self.n_head.max(1)
    }

    fn validate(&self) -> Result<(), ModelError> {
        let sizes = [
            ("hidden_size", self.hidden, MAX_HIDDEN),
            ("intermediate_size", self.intermediate, 4 * MAX_HIDDEN),
            ("num_hidden_layers", self.n_layer, MAX_LAYERS),
            ("num_attention_heads", self.n_head, MAX_HIDDEN),
            ("vocab_size", self.vocab, MAX_VOCAB),
            ("max_position_embeddings", self.max_positions, MAX_POSITIONS),
        ];
        for (name, v, max) in sizes {
            if v == 0 || v > max {
                return Err(bad(format!("{name} = {v} is outside 1..={max}")));
            }
        }
        if self.type_vocab > 1024 {
            return Err(bad(format!("type_vocab_size = {} is too large", self.type_vocab)));
        }
        if let Some(m) = &self.mobile {
            if m.embedding_size == 0
                || m.embedding_size > MAX_HIDDEN
                || m.true_hidden == 0
                || m.true_hidden > MAX_HIDDEN
            {
                return Err(bad(
                    "MobileBERT embedding_size/intra_bottleneck_size out of range".into()
                ));
            }
            if m.n_ffn == 0 || m.n_ffn > 64 {
                return Err(bad(format!("num_feedforward_networks = {} is outside 1..=64", m.n_ffn)));
            }
            // Without the shared q/k bottleneck, q and k project the full-width hidden state
            // through true_hidden x true_hidden weights: only possible when the widths agree
            // (transformers fails there too).
            let qk_from_hidden = m.use_bottleneck && !m.use_bottleneck_attention && !m.key_query_shared_bottleneck;
            if qk_from_hidden && m.true_hidden != self.hidden {
                return Err(bad(format!(
                    "key_query_shared_bottleneck = false needs intra_bottleneck_size {} = hidden_size {}",
                    m.true_hidden, self.hidden
                )));
            }
        }
        let width = self.attn_width();
        let hd = self.head_dim();
        if !width.is_multiple_of(self.n_head) || hd == 0 || !hd.is_multiple_of(4) || hd > MAX_HEAD_DIM {
            return Err(bad(format!(
                "{width} wide attention over {} heads: the head size must be a multiple of 4 up to {MAX_HEAD_DIM}",
                self.n_head
            )));
        }
        Ok(())
    }
}

/// `id2label` as a dense list: ids must be 0..n without gaps.
pub(crate) fn labels(id2label: &BTreeMap<String, String>) -> Result<Vec<String>, ModelError> {
    let mut out = vec![None; id2label.len()];
    for (id, label) in id2label {
        let i: usize = id
            .parse()
            .ok()
            .filter(|&i| i < out.len())
            .ok_or_else(|| bad(format!("id2label has id {id:?}; ids must be 0..{}", out.len())))?;
        out[i] = Some(label.clone());
    }
    Ok(out.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minilm_config() {
        let c = EncoderConfig::parse(
            br#"{"architectures":["BertModel"],"hidden_act":"gelu","hidden_size":384,
            "intermediate_size":1536,"layer_norm_eps":1e-12,"max_position_embeddings":512,
            "model_type":"bert","num_attention_heads":12,"num_hidden_layers":6,
            "type_vocab_size":2,"vocab_size":30522}"#,
        )
        .expect("parses");
        assert_eq!(
            (c.hidden, c.head_dim(), c.type_vocab, c.norm),
            (384, 32, 2, NormKind::Layer)
        );
        assert_eq!(c.act, Activation::GeluErf);
        assert!(c.labels.is_empty() && c.mobile.is_none());
    }

    #[test]
    fn omitted_fields_take_transformers_defaults() {
        let c = EncoderConfig::parse(br#"{"model_type":"mobilebert","hidden_size":64,"num_hidden_layers":2}"#)
            .expect("parses");
        let m = c.mobile.as_ref().expect("mobilebert");
        assert_eq!((m.embedding_size, m.true_hidden, m.n_ffn), (128, 128, 4));
        assert_eq!((c.norm, c.act, c.n_head), (NormKind::NoNorm, Activation::Relu, 4));
        let d =
            EncoderConfig::parse(br#"{"model_type":"distilbert","id2label":{"1":"POS","0":"NEG"}}"#).expect("parses");
        assert_eq!((d.hidden, d.n_layer, d.type_vocab), (768, 6, 0));
        assert_eq!(d.labels, ["NEG", "POS"]);
    }

    #[test]
    fn bad_configs_are_typed_errors() {
        for json in [
            &br#"{"model_type":"bert","hidden_size":30,"num_attention_heads":4}"#[..],
            br#"{"model_type":"bert","num_hidden_layers":100000}"#,
            br#"{"model_type":"bert","hidden_act":"mish"}"#,
            br#"{"model_type":"bert","position_embedding_type":"relative_key"}"#,
            br#"{"model_type":"bert","id2label":{"0":"A","5":"B"}}"#,
            br#"{"model_type":"llama","hidden_size":64}"#,
            br#"{"model_type":"bert","hidden_size":"big"}"#,
            br#"not json"#,
        ] {
            assert!(EncoderConfig::parse(json).is_err(), "{}", String::from_utf8_lossy(json));
        }
    }
}

//! Hugging Face `config.json` for the architectures webslm runs. Unknown fields are ignored
//! (configs carry dozens we do not need); an unknown `model_type` is an error that names it.
//!
//! Field names differ between families: DistilBERT says `dim`/`n_layers`/`n_heads`/`hidden_dim`/
//! `activation`, and multimodal Gemma 3 nests the language model's fields under `text_config`.
//! [`HfConfig::parse`] folds these into one struct.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum HfConfigError {
    #[error("config.json is not valid JSON of the expected shape: {0}")]
    InvalidJson(#[from] serde_json::Error),
    #[error("model_type {model_type:?} is not supported (supported: {supported})")]
    UnknownModelType {
        model_type: String,
        supported: &'static str,
    },
    #[error("config.json (model_type {model_type:?}) has no {field:?}")]
    MissingField { model_type: String, field: &'static str },
}

/// The model families we have loaders for, from `model_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelFamily {
    Bert,
    DistilBert,
    MobileBert,
    Llama,
    Qwen2,
    Gemma,
    Gemma2,
    Gemma3,
    Phi,
    Phi3,
}

const SUPPORTED: &str = "bert, distilbert, mobilebert, llama, qwen2, gemma, gemma2, gemma3, gemma3_text, phi, phi3";

impl ModelFamily {
    /// The family of a `model_type`, or an error that names it and lists what is supported.
    pub fn parse(model_type: &str) -> Result<ModelFamily, HfConfigError> {
        Self::from_model_type(model_type).ok_or_else(|| HfConfigError::UnknownModelType {
            model_type: model_type.to_string(),
            supported: SUPPORTED,
        })
    }

    fn from_model_type(t: &str) -> Option<ModelFamily> {
        Some(match t {
            "bert" => ModelFamily::Bert,
            "distilbert" => ModelFamily::DistilBert,
            "mobilebert" => ModelFamily::MobileBert,
            "llama" => ModelFamily::Llama,
            "qwen2" => ModelFamily::Qwen2,
            "gemma" => ModelFamily::Gemma,
            "gemma2" => ModelFamily::Gemma2,
            "gemma3" | "gemma3_text" => ModelFamily::Gemma3,
            "phi" => ModelFamily::Phi,
            "phi3" => ModelFamily::Phi3,
            _ => return None,
        })
    }

    /// Encoder-only models (token classification, embeddings) rather than causal LMs.
    pub fn is_encoder(self) -> bool {
        matches!(
            self,
            ModelFamily::Bert | ModelFamily::DistilBert | ModelFamily::MobileBert
        )
    }
}

/// Hyper-parameters common to the supported families. Optional fields are `None` when absent.
#[derive(Clone, Debug, PartialEq)]
pub struct HfConfig {
    pub family: ModelFamily,
    pub model_type: String,
    pub architectures: Vec<String>,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Absent for multi-head attention; see [`HfConfig::kv_heads`].
    pub num_key_value_heads: Option<usize>,
    pub head_dim: Option<usize>,
    pub intermediate_size: usize,
    pub vocab_size: usize,
    pub max_position_embeddings: Option<usize>,
    pub layer_norm_eps: Option<f64>,
    pub rms_norm_eps: Option<f64>,
    pub hidden_act: Option<String>,
    pub rope_theta: Option<f64>,
    pub type_vocab_size: Option<usize>,
    pub tie_word_embeddings: Option<bool>,
    pub id2label: BTreeMap<String, String>,
    pub label2id: BTreeMap<String, i64>,
}

/// Everything optional: which fields are required depends on the family, and we want a
/// `MissingField` error that names the field rather than serde's generic one.
#[derive(Deserialize, Default)]
struct Raw {
    model_type: Option<String>,
    #[serde(default)]
    architectures: Option<Vec<String>>,
    #[serde(alias = "dim")]
    hidden_size: Option<usize>,
    #[serde(alias = "n_layers")]
    num_hidden_layers: Option<usize>,
    #[serde(alias = "n_heads")]
    num_attention_heads: Option<usize>,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    #[serde(alias = "hidden_dim")]
    intermediate_size: Option<usize>,
    vocab_size: Option<usize>,
    max_position_embeddings: Option<usize>,
    layer_norm_eps: Option<f64>,
    rms_norm_eps: Option<f64>,
    hidden_act: Option<String>,
    /// DistilBERT's name for it.
    activation: Option<String>,
    /// Gemma's: it overrides `hidden_act` when both are present.
    hidden_activation: Option<String>,
    rope_theta: Option<f64>,
    type_vocab_size: Option<usize>,
    tie_word_embeddings: Option<bool>,
    id2label: Option<BTreeMap<String, String>>,
    label2id: Option<BTreeMap<String, i64>>,
    text_config: Option<Box<Raw>>,
}

impl HfConfig {
    pub fn parse(json: &[u8]) -> Result<HfConfig, HfConfigError> {
        let mut raw: Raw = serde_json::from_slice(json)?;
        let model_type = raw.model_type.clone().ok_or(HfConfigError::MissingField {
            model_type: String::new(),
            field: "model_type",
        })?;
        let family = ModelFamily::parse(&model_type)?;
        let architectures = raw.architectures.take().unwrap_or_default();
        let id2label = raw.id2label.take().unwrap_or_default();
        let label2id = raw.label2id.take().unwrap_or_default();
        // Multimodal checkpoints keep the language model's hyper-parameters in `text_config`.
        let r = match raw.text_config.take() {
            Some(text) => *text,
            None => raw,
        };
        let need = |v: Option<usize>, field: &'static str| {
            v.ok_or_else(|| HfConfigError::MissingField {
                model_type: model_type.clone(),
                field,
            })
        };
        Ok(HfConfig {
            family,
            architectures,
            hidden_size: need(r.hidden_size, "hidden_size")?,
            num_hidden_layers: need(r.num_hidden_layers, "num_hidden_layers")?,
            num_attention_heads: need(r.num_attention_heads, "num_attention_heads")?,
            num_key_value_heads: r.num_key_value_heads,
            head_dim: r.head_dim,
            intermediate_size: need(r.intermediate_size, "intermediate_size")?,
            vocab_size: need(r.vocab_size, "vocab_size")?,
            max_position_embeddings: r.max_position_embeddings,
            layer_norm_eps: r.layer_norm_eps,
            rms_norm_eps: r.rms_norm_eps,
            hidden_act: r.hidden_activation.or(r.hidden_act).or(r.activation),
            rope_theta: r.rope_theta,
            type_vocab_size: r.type_vocab_size,
            tie_word_embeddings: r.tie_word_embeddings,
            id2label,
            label2id,
            model_type,
        })
    }

    /// Key/value heads: `num_key_value_heads`, or every head when the model has plain MHA.
    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    /// Per-head dimension: `head_dim` when given (Gemma), else hidden / heads.
    pub fn head_dim(&self) -> Option<usize> {
        self.head_dim
            .or_else(|| self.hidden_size.checked_div(self.num_attention_heads))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minilm_style_bert() {
        let json = br#"{"architectures":["BertModel"],"hidden_act":"gelu","hidden_size":384,
            "intermediate_size":1536,"layer_norm_eps":1e-12,"max_position_embeddings":512,
            "model_type":"bert","num_attention_heads":12,"num_hidden_layers":6,
            "type_vocab_size":2,"vocab_size":30522,"use_cache":true}"#;
        let c = HfConfig::parse(json).expect("parses");
        assert_eq!(c.family, ModelFamily::Bert);
        assert_eq!((c.hidden_size, c.num_hidden_layers, c.kv_heads()), (384, 6, 12));
        assert_eq!(c.layer_norm_eps, Some(1e-12));
        assert_eq!(c.head_dim(), Some(32));
    }

    #[test]
    fn distilbert_field_names() {
        let json = br#"{"model_type":"distilbert","dim":768,"n_layers":6,"n_heads":12,
            "hidden_dim":3072,"vocab_size":30522,"activation":"gelu",
            "id2label":{"0":"NEGATIVE","1":"POSITIVE"},"label2id":{"NEGATIVE":0,"POSITIVE":1}}"#;
        let c = HfConfig::parse(json).expect("parses");
        assert_eq!(c.family, ModelFamily::DistilBert);
        assert_eq!((c.hidden_size, c.intermediate_size), (768, 3072));
        assert_eq!(c.hidden_act.as_deref(), Some("gelu"));
        assert_eq!(c.id2label.get("1").map(String::as_str), Some("POSITIVE"));
        assert_eq!(c.label2id.get("NEGATIVE"), Some(&0));
    }

    #[test]
    fn gemma3_text_config_is_used() {
        let json = br#"{"model_type":"gemma3","architectures":["Gemma3ForConditionalGeneration"],
            "text_config":{"hidden_size":640,"num_hidden_layers":18,"num_attention_heads":4,
            "num_key_value_heads":1,"head_dim":256,"intermediate_size":2048,
            "vocab_size":262144,"rms_norm_eps":1e-6,"rope_theta":1000000.0}}"#;
        let c = HfConfig::parse(json).expect("parses");
        assert_eq!(c.family, ModelFamily::Gemma3);
        assert_eq!((c.kv_heads(), c.head_dim()), (1, Some(256)));
        assert_eq!(c.architectures, ["Gemma3ForConditionalGeneration"]);
    }

    #[test]
    fn unknown_model_type_is_named() {
        let err = HfConfig::parse(br#"{"model_type":"mamba","hidden_size":1}"#).unwrap_err();
        assert!(matches!(&err, HfConfigError::UnknownModelType { model_type, .. } if model_type == "mamba"));
        assert!(err.to_string().contains("mamba"));
    }

    #[test]
    fn missing_field_is_named() {
        let err = HfConfig::parse(br#"{"model_type":"llama","hidden_size":64}"#).unwrap_err();
        assert!(matches!(
            err,
            HfConfigError::MissingField {
                field: "num_hidden_layers",
                ..
            }
        ));
    }
}

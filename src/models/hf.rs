//! Decoders from a Hugging Face folder (`config.json` + `model.safetensors`), the one path that
//! native loading (`Engine::load`) and the browser (`web.rs`) share: [`parse`] reads the
//! [`DecoderConfig`] for the `model_type`, the end-of-text ids and the model type the chat template
//! falls back on; [`load`] finds where the decoder's tensors sit in the checkpoint and loads them,
//! asking for each by its llama.cpp name and mapping it to the HF one.
//!
//! Two differences from the GGUF route, both undone by llama.cpp's converter there:
//! - HF rotates q/k with rotate-half (NEOX layout) in every family; GGUF permutes Llama's q/k so
//!   that adjacent pairs rotate (NORMAL layout).
//! - HF Gemma stores RMSNorm weights as `w` for `(1 + w)`; GGUF stores `1 + w` (`gemma.rs`).

use serde::Deserialize;
use serde_json::Value;

use crate::formats::hf_config::HfConfig;
use crate::gpu::GpuContext;
use crate::ops::{Activation, NormKind, RopeLayout};

use super::config::{DecoderConfig, RopeScaling};
use super::tensor_source::TensorSource;
use super::{Decoder, Family, ModelError};

/// Hyper-parameters beyond [`HfConfig`] that decoders read; the family files read their own.
#[derive(Deserialize, Default)]
pub struct HfExtra {
    /// transformers 5 keeps rope_theta, the scaling and partial_rotary_factor here, either
    /// directly or per layer type (`full_attention` / `sliding_attention`, Gemma 3).
    rope_parameters: Option<Value>,
    /// transformers 4's place for the scaling.
    rope_scaling: Option<Value>,
    partial_rotary_factor: Option<f64>,
    pub sliding_window: Option<usize>,
    pub attn_logit_softcapping: Option<f32>,
    pub final_logit_softcapping: Option<f32>,
    query_pre_attn_scalar: Option<f64>,
    rope_local_base_freq: Option<f32>,
    pub sliding_window_pattern: Option<usize>,
    layer_types: Option<Vec<String>>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    text_config: Option<Box<HfExtra>>,
    /// The rope base of sliding-window layers, from whichever of the two places holds it.
    #[serde(skip)]
    pub local_rope_theta: Option<f64>,
}

/// What an HF decoder folder's JSON files say, before any weight is read.
pub struct HfDecoder {
    pub cfg: DecoderConfig,
    /// `config.json`'s `model_type` (the chat template's fallback is picked by it).
    pub model_type: String,
    /// The ids that end generation by `config.json` and `generation_config.json`.
    pub eos_ids: Vec<u32>,
}

/// Reads `config.json` (and `generation_config.json` when the folder has one).
pub fn parse(config_json: &[u8], generation_config: Option<&[u8]>) -> Result<HfDecoder, ModelError> {
    let cfg = config(config_json)?;
    let value: Value = serde_json::from_slice(config_json).map_err(|e| bad(format!("config.json: {e}")))?;
    let model_type = value
        .get("model_type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let mut eos_ids = eos_token_ids(&value);
    // Multimodal checkpoints keep the language model's ids in `text_config`.
    if let Some(text) = value.get("text_config") {
        eos_ids.extend(eos_token_ids(text));
    }
    if let Some(json) = generation_config {
        let value: Value = serde_json::from_slice(json).map_err(|e| bad(format!("generation_config.json: {e}")))?;
        eos_ids.extend(eos_token_ids(&value));
    }
    eos_ids.sort_unstable();
    eos_ids.dedup();
    Ok(HfDecoder {
        cfg,
        model_type,
        eos_ids,
    })
}

/// `eos_token_id`: one id, or a list of them (Llama 3 lists `<|end_of_text|>`, `<|eom_id|>` and
/// `<|eot_id|>`).
fn eos_token_ids(v: &Value) -> Vec<u32> {
    let id = |v: &Value| v.as_u64().and_then(|id| u32::try_from(id).ok());
    match v.get("eos_token_id") {
        Some(Value::Array(ids)) => ids.iter().filter_map(id).collect(),
        Some(v) => id(v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// Where the decoder's tensors sit: text checkpoints keep it under `model.`, multimodal ones
/// nest it deeper.
pub fn tensor_prefix(src: &dyn TensorSource) -> Result<&'static str, ModelError> {
    const PREFIXES: [&str; 3] = ["model.", "model.language_model.", "language_model.model."];
    PREFIXES
        .into_iter()
        .find(|p| src.has(&format!("{p}embed_tokens.weight")))
        .ok_or_else(|| ModelError::MissingTensor("model.embed_tokens.weight".into()))
}

/// Loads the decoder `cfg` describes from `src`, an HF checkpoint's tensors.
pub fn load(ctx: &GpuContext, cfg: DecoderConfig, src: &mut dyn TensorSource) -> Result<Decoder, ModelError> {
    let prefix = tensor_prefix(src)?;
    let family = cfg.family;
    Decoder::load_with(ctx, cfg, src, &|n| tensor_name(family, prefix, n))
}

fn bad(msg: String) -> ModelError {
    ModelError::Config(msg)
}

fn activation(name: &str) -> Result<Activation, ModelError> {
    Ok(match name {
        "silu" | "swish" => Activation::Silu,
        "gelu" => Activation::GeluErf,
        "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
        other => return Err(bad(format!("unsupported activation {other:?}"))),
    })
}

/// Llama 3.1+ "llama3" rope scaling as per-frequency divisors, as transformers'
/// `_compute_llama3_parameters` computes them (and llama.cpp's converter bakes into
/// `rope_freqs.weight`): long wavelengths are divided by `factor`, short ones kept, and the band
/// between blended.
fn llama3_divisors(inv_freq: &[f32], s: &Value) -> Result<Vec<f32>, ModelError> {
    let num = |k: &str| {
        s.get(k)
            .and_then(Value::as_f64)
            .ok_or_else(|| bad(format!("llama3 rope_scaling needs {k}")))
    };
    let (factor, low, high) = (num("factor")?, num("low_freq_factor")?, num("high_freq_factor")?);
    let old_context = num("original_max_position_embeddings")?;
    if factor <= 0.0 || low <= 0.0 || high <= low {
        return Err(bad(format!("llama3 rope_scaling out of range: {s}")));
    }
    let (low_wavelen, high_wavelen) = (old_context / low, old_context / high);
    Ok(inv_freq
        .iter()
        .map(|&f| {
            let wavelen = 2.0 * std::f64::consts::PI / f as f64;
            if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                factor as f32
            } else {
                let smooth = (old_context / wavelen - low) / (high - low);
                (1.0 / ((1.0 - smooth) / factor + smooth)) as f32
            }
        })
        .collect())
}

/// The decoder configuration of an HF `config.json`.
pub fn config(json: &[u8]) -> Result<DecoderConfig, ModelError> {
    let hf = HfConfig::parse(json)?;
    let raw: HfExtra = serde_json::from_slice(json).map_err(|e| bad(format!("config.json: {e}")))?;
    let mut x = match raw.text_config {
        Some(text) => *text,
        None => raw,
    };
    let family = Family::from_hf(hf.family)?;
    let (rope_global, rope_local) = match &x.rope_parameters {
        Some(v) if v.get("full_attention").is_some() => (v.get("full_attention"), v.get("sliding_attention")),
        Some(v) => (Some(v), None),
        None => (None, None),
    };
    let float = |v: Option<&Value>, k: &str| v.and_then(|p| p.get(k)).and_then(Value::as_f64);
    let rope_theta = float(rope_global, "rope_theta").or(hf.rope_theta).unwrap_or(10_000.0);
    x.local_rope_theta = float(rope_local, "rope_theta").or(x.rope_local_base_freq.map(f64::from));
    let partial = x.partial_rotary_factor.or(float(rope_global, "partial_rotary_factor"));
    let scaling = x.rope_scaling.as_ref().or(rope_global);
    let n_head = hf.num_attention_heads;
    let head_dim = hf.head_dim().ok_or_else(|| bad("num_attention_heads is 0".into()))?;
    let rope_dims = match partial {
        Some(f) if f > 0.0 && f <= 1.0 => (head_dim as f64 * f) as usize,
        Some(f) => return Err(bad(format!("partial_rotary_factor {f} out of range"))),
        None => head_dim,
    };
    let n_layer = hf.num_hidden_layers;
    let mut c = DecoderConfig {
        family,
        n_layer,
        n_embd: hf.hidden_size,
        n_head,
        n_kv_head: hf.kv_heads(),
        head_dim,
        n_ff: hf.intermediate_size,
        vocab: hf.vocab_size,
        train_context: hf.max_position_embeddings.unwrap_or(2048),
        norm_eps: hf.rms_norm_eps.or(hf.layer_norm_eps).unwrap_or(1e-6) as f32,
        norm: NormKind::Rms,
        act: activation(hf.hidden_act.as_deref().unwrap_or("silu"))?,
        rope_layout: RopeLayout::Neox,
        rope_dims,
        rope_base: rope_theta as f32,
        rope_base_local: None,
        rope_scaling: RopeScaling::None,
        qkv_bias: x.attention_bias == Some(true),
        o_bias: x.attention_bias == Some(true),
        ffn_bias: x.mlp_bias == Some(true),
        ..DecoderConfig::knobs_off(family, n_layer, head_dim)
    };
    family.apply_hf(&mut c, &x);
    if let Some(types) = &x.layer_types {
        if types.len() != n_layer {
            return Err(bad(format!("{} layer_types for {n_layer} layers", types.len())));
        }
        c.local_layers = types.iter().map(|t| t == "sliding_attention").collect();
    }
    if let Some(s) = x.query_pre_attn_scalar {
        if s <= 0.0 {
            return Err(bad(format!("query_pre_attn_scalar {s} must be positive")));
        }
        c.attn_scale = (1.0 / s.sqrt()) as f32;
    }
    c.rope_scaling = match scaling {
        None | Some(Value::Null) => RopeScaling::None,
        Some(s) => {
            let kind = s.get("rope_type").or_else(|| s.get("type")).and_then(Value::as_str);
            match kind {
                Some("llama3") => RopeScaling::FreqFactors(llama3_divisors(
                    &crate::ops::rope_inv_freq(c.rope_dims, c.rope_base),
                    s,
                )?),
                Some("linear") => RopeScaling::Linear {
                    factor: s.get("factor").and_then(Value::as_f64).unwrap_or(1.0) as f32,
                },
                Some("default") | None => RopeScaling::None,
                Some(other) => return Err(bad(format!("unsupported rope_scaling type {other:?}"))),
            }
        }
    };
    c.validate()?;
    Ok(c)
}

/// The HF name of the tensor llama.cpp calls `gguf_name`, for a decoder of `family`, under
/// `prefix` (`model.` for text checkpoints): Llama's names unless the family has its own.
pub fn tensor_name(family: Family, prefix: &str, gguf_name: &str) -> String {
    let (stem, suffix) = match gguf_name.rsplit_once('.') {
        Some((stem, suffix)) => (stem, suffix),
        None => (gguf_name, ""),
    };
    let mapped = match stem {
        "token_embd" => format!("{prefix}embed_tokens"),
        "output_norm" => format!("{prefix}{}", family.hf_name(stem).unwrap_or("norm")),
        "output" => "lm_head".to_string(),
        _ => match stem.strip_prefix("blk.").and_then(|r| r.split_once('.')) {
            Some((layer, part)) => {
                let part = family.hf_name(part).unwrap_or_else(|| layer_part(part));
                format!("{prefix}layers.{layer}.{part}")
            }
            None => stem.to_string(),
        },
    };
    format!("{mapped}.{suffix}")
}

/// Llama's HF name of a layer tensor; parts no family renames keep llama.cpp's name.
fn layer_part(part: &str) -> &str {
    match part {
        "attn_norm" => "input_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" => "self_attn.o_proj",
        "ffn_norm" => "post_attention_layernorm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" => "mlp.down_proj",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_per_family() {
        assert_eq!(
            tensor_name(Family::Llama, "model.", "blk.3.attn_q.weight"),
            "model.layers.3.self_attn.q_proj.weight"
        );
        assert_eq!(
            tensor_name(Family::Phi2, "model.", "blk.0.ffn_up.bias"),
            "model.layers.0.mlp.fc1.bias"
        );
        assert_eq!(
            tensor_name(Family::Phi2, "model.", "output_norm.bias"),
            "model.final_layernorm.bias"
        );
        assert_eq!(
            tensor_name(Family::Gemma2, "model.", "blk.1.ffn_norm.weight"),
            "model.layers.1.pre_feedforward_layernorm.weight"
        );
        assert_eq!(
            tensor_name(Family::Gemma, "model.", "blk.1.ffn_norm.weight"),
            "model.layers.1.post_attention_layernorm.weight"
        );
        assert_eq!(tensor_name(Family::Qwen2, "model.", "output.weight"), "lm_head.weight");
        assert_eq!(
            tensor_name(Family::Qwen2, "model.", "token_embd.weight"),
            "model.embed_tokens.weight"
        );
    }

    #[test]
    fn gemma3_names_its_qk_norms_and_four_norms() {
        let n = |s| tensor_name(Family::Gemma3, "model.language_model.", s);
        assert_eq!(
            n("blk.2.attn_q_norm.weight"),
            "model.language_model.layers.2.self_attn.q_norm.weight"
        );
        assert_eq!(
            n("blk.2.post_ffw_norm.weight"),
            "model.language_model.layers.2.post_feedforward_layernorm.weight"
        );
        assert_eq!(n("output_norm.weight"), "model.language_model.norm.weight");
    }

    #[test]
    fn eos_ids_are_a_number_or_a_list_in_either_file() {
        let cfg = br#"{"model_type":"llama","hidden_size":64,"num_hidden_layers":1,
            "num_attention_heads":4,"intermediate_size":128,"vocab_size":300,"eos_token_id":[7,5]}"#;
        let d = parse(cfg, Some(br#"{"eos_token_id":9}"#)).expect("parses");
        assert_eq!(d.eos_ids, [5, 7, 9]);
        assert_eq!(d.model_type, "llama");
        let cfg = br#"{"model_type":"qwen2","hidden_size":64,"num_hidden_layers":1,
            "num_attention_heads":4,"intermediate_size":128,"vocab_size":300,"eos_token_id":3}"#;
        assert_eq!(parse(cfg, None).expect("parses").eos_ids, [3]);
        assert!(parse(cfg, Some(b"not json")).is_err());
    }

    #[test]
    fn llama3_scaling_matches_transformers() {
        // transformers' _compute_llama3_parameters on rope_theta 500000, head_dim 64 (Llama 3.2
        // 1B's settings): the first frequencies are untouched, the last divided by 32.
        let inv = crate::ops::rope_inv_freq(64, 500_000.0);
        let s = serde_json::json!({"rope_type":"llama3","factor":32.0,"low_freq_factor":1.0,
            "high_freq_factor":4.0,"original_max_position_embeddings":8192});
        let d = llama3_divisors(&inv, &s).expect("divisors");
        assert_eq!(d[0], 1.0);
        assert_eq!(d[31], 32.0);
        assert!(d.iter().all(|&x| (1.0..=32.0).contains(&x)));
        assert!(d.windows(2).all(|w| w[0] <= w[1]), "divisors grow with wavelength");
    }

    #[test]
    fn configs_per_family() {
        let phi = config(
            br#"{"model_type":"phi","hidden_size":64,"num_hidden_layers":2,
            "num_attention_heads":4,"intermediate_size":128,"vocab_size":300,
            "partial_rotary_factor":0.5,"hidden_act":"gelu_new","layer_norm_eps":1e-5}"#,
        )
        .expect("phi");
        assert_eq!(
            (phi.family, phi.rope_dims, phi.norm),
            (Family::Phi2, 8, NormKind::Layer)
        );
        assert!(phi.block == super::super::BlockKind::Parallel && !phi.ffn_gated && phi.output_bias);
        let g2 = config(
            br#"{"model_type":"gemma2","hidden_size":64,"num_hidden_layers":4,
            "num_attention_heads":4,"num_key_value_heads":2,"head_dim":16,"intermediate_size":128,
            "vocab_size":300,"sliding_window":4,"attn_logit_softcapping":50.0,
            "final_logit_softcapping":30.0,"query_pre_attn_scalar":16,
            "hidden_activation":"gelu_pytorch_tanh"}"#,
        )
        .expect("gemma2");
        assert_eq!(g2.local_layers, [true, false, true, false]);
        assert_eq!(
            (g2.norm, g2.attn_softcap, g2.final_softcap),
            (NormKind::RmsPlusOne, 50.0, 30.0)
        );
        assert!(config(
            br#"{"model_type":"bert","hidden_size":64,"num_hidden_layers":1,
            "num_attention_heads":4,"intermediate_size":64,"vocab_size":30}"#
        )
        .is_err());
    }
}

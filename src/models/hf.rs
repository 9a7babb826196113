//! Decoders from a Hugging Face folder (`config.json` + `model.safetensors`): the
//! [`DecoderConfig`] for its `model_type`, and the HF name of each tensor the loader asks for by
//! its llama.cpp name.
//!
//! Two differences from the GGUF route, both undone by llama.cpp's converter there:
//! - HF rotates q/k with rotate-half (NEOX layout) in every family; GGUF permutes Llama's q/k so
//!   that adjacent pairs rotate (NORMAL layout).
//! - HF Gemma stores RMSNorm weights as `w` for `(1 + w)`; GGUF stores `1 + w`.

use serde::Deserialize;
use serde_json::Value;

use crate::cpu::elementwise::Activation;
use crate::formats::hf_config::{HfConfig, ModelFamily};
use crate::kernels::norm::NormKind;
use crate::kernels::rope::RopeLayout;

use super::config::{DecoderConfig, RopeScaling};
use super::{gemma, gemma3, phi2, ModelError};

/// Hyper-parameters beyond [`HfConfig`] that decoders read.
#[derive(Deserialize, Default)]
struct Extra {
    /// transformers 5 keeps rope_theta, the scaling and partial_rotary_factor here, either
    /// directly or per layer type (`full_attention` / `sliding_attention`, Gemma 3).
    rope_parameters: Option<Value>,
    /// transformers 4's place for the scaling.
    rope_scaling: Option<Value>,
    partial_rotary_factor: Option<f64>,
    sliding_window: Option<usize>,
    attn_logit_softcapping: Option<f32>,
    final_logit_softcapping: Option<f32>,
    query_pre_attn_scalar: Option<f64>,
    rope_local_base_freq: Option<f32>,
    sliding_window_pattern: Option<usize>,
    layer_types: Option<Vec<String>>,
    attention_bias: Option<bool>,
    mlp_bias: Option<bool>,
    text_config: Option<Box<Extra>>,
}

fn bad(msg: String) -> ModelError {
    ModelError::Config(msg)
}

/// The llama.cpp architecture name of an HF `model_type`.
pub fn arch_of(family: ModelFamily) -> Result<&'static str, ModelError> {
    Ok(match family {
        ModelFamily::Llama => "llama",
        ModelFamily::Qwen2 => "qwen2",
        ModelFamily::Gemma => "gemma",
        ModelFamily::Gemma2 => "gemma2",
        ModelFamily::Gemma3 => "gemma3",
        ModelFamily::Phi => "phi2",
        other => return Err(bad(format!("{other:?} is not a decoder webslm runs from safetensors"))),
    })
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
    let raw: Extra = serde_json::from_slice(json).map_err(|e| bad(format!("config.json: {e}")))?;
    let x = match raw.text_config {
        Some(text) => *text,
        None => raw,
    };
    let arch = arch_of(hf.family)?;
    let (rope_global, rope_local) = match &x.rope_parameters {
        Some(v) if v.get("full_attention").is_some() => (v.get("full_attention"), v.get("sliding_attention")),
        Some(v) => (Some(v), None),
        None => (None, None),
    };
    let float = |v: Option<&Value>, k: &str| v.and_then(|p| p.get(k)).and_then(Value::as_f64);
    let rope_theta = float(rope_global, "rope_theta").or(hf.rope_theta).unwrap_or(10_000.0);
    let local_theta = float(rope_local, "rope_theta").or(x.rope_local_base_freq.map(f64::from));
    let partial = x.partial_rotary_factor.or(float(rope_global, "partial_rotary_factor"));
    let scaling = x.rope_scaling.as_ref().or(rope_global);
    let n_head = hf.num_attention_heads;
    let head_dim = hf.head_dim().ok_or_else(|| bad("num_attention_heads is 0".into()))?;
    let rope_dims = match partial {
        Some(f) if f > 0.0 && f <= 1.0 => (head_dim as f64 * f) as usize,
        Some(f) => return Err(bad(format!("partial_rotary_factor {f} out of range"))),
        None => head_dim,
    };
    let is_gemma = matches!(
        hf.family,
        ModelFamily::Gemma | ModelFamily::Gemma2 | ModelFamily::Gemma3
    );
    let n_layer = hf.num_hidden_layers;
    let mut c = DecoderConfig {
        arch: arch.to_string(),
        n_layer,
        n_embd: hf.hidden_size,
        n_head,
        n_kv_head: hf.kv_heads(),
        head_dim,
        n_ff: hf.intermediate_size,
        vocab: hf.vocab_size,
        train_context: hf.max_position_embeddings.unwrap_or(2048),
        norm_eps: hf.rms_norm_eps.or(hf.layer_norm_eps).unwrap_or(1e-6) as f32,
        norm: if is_gemma { NormKind::RmsPlusOne } else { NormKind::Rms },
        act: activation(hf.hidden_act.as_deref().unwrap_or("silu"))?,
        rope_layout: RopeLayout::Neox,
        rope_dims,
        rope_base: rope_theta as f32,
        rope_base_local: None,
        rope_scaling: RopeScaling::None,
        qkv_bias: hf.family == ModelFamily::Qwen2 || x.attention_bias == Some(true),
        o_bias: x.attention_bias == Some(true),
        ffn_bias: x.mlp_bias == Some(true),
        ..DecoderConfig::knobs_off(n_layer, head_dim)
    };
    match hf.family {
        ModelFamily::Phi => phi2::apply(&mut c),
        ModelFamily::Gemma => gemma::apply_gemma(&mut c),
        ModelFamily::Gemma2 => gemma::apply_gemma2(
            &mut c,
            x.sliding_window.unwrap_or(0),
            x.attn_logit_softcapping.unwrap_or(0.0),
            x.final_logit_softcapping.unwrap_or(0.0),
        ),
        ModelFamily::Gemma3 => gemma3::apply(
            &mut c,
            x.sliding_window.unwrap_or(0),
            x.sliding_window_pattern.unwrap_or(gemma3::GLOBAL_EVERY),
            local_theta.map_or(gemma3::LOCAL_ROPE_BASE, |t| t as f32),
        ),
        _ => {}
    }
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
                    &crate::cpu::rope::rope_inv_freq(c.rope_dims, c.rope_base),
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

/// The HF name of the tensor llama.cpp calls `gguf_name`, for a decoder of `arch`, under
/// `prefix` (`model.` for text checkpoints).
pub fn tensor_name(arch: &str, prefix: &str, gguf_name: &str) -> String {
    let phi = arch == "phi2";
    let (stem, suffix) = match gguf_name.rsplit_once('.') {
        Some((stem, suffix)) => (stem, suffix),
        None => (gguf_name, ""),
    };
    let mapped = match stem {
        "token_embd" => format!("{prefix}embed_tokens"),
        "output_norm" if phi => format!("{prefix}final_layernorm"),
        "output_norm" => format!("{prefix}norm"),
        "output" => "lm_head".to_string(),
        _ => match stem.strip_prefix("blk.").and_then(|r| r.split_once('.')) {
            Some((layer, part)) => format!("{prefix}layers.{layer}.{}", layer_part(arch, part)),
            None => stem.to_string(),
        },
    };
    format!("{mapped}.{suffix}")
}

fn layer_part<'a>(arch: &str, part: &'a str) -> &'a str {
    let phi = arch == "phi2";
    // Gemma 2/3 have four norms per layer; their post_attention_layernorm follows attention.
    let four_norms = matches!(arch, "gemma2" | "gemma3");
    match part {
        "attn_norm" => "input_layernorm",
        "attn_q" => "self_attn.q_proj",
        "attn_k" => "self_attn.k_proj",
        "attn_v" => "self_attn.v_proj",
        "attn_output" if phi => "self_attn.dense",
        "attn_output" => "self_attn.o_proj",
        "attn_q_norm" => "self_attn.q_norm",
        "attn_k_norm" => "self_attn.k_norm",
        "ffn_norm" if four_norms => "pre_feedforward_layernorm",
        "ffn_norm" => "post_attention_layernorm",
        "post_attention_norm" => "post_attention_layernorm",
        "post_ffw_norm" => "post_feedforward_layernorm",
        "ffn_gate" => "mlp.gate_proj",
        "ffn_up" if phi => "mlp.fc1",
        "ffn_up" => "mlp.up_proj",
        "ffn_down" if phi => "mlp.fc2",
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
            tensor_name("llama", "model.", "blk.3.attn_q.weight"),
            "model.layers.3.self_attn.q_proj.weight"
        );
        assert_eq!(
            tensor_name("phi2", "model.", "blk.0.ffn_up.bias"),
            "model.layers.0.mlp.fc1.bias"
        );
        assert_eq!(
            tensor_name("phi2", "model.", "output_norm.bias"),
            "model.final_layernorm.bias"
        );
        assert_eq!(
            tensor_name("gemma2", "model.", "blk.1.ffn_norm.weight"),
            "model.layers.1.pre_feedforward_layernorm.weight"
        );
        assert_eq!(
            tensor_name("gemma", "model.", "blk.1.ffn_norm.weight"),
            "model.layers.1.post_attention_layernorm.weight"
        );
        assert_eq!(tensor_name("qwen2", "model.", "output.weight"), "lm_head.weight");
        assert_eq!(
            tensor_name("qwen2", "model.", "token_embd.weight"),
            "model.embed_tokens.weight"
        );
    }

    #[test]
    fn llama3_scaling_matches_transformers() {
        // transformers' _compute_llama3_parameters on rope_theta 500000, head_dim 64 (Llama 3.2
        // 1B's settings): the first frequencies are untouched, the last divided by 32.
        let inv = crate::cpu::rope::rope_inv_freq(64, 500_000.0);
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
            (phi.arch.as_str(), phi.rope_dims, phi.norm),
            ("phi2", 8, NormKind::Layer)
        );
        assert!(phi.parallel_block && !phi.ffn_gated && phi.output_bias);
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

//! PEFT's LoRA folder: `adapter_config.json` and `adapter_model.safetensors`.
//!
//! ```text
//! adapter_config.json  {"peft_type": "LORA", "r": 8, "lora_alpha": 16, "use_rslora": false,
//!                       "target_modules": ["q_proj", ...], "modules_to_save": ["classifier"], ...}
//! base_model.model.<module>.lora_A.weight    [r, k]
//! base_model.model.<module>.lora_B.weight    [n, r]
//! base_model.model.<module>.modules_to_save.<param>   (or <module>.<param>): a whole tensor
//! ```
//! `<module>` is the HF path below the task model (`model.layers.0.self_attn.q_proj`,
//! `bert.encoder.layer.0.attention.self.query`, `classifier`). What PEFT can express but webslm
//! does not apply (DoRA, trained biases, per-module ranks or alphas, fan-in-fan-out weights,
//! embedding adapters) is an `Unsupported` error, never silently ignored.

use serde::Deserialize;
use serde_json::Value;

use crate::formats::safetensors::SafetensorsFile;

use super::{check_pair, LoraAdapter, LoraError, LoraMatrix, LoraPair, Naming, SavedTensor};

/// The fields of `adapter_config.json` that change the arithmetic.
#[derive(Deserialize)]
struct Config {
    peft_type: Option<String>,
    r: Option<u64>,
    lora_alpha: Option<f64>,
    #[serde(default)]
    use_rslora: bool,
    #[serde(default)]
    use_dora: bool,
    #[serde(default)]
    fan_in_fan_out: bool,
    bias: Option<String>,
    #[serde(default)]
    rank_pattern: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    alpha_pattern: Option<serde_json::Map<String, Value>>,
}

const PREFIX: &str = "base_model.model.";

/// Parses a PEFT adapter from its two files' bytes.
pub fn parse(config_json: &[u8], safetensors: &[u8]) -> Result<LoraAdapter, LoraError> {
    let cfg: Config = serde_json::from_slice(config_json).map_err(|e| LoraError::Config(e.to_string()))?;
    match cfg.peft_type.as_deref() {
        Some("LORA") | None => {}
        Some(other) => return Err(LoraError::Unsupported(format!("peft_type {other}"))),
    }
    let r = cfg.r.ok_or_else(|| LoraError::Config("no `r`".into()))?;
    let alpha = cfg
        .lora_alpha
        .ok_or_else(|| LoraError::Config("no `lora_alpha`".into()))?;
    if r == 0 || !alpha.is_finite() {
        return Err(LoraError::Config(format!("r = {r}, lora_alpha = {alpha}")));
    }
    let unsupported = |what: &str| Err(LoraError::Unsupported(what.to_string()));
    if cfg.use_dora {
        return unsupported("DoRA (use_dora)");
    }
    if cfg.fan_in_fan_out {
        return unsupported("fan_in_fan_out (GPT-2 style Conv1D weights)");
    }
    if cfg.bias.as_deref().is_some_and(|b| b != "none") {
        return unsupported("trained biases (bias != \"none\")");
    }
    if cfg.rank_pattern.is_some_and(|m| !m.is_empty()) || cfg.alpha_pattern.is_some_and(|m| !m.is_empty()) {
        return unsupported("per-module ranks or alphas (rank_pattern / alpha_pattern)");
    }

    let st = SafetensorsFile::parse(safetensors, safetensors.len() as u64)?;
    let mut halves: std::collections::BTreeMap<String, [Option<LoraMatrix>; 2]> = Default::default();
    let mut saved = Vec::new();
    for t in st.tensors() {
        let bad = |problem: String| LoraError::BadTensor {
            tensor: t.name.clone(),
            problem,
        };
        let path = t
            .name
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad(format!("not under `{PREFIX}`")))?;
        let format = t.weight_format()?;
        let bytes = safetensors
            .get(t.range.start as usize..t.range.end as usize)
            .ok_or_else(|| bad("data past the end of the file".into()))?
            .to_vec();
        let half = match (path.strip_suffix(".lora_A.weight"), path.strip_suffix(".lora_B.weight")) {
            (Some(m), _) => Some((m, 0)),
            (_, Some(m)) => Some((m, 1)),
            _ => None,
        };
        let Some((module, which)) = half else {
            if path.contains("lora_") {
                return unsupported(&format!("{} (LoRA on embeddings or a non-Linear layer)", t.name));
            }
            // A `modules_to_save` copy: the module's own tensor, trained with the adapter.
            let name = path
                .replace(".modules_to_save.default.", ".")
                .replace(".modules_to_save.", ".");
            saved.push(SavedTensor {
                name,
                format,
                shape: t.shape.clone(),
                bytes,
            });
            continue;
        };
        let [rows, cols] = match t.shape[..] {
            [r, c] => [r as usize, c as usize],
            _ => return Err(bad(format!("shape {:?}, a LoRA matrix has 2 dimensions", t.shape))),
        };
        let slot = &mut halves.entry(module.to_string()).or_default()[which];
        *slot = Some(LoraMatrix {
            format,
            rows,
            cols,
            bytes,
        });
    }
    let mut pairs = Vec::with_capacity(halves.len());
    for (target, [a, b]) in halves {
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => {
                return Err(LoraError::HalfPair {
                    target,
                    have: "A",
                    missing: "B",
                })
            }
            _ => {
                return Err(LoraError::HalfPair {
                    target,
                    have: "B",
                    missing: "A",
                })
            }
        };
        check_pair(&target, &a, &b)?;
        if a.rows as u64 != r {
            return Err(LoraError::BadTensor {
                tensor: format!("{PREFIX}{target}.lora_A.weight"),
                problem: format!("rank {} but adapter_config.json says r = {r}", a.rows),
            });
        }
        pairs.push(LoraPair { target, a, b });
    }
    if pairs.is_empty() && saved.is_empty() {
        return Err(LoraError::Empty);
    }
    Ok(LoraAdapter {
        naming: Naming::Hf,
        architecture: None,
        alpha: alpha as f32,
        rslora: cfg.use_rslora,
        pairs,
        saved,
        labels: None,
    })
}

/// The labels of a task model's `config.json` (`id2label`, ids 0..n): what a classification head
/// saved with the adapter predicts. A config without `id2label` is an error, not "no labels":
/// the file is there only to name them.
pub fn labels(config_json: &[u8]) -> Result<Vec<String>, LoraError> {
    #[derive(Deserialize)]
    struct TaskConfig {
        #[serde(default)]
        id2label: std::collections::BTreeMap<String, String>,
    }
    let bad = |e: String| LoraError::Config(format!("config.json: {e}"));
    let cfg: TaskConfig = serde_json::from_slice(config_json).map_err(|e| bad(e.to_string()))?;
    if cfg.id2label.is_empty() {
        return Err(bad(
            "no id2label (the labels of the adapter's classification head)".into()
        ));
    }
    crate::models::encoder::config::labels(&cfg.id2label).map_err(|e| bad(e.to_string()))
}

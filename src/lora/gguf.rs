//! llama.cpp's GGUF LoRA adapter, as `convert_lora_to_gguf.py` writes it and `llama-adapter.cpp`
//! reads it.
//!
//! ```text
//! general.type = "adapter"       adapter.type = "lora"       adapter.lora.alpha = f32
//! general.architecture = base model's
//! <base tensor>.lora_a   ggml dims [k, r]   (row-major [r, k]: A)
//! <base tensor>.lora_b   ggml dims [r, n]   (row-major [n, r]: B)
//! ```
//! `<base tensor>` is the base GGUF's name (`blk.0.attn_q.weight`); the target kept here is its
//! stem (`blk.0.attn_q`), the name the decoder's `Linear`s are loaded under.

use std::collections::BTreeMap;

use crate::formats::gguf::GgufFile;
use crate::formats::quant::WeightFormat;

use super::{check_pair, LoraAdapter, LoraError, LoraMatrix, LoraPair, Naming};

/// Parses a whole GGUF adapter held in memory (adapters are a few MB).
pub fn parse(bytes: &[u8]) -> Result<LoraAdapter, LoraError> {
    let gguf = GgufFile::parse(bytes, bytes.len() as u64)?;
    let kind = gguf.md_opt::<String>("general.type")?;
    if kind.as_deref() != Some("adapter") {
        return Err(LoraError::NotAnAdapter(format!(
            "general.type is {kind:?}, an adapter has \"adapter\" (is this a base model?)"
        )));
    }
    let adapter_type = gguf.md_str("adapter.type")?;
    if adapter_type != "lora" {
        return Err(LoraError::Unsupported(format!(
            "adapter.type `{adapter_type}` (only lora)"
        )));
    }
    let alpha = gguf.md_opt::<f32>("adapter.lora.alpha")?.unwrap_or(0.0);
    if !alpha.is_finite() {
        return Err(LoraError::NotAnAdapter(format!("adapter.lora.alpha is {alpha}")));
    }
    // Pair the tensors up by stem, keeping the file's order stable (BTreeMap) for messages.
    let mut halves: BTreeMap<String, [Option<LoraMatrix>; 2]> = BTreeMap::new();
    for t in gguf.tensors() {
        let (stem, which) = match (t.name.strip_suffix(".lora_a"), t.name.strip_suffix(".lora_b")) {
            (Some(s), _) => (s, 0),
            (_, Some(s)) => (s, 1),
            _ => {
                return Err(LoraError::BadTensor {
                    tensor: t.name.clone(),
                    problem: "neither .lora_a nor .lora_b".into(),
                })
            }
        };
        let stem = stem.strip_suffix(".weight").unwrap_or(stem).to_string();
        let [cols, rows] = match t.dims[..] {
            [c, r] => [c, r],
            _ => {
                return Err(LoraError::BadTensor {
                    tensor: t.name.clone(),
                    problem: format!("{} dimensions {:?}, a LoRA matrix has 2", t.dims.len(), t.dims),
                })
            }
        };
        if !matches!(
            t.format,
            WeightFormat::F32 | WeightFormat::F16 | WeightFormat::BF16 | WeightFormat::Q8_0
        ) {
            return Err(LoraError::Unsupported(format!(
                "{} stored as {}",
                t.name,
                t.format.name()
            )));
        }
        let data = bytes
            .get(t.start as usize..(t.start + t.n_bytes) as usize)
            .ok_or_else(|| LoraError::BadTensor {
                tensor: t.name.clone(),
                problem: "data past the end of the file".into(),
            })?;
        let m = LoraMatrix {
            format: t.format,
            rows: usize::try_from(rows).unwrap_or(usize::MAX),
            cols: usize::try_from(cols).unwrap_or(usize::MAX),
            bytes: data.to_vec(),
        };
        let slot = &mut halves.entry(stem).or_default()[which];
        if slot.is_some() {
            return Err(LoraError::BadTensor {
                tensor: t.name.clone(),
                problem: "given twice".into(),
            });
        }
        *slot = Some(m);
    }
    let mut pairs = Vec::with_capacity(halves.len());
    for (target, [a, b]) in halves {
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (a, b),
            (Some(_), None) => return Err(half(target, "a", "b")),
            _ => return Err(half(target, "b", "a")),
        };
        check_pair(&target, &a, &b)?;
        pairs.push(LoraPair { target, a, b });
    }
    if pairs.is_empty() {
        return Err(LoraError::Empty);
    }
    Ok(LoraAdapter {
        naming: Naming::Gguf,
        architecture: Some(gguf.arch()?.to_string()),
        alpha,
        rslora: false,
        pairs,
        saved: Vec::new(),
        labels: None,
    })
}

fn half(target: String, have: &'static str, missing: &'static str) -> LoraError {
    LoraError::HalfPair { target, have, missing }
}

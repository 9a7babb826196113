//! Fitting a parsed adapter onto a loaded model: every check first (architecture, each target's
//! presence and shapes), then one upload of the adapter's tensors in their stored format. The
//! base weights are never touched; the active set is a scale per term (`set_active`).

use crate::gpu::GpuContext;
use crate::kernels::weights::Precision;
use crate::kernels::GpuWeight;
use crate::models::hf::tensor_name;
use crate::models::linear::{Linear, LowRank};
use crate::models::{Decoder, DecoderConfig, Family};
use crate::ops::RopeLayout;

use super::{LoraAdapter, LoraError, LoraMatrix, LoraPair, Naming};

/// One adapter of a request's active set, with its user scale (1 = as trained, 0 = off).
#[derive(Clone, Copy, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct AdapterSpec {
    pub id: u32,
    pub scale: f32,
}

/// Where PEFT's HF module path for the decoder projection `stem` lies: transformers' CausalLM
/// modules are `model.layers.N.*` and `lm_head`, whatever the base checkpoint's own prefix.
fn hf_module(family: Family, stem: &str) -> String {
    let name = tensor_name(family, "model.", &format!("{stem}.weight"));
    name.strip_suffix(".weight").unwrap_or(&name).to_string()
}

/// Checks `adapter` against `model` and uploads it as adapter `id` (inactive until
/// [`set_active`] names it). Returns the GPU bytes added: the adapter's tensor bytes, nothing
/// else. On any error the model is unchanged.
pub fn attach_decoder(ctx: &GpuContext, model: &mut Decoder, adapter: &LoraAdapter, id: u32) -> Result<u64, LoraError> {
    let family = model.cfg.family;
    if let Some(arch) = &adapter.architecture {
        if Family::from_gguf_arch(arch).ok() != Some(family) {
            return Err(LoraError::Architecture {
                adapter: arch.clone(),
                base: family.gguf_name().to_string(),
            });
        }
    }
    if let Some(s) = adapter.saved.first() {
        return Err(LoraError::Unsupported(format!(
            "modules_to_save ({}) on a decoder (only an encoder's classification head)",
            s.name
        )));
    }
    let tied = model.output.is_none();
    let model_cfg = model.cfg.clone();
    let mut linears = model.linears_mut();
    let stems: Vec<String> = linears.iter().map(|(s, _)| s.clone()).collect();
    // Target name in the adapter's naming -> index into `linears`.
    let index: std::collections::HashMap<String, usize> = linears
        .iter()
        .enumerate()
        .map(|(i, (stem, _))| {
            let key = match adapter.naming {
                Naming::Gguf => stem.clone(),
                Naming::Hf => hf_module(family, stem),
            };
            (key, i)
        })
        .collect();
    let mut plan = Vec::with_capacity(adapter.pairs.len());
    for p in &adapter.pairs {
        let Some(&i) = index.get(&p.target) else {
            let lm_head = matches!(p.target.as_str(), "output" | "lm_head");
            return Err(LoraError::MissingTarget {
                target: p.target.clone(),
                hint: if lm_head && tied {
                    " (its output projection is tied to the token embeddings)".into()
                } else {
                    String::new()
                },
            });
        };
        check_fit(p, linears[i].1, id)?;
        plan.push(i);
    }
    // Upload everything before attaching anything, so an upload error leaves no half adapter.
    let mut terms = Vec::with_capacity(plan.len());
    let mut bytes = 0;
    for (p, &i) in adapter.pairs.iter().zip(&plan) {
        let b = match rope_permutation(&model_cfg, adapter, &stems[i]) {
            Some((heads, inverse)) => permute_rows(&p.b, heads, inverse),
            None => p.b.clone(),
        };
        let term = low_rank(ctx, adapter, p, &b, id)?;
        bytes += term.a.size_bytes() + term.b.size_bytes();
        terms.push(term);
    }
    for (i, term) in plan.into_iter().zip(terms) {
        linears[i].1.lora.push(term);
    }
    Ok(bytes)
}

/// Checks that pair `p` fits the projection `lin` `[n, k]` and that adapter `id` has no term there.
pub(super) fn check_fit(p: &LoraPair, lin: &Linear, id: u32) -> Result<(), LoraError> {
    let w = &lin.w;
    if p.a.cols != w.k || p.b.rows != w.n {
        return Err(LoraError::ShapeMismatch {
            target: p.target.clone(),
            n: p.b.rows as u64,
            k: p.a.cols as u64,
            a: [p.a.rows as u64, p.a.cols as u64],
            b: [p.b.rows as u64, p.b.cols as u64],
            base_n: w.n as u64,
            base_k: w.k as u64,
        });
    }
    if lin.lora.iter().any(|t| t.adapter == id) {
        return Err(LoraError::BadTensor {
            tensor: p.target.clone(),
            problem: format!("adapter id {id} already has a term here (a target given twice?)"),
        });
    }
    Ok(())
}

/// Uploads pair `p` (with `b` in the base's row order) as adapter `id`'s inactive term.
pub(super) fn low_rank(
    ctx: &GpuContext,
    adapter: &LoraAdapter,
    p: &LoraPair,
    b: &LoraMatrix,
    id: u32,
) -> Result<LowRank, LoraError> {
    Ok(LowRank {
        adapter: id,
        file_scale: adapter.pair_scale(p.a.rows),
        scale: 0.0,
        a: upload(ctx, &format!("{}.lora_a", p.target), &p.a)?,
        b: upload(ctx, &format!("{}.lora_b", p.target), b)?,
    })
}

/// llama.cpp's converter permutes Llama's q and k rows (each head's halves interleaved, for
/// its RoPE: `LlamaModel.permute`), in the base GGUF and in a GGUF adapter's lora_b alike; an HF
/// checkpoint and a PEFT adapter keep them in order. A Llama decoder loaded from GGUF rotates
/// interleaved pairs (`RopeLayout::Normal`), from HF the halves (`Neox`). When the adapter's
/// naming and the base's layout disagree, B's rows are put into the base's order: `(heads,
/// inverse)` for q/k, `None` otherwise.
fn rope_permutation(cfg: &DecoderConfig, adapter: &LoraAdapter, stem: &str) -> Option<(usize, bool)> {
    if cfg.family != Family::Llama {
        return None;
    }
    let heads = match stem.rsplit('.').next() {
        Some("attn_q") => cfg.n_head,
        Some("attn_k") => cfg.n_kv_head,
        _ => return None,
    };
    match (adapter.naming, cfg.rope_layout) {
        (Naming::Hf, RopeLayout::Normal) => Some((heads, false)),
        (Naming::Gguf, RopeLayout::Neox) => Some((heads, true)),
        _ => None,
    }
}

/// B's rows (whole rows, any format) in llama.cpp's q/k order (`inverse`: back to HF's): within
/// each head of `d` rows, row `j * d/2 + i` moves to `2 i + j` (numpy's
/// `reshape(heads, 2, d/2, -1).swapaxes(1, 2)`).
fn permute_rows(m: &LoraMatrix, heads: usize, inverse: bool) -> LoraMatrix {
    let row_bytes = m.bytes.len() / m.rows.max(1);
    let d = m.rows / heads.max(1);
    let mut out = m.clone();
    for h in 0..heads {
        for j in 0..2 {
            for i in 0..d / 2 {
                let (hf, gguf) = (h * d + j * (d / 2) + i, h * d + 2 * i + j);
                let (from, to) = if inverse { (gguf, hf) } else { (hf, gguf) };
                out.bytes[to * row_bytes..(to + 1) * row_bytes]
                    .copy_from_slice(&m.bytes[from * row_bytes..(from + 1) * row_bytes]);
            }
        }
    }
    out
}

/// Uploads one adapter matrix, read exactly: a Q8_0 `lora_a` rounded to f16 by the tiled prefill
/// GEMM drifts past 1e-3 from the merged model's logits (`Precision::Exact`).
pub(super) fn upload(ctx: &GpuContext, name: &str, m: &LoraMatrix) -> Result<GpuWeight, LoraError> {
    let mut w = GpuWeight::upload(ctx, name, m.format, m.rows, m.cols, &m.bytes).map_err(|e| LoraError::BadTensor {
        tensor: name.to_string(),
        problem: e.to_string(),
    })?;
    w.precision = Precision::Exact;
    Ok(w)
}

/// Makes `active` the adapters that run, each at its scale (an empty list: the base model).
/// Returns whether any term's scale changed (a cached prefix computed under other adapters is
/// then stale). Unknown ids and non-finite scales are errors, checked before anything changes.
pub fn set_active(linears: Vec<(String, &mut Linear)>, active: &[AdapterSpec]) -> Result<bool, LoraError> {
    check_specs(active, |id| {
        linears.iter().any(|(_, l)| l.lora.iter().any(|t| t.adapter == id))
    })?;
    Ok(apply_scales(linears, active))
}

/// Every scale finite and every id one that `known` has.
pub(super) fn check_specs(active: &[AdapterSpec], known: impl Fn(u32) -> bool) -> Result<(), LoraError> {
    for spec in active {
        if !spec.scale.is_finite() {
            return Err(LoraError::BadScale(spec.scale));
        }
        if !known(spec.id) {
            return Err(LoraError::UnknownId(spec.id));
        }
    }
    Ok(())
}

/// Sets every term's scale from `active` (checked); returns whether any changed.
pub(super) fn apply_scales(linears: Vec<(String, &mut Linear)>, active: &[AdapterSpec]) -> bool {
    let mut changed = false;
    for (_, lin) in linears {
        for t in &mut lin.lora {
            // The same id listed twice adds its scales, as two copies of one adapter would.
            let user: f32 = active.iter().filter(|s| s.id == t.adapter).map(|s| s.scale).sum();
            let scale = t.file_scale * user;
            changed |= scale != t.scale;
            t.scale = scale;
        }
    }
    changed
}

/// Drops adapter `id`'s terms (their GPU buffers are freed with them). Returns whether it had any.
pub fn detach(linears: Vec<(String, &mut Linear)>, id: u32) -> bool {
    let mut found = false;
    for (_, lin) in linears {
        let before = lin.lora.len();
        lin.lora.retain(|t| t.adapter != id);
        found |= lin.lora.len() != before;
    }
    found
}

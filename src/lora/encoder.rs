//! Fitting a PEFT adapter onto an encoder (BERT, MiniLM, DistilBERT, MobileBERT): LoRA pairs on
//! its projections, matched by HF module path (`bert.encoder.layer.0.attention.self.query`), and
//! the task head PEFT saved with the adapter (`modules_to_save`: `classifier`, `qa_outputs`, and
//! the sequence head's pooler, `bert.pooler.dense` or DistilBERT's `pre_classifier`).
//!
//! Every check runs before anything is uploaded; the base weights are never touched. An
//! adapter's head runs while the adapter is active at a non-zero scale: PEFT's own
//! `modules_to_save` copies are switched with their adapter, not scaled, so scale 0 (or leaving
//! the adapter out) gives the base model bit for bit.

use std::collections::BTreeMap;

use crate::formats::quant::{dequantize, WeightFormat};
use crate::gpu::GpuContext;
use crate::kernels::GpuWeight;
use crate::models::encoder::heads::{AdapterHead, HeadKind};
use crate::models::encoder::Encoder;
use crate::models::linear::Linear;

use super::attach::{apply_scales, check_fit, check_specs, low_rank};
use super::{AdapterSpec, LoraAdapter, LoraError, Naming, SavedTensor};

/// Checks `adapter` against `enc` and uploads it as adapter `id` (inactive until
/// [`set_active_encoder`] names it). Returns the GPU bytes added. On any error the encoder is
/// unchanged.
pub fn attach_encoder(ctx: &GpuContext, enc: &mut Encoder, adapter: &LoraAdapter, id: u32) -> Result<u64, LoraError> {
    if adapter.naming == Naming::Gguf {
        return Err(LoraError::Unsupported(
            "a GGUF adapter on an encoder (webslm loads encoders from safetensors and matches \
             adapters by HF module path: give the PEFT folder)"
                .into(),
        ));
    }
    let head = plan_head(ctx, enc, adapter, id)?;
    let prefix = enc.prefix;
    let mut linears = enc.linears_mut();
    let index: BTreeMap<String, usize> = linears.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
    let mut plan = Vec::with_capacity(adapter.pairs.len());
    for p in &adapter.pairs {
        // An adapter trained on the bare encoder (`encoder.layer.0...`) fits its task model
        // (`bert.encoder.layer.0...`) and the reverse: the same weights under the base prefix.
        let i = index
            .get(&p.target)
            .or_else(|| index.get(&format!("{prefix}{}", p.target)))
            .or_else(|| p.target.strip_prefix(prefix).and_then(|t| index.get(t)))
            .copied()
            .ok_or_else(|| LoraError::MissingTarget {
                target: p.target.clone(),
                hint: String::new(),
            })?;
        check_fit(p, linears[i].1, id)?;
        plan.push(i);
    }
    let mut terms = Vec::with_capacity(plan.len());
    let mut bytes = head.as_ref().map_or(0, head_bytes);
    for p in &adapter.pairs {
        let term = low_rank(ctx, adapter, p, &p.b, id)?;
        bytes += term.a.size_bytes() + term.b.size_bytes();
        terms.push(term);
    }
    for (i, term) in plan.into_iter().zip(terms) {
        linears[i].1.lora.push(term);
    }
    if let Some(h) = head {
        enc.head.adapters.push(h);
    }
    Ok(bytes)
}

fn head_bytes(h: &AdapterHead) -> u64 {
    [&h.pooler, &h.out].into_iter().flatten().map(Linear::size_bytes).sum()
}

/// The adapter's saved head, checked against the base head and uploaded; `None` when it saved
/// none. Saved tensors of any other module are refused: webslm replaces only the task head.
fn plan_head(
    ctx: &GpuContext,
    enc: &Encoder,
    adapter: &LoraAdapter,
    id: u32,
) -> Result<Option<AdapterHead>, LoraError> {
    if adapter.saved.is_empty() {
        return Ok(None);
    }
    let hidden = enc.cfg.hidden;
    let kind = enc.head.kind;
    let (pooler_name, out_name) = (enc.head.pooler_name.clone(), enc.head.out_name);
    // module -> (weight, bias)
    let mut modules: BTreeMap<&str, [Option<&SavedTensor>; 2]> = BTreeMap::new();
    for t in &adapter.saved {
        let (module, which) = match (t.name.strip_suffix(".weight"), t.name.strip_suffix(".bias")) {
            (Some(m), _) => (m, 0),
            (_, Some(m)) => (m, 1),
            _ => return Err(not_head(&t.name, kind)),
        };
        if Some(module) != out_name && Some(module) != pooler_name.as_deref() {
            return Err(not_head(&t.name, kind));
        }
        modules.entry(module).or_default()[which] = Some(t);
    }
    let mut head = AdapterHead {
        adapter: id,
        pooler: None,
        out: None,
        labels: Vec::new(),
    };
    for (module, [w, b]) in modules {
        let is_out = Some(module) == out_name;
        let (Some(w), Some(b)) = (w, b) else {
            let missing = if w.is_none() { "weight" } else { "bias" };
            return Err(LoraError::BadTensor {
                tensor: module.to_string(),
                problem: format!("saved without its {missing} (the base layer has both)"),
            });
        };
        let rows = match (is_out, kind) {
            (true, HeadKind::QuestionAnswering) => 2,
            // A classifier may have another label count: its rows say how many.
            (true, _) => w.shape.first().map_or(0, |&r| r as usize).max(1),
            (false, _) => hidden,
        };
        let lin = saved_linear(ctx, module, w, b, (rows, hidden))?;
        if is_out {
            head.labels = head_labels(enc.head.base_labels(), adapter, kind, module, rows)?;
            head.out = Some(lin);
        } else {
            head.pooler = Some(lin);
        }
    }
    Ok(Some(head))
}

fn not_head(name: &str, kind: HeadKind) -> LoraError {
    let what = match kind {
        HeadKind::None => "this encoder has no task head".to_string(),
        _ => format!("webslm replaces only the {} head's layers", kind.task_name()),
    };
    LoraError::Unsupported(format!("modules_to_save tensor {name} ({what})"))
}

/// A saved layer as a [`Linear`] `[rows, cols]` with its bias, shapes checked.
fn saved_linear(
    ctx: &GpuContext,
    module: &str,
    w: &SavedTensor,
    b: &SavedTensor,
    (rows, cols): (usize, usize),
) -> Result<Linear, LoraError> {
    for (t, want) in [(w, vec![rows as u64, cols as u64]), (b, vec![rows as u64])] {
        if t.shape != want {
            return Err(LoraError::SavedShape {
                tensor: t.name.clone(),
                expected: want,
                got: t.shape.clone(),
            });
        }
        if !matches!(t.format, WeightFormat::F32 | WeightFormat::F16 | WeightFormat::BF16) {
            return Err(LoraError::Unsupported(format!(
                "{} stored as {}",
                t.name,
                t.format.name()
            )));
        }
    }
    let bad = |t: &SavedTensor, e: String| LoraError::BadTensor {
        tensor: t.name.clone(),
        problem: e,
    };
    let weight = GpuWeight::upload(ctx, &format!("{module}.weight"), w.format, rows, cols, &w.bytes)
        .map_err(|e| bad(w, e.to_string()))?;
    let mut bias = vec![0.0f32; rows];
    dequantize(b.format, &b.bytes, rows, &mut bias).map_err(|e| bad(b, e.to_string()))?;
    Ok(Linear {
        w: weight,
        b: Some(ctx.upload_f32(&bias, &[rows])?),
        lora: Vec::new(),
    })
}

/// The labels of an adapter's output layer of `rows` outputs: the adapter's own `id2label`
/// when it has one (it must name every output), else the base's when the counts agree.
fn head_labels(
    base: &[String],
    adapter: &LoraAdapter,
    kind: HeadKind,
    module: &str,
    rows: usize,
) -> Result<Vec<String>, LoraError> {
    if kind == HeadKind::QuestionAnswering {
        return Ok(Vec::new());
    }
    let err = |problem: String| LoraError::HeadLabels {
        head: module.to_string(),
        outputs: rows,
        problem,
    };
    match &adapter.labels {
        Some(l) if l.len() == rows => Ok(l.clone()),
        Some(l) => Err(err(format!(
            "but the adapter's config.json names {} labels in id2label",
            l.len()
        ))),
        None if base.len() == rows => Ok(base.to_vec()),
        None => Err(err(format!(
            "the base model has {} labels, and the adapter names none: put the fine-tuned task \
             model's config.json (its id2label with {rows} labels) in the adapter folder",
            base.len()
        ))),
    }
}

/// Makes `active` the adapters that run, each at its scale, and picks the head: the one active
/// adapter (at a non-zero scale) that brought one, else the base's. Unknown ids, non-finite
/// scales and two adapters with heads are errors, checked before anything changes.
pub fn set_active_encoder(enc: &mut Encoder, active: &[AdapterSpec]) -> Result<(), LoraError> {
    let heads: Vec<u32> = enc.head.adapters.iter().map(|h| h.adapter).collect();
    {
        let linears = enc.linears_mut();
        check_specs(active, |id| {
            heads.contains(&id) || linears.iter().any(|(_, l)| l.lora.iter().any(|t| t.adapter == id))
        })?;
    }
    let mut with_head = active
        .iter()
        .filter(|s| {
            heads.contains(&s.id) && active.iter().filter(|o| o.id == s.id).map(|o| o.scale).sum::<f32>() != 0.0
        })
        .map(|s| s.id);
    let head = with_head.next();
    if let Some(other) = with_head.find(|&o| Some(o) != head) {
        return Err(LoraError::TwoHeads(head.unwrap_or(other), other));
    }
    apply_scales(enc.linears_mut(), active);
    enc.head.active = head;
    Ok(())
}

/// Drops adapter `id`'s terms and head (their GPU buffers are freed with them). Returns whether
/// it had any.
pub fn detach_encoder(enc: &mut Encoder, id: u32) -> bool {
    let terms = super::detach(enc.linears_mut(), id);
    let before = enc.head.adapters.len();
    enc.head.adapters.retain(|h| h.adapter != id);
    if enc.head.active == Some(id) {
        enc.head.active = None;
    }
    terms || enc.head.adapters.len() != before
}

//! LoRA adapters: `y = W x + s * B (A x)` on a base model's projections, loaded next to the base
//! weights and switched per request (arXiv:2106.09685).
//!
//! Two file formats carry the same thing, a low-rank pair per adapted projection:
//! - llama.cpp's GGUF adapter (`gguf.rs`): `general.type = adapter`, `adapter.type = lora`,
//!   `adapter.lora.alpha`, tensors `<base tensor>.lora_a` (ggml dims `[k, r]`) and `.lora_b`
//!   (`[r, n]`), named as the base GGUF's (`blk.0.attn_q.weight.lora_a`).
//! - a PEFT folder (`peft.rs`): `adapter_config.json` (`r`, `lora_alpha`, `use_rslora`,
//!   `target_modules`, `modules_to_save`) and `adapter_model.safetensors`, tensors under HF module
//!   paths (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`, A `[r, k]`,
//!   B `[n, r]`).
//!
//! Both parse into a host-side [`LoraAdapter`] (tensor bytes kept in their stored format), which
//! `attach.rs` (decoders) and `encoder.rs` (encoders, with `modules_to_save` task heads) check
//! against a loaded model and upload once: switching the active set later only changes scales
//! ([`crate::models::linear::LowRank`]) and which head runs, never weights.

pub mod attach;
pub mod encoder;
pub mod error;
pub mod gguf;
pub mod peft;

pub use attach::{attach_decoder, detach, set_active, AdapterSpec};
pub use encoder::{attach_encoder, detach_encoder, set_active_encoder};
pub use error::LoraError;

use crate::formats::quant::WeightFormat;

/// One `[rows, cols]` matrix as stored in the file (row-major, `cols` contiguous).
#[derive(Clone, Debug)]
pub struct LoraMatrix {
    pub format: WeightFormat,
    pub rows: usize,
    pub cols: usize,
    pub bytes: Vec<u8>,
}

/// The low-rank pair of one adapted projection `[n, k]`: A `[r, k]`, B `[n, r]`.
#[derive(Clone, Debug)]
pub struct LoraPair {
    /// The projection's name in the file's own naming (see [`Naming`]).
    pub target: String,
    pub a: LoraMatrix,
    pub b: LoraMatrix,
}

/// Which names an adapter's targets use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    /// llama.cpp's tensor stems: `blk.0.attn_q`, `output`.
    Gguf,
    /// HF module paths below the task model: `model.layers.0.self_attn.q_proj`, `lm_head`.
    Hf,
}

/// A whole tensor that replaces the base model's (PEFT `modules_to_save`: a classifier head
/// trained with the adapter), under its HF name (`classifier.weight`).
#[derive(Clone, Debug)]
pub struct SavedTensor {
    pub name: String,
    pub format: WeightFormat,
    /// Row-major shape, outermost first.
    pub shape: Vec<u64>,
    pub bytes: Vec<u8>,
}

/// A parsed adapter, not yet on a device.
#[derive(Clone, Debug)]
pub struct LoraAdapter {
    pub naming: Naming,
    /// `general.architecture` of a GGUF adapter; PEFT folders do not record it (their base model
    /// is checked through the tensor names and shapes instead).
    pub architecture: Option<String>,
    /// `alpha` (0 in a GGUF adapter means "no alpha": scale 1, as llama.cpp reads it).
    pub alpha: f32,
    /// PEFT's `use_rslora`: the scale is `alpha / sqrt(r)` instead of `alpha / r`.
    pub rslora: bool,
    pub pairs: Vec<LoraPair>,
    pub saved: Vec<SavedTensor>,
    /// The label names of a saved classification head, by id: the `id2label` of a task model
    /// `config.json` in the PEFT folder (PEFT itself does not save labels). Required when the
    /// adapter's head has another number of outputs than the base model's.
    pub labels: Option<Vec<String>>,
}

impl LoraAdapter {
    /// The scale a pair of rank `r` gets at user scale 1: llama.cpp's `alpha / r` (1 with no
    /// alpha), PEFT's `alpha / r` or, with rsLoRA, `alpha / sqrt(r)`.
    pub fn pair_scale(&self, r: usize) -> f32 {
        let r = r as f32;
        match (self.alpha == 0.0 && self.naming == Naming::Gguf, self.rslora) {
            (true, _) => 1.0,
            (false, true) => self.alpha / r.sqrt(),
            (false, false) => self.alpha / r,
        }
    }

    /// Bytes of every tensor the adapter will upload.
    pub fn tensor_bytes(&self) -> u64 {
        let pairs: usize = self.pairs.iter().map(|p| p.a.bytes.len() + p.b.bytes.len()).sum();
        let saved: usize = self.saved.iter().map(|s| s.bytes.len()).sum();
        (pairs + saved) as u64
    }
}

/// Longest rank accepted: adapters are low-rank by definition, and a bound keeps a hostile header
/// from asking for huge temporaries.
pub const MAX_RANK: usize = 1024;

/// Checks that A `[r, k]` and B `[n, r]` agree on `r`, that `r` is in 1..=MAX_RANK, and that
/// each holds whole rows of its format (a Q8_0 row is whole 32-value blocks).
fn check_pair(target: &str, a: &LoraMatrix, b: &LoraMatrix) -> Result<(), LoraError> {
    for (m, which) in [(a, "a"), (b, "b")] {
        let whole = m.format.row_bytes(m.cols).ok().and_then(|r| r.checked_mul(m.rows)) == Some(m.bytes.len());
        if !whole {
            return Err(LoraError::BadTensor {
                tensor: format!("{target}.lora_{which}"),
                problem: format!(
                    "{} bytes are not {} x {} {} values",
                    m.bytes.len(),
                    m.rows,
                    m.cols,
                    m.format.name()
                ),
            });
        }
    }
    if a.rows != b.cols || a.rows == 0 || a.rows > MAX_RANK {
        return Err(LoraError::RankMismatch {
            target: target.to_string(),
            a: [a.rows as u64, a.cols as u64],
            b: [b.rows as u64, b.cols as u64],
        });
    }
    Ok(())
}

/// Reads an adapter from disk: a `.gguf` file, or a PEFT folder (`adapter_config.json` and
/// `adapter_model.safetensors`, and optionally the task model's `config.json` for the labels of
/// a classification head trained with the adapter).
#[cfg(not(target_arch = "wasm32"))]
pub fn read(path: &std::path::Path) -> Result<LoraAdapter, LoraError> {
    let io = |p: &std::path::Path, e: std::io::Error| LoraError::NotAnAdapter(format!("{}: {e}", p.display()));
    if path.is_dir() {
        let cfg_path = path.join("adapter_config.json");
        let st_path = path.join("adapter_model.safetensors");
        let cfg = std::fs::read(&cfg_path).map_err(|e| io(&cfg_path, e))?;
        let st = std::fs::read(&st_path).map_err(|e| io(&st_path, e))?;
        let mut adapter = peft::parse(&cfg, &st)?;
        let model_cfg = path.join("config.json");
        if model_cfg.is_file() {
            let json = std::fs::read(&model_cfg).map_err(|e| io(&model_cfg, e))?;
            adapter.labels = Some(peft::labels(&json)?);
        }
        Ok(adapter)
    } else {
        let bytes = std::fs::read(path).map_err(|e| io(path, e))?;
        gguf::parse(&bytes)
    }
}

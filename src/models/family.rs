//! Which decoder family a checkpoint is, and the block shape it uses. Each family's file
//! (`llama.rs`, `qwen2.rs`, `gemma.rs`, `gemma2.rs`, `gemma3.rs`, `phi2.rs`) says how it reads
//! its GGUF metadata and HF `config.json`, and which HF tensor names differ from the shared ones;
//! this file only dispatches to them.

use crate::formats::gguf::GgufFile;
use crate::formats::hf_config::ModelFamily;

use super::config::DecoderConfig;
use super::hf::HfExtra;
use super::{gemma, gemma2, gemma3, llama, phi2, qwen2, ModelError};

/// A decoder family webslm runs, named as llama.cpp's `general.architecture` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Llama,
    Qwen2,
    Gemma,
    Gemma2,
    Gemma3,
    Phi2,
}

/// How a block joins attention and the FFN to the residual stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `x = x + attn(norm(x)); x = x + ffn(norm(x))` (most families).
    Sequential,
    /// `x = x + attn(h) + ffn(h)` with `h = norm(x)`: one norm feeds both (Phi-2, GPT-J).
    Parallel,
}

impl Family {
    /// The family of a GGUF `general.architecture`.
    pub fn from_gguf_arch(arch: &str) -> Result<Family, ModelError> {
        Ok(match arch {
            "llama" => Family::Llama,
            "qwen2" => Family::Qwen2,
            "gemma" => Family::Gemma,
            "gemma2" => Family::Gemma2,
            "gemma3" => Family::Gemma3,
            "phi2" => Family::Phi2,
            other => return Err(ModelError::UnknownArchitecture(other.to_string())),
        })
    }

    /// The decoder family of an HF `model_type`.
    pub fn from_hf(family: ModelFamily) -> Result<Family, ModelError> {
        Ok(match family {
            ModelFamily::Llama => Family::Llama,
            ModelFamily::Qwen2 => Family::Qwen2,
            ModelFamily::Gemma => Family::Gemma,
            ModelFamily::Gemma2 => Family::Gemma2,
            ModelFamily::Gemma3 => Family::Gemma3,
            ModelFamily::Phi => Family::Phi2,
            other if other.is_encoder() => return Err(ModelError::NotADecoder(format!("{other:?}"))),
            other => return Err(ModelError::UnknownArchitecture(format!("{other:?}").to_lowercase())),
        })
    }

    /// llama.cpp's name of the family (`general.architecture`, the GGUF key prefix).
    pub fn gguf_name(self) -> &'static str {
        match self {
            Family::Llama => "llama",
            Family::Qwen2 => "qwen2",
            Family::Gemma => "gemma",
            Family::Gemma2 => "gemma2",
            Family::Gemma3 => "gemma3",
            Family::Phi2 => "phi2",
        }
    }

    /// The decoder configuration of a GGUF header of this family.
    pub fn config_from_gguf(self, gguf: &GgufFile) -> Result<DecoderConfig, ModelError> {
        match self {
            Family::Llama => llama::from_gguf(gguf),
            Family::Qwen2 => qwen2::from_gguf(gguf),
            Family::Gemma => gemma::from_gguf(gguf),
            Family::Gemma2 => gemma2::from_gguf(gguf),
            Family::Gemma3 => gemma3::from_gguf(gguf),
            Family::Phi2 => phi2::from_gguf(gguf),
        }
    }

    /// Turns this family's knobs on `c`, which holds what every HF config.json shares.
    pub(crate) fn apply_hf(self, c: &mut DecoderConfig, x: &HfExtra) {
        match self {
            Family::Llama => llama::from_hf(c, x),
            Family::Qwen2 => qwen2::from_hf(c, x),
            Family::Gemma => gemma::from_hf(c, x),
            Family::Gemma2 => gemma2::from_hf(c, x),
            Family::Gemma3 => gemma3::from_hf(c, x),
            Family::Phi2 => phi2::from_hf(c, x),
        }
    }

    /// The HF name of a tensor (by its llama.cpp `stem`: `output_norm`, or a layer's `attn_q`)
    /// where this family departs from the Llama names `hf.rs` uses.
    pub fn hf_name(self, stem: &str) -> Option<&'static str> {
        match self {
            Family::Llama | Family::Qwen2 | Family::Gemma => None,
            Family::Gemma2 => gemma2::hf_name(stem),
            Family::Gemma3 => gemma3::hf_name(stem),
            Family::Phi2 => phi2::hf_name(stem),
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.gguf_name())
    }
}

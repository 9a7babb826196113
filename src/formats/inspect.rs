//! `webslm inspect`: a model's architecture, hyper-parameters and tensors as one JSON value, for a
//! GGUF file or a safetensors model folder (`config.json` + `model.safetensors`, or a sharded
//! `model.safetensors.index.json`). Only headers are read, never the tensor data.
//!
//! Both formats report the same hyper-parameter names: GGUF's `{arch}.*` keys with the
//! architecture (and `attention.`) prefix dropped and dots turned into underscores
//! (`llama.attention.head_count_kv` -> `head_count_kv`, `llama.rope.freq_base` ->
//! `rope_freq_base`); HF `config.json` fields are mapped onto those names. Tensor shapes are
//! row-major (outermost dimension first, as PyTorch prints them) for both formats; GGUF stores
//! them innermost first.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::formats::gguf::{GgufError, GgufFile, MetaArray, MetaValue};
use crate::formats::hf_config::{HfConfig, HfConfigError};
use crate::formats::safetensors::{SafetensorsError, SafetensorsFile, ShardedSafetensors, TensorInfo as StTensor};

#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("{path}: {source}")]
    Gguf {
        path: PathBuf,
        #[source]
        source: GgufError,
    },
    #[error("{path}: {source}")]
    Safetensors {
        path: PathBuf,
        #[source]
        source: SafetensorsError,
    },
    #[error("{path}: {source}")]
    Config {
        path: PathBuf,
        #[source]
        source: HfConfigError,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a model: expected a .gguf file, a .safetensors file, or a folder with model.safetensors or model.safetensors.index.json")]
    NotAModel { path: PathBuf },
}

/// Metadata arrays up to this length are listed among the hyper-parameters (per-layer head
/// counts, say); longer ones (vocabularies) are not.
const MAX_LISTED_ARRAY: usize = 256;

/// Inspects `path`, a `.gguf` file, a `.safetensors` file or a safetensors model folder.
pub fn inspect(path: &Path) -> Result<Value, InspectError> {
    if path.is_dir() {
        return inspect_folder(path);
    }
    let io = |source| InspectError::Io {
        path: path.to_owned(),
        source,
    };
    // Decide by content, not by name: GGUF files start with the magic "GGUF".
    let mut magic = [0u8; 4];
    {
        use std::io::Read;
        let mut f = std::fs::File::open(path).map_err(io)?;
        // A shorter file keeps zeros here and goes to the GGUF reader, which reports it.
        f.read(&mut magic).map_err(io)?;
    }
    // Anything that is not a GGUF by its magic nor a .safetensors by its name gets the GGUF
    // reader's "bad magic" error, which names the bytes found.
    let is_safetensors = path.extension().is_some_and(|e| e == "safetensors");
    if &magic == b"GGUF" || !is_safetensors {
        let gguf = GgufFile::open(path).map_err(|source| InspectError::Gguf {
            path: path.to_owned(),
            source,
        })?;
        return Ok(inspect_gguf(&gguf));
    }
    let st = open_safetensors(path)?;
    Ok(safetensors_json(None, st.tensors().iter().collect(), false))
}

/// The JSON for a parsed GGUF header.
pub fn inspect_gguf(gguf: &GgufFile) -> Value {
    let arch = gguf.arch().ok();
    let mut hp = Map::new();
    if let Some(arch) = arch {
        let prefix = format!("{arch}.");
        for (key, value) in gguf.metadata() {
            let Some(rest) = key.strip_prefix(&prefix) else {
                continue;
            };
            let name = rest.strip_prefix("attention.").unwrap_or(rest).replace('.', "_");
            if let Some(v) = meta_json(value) {
                hp.insert(name, v);
            }
        }
        if !hp.contains_key("vocab_size") {
            if let Ok(tokens) = gguf.md_str_array("tokenizer.ggml.tokens") {
                hp.insert("vocab_size".into(), tokens.len().into());
            }
        }
    }
    let tensors: Vec<Value> = gguf
        .tensors()
        .iter()
        .map(|t| {
            let shape: Vec<u64> = t.dims.iter().rev().copied().collect();
            json!({"name": t.name, "type": t.format.name().to_uppercase(), "shape": shape, "bytes": t.n_bytes})
        })
        .collect();
    let total: u64 = gguf.tensors().iter().map(|t| t.n_bytes).sum();
    json!({
        "format": "gguf",
        "gguf_version": gguf.version(),
        "architecture": arch,
        "name": gguf.md_str("general.name").ok(),
        "hyperparameters": hp,
        "tensor_count": tensors.len(),
        "total_bytes": total,
        "chat_template": matches!(gguf.md_value("tokenizer.chat_template"), Some(MetaValue::Str(_))),
        "tensors": tensors,
    })
}

/// A scalar (or short numeric/bool array) metadata value as JSON; `None` for the rest.
fn meta_json(v: &MetaValue) -> Option<Value> {
    Some(match v {
        MetaValue::U8(x) => (*x).into(),
        MetaValue::I8(x) => (*x).into(),
        MetaValue::U16(x) => (*x).into(),
        MetaValue::I16(x) => (*x).into(),
        MetaValue::U32(x) => (*x).into(),
        MetaValue::I32(x) => (*x).into(),
        MetaValue::U64(x) => (*x).into(),
        MetaValue::I64(x) => (*x).into(),
        MetaValue::F32(x) => f32_json(*x),
        MetaValue::F64(x) => (*x).into(),
        MetaValue::Bool(x) => (*x).into(),
        MetaValue::Str(s) => s.as_str().into(),
        MetaValue::Array(a) if a.len() <= MAX_LISTED_ARRAY => match a {
            MetaArray::U32(v) => v.as_slice().into(),
            MetaArray::I32(v) => v.as_slice().into(),
            MetaArray::U64(v) => v.as_slice().into(),
            MetaArray::I64(v) => v.as_slice().into(),
            MetaArray::F32(v) => v.iter().map(|&x| f32_json(x)).collect::<Vec<_>>().into(),
            MetaArray::Bool(v) => v.as_slice().into(),
            _ => return None,
        },
        MetaValue::Array(_) => return None,
    })
}

/// An f32 as the shortest decimal that reads back as the same f32 (`1e-6`, not
/// `9.999999974752427e-7`); non-finite values become `null`, as JSON has no NaN.
fn f32_json(x: f32) -> Value {
    x.to_string().parse::<f64>().map_or(Value::Null, Value::from)
}

fn open_safetensors(path: &Path) -> Result<SafetensorsFile, InspectError> {
    SafetensorsFile::open(path).map_err(|source| InspectError::Safetensors {
        path: path.to_owned(),
        source,
    })
}

fn inspect_folder(dir: &Path) -> Result<Value, InspectError> {
    let config_path = dir.join("config.json");
    let config = match std::fs::read(&config_path) {
        Ok(bytes) => Some(HfConfig::parse(&bytes).map_err(|source| InspectError::Config {
            path: config_path.clone(),
            source,
        })?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(InspectError::Io {
                path: config_path,
                source,
            })
        }
    };
    let chat_template = std::fs::read(dir.join("tokenizer_config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .is_some_and(|v| v.get("chat_template").is_some_and(|t| !t.is_null()));

    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    if single.is_file() {
        let st = open_safetensors(&single)?;
        return Ok(safetensors_json(
            config.as_ref(),
            st.tensors().iter().collect(),
            chat_template,
        ));
    }
    if index.is_file() {
        let sharded = ShardedSafetensors::open_dir(dir).map_err(|source| InspectError::Safetensors {
            path: index.clone(),
            source,
        })?;
        let mut tensors = Vec::new();
        for name in sharded.index().weight_map.keys() {
            let (_, info) = sharded.tensor(name).map_err(|source| InspectError::Safetensors {
                path: index.clone(),
                source,
            })?;
            tensors.push(info);
        }
        return Ok(safetensors_json(config.as_ref(), tensors, chat_template));
    }
    Err(InspectError::NotAModel { path: dir.to_owned() })
}

fn safetensors_json(config: Option<&HfConfig>, tensors: Vec<&StTensor>, chat_template: bool) -> Value {
    let mut hp = Map::new();
    if let Some(c) = config {
        let mut put = |k: &str, v: Value| {
            if !v.is_null() {
                hp.insert(k.to_owned(), v);
            }
        };
        put("block_count", c.num_hidden_layers.into());
        put("embedding_length", c.hidden_size.into());
        put("head_count", c.num_attention_heads.into());
        put("head_count_kv", c.kv_heads().into());
        put("head_dim", c.head_dim().into());
        put("feed_forward_length", c.intermediate_size.into());
        put("context_length", c.max_position_embeddings.into());
        put("vocab_size", c.vocab_size.into());
        put("rope_freq_base", c.rope_theta.into());
        put("layer_norm_epsilon", c.layer_norm_eps.into());
        put("layer_norm_rms_epsilon", c.rms_norm_eps.into());
        put("hidden_act", c.hidden_act.clone().into());
        put("type_vocab_size", c.type_vocab_size.into());
        put("tie_word_embeddings", c.tie_word_embeddings.into());
    }
    let total: u64 = tensors.iter().map(|t| t.range.end - t.range.start).sum();
    let list: Vec<Value> = tensors
        .iter()
        .map(|t| json!({"name": t.name, "type": t.dtype.to_string(), "shape": t.shape, "bytes": t.range.end - t.range.start}))
        .collect();
    json!({
        "format": "safetensors",
        "architecture": config.map(|c| c.model_type.as_str()),
        "architectures": config.map(|c| c.architectures.clone()),
        "hyperparameters": hp,
        "tensor_count": list.len(),
        "total_bytes": total,
        "chat_template": chat_template,
        "tensors": list,
    })
}

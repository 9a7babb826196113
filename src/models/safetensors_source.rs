//! Reads tensors out of a safetensors file (on disk, or already in memory as in the browser),
//! one at a time, for upload. The encoder loader's counterpart of `source.rs` (GGUF).

use std::ops::Range;

use crate::formats::quant::dequantize;
use crate::formats::safetensors::{SafetensorsError, SafetensorsFile, TensorInfo};
use crate::gpu::GpuContext;
use crate::kernels::GpuWeight;

use super::tensor_source::TensorSource;
use super::ModelError;

enum Backing {
    #[cfg(not(target_arch = "wasm32"))]
    File(std::fs::File),
    Memory(Vec<u8>),
}

/// A parsed safetensors header plus a way to read each tensor's bytes.
pub struct SafetensorsSource {
    pub file: SafetensorsFile,
    backing: Backing,
}

impl SafetensorsSource {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &std::path::Path) -> Result<Self, ModelError> {
        let file = SafetensorsFile::open(path)?;
        let handle = std::fs::File::open(path).map_err(|source| ModelError::Io {
            name: path.display().to_string(),
            source,
        })?;
        Ok(SafetensorsSource {
            file,
            backing: Backing::File(handle),
        })
    }

    /// A whole safetensors file already in memory (a browser download).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, ModelError> {
        let file = SafetensorsFile::parse(&bytes, bytes.len() as u64)?;
        Ok(SafetensorsSource {
            file,
            backing: Backing::Memory(bytes),
        })
    }

    #[cfg_attr(target_arch = "wasm32", allow(unused_variables))]
    fn read(&mut self, name: &str, range: Range<u64>) -> Result<Vec<u8>, ModelError> {
        match &mut self.backing {
            #[cfg(not(target_arch = "wasm32"))]
            Backing::File(f) => {
                use std::io::{Read, Seek, SeekFrom};
                let io = |source| ModelError::Io {
                    name: name.to_string(),
                    source,
                };
                let len = usize::try_from(range.end - range.start)
                    .map_err(|_| ModelError::Config(format!("{name} is too large")))?;
                let mut buf = vec![0u8; len];
                f.seek(SeekFrom::Start(range.start)).map_err(io)?;
                f.read_exact(&mut buf).map_err(io)?;
                Ok(buf)
            }
            // The header parser checked every range against the file length.
            Backing::Memory(bytes) => Ok(bytes[range.start as usize..range.end as usize].to_vec()),
        }
    }

    /// A tensor's description and bytes, after checking its shape.
    fn checked(&mut self, name: &str, shape: &[usize]) -> Result<(TensorInfo, Vec<u8>), ModelError> {
        let info = self.file.tensor(name)?.clone();
        let expected: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
        if info.shape != expected {
            return Err(ModelError::BadShape {
                name: name.to_string(),
                expected,
                got: info.shape,
            });
        }
        let bytes = self.read(name, info.range.clone())?;
        Ok((info, bytes))
    }
}

impl TensorSource for SafetensorsSource {
    fn has(&self, name: &str) -> bool {
        self.file.tensor(name).is_ok()
    }

    fn shape(&self, name: &str) -> Option<Vec<u64>> {
        self.file.tensor(name).ok().map(|t| t.shape.clone())
    }

    fn matrix(&mut self, ctx: &GpuContext, name: &str, rows: usize, k: usize) -> Result<GpuWeight, ModelError> {
        let (info, bytes) = self.checked(name, &[rows, k])?;
        let format = info.weight_format()?;
        Ok(GpuWeight::upload(ctx, name, format, rows, k, &bytes)?)
    }

    fn vector_f32(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        let (info, bytes) = self.checked(name, &[len])?;
        let mut out = vec![0.0; len];
        dequantize(info.weight_format()?, &bytes, len, &mut out)
            .map_err(|e| ModelError::Config(format!("{name}: {e}")))?;
        Ok(out)
    }
}

impl From<SafetensorsError> for ModelError {
    fn from(e: SafetensorsError) -> Self {
        ModelError::Safetensors(Box::new(e))
    }
}

/// A checkpoint split over several safetensors files (`model.safetensors.index.json` says
/// which file holds each tensor): Phi-2 and Gemma 2B ship this way.
#[cfg(not(target_arch = "wasm32"))]
pub struct ShardedSource {
    weight_map: std::collections::BTreeMap<String, String>,
    shards: std::collections::HashMap<String, SafetensorsSource>,
}

#[cfg(not(target_arch = "wasm32"))]
impl ShardedSource {
    /// Opens the index in `dir` and every shard it names (headers only), checking that each
    /// tensor is where the index says.
    pub fn open_dir(dir: &std::path::Path) -> Result<Self, ModelError> {
        use crate::formats::safetensors::SafetensorsIndex;
        let path = dir.join("model.safetensors.index.json");
        let json = std::fs::read(&path).map_err(|source| ModelError::Io {
            name: path.display().to_string(),
            source,
        })?;
        let index = SafetensorsIndex::parse(&json)?;
        let mut shards = std::collections::HashMap::new();
        for name in index.shards() {
            shards.insert(name.to_string(), SafetensorsSource::open(&dir.join(name))?);
        }
        for (tensor, shard) in &index.weight_map {
            if !shards.get(shard).is_some_and(|s| s.has(tensor)) {
                return Err(SafetensorsError::TensorNotInShard {
                    tensor: tensor.clone(),
                    shard: shard.clone(),
                }
                .into());
            }
        }
        Ok(ShardedSource {
            weight_map: index.weight_map,
            shards,
        })
    }

    fn shard(&mut self, name: &str) -> Result<&mut SafetensorsSource, ModelError> {
        self.weight_map
            .get(name)
            .and_then(|s| self.shards.get_mut(s))
            .ok_or_else(|| SafetensorsError::NoSuchTensor { name: name.to_string() }.into())
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl TensorSource for ShardedSource {
    fn has(&self, name: &str) -> bool {
        self.weight_map.contains_key(name)
    }

    fn shape(&self, name: &str) -> Option<Vec<u64>> {
        self.shards.get(self.weight_map.get(name)?)?.shape(name)
    }

    fn matrix(&mut self, ctx: &GpuContext, name: &str, rows: usize, k: usize) -> Result<GpuWeight, ModelError> {
        self.shard(name)?.matrix(ctx, name, rows, k)
    }

    fn vector_f32(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        self.shard(name)?.vector_f32(name, len)
    }
}

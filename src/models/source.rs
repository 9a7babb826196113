//! Reads tensors out of a GGUF file, one at a time, for upload.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
#[cfg(not(target_arch = "wasm32"))]
use std::path::Path;

use crate::formats::gguf::{GgufFile, TensorInfo};
use crate::formats::quant::dequantize;
use crate::gpu::GpuContext;
use crate::kernels::GpuWeight;

use super::tensor_source::TensorSource;
use super::ModelError;

/// A GGUF file opened for reading tensor data.
pub struct GgufSource {
    pub gguf: GgufFile,
    file: File,
}

impl GgufSource {
    #[cfg(not(target_arch = "wasm32"))]
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let gguf = GgufFile::open(path)?;
        let file = File::open(path).map_err(|source| ModelError::Io {
            name: path.display().to_string(),
            source,
        })?;
        Ok(GgufSource { gguf, file })
    }

    fn info(&self, name: &str) -> Result<TensorInfo, ModelError> {
        Ok(self.gguf.tensor(name)?.clone())
    }

    /// The raw bytes of a tensor (its range was validated against the file when parsing).
    pub fn bytes(&mut self, name: &str) -> Result<(TensorInfo, Vec<u8>), ModelError> {
        let info = self.info(name)?;
        let io = |source| ModelError::Io {
            name: name.to_string(),
            source,
        };
        let len = usize::try_from(info.n_bytes).map_err(|_| ModelError::Config(format!("{name} is too large")))?;
        let mut buf = vec![0u8; len];
        self.file.seek(SeekFrom::Start(info.start)).map_err(io)?;
        self.file.read_exact(&mut buf).map_err(io)?;
        Ok((info, buf))
    }
}

impl TensorSource for GgufSource {
    fn has(&self, name: &str) -> bool {
        self.gguf.tensor(name).is_ok()
    }

    fn shape(&self, name: &str) -> Option<Vec<u64>> {
        let t = self.gguf.tensor(name).ok()?;
        Some(t.dims.iter().rev().copied().collect())
    }

    /// ggml dims are `[k, rows]`; the tensor is uploaded in its block format.
    fn matrix(&mut self, ctx: &GpuContext, name: &str, rows: usize, k: usize) -> Result<GpuWeight, ModelError> {
        let (info, bytes) = self.bytes(name)?;
        let expected = vec![k as u64, rows as u64];
        if info.dims != expected {
            return Err(ModelError::BadShape {
                name: name.to_string(),
                expected,
                got: info.dims,
            });
        }
        Ok(GpuWeight::upload(ctx, name, info.format, rows, k, &bytes)?)
    }

    /// Dequantised on the CPU.
    fn vector_f32(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError> {
        let (info, bytes) = self.bytes(name)?;
        if info.dims != [len as u64] {
            return Err(ModelError::BadShape {
                name: name.to_string(),
                expected: vec![len as u64],
                got: info.dims,
            });
        }
        let mut out = vec![0.0; len];
        dequantize(info.format, &bytes, len, &mut out).map_err(|e| ModelError::Config(format!("{name}: {e}")))?;
        Ok(out)
    }
}

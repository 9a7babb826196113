//! Weight matrices on the GPU, kept in their file's block format.
//!
//! A tensor larger than one storage binding may cover (Gemma 3's 262144 x 640 embedding table
//! against the common 128 MiB `maxStorageBufferBindingSize`) is split by rows into parts, each its
//! own buffer; kernels run once per part with that part's first row. Callers never see the split.

use crate::formats::quant::WeightFormat;
use crate::gpu::{GpuContext, GpuError};

use super::shaders::WeightVariant;

/// Rows `row0 .. row0 + rows` of a weight, in one buffer.
pub struct WeightPart {
    pub row0: usize,
    pub rows: usize,
    pub buffer: wgpu::Buffer,
}

/// A `[n, k]` weight (n rows of k values, like a Linear weight or an embedding table).
pub struct GpuWeight {
    pub format: WeightFormat,
    pub n: usize,
    pub k: usize,
    pub parts: Vec<WeightPart>,
    /// The decoder kernels use for it, fixed at upload from the device's capabilities.
    pub variant: WeightVariant,
    pub precision: Precision,
}

/// How faithfully kernels must read a weight's decoded values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    /// Kernels may round decoded weights to f16 where that is faster (the tiled GEMM's f16 tile,
    /// as llama.cpp's WebGPU backend does): a model's weights, whose scales are f16 already.
    F16Tile,
    /// Every decoded value in f32. A Q8_0 LoRA `lora_a` needs it: its block scale times a quant
    /// has more significant bits than f16 keeps, and the low-rank product amplifies the error.
    Exact,
}

impl GpuWeight {
    /// Uploads `bytes` (n rows in `format`, exactly as stored in GGUF/safetensors).
    pub fn upload(
        ctx: &GpuContext,
        name: &str,
        format: WeightFormat,
        n: usize,
        k: usize,
        bytes: &[u8],
    ) -> Result<Self, GpuError> {
        let row_bytes = format
            .row_bytes(k)
            .map_err(|e| GpuError::InvalidArgument(format!("{name}: {e}")))?;
        let expected = row_bytes
            .checked_mul(n)
            .ok_or_else(|| GpuError::InvalidArgument(format!("{name}: {n} x {k} overflows")))?;
        if bytes.len() != expected {
            return Err(GpuError::InvalidArgument(format!(
                "{name}: {} bytes given, a {n} x {k} {} tensor has {expected}",
                bytes.len(),
                format.name()
            )));
        }
        if n == 0 || k == 0 {
            return Err(GpuError::InvalidArgument(format!("{name}: empty tensor {n} x {k}")));
        }
        let limit = ctx.caps.weight_split_bytes;
        let rows_per_part = (limit as usize / row_bytes).min(n);
        if rows_per_part == 0 {
            return Err(GpuError::TooLarge {
                what: format!("one row of {name}"),
                needed: row_bytes as u64,
                limit,
            });
        }
        let mut parts = Vec::new();
        for row0 in (0..n).step_by(rows_per_part) {
            let rows = rows_per_part.min(n - row0);
            let slice = &bytes[row0 * row_bytes..(row0 + rows) * row_bytes];
            let label = format!("{name}[{row0}..{}]", row0 + rows);
            parts.push(WeightPart {
                row0,
                rows,
                buffer: ctx.upload_weight_bytes(&label, slice)?,
            });
        }
        let variant = WeightVariant {
            format,
            native_f16: format == WeightFormat::F16 && ctx.caps.shader_f16,
        };
        Ok(GpuWeight {
            format,
            n,
            k,
            parts,
            variant,
            precision: Precision::F16Tile,
        })
    }

    /// Bytes held on the GPU.
    pub fn size_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.buffer.size()).sum()
    }
}

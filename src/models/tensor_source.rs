//! Where a model's tensors come from: a GGUF file (llama.cpp names, ggml dimension order) or a
//! safetensors file (HF names, row-major shapes). Loaders ask for `[rows, k]` matrices and
//! vectors by name and never see which.

use crate::gpu::{GpuContext, GpuTensor};
use crate::kernels::GpuWeight;

use super::ModelError;

pub trait TensorSource {
    fn has(&self, name: &str) -> bool;

    /// A tensor's shape, outermost dimension first, or `None` when absent.
    fn shape(&self, name: &str) -> Option<Vec<u64>>;

    /// The first of `names` the source holds (checkpoints name the same tensor differently:
    /// LayerNorm `weight`/`gamma`).
    fn first_of<'n>(&self, names: &[&'n str]) -> Option<&'n str> {
        names.iter().copied().find(|n| self.has(n))
    }

    /// A `[rows, k]` weight (a Linear weight, out x in, or an embedding table), uploaded in its
    /// stored format after checking the shape.
    fn matrix(&mut self, ctx: &GpuContext, name: &str, rows: usize, k: usize) -> Result<GpuWeight, ModelError>;

    /// A 1-D tensor of `len` values as f32 (norm weights, biases).
    fn vector_f32(&mut self, name: &str, len: usize) -> Result<Vec<f32>, ModelError>;

    fn vector(&mut self, ctx: &GpuContext, name: &str, len: usize) -> Result<GpuTensor, ModelError> {
        let v = self.vector_f32(name, len)?;
        Ok(ctx.upload_f32(&v, &[len])?)
    }
}

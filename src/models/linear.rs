//! `y = x W^T (+ b)`, the projection every model is made of.

use crate::cpu::elementwise::Activation;
use crate::gpu::{Batch, GpuContext, GpuError, GpuTensor};
use crate::kernels::elementwise::{elementwise, Op};
use crate::kernels::matmul::matmul_new;
use crate::kernels::GpuWeight;

use super::tensor_source::TensorSource;
use super::ModelError;

pub struct Linear {
    pub w: GpuWeight,
    pub b: Option<GpuTensor>,
}

impl Linear {
    /// `{name}.weight` `[out, inp]`, and `{name}.bias` `[out]` when `bias` (a bias the model
    /// should have is required: silently running without it would give wrong outputs).
    pub fn load(
        ctx: &GpuContext,
        src: &mut dyn TensorSource,
        name: &str,
        dims: (usize, usize),
        bias: bool,
    ) -> Result<Linear, ModelError> {
        Self::load_mapped(ctx, src, name, dims, bias, &|n: &str| n.to_string())
    }

    /// As [`Linear::load`], the file's tensor names being `map("{name}.weight")` and
    /// `map("{name}.bias")` (a safetensors decoder maps llama.cpp names to HF ones).
    pub fn load_mapped(
        ctx: &GpuContext,
        src: &mut dyn TensorSource,
        name: &str,
        (out, inp): (usize, usize),
        bias: bool,
        map: &dyn Fn(&str) -> String,
    ) -> Result<Linear, ModelError> {
        Ok(Linear {
            w: src.matrix(ctx, &map(&format!("{name}.weight")), out, inp)?,
            b: if bias {
                Some(src.vector(ctx, &map(&format!("{name}.bias")), out)?)
            } else {
                None
            },
        })
    }

    pub fn forward(&self, batch: &mut Batch<'_>, x: &GpuTensor) -> Result<GpuTensor, GpuError> {
        let y = matmul_new(batch, x, &self.w)?;
        match &self.b {
            Some(b) => elementwise(batch, Op::AddRowBias, &y, Some(b)),
            None => Ok(y),
        }
    }

    /// `act(x W^T + b)`.
    pub fn forward_act(&self, batch: &mut Batch<'_>, x: &GpuTensor, act: Activation) -> Result<GpuTensor, GpuError> {
        let y = self.forward(batch, x)?;
        if act == Activation::Identity {
            return Ok(y);
        }
        elementwise(batch, Op::Unary(act), &y, None)
    }

    pub fn out_features(&self) -> usize {
        self.w.n
    }

    /// GPU memory held by the weight and bias.
    pub fn size_bytes(&self) -> u64 {
        self.w.size_bytes() + self.b.as_ref().map_or(0, GpuTensor::bytes)
    }
}

//! `y = x W^T (+ b)`, the projection every model is made of.

use crate::gpu::{Batch, GpuContext, GpuError, GpuTensor};
use crate::kernels::elementwise::{elementwise, Op};
use crate::kernels::matmul::{matmul_epilogue, matmul_new, matmul_new_epilogue, Epilogue};
use crate::kernels::GpuWeight;
use crate::ops::Activation;

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

    /// `residual + x W^T + b`. Without a bias the projection adds itself into `residual` in
    /// place (one dispatch instead of two: see `Epilogue`).
    pub fn forward_add(
        &self,
        batch: &mut Batch<'_>,
        x: &GpuTensor,
        residual: GpuTensor,
    ) -> Result<GpuTensor, GpuError> {
        match &self.b {
            None => {
                matmul_epilogue(batch, x, &self.w, &residual, Epilogue::Accumulate)?;
                Ok(residual)
            }
            Some(_) => {
                let y = self.forward(batch, x)?;
                elementwise(batch, Op::Add, &residual, Some(&y))
            }
        }
    }

    /// `act(gate) * (x W^T + b)`: a gated FFN's up projection, with the gating fused into the
    /// matmul when there is no bias.
    pub fn forward_gated(
        &self,
        batch: &mut Batch<'_>,
        x: &GpuTensor,
        gate: &GpuTensor,
        act: Activation,
    ) -> Result<GpuTensor, GpuError> {
        match &self.b {
            None => matmul_new_epilogue(batch, x, &self.w, Epilogue::Gate(act, gate)),
            Some(_) => {
                let up = self.forward(batch, x)?;
                elementwise(batch, Op::Glu(act), gate, Some(&up))
            }
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

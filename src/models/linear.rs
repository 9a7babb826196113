//! `y = x W^T (+ b) (+ s * (x A^T) B^T)`, the projection every model is made of, with the
//! low-rank terms of any LoRA adapters attached to it (`crate::lora`).

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
    /// One term per attached adapter; only those with a non-zero `scale` run.
    pub lora: Vec<LowRank>,
}

/// One adapter's `s * B (A x)` on a projection `[n, k]`: uploaded once, switched on and off by
/// `scale` alone (switching adapters per request uploads nothing).
pub struct LowRank {
    pub adapter: u32,
    pub a: GpuWeight, // [r, k]
    pub b: GpuWeight, // [n, r]
    /// The file's own scale at user scale 1 (`alpha / r`, or `alpha / sqrt(r)` with rsLoRA).
    pub file_scale: f32,
    /// `file_scale * the request's scale`; 0 when the adapter is not in the active set.
    pub scale: f32,
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
            lora: Vec::new(),
        })
    }

    /// Whether any low-rank term runs (the fused epilogues then give way to the plain path).
    fn has_active_lora(&self) -> bool {
        self.lora.iter().any(|t| t.scale != 0.0)
    }

    /// `y += s * (x A^T) B^T` for every active term: A x into an `[m, r]` temporary, then B
    /// times it accumulated into y at the term's scale by the matmul's `AccumulateScaled`
    /// epilogue. Two small dispatches per term (the scale rides in B's params, so a switch of
    /// adapters or scales changes no weight); the rank-r temporaries are tiny.
    fn add_lora(&self, batch: &mut Batch<'_>, x: &GpuTensor, y: &GpuTensor) -> Result<(), GpuError> {
        for t in self.lora.iter().filter(|t| t.scale != 0.0) {
            let ax = matmul_new(batch, x, &t.a)?;
            matmul_epilogue(batch, &ax, &t.b, y, Epilogue::AccumulateScaled(t.scale))?;
        }
        Ok(())
    }

    pub fn forward(&self, batch: &mut Batch<'_>, x: &GpuTensor) -> Result<GpuTensor, GpuError> {
        let y = matmul_new(batch, x, &self.w)?;
        let y = match &self.b {
            Some(b) => elementwise(batch, Op::AddRowBias, &y, Some(b))?,
            None => y,
        };
        self.add_lora(batch, x, &y)?;
        Ok(y)
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
                self.add_lora(batch, x, &residual)?;
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
            None if !self.has_active_lora() => matmul_new_epilogue(batch, x, &self.w, Epilogue::Gate(act, gate)),
            _ => {
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

    /// GPU memory held by the weight and bias (not the adapters': see [`Linear::lora_bytes`]).
    pub fn size_bytes(&self) -> u64 {
        self.w.size_bytes() + self.b.as_ref().map_or(0, GpuTensor::bytes)
    }

    /// GPU memory held by the attached adapters' low-rank terms.
    pub fn lora_bytes(&self) -> u64 {
        self.lora.iter().map(|t| t.a.size_bytes() + t.b.size_bytes()).sum()
    }
}

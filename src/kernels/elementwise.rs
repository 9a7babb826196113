//! Activations, gated units and binary ops, all through one elementwise pipeline.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};
use crate::ops::Activation;

use super::{dim_u32, expect_len, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    op: u32,
    dim: u32,
    s: f32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n, op, dim, s)
}

/// Op codes of `shaders/elementwise.wgsl`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    Unary(Activation),
    /// act(a) * b: SwiGLU (SiLU), GeGLU (GELU)
    Glu(Activation),
    Scale(f32),
    Add,
    Mul,
    /// a + b[i % dim]: a bias broadcast over rows.
    AddRowBias,
    /// cap * tanh(a / cap): Gemma 2's logit soft-cap.
    Softcap(f32),
}

impl Op {
    fn code(self) -> Result<(u32, f32), GpuError> {
        use Activation::*;
        Ok(match self {
            Op::Unary(GeluErf) => (0, 0.0),
            Op::Unary(GeluTanh) => (1, 0.0),
            Op::Unary(Silu) => (2, 0.0),
            Op::Unary(Identity) => (3, 1.0),
            Op::Scale(s) => (3, s),
            Op::Glu(GeluErf) => (4, 0.0),
            Op::Glu(GeluTanh) => (5, 0.0),
            Op::Glu(Silu) => (6, 0.0),
            Op::Glu(Identity) => (8, 0.0),
            Op::Unary(Relu) => (10, 0.0),
            Op::Unary(Tanh) => (11, 0.0),
            Op::Glu(act @ (Relu | Tanh)) => {
                return Err(GpuError::InvalidArgument(format!("no gated unit for {act:?}")));
            }
            Op::Add => (7, 0.0),
            Op::Mul => (8, 0.0),
            Op::AddRowBias => (9, 0.0),
            Op::Softcap(cap) => (12, cap),
        })
    }
}

/// y = op(a, b). `b` is needed by every op except `Unary` and `Scale`.
pub fn elementwise(batch: &mut Batch<'_>, op: Op, a: &GpuTensor, b: Option<&GpuTensor>) -> Result<GpuTensor, GpuError> {
    let n = a.numel();
    let (code, s) = op.code()?;
    let needs_b = !matches!(op, Op::Unary(_) | Op::Scale(_) | Op::Softcap(_));
    let b = match (needs_b, b) {
        (false, _) => a,
        (true, Some(b)) => b,
        (true, None) => return Err(GpuError::InvalidArgument(format!("{op:?} needs two inputs"))),
    };
    let dim = if op == Op::AddRowBias { b.numel() } else { n };
    if op == Op::AddRowBias {
        if dim == 0 || !n.is_multiple_of(dim) {
            return Err(GpuError::InvalidArgument(format!(
                "row bias of {dim} does not divide {:?}",
                a.shape
            )));
        }
    } else {
        expect_len("second operand", b, n)?;
    }
    let y = batch.ctx().tensor(&a.shape, DType::F32)?;
    let params = Params {
        n: dim_u32("n", n)?,
        op: code,
        dim: dim_u32("dim", dim)?,
        s,
    };
    run_plain(
        batch,
        "elementwise",
        shaders::ELEMENTWISE,
        bytemuck::bytes_of(&params),
        &[a.binding(), b.binding(), y.binding()],
        params.n,
    )?;
    // A row bias is a model weight (the other operands are activations).
    if op == Op::AddRowBias {
        batch.ctx().stats.read_weights(b.bytes());
    }
    Ok(y)
}

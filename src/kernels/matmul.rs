//! y = x W^T with W in its block format: GEMV for decode, register-blocked GEMM for prefill.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor, PipelineKey};

use super::{dim_u32, expect_len, shaders, workgroup_size, GpuWeight};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    m: u32,
    n: u32,
    k: u32,
    row0: u32,
    n_out: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    /// One activation row at a time; 4 outputs per invocation.
    Gemv,
    /// 4 x 4 output tiles per invocation.
    Gemm,
}

impl MatmulKernel {
    fn entry(self) -> &'static str {
        match self {
            MatmulKernel::Gemv => "gemv",
            MatmulKernel::Gemm => "gemm",
        }
    }
}

/// GEMM's 4x4 tile wastes work below 4 rows, and GEMV reloads each weight once per row above.
pub fn select_kernel(m: usize) -> MatmulKernel {
    if m < 4 {
        MatmulKernel::Gemv
    } else {
        MatmulKernel::Gemm
    }
}

/// Records y[m, n] = x[m, k] W[n, k]^T into `batch`.
pub fn matmul(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
) -> Result<(), GpuError> {
    matmul_with(batch, select_kernel(x.numel() / w.k.max(1)), x, w, y)
}

/// As [`matmul`], with the kernel chosen by the caller (tests and benchmarks compare both).
pub fn matmul_with(
    batch: &mut Batch<'_>,
    kernel: MatmulKernel,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
) -> Result<(), GpuError> {
    if x.dtype != DType::F32 || !x.numel().is_multiple_of(w.k) {
        return Err(GpuError::InvalidArgument(format!(
            "matmul: x {:?} is not [m, {}] f32",
            x.shape, w.k
        )));
    }
    let m = x.numel() / w.k;
    expect_len("matmul output", y, m * w.n)?;
    for part in &w.parts {
        let params = Params {
            m: dim_u32("m", m)?,
            n: dim_u32("n", part.rows)?,
            k: dim_u32("k", w.k)?,
            row0: dim_u32("row0", part.row0)?,
            n_out: dim_u32("n", w.n)?,
        };
        let invocations = match kernel {
            MatmulKernel::Gemv => m * part.rows.div_ceil(4),
            MatmulKernel::Gemm => m.div_ceil(4) * part.rows.div_ceil(4),
        };
        let invocations = dim_u32("matmul invocations", invocations)?;
        let wg = workgroup_size(invocations);
        let key = PipelineKey {
            kernel: kernel.entry(),
            variant: w.variant.name(),
            workgroup: wg,
        };
        let pipeline = batch.ctx().pipeline(key, kernel.entry(), || {
            shaders::with_weights(shaders::MATMUL, w.variant)
        })?;
        let buffers = [part.buffer.as_entire_binding(), x.binding(), y.binding()];
        batch.dispatch(
            &pipeline,
            bytemuck::bytes_of(&params),
            &buffers,
            invocations.div_ceil(wg),
        )?;
    }
    Ok(())
}

/// Allocates y and records the matmul.
pub fn matmul_new(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    w: &GpuWeight,
) -> Result<GpuTensor, GpuError> {
    let m = x.numel() / w.k.max(1);
    let y = batch.ctx().tensor(&[m, w.n], DType::F32)?;
    matmul(batch, x, w, &y)?;
    Ok(y)
}

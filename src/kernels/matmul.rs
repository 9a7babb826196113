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

/// Size of the `xu` uniform array in matmul.wgsl: WebGPU guarantees 64 KiB uniform bindings.
pub const UNIFORM_X_BYTES: u64 = 65536;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatmulKernel {
    /// One activation row at a time; 4 outputs per invocation.
    Gemv,
    /// Gemv reading x from a uniform copy (k % 4 == 0, m * k <= 16384).
    GemvUniformX,
    /// 4 x 4 output tiles per invocation.
    Gemm,
}

impl MatmulKernel {
    /// A name for reports and pipeline labels.
    pub fn name(self) -> &'static str {
        match self {
            MatmulKernel::Gemv => "gemv",
            MatmulKernel::GemvUniformX => "gemv_ux",
            MatmulKernel::Gemm => "gemm",
        }
    }

    /// The WGSL entry point.
    fn entry(self) -> &'static str {
        match self {
            MatmulKernel::Gemv => "gemv",
            MatmulKernel::GemvUniformX => "gemv",
            MatmulKernel::Gemm => "gemm",
        }
    }
}

/// GEMM's 4x4 tile wastes work below 4 rows, and GEMV reloads each weight once per row above.
/// The uniform copy of x pays off whenever it fits: every invocation reads the same x values.
pub fn select_kernel(m: usize, k: usize) -> MatmulKernel {
    if m >= 4 {
        MatmulKernel::Gemm
    } else if k.is_multiple_of(4) && (m * k * 4) as u64 <= UNIFORM_X_BYTES {
        MatmulKernel::GemvUniformX
    } else {
        MatmulKernel::Gemv
    }
}

/// Records y[m, n] = x[m, k] W[n, k]^T into `batch`.
pub fn matmul(batch: &mut Batch<'_>, x: &GpuTensor, w: &GpuWeight, y: &GpuTensor) -> Result<(), GpuError> {
    matmul_with(batch, select_kernel(x.numel() / w.k.max(1), w.k), x, w, y)
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
    expect_len("matmul output", y, super::product("matmul output", &[m, w.n])?)?;
    // gemv binds the uniform copy of x in both variants (the shader names it either way);
    // only GemvUniformX fills it.
    let uniform_x = match kernel {
        MatmulKernel::Gemm => None,
        MatmulKernel::Gemv => Some(batch.scratch_uniform(UNIFORM_X_BYTES).clone()),
        MatmulKernel::GemvUniformX => {
            if !w.k.is_multiple_of(4) || x.bytes() > UNIFORM_X_BYTES {
                return Err(GpuError::InvalidArgument(format!(
                    "the uniform-x GEMV needs k % 4 == 0 and m * k * 4 <= {UNIFORM_X_BYTES} bytes"
                )));
            }
            let ubuf = batch.scratch_uniform(UNIFORM_X_BYTES).clone();
            batch.copy(x.buffer(), &ubuf, x.bytes());
            Some(ubuf)
        }
    };
    // Whole 32-weight chunks whenever the row allows (every block format does).
    let chunks = w.k.is_multiple_of(32);
    let overrides = [
        ("UNIFORM_X", f64::from(u8::from(kernel == MatmulKernel::GemvUniformX))),
        ("CHUNKS", f64::from(u8::from(chunks))),
    ];
    let mut variant = w.variant.name();
    if kernel == MatmulKernel::GemvUniformX {
        variant.push_str("_ux");
    }
    if chunks {
        variant.push_str("_c32");
    }
    for part in &w.parts {
        let params = Params {
            m: dim_u32("m", m)?,
            n: dim_u32("n", part.rows)?,
            k: dim_u32("k", w.k)?,
            row0: dim_u32("row0", part.row0)?,
            n_out: dim_u32("n", w.n)?,
        };
        let invocations = match kernel {
            MatmulKernel::Gemv | MatmulKernel::GemvUniformX => m * part.rows.div_ceil(4),
            MatmulKernel::Gemm => m.div_ceil(4) * part.rows.div_ceil(4),
        };
        let invocations = dim_u32("matmul invocations", invocations)?;
        let wg = workgroup_size(invocations);
        let key = PipelineKey {
            kernel: kernel.entry(),
            variant: variant.clone(),
            workgroup: wg,
        };
        let source = || shaders::with_weights(shaders::MATMUL, w.variant);
        let pipeline = match kernel {
            MatmulKernel::Gemm => batch.ctx().pipeline(key, kernel.entry(), source)?,
            _ => batch.ctx().pipeline_with(key, kernel.entry(), &overrides, source)?,
        };
        let mut buffers = vec![part.buffer.as_entire_binding(), x.binding(), y.binding()];
        if let Some(u) = &uniform_x {
            buffers.push(u.as_entire_binding());
        }
        batch.dispatch(
            &pipeline,
            bytemuck::bytes_of(&params),
            &buffers,
            invocations.div_ceil(wg),
        )?;
        // Each weight byte is fetched once by the GEMVs; GEMM tiles fetch it m/4 times, but only
        // decoding (GEMV) is judged against the bandwidth bound.
        batch.ctx().stats.read_weights(part.buffer.size());
    }
    Ok(())
}

/// Allocates y and records the matmul.
pub fn matmul_new(batch: &mut Batch<'_>, x: &GpuTensor, w: &GpuWeight) -> Result<GpuTensor, GpuError> {
    let m = x.numel() / w.k.max(1);
    let y = batch.ctx().tensor(&[m, w.n], DType::F32)?;
    matmul(batch, x, w, &y)?;
    Ok(y)
}

//! y = x W^T with W in its block format: GEMV for decode, register-blocked GEMM for prefill, and
//! on the real-GPU path the workgroup-tiled GEMM of `gemm_gpu` for prefill.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor, KernelPath, PipelineKey, WeightDispatch};
use crate::ops::Activation;

use super::layout::OverrideSet;
use super::{dim_u32, expect_len, shaders, workgroup_size, GpuWeight};

/// The uniform of every matmul kernel (`Params` in matmul.wgsl and gemv_gpu.wgsl).
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(super) struct Params {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub row0: u32,
    pub n_out: u32,
    /// The `AccumulateScaled` epilogue's factor (1 for the others, which ignore it).
    pub scale: f32,
}

impl Params {
    /// The uniform of the dispatch over `part` of `w` for `m` activation rows.
    pub(super) fn for_part(
        m: usize,
        w: &GpuWeight,
        part: &super::weights::WeightPart,
        epilogue: &Epilogue<'_>,
    ) -> Result<Params, GpuError> {
        Ok(Params {
            m: dim_u32("m", m)?,
            n: dim_u32("n", part.rows)?,
            k: dim_u32("k", w.k)?,
            row0: dim_u32("row0", part.row0)?,
            n_out: dim_u32("n", w.n)?,
            scale: epilogue.scale(),
        })
    }
}

/// Bindings 1-3, 5 and 6 of every matmul-family dispatch over one weight part (matmul_io.wgsl):
/// the part, x, y, the gate, and x's vec4 view or a stand-in when x is not read as vec4s.
pub(super) fn part_bindings<'a>(
    part: &'a super::weights::WeightPart,
    x: &'a GpuTensor,
    y: &'a GpuTensor,
    gate: &'a GpuTensor,
    stand_in: Option<&'a GpuTensor>,
) -> [(u32, wgpu::BindingResource<'a>); 5] {
    [
        (1, part.buffer.as_entire_binding()),
        (2, x.binding()),
        (3, y.binding()),
        (5, gate.binding()),
        (6, stand_in.unwrap_or(x).binding()),
    ]
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; m, n, k, row0, n_out, scale)
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
    /// The GPU path's decode GEMV (m <= 4): workgroups split K (see `gemv_gpu`).
    GemvGpu,
    /// 32 x 32 output tiles per 64-lane workgroup, through workgroup memory (`gemm_gpu`).
    GemmTiled,
}

impl MatmulKernel {
    pub const ALL: [MatmulKernel; 5] = [
        MatmulKernel::Gemv,
        MatmulKernel::GemvUniformX,
        MatmulKernel::Gemm,
        MatmulKernel::GemvGpu,
        MatmulKernel::GemmTiled,
    ];

    /// A name for reports and pipeline labels.
    pub fn name(self) -> &'static str {
        match self {
            MatmulKernel::Gemv => "gemv",
            MatmulKernel::GemvUniformX => "gemv_ux",
            MatmulKernel::Gemm => "gemm",
            MatmulKernel::GemvGpu => "gemv_gpu",
            MatmulKernel::GemmTiled => "gemm_tiled",
        }
    }

    /// The WGSL entry point.
    pub fn entry(self) -> &'static str {
        match self {
            MatmulKernel::Gemv => "gemv",
            MatmulKernel::GemvUniformX => "gemv",
            MatmulKernel::Gemm => "gemm",
            MatmulKernel::GemvGpu => "gemv_gpu",
            MatmulKernel::GemmTiled => super::gemm_gpu::ENTRY,
        }
    }
}

/// What the matmul does with each result `v` before it lands in `y` (`EPILOGUE` in matmul.wgsl).
#[derive(Clone, Copy)]
pub enum Epilogue<'a> {
    /// y = v
    Store,
    /// y = y + v: a residual connection added in place.
    Accumulate,
    /// y = y + s * v: a LoRA term's B (A x) added into its projection's output at the adapter's
    /// scale, which changes per request and so rides in the params, not in the weights.
    AccumulateScaled(f32),
    /// y = act(gate) * v: the up projection of a gated FFN, with `gate` its gate projection.
    Gate(Activation, &'a GpuTensor),
}

impl Epilogue<'_> {
    pub(super) fn code(&self) -> Result<u32, GpuError> {
        Ok(match self {
            Epilogue::Store => 0,
            Epilogue::Accumulate => 1,
            Epilogue::AccumulateScaled(_) => 6,
            Epilogue::Gate(Activation::GeluErf, _) => 2,
            Epilogue::Gate(Activation::GeluTanh, _) => 3,
            Epilogue::Gate(Activation::Silu, _) => 4,
            Epilogue::Gate(Activation::Identity, _) => 5,
            Epilogue::Gate(act, _) => {
                return Err(GpuError::InvalidArgument(format!("no gated matmul for {act:?}")));
            }
        })
    }

    /// The factor `AccumulateScaled` applies (1 for every other epilogue).
    pub(super) fn scale(&self) -> f32 {
        match self {
            Epilogue::AccumulateScaled(s) => *s,
            _ => 1.0,
        }
    }
}

/// Every code [`Epilogue::code`] returns (`EPILOGUE` in matmul.wgsl).
pub const EPILOGUE_CODES: std::ops::RangeInclusive<u32> = 0..=6;

/// The `override` constants of one matmul pipeline besides `WG`. gemm reads neither x's uniform
/// copy nor whole chunks: only the epilogue and X_VEC4 apply (naming an override the entry point
/// does not use is a pipeline error).
pub fn overrides(kernel: MatmulKernel, epilogue: u32, chunks: bool, x_vec4: bool) -> OverrideSet {
    let mut o = Vec::with_capacity(4);
    if kernel != MatmulKernel::Gemm {
        o.push(("UNIFORM_X", f64::from(u8::from(kernel == MatmulKernel::GemvUniformX))));
        o.push(("CHUNKS", f64::from(u8::from(chunks))));
    }
    o.push(("EPILOGUE", f64::from(epilogue)));
    o.push(("X_VEC4", f64::from(u8::from(x_vec4))));
    o
}

/// Every override set [`matmul_full`] can pass for the WGSL entry point `entry` (for
/// tests/shaders_naga.rs, which validates each without a GPU).
pub fn override_sets(entry: &str) -> Vec<OverrideSet> {
    let mut sets = Vec::new();
    for kernel in MatmulKernel::ALL.into_iter().filter(|k| k.entry() == entry) {
        for epilogue in EPILOGUE_CODES {
            for chunks in [false, true] {
                for x_vec4 in [false, true] {
                    let set = overrides(kernel, epilogue, chunks, x_vec4);
                    if !sets.contains(&set) {
                        sets.push(set);
                    }
                }
            }
        }
    }
    sets
}

/// On the GPU path, decode-sized batches (up to 4 rows, what one GEMV lane holds in a vec4 per
/// weight row) take the cooperative GEMV.
/// On the software path, GEMM's 4x4 tile wastes work below 4 rows, and GEMV reloads each weight
/// once per row above. The uniform copy of x pays off whenever it fits: every invocation reads
/// the same x values.
pub fn select_kernel(path: KernelPath, m: usize, k: usize) -> MatmulKernel {
    if path == KernelPath::Gpu && m <= super::gemv_gpu::MAX_M {
        MatmulKernel::GemvGpu
    } else if m >= 4 {
        MatmulKernel::Gemm
    } else if k.is_multiple_of(4) && (m * k * 4) as u64 <= UNIFORM_X_BYTES {
        MatmulKernel::GemvUniformX
    } else {
        MatmulKernel::Gemv
    }
}

/// The kernel for an `m`-row product on this device: the GPU path tiles prefill in workgroup
/// memory (`gemm_gpu`); otherwise [`select_kernel`].
fn kernel_for(batch: &Batch<'_>, x: &GpuTensor, w: &GpuWeight) -> MatmulKernel {
    let m = x.numel() / w.k.max(1);
    if super::gemm_gpu::chosen(&batch.ctx().caps, w, m) {
        return MatmulKernel::GemmTiled;
    }
    select_kernel(batch.ctx().caps.kernels.path, m, w.k)
}

/// Records y[m, n] = x[m, k] W[n, k]^T into `batch`.
pub fn matmul(batch: &mut Batch<'_>, x: &GpuTensor, w: &GpuWeight, y: &GpuTensor) -> Result<(), GpuError> {
    matmul_epilogue(batch, x, w, y, Epilogue::Store)
}

/// As [`matmul`], finishing each result with `epilogue` (see [`Epilogue`]).
pub fn matmul_epilogue(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
    epilogue: Epilogue<'_>,
) -> Result<(), GpuError> {
    let kernel = kernel_for(batch, x, w);
    matmul_full(batch, kernel, x, w, y, epilogue)
}

/// As [`matmul`], with the kernel chosen by the caller (tests and benchmarks compare both).
pub fn matmul_with(
    batch: &mut Batch<'_>,
    kernel: MatmulKernel,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
) -> Result<(), GpuError> {
    matmul_full(batch, kernel, x, w, y, Epilogue::Store)
}

/// The kernel and the epilogue chosen by the caller.
pub fn matmul_full(
    batch: &mut Batch<'_>,
    kernel: MatmulKernel,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
    epilogue: Epilogue<'_>,
) -> Result<(), GpuError> {
    if x.dtype != DType::F32 || !x.numel().is_multiple_of(w.k) {
        return Err(GpuError::InvalidArgument(format!(
            "matmul: x {:?} is not [m, {}] f32",
            x.shape, w.k
        )));
    }
    let m = x.numel() / w.k;
    expect_len("matmul output", y, super::product("matmul output", &[m, w.n])?)?;
    // y is written while x (and the gate) are read: one buffer in both roles is a usage conflict.
    if std::ptr::eq(x, y) || matches!(epilogue, Epilogue::Gate(_, g) if std::ptr::eq(g, y)) {
        return Err(GpuError::InvalidArgument("matmul: y must not be x or the gate".into()));
    }
    let gate = match epilogue {
        Epilogue::Gate(_, g) => {
            expect_len("matmul gate", g, y.numel())?;
            g
        }
        _ => x,
    };
    if kernel == MatmulKernel::GemvGpu {
        return super::gemv_gpu::gemv_gpu(batch, x, w, y, gate, epilogue);
    }
    let epilogue_code = epilogue.code()?;
    if kernel == MatmulKernel::GemmTiled {
        return super::gemm_gpu::record(batch, x, w, y, gate, &epilogue);
    }
    // gemv binds the uniform copy of x in both variants (the shader names it either way);
    // only GemvUniformX fills it.
    let uniform_x = match kernel {
        MatmulKernel::Gemm | MatmulKernel::GemvGpu | MatmulKernel::GemmTiled => None,
        MatmulKernel::Gemv => Some(batch.scratch_uniform(UNIFORM_X_BYTES)),
        MatmulKernel::GemvUniformX => {
            if !w.k.is_multiple_of(4) || x.bytes() > UNIFORM_X_BYTES {
                return Err(GpuError::InvalidArgument(format!(
                    "the uniform-x GEMV needs k % 4 == 0 and m * k * 4 <= {UNIFORM_X_BYTES} bytes"
                )));
            }
            let ubuf = batch.scratch_uniform(UNIFORM_X_BYTES);
            batch.copy(x.buffer(), &ubuf, x.bytes());
            Some(ubuf)
        }
    };
    // Whole 32-weight chunks whenever the row allows (every block format does).
    let chunks = w.k.is_multiple_of(32);
    // Rows of x start on vec4s when k % 4 == 0 (every real model); then x is read as vec4s.
    let x_vec4 = w.k.is_multiple_of(4);
    // The K loop is the kernel's one data-dependent loop (the 4- and 8-trip loops inside are
    // unrolled): gemv walks k/32 chunks when it can, otherwise both kernels step 4 at a time.
    let k_trips = match kernel {
        MatmulKernel::Gemv | MatmulKernel::GemvUniformX if chunks => w.k / 32,
        _ => w.k.div_ceil(4),
    };
    super::loop_budget::check(
        kernel.name(),
        || format!("rows of {} weights", w.k),
        super::loop_budget::Loops::simple(k_trips as u64).run,
        batch.ctx().caps.loop_budget,
    )?;
    let stand_in = match x_vec4 {
        true => None,
        false => Some(batch.ctx().tensor(&[4], DType::F32)?),
    };
    let overrides = overrides(kernel, epilogue_code, chunks, x_vec4);
    let mut variant = format!("{}_e{epilogue_code}_v{}", w.variant.name(), u8::from(x_vec4));
    if kernel == MatmulKernel::GemvUniformX {
        variant.push_str("_ux");
    }
    if chunks {
        variant.push_str("_c32");
    }
    for part in &w.parts {
        let params = Params::for_part(m, w, part, &epilogue)?;
        let invocations = match kernel {
            MatmulKernel::Gemv | MatmulKernel::GemvUniformX => m * part.rows.div_ceil(4),
            MatmulKernel::Gemm | MatmulKernel::GemvGpu | MatmulKernel::GemmTiled => {
                m.div_ceil(4) * part.rows.div_ceil(4)
            }
        };
        let invocations = dim_u32("matmul invocations", invocations)?;
        let wg = workgroup_size(invocations);
        let key = PipelineKey {
            kernel: kernel.entry(),
            variant: variant.clone(),
            workgroup: wg,
        };
        let source = || shaders::with_weights(shaders::MATMUL, w.variant);
        let pipeline = batch.ctx().pipeline_with(key, kernel.entry(), &overrides, source)?;
        let mut buffers = part_bindings(part, x, y, gate, stand_in.as_ref()).to_vec();
        if let Some(u) = &uniform_x {
            buffers.push((4, u.as_entire_binding()));
        }
        batch.dispatch_at(
            &pipeline,
            bytemuck::bytes_of(&params),
            &buffers,
            invocations.div_ceil(wg),
        )?;
        // Each weight byte is fetched once by the GEMVs; GEMM tiles fetch it m/4 times, but only
        // decoding (GEMV) is judged against the bandwidth bound. Each trip of the K loop loads
        // the weights of all the invocation's rows, so the serial chain is the trip count.
        batch.ctx().stats.read_weights_by(WeightDispatch {
            bytes: part.buffer.size(),
            invocations: u64::from(invocations.div_ceil(wg) * wg),
            serial_loads: k_trips as u64,
        });
    }
    Ok(())
}

/// Allocates y and records the matmul.
pub fn matmul_new(batch: &mut Batch<'_>, x: &GpuTensor, w: &GpuWeight) -> Result<GpuTensor, GpuError> {
    matmul_new_epilogue(batch, x, w, Epilogue::Store)
}

/// Allocates y and records the matmul with `epilogue` (one that reads y, `Accumulate`, needs a
/// y that already holds values: use [`matmul_epilogue`]).
pub fn matmul_new_epilogue(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    w: &GpuWeight,
    epilogue: Epilogue<'_>,
) -> Result<GpuTensor, GpuError> {
    let m = x.numel() / w.k.max(1);
    let y = batch.ctx().tensor(&[m, w.n], DType::F32)?;
    matmul_epilogue(batch, x, w, &y, epilogue)?;
    Ok(y)
}

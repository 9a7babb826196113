//! Host side of every kernel family: argument checks, uniforms, `select_kernel`, dispatch.
//! Each function here records work into a [`Batch`]; nothing is submitted until the caller says.
//! The CPU twin of each kernel lives in `crate::cpu` under the same name; the op types both
//! share (activation, norm kind, pooling, RoPE layout, attention shapes) are in `crate::ops`.

pub mod attention;
pub mod attention_gpu;
pub mod attention_prefill_gpu;
pub mod elementwise;
pub mod embedding;
pub mod gemm_gpu;
pub mod gemv_gpu;
pub mod kv_append;
pub mod layout;
pub mod logprobs;
pub mod loop_budget;
pub mod mask;
pub mod matmul;
pub mod norm;
pub mod penalty;
pub mod pool;
pub mod rope;
pub mod rope_kv;
pub mod shaders;
pub mod softmax;
pub mod topk;
pub mod weights;

pub use weights::GpuWeight;

use crate::gpu::{Batch, GpuError, GpuTensor, PipelineKey};

/// Workgroup size for a kernel with `invocations` threads: 64 by default, smaller when that
/// would leave fewer than 8 workgroups (small layers must still spread over all cores).
pub fn workgroup_size(invocations: u32) -> u32 {
    let mut wg = 64;
    while wg > 16 && invocations.div_ceil(wg) < 8 {
        wg /= 2;
    }
    wg
}

/// Records a no-weights kernel: compiles (once) `source`, then dispatches `invocations` threads.
pub(crate) fn run_plain(
    batch: &mut Batch<'_>,
    kernel: &'static str,
    source: &'static str,
    params: &[u8],
    buffers: &[wgpu::BindingResource<'_>],
    invocations: u32,
) -> Result<(), GpuError> {
    let wg = workgroup_size(invocations);
    let key = PipelineKey {
        kernel,
        variant: String::new(),
        workgroup: wg,
    };
    let pipeline = batch.ctx().pipeline(key, kernel, || shaders::plain(source))?;
    batch.dispatch(&pipeline, params, buffers, invocations.div_ceil(wg))
}

/// Workgroup size of the one-workgroup-per-row kernels (a power of two, see `reduce.wgsl`).
pub const ROW_WG: u32 = 64;

/// The loops of a one-workgroup-per-row kernel: `passes` strided loops over a row of `dim`
/// values (every such loop in the shader, in a branch this call takes or not) and `reductions`
/// workgroup reductions (reduce.wgsl).
pub struct RowLoops {
    pub dim: usize,
    pub passes: u64,
    pub reductions: u64,
}

impl RowLoops {
    /// Loop iterations of the row's busiest invocation (the first thread, which gets the most
    /// strided elements).
    pub fn cost(&self) -> u64 {
        use loop_budget::{strided_trips, workgroup_reduce, Loops};
        let trips = strided_trips(self.dim as u64, u64::from(ROW_WG));
        let passes = Loops::simple(trips).times(self.passes);
        passes
            .then(workgroup_reduce(u64::from(ROW_WG)).times(self.reductions))
            .run
    }
}

/// Records a one-workgroup-per-row kernel (norm, softmax) over `rows` rows, after checking that
/// a row fits one invocation's loop budget.
pub(crate) fn run_rows(
    batch: &mut Batch<'_>,
    kernel: &'static str,
    source: &'static str,
    params: &[u8],
    buffers: &[wgpu::BindingResource<'_>],
    (rows, loops): (u32, RowLoops),
) -> Result<(), GpuError> {
    let what = || format!("a row of {} values", loops.dim);
    loop_budget::check(kernel, what, loops.cost(), batch.ctx().caps.loop_budget)?;
    let key = PipelineKey {
        kernel,
        variant: String::new(),
        workgroup: ROW_WG,
    };
    let pipeline = batch.ctx().pipeline(key, kernel, || shaders::rows(source))?;
    batch.dispatch(&pipeline, params, buffers, rows)
}

/// Checks that a tensor holds exactly `expected` elements.
pub(crate) fn expect_len(what: &str, t: &GpuTensor, expected: usize) -> Result<(), GpuError> {
    if t.numel() != expected {
        return Err(GpuError::InvalidArgument(format!(
            "{what} has {} elements (shape {:?}), expected {expected}",
            t.numel(),
            t.shape
        )));
    }
    Ok(())
}

/// The product of `dims`, or a typed error when it overflows.
pub(crate) fn product(what: &str, dims: &[usize]) -> Result<usize, GpuError> {
    crate::gpu::buffer::checked_numel(dims)
        .map_err(|_| GpuError::InvalidArgument(format!("{what}: {dims:?} overflows")))
}

/// u32 from a usize dimension, or a typed error (shapes come from model files).
pub(crate) fn dim_u32(what: &str, v: usize) -> Result<u32, GpuError> {
    u32::try_from(v).map_err(|_| GpuError::InvalidArgument(format!("{what} = {v} does not fit in 32 bits")))
}

//! Log-probabilities on the GPU: log-softmax of the full logits row at a few ids (the sampler's
//! candidates), plus the row's log-sum-exp, so `logprobs` never reads the vocabulary back.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};

use super::{dim_u32, run_rows, shaders, RowLoops};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    n_ids: u32,
    neg_inf: f32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n, n_ids, neg_inf)
}

/// `[n_ids + 1]` f32: `logits[ids[i]] - logsumexp(logits)` for each id (-inf for an id outside
/// the row, as top-k pads with `u32::MAX`), then the log-sum-exp itself. `logits` is one row.
pub fn logprobs(batch: &mut Batch<'_>, logits: &GpuTensor, ids: &GpuTensor) -> Result<GpuTensor, GpuError> {
    let n = logits.numel();
    if n == 0 || logits.dtype != DType::F32 || ids.dtype != DType::U32 {
        return Err(GpuError::InvalidArgument(format!(
            "logprobs takes a non-empty f32 row and u32 ids, got {:?} {:?} and {:?}",
            logits.shape, logits.dtype, ids.dtype
        )));
    }
    let out = batch.ctx().tensor(&[ids.numel() + 1], DType::F32)?;
    let params = Params {
        n: dim_u32("logits", n)?,
        n_ids: dim_u32("ids", ids.numel())?,
        neg_inf: f32::NEG_INFINITY,
    };
    run_rows(
        batch,
        "logprobs",
        shaders::LOGPROBS,
        bytemuck::bytes_of(&params),
        &[logits.binding(), ids.binding(), out.binding()],
        // logprobs.wgsl: max, sum-of-exp and id passes (ids never outnumber the row's values in
        // use: at most 64 candidates); a max and a sum reduction.
        (
            1,
            RowLoops {
                dim: n.max(ids.numel()),
                passes: 3,
                reductions: 2,
            },
        ),
    )?;
    Ok(out)
}

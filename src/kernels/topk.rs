//! Top-k and argmax over logits on the GPU, so only k (id, value) pairs are read back.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};

use super::loop_budget::{self, Loops};
use super::{dim_u32, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    chunk: u32,
    k: u32,
    has_idx: u32,
    neg_inf: f32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n, chunk, k, has_idx, neg_inf)
}

/// The kernel keeps each list in registers.
pub const MAX_K: usize = 64;

/// Candidates per invocation and pass. Each pass shrinks the list by CHUNK / k >= 4, and the
/// worst case (ascending input, every value shifts the whole list) stays near CHUNK * (k + 2)
/// loop iterations, well under lavapipe's 65535 per invocation.
const CHUNK: usize = 256;

/// Results of [`top_k`]: `k` ids and values, best first (ties: smaller id first). Slots past the
/// number of non-NaN inputs hold id `u32::MAX` and value `-inf`.
/// Loop iterations of one topk.wgsl invocation: a chunk of candidates, each shifted into the
/// list by a loop of up to k trips, then k outputs.
pub fn topk_loop_cost(k: u64) -> u64 {
    Loops::repeat(CHUNK as u64, Loops::simple(k)).then(Loops::simple(k)).run
}

pub struct TopK {
    pub ids: GpuTensor,
    pub values: GpuTensor,
}

/// The `k` largest values among all elements of `x`, reduced in passes of the same kernel:
/// the first reads logits (id = position), later ones merge the previous pass's winners.
pub fn top_k(batch: &mut Batch<'_>, x: &GpuTensor, k: usize) -> Result<TopK, GpuError> {
    if k == 0 || k > MAX_K {
        return Err(GpuError::InvalidArgument(format!(
            "top-k on the GPU takes k in 1..={MAX_K}, got {k}"
        )));
    }
    if x.numel() == 0 {
        return Err(GpuError::InvalidArgument("top-k of an empty tensor".into()));
    }
    let ctx = batch.ctx();
    loop_budget::check(
        "topk",
        || format!("k = {k}"),
        topk_loop_cost(k as u64),
        ctx.caps.loop_budget,
    )?;
    let mut input: Option<TopK> = None;
    let mut n = x.numel();
    loop {
        let chunks = n.div_ceil(CHUNK);
        let out = TopK {
            values: ctx.tensor(&[chunks * k], DType::F32)?,
            ids: ctx.tensor(&[chunks * k], DType::U32)?,
        };
        let params = Params {
            n: dim_u32("n", n)?,
            chunk: CHUNK as u32,
            k: k as u32,
            has_idx: u32::from(input.is_some()),
            neg_inf: f32::NEG_INFINITY,
        };
        let (vals, idx) = match &input {
            Some(prev) => (prev.values.binding(), prev.ids.binding()),
            None => (x.binding(), x.binding()),
        };
        let buffers = [vals, idx, out.values.binding(), out.ids.binding()];
        run_plain(
            batch,
            "topk",
            shaders::TOPK,
            bytemuck::bytes_of(&params),
            &buffers,
            dim_u32("chunks", chunks)?,
        )?;
        if chunks == 1 {
            return Ok(out);
        }
        n = chunks * k;
        input = Some(out);
    }
}

/// Greedy decoding's argmax: top-k with k = 1.
pub fn argmax(batch: &mut Batch<'_>, x: &GpuTensor) -> Result<TopK, GpuError> {
    top_k(batch, x, 1)
}

//! Attention over a KV cache: causal with GQA/MQA, sliding windows and soft-capping (decoders),
//! or bidirectional with a padding mask (encoders).

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor, KernelPath, PipelineKey};
use crate::ops::AttentionParams;

use super::loop_budget::{check, largest, Loops};
use super::{dim_u32, expect_len, product, shaders, workgroup_size};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    batch: u32,
    q_len: u32,
    kv_len: u32,
    kv_cap: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32,
    pos0: u32,
    causal: u32,
    window: u32,
    use_mask: u32,
    softcap: f32,
    scale: f32,
    chunk: u32,
    n_chunks: u32,
    heads_per_inv: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; batch, q_len, kv_len, kv_cap, n_head, n_kv_head, head_dim, pos0, causal, window, use_mask, softcap, scale, chunk, n_chunks, heads_per_inv)
}

/// Partial invocations to aim for: enough to spread one decoded token over a GPU.
const TARGET_INVOCATIONS: usize = 256;

/// Loop iterations of one `attention_partial` invocation serving `nh` heads of `d4` vec4s over
/// `keys` keys, loop by loop as in attention.wgsl (see `loop_budget` for the counting rule).
pub fn partial_cost(nh: u64, d4: u64, keys: u64) -> u64 {
    let per_head = Loops::simple(nh);
    let per_key = per_head // sc[j] = 0
        .then(Loops::repeat(d4, per_head)) // scores: each k vec4 against every head
        .then(Loops::repeat(nh, Loops::simple(d4))) // online softmax, rescaling each head's acc
        .then(Loops::repeat(d4, per_head)); // values: each v vec4 into every head
    let partial = Loops::simple(nh * d4) // acc = 0
        .then(per_head) // m, l init
        .then(Loops::repeat(keys, per_key))
        .then(Loops::repeat(nh, Loops::simple(d4))); // write the parts
    partial.run
}

/// Loop iterations of one `attention_combine` invocation (two passes over the chunks).
fn combine_cost(n_chunks: u64) -> u64 {
    Loops::simple(n_chunks).times(2).run
}

/// How `attention` splits its work: query heads per invocation and keys per chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AttentionPlan {
    pub heads_per_invocation: usize,
    /// Groups of `heads_per_invocation` query heads sharing a kv head.
    pub head_groups: usize,
    /// Invocation rows: (batch, query, kv head, head group).
    pub rows: usize,
    /// Keys per partial invocation, and chunks per row.
    pub chunk: usize,
    pub n_chunks: usize,
}

/// Splits the keys into chunks: small ones when few invocation rows exist (decode, so one token
/// spreads over the GPU), never more keys than one invocation's loop budget allows.
pub fn plan(p: &AttentionParams, loop_budget: u64) -> Result<AttentionPlan, GpuError> {
    let heads = heads_per_invocation(p);
    let head_groups = (p.n_head / p.n_kv_head.max(1)).div_ceil(heads);
    let rows = product("attention rows", &[p.batch, p.q_len, p.n_kv_head, head_groups])?;
    let (nh, d4) = (heads as u64, (p.head_dim / 4) as u64);
    let too_long = || format!("one key of {heads} heads of {} dims", p.head_dim);
    let max_chunk = largest(p.kv_len.max(1) as u64, |n| partial_cost(nh, d4, n) <= loop_budget).ok_or_else(|| {
        GpuError::LoopBudget {
            kernel: "attention_partial",
            what: too_long(),
            needed: partial_cost(nh, d4, 1),
            budget: loop_budget,
        }
    })? as usize;
    let want_chunks = TARGET_INVOCATIONS.div_ceil(rows.max(1));
    let chunk = p.kv_len.div_ceil(want_chunks).max(16).min(max_chunk);
    let n_chunks = p.kv_len.div_ceil(chunk).max(1);
    Ok(AttentionPlan {
        heads_per_invocation: heads,
        head_groups,
        rows,
        chunk,
        n_chunks,
    })
}

/// The kernel keeps its heads' outputs in registers: `array<vec4<f32>, 64>`.
pub const MAX_HEAD_DIM: usize = 256;
const MAX_D4: usize = MAX_HEAD_DIM / 4;
/// `MAX_HEADS` in attention.wgsl: the per-head softmax state arrays.
const MAX_HEADS: usize = 16;

/// Query heads one invocation serves, all reading the same kv head: as many of the group as
/// fit the output registers (GQA models read each key once per group instead of once per head;
/// head_dim 256 leaves room for one).
fn heads_per_invocation(p: &AttentionParams) -> usize {
    let group = p.n_head / p.n_kv_head.max(1);
    group.min(MAX_D4 / (p.head_dim / 4).max(1)).clamp(1, MAX_HEADS)
}

/// The attention kernel texts (software path, GPU path decode, GPU path prefill) for the KV
/// format of `k` and `v` (f32 or packed f16, both the same), with the pipeline variant name they
/// go by.
pub(crate) fn kv_reader(k: &GpuTensor, v: &GpuTensor) -> Result<([&'static str; 3], &'static str), GpuError> {
    match (k.dtype, v.dtype) {
        (DType::F32, DType::F32) => Ok((
            [
                shaders::ATTENTION,
                shaders::ATTENTION_GPU,
                shaders::ATTENTION_PREFILL_GPU,
            ],
            "",
        )),
        (DType::F16, DType::F16) => Ok((
            [
                shaders::ATTENTION_KV_F16,
                shaders::ATTENTION_GPU_KV_F16,
                shaders::ATTENTION_PREFILL_GPU_KV_F16,
            ],
            "kv_f16",
        )),
        (kd, vd) => Err(GpuError::InvalidArgument(format!(
            "attention: keys {kd:?} and values {vd:?} must both be f32 or both f16"
        ))),
    }
}

/// Which partial kernel runs: the software path's, or on the GPU path split-K flash decoding for
/// one query per sequence and tiled flash attention for a prefill.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Partial {
    Software,
    GpuDecode,
    GpuPrefill,
}

/// Bytes per cached key or value element.
pub(crate) fn kv_elem_bytes(dtype: DType) -> usize {
    match dtype {
        DType::F16 => 2,
        DType::F32 | DType::U32 => 4,
    }
}

/// out = softmax(scale * q k^T [masked]) v, with the layouts and masking rules of
/// `shaders/attention.wgsl` (the same `AttentionParams` drive the CPU twin).
pub fn attention(
    batch: &mut Batch<'_>,
    q: &GpuTensor,
    k: &GpuTensor,
    v: &GpuTensor,
    key_mask: Option<&GpuTensor>,
    p: &AttentionParams,
) -> Result<GpuTensor, GpuError> {
    if p.head_dim == 0 || !p.head_dim.is_multiple_of(4) || p.head_dim > MAX_HEAD_DIM {
        return Err(GpuError::InvalidArgument(format!(
            "attention: head_dim {} must be a multiple of 4 up to {MAX_HEAD_DIM}",
            p.head_dim
        )));
    }
    if p.n_kv_head == 0 || !p.n_head.is_multiple_of(p.n_kv_head) {
        return Err(GpuError::InvalidArgument(format!(
            "attention: {} heads do not share {} kv heads evenly",
            p.n_head, p.n_kv_head
        )));
    }
    if !p.cache_holds_visible_keys() {
        return Err(GpuError::InvalidArgument(format!(
            "attention: a cache of {} slots no longer holds position {} that these queries see ({} positions, window {})",
            p.kv_cap,
            p.oldest_visible(),
            p.kv_len,
            p.window
        )));
    }
    let rows = product("attention rows", &[p.batch, p.q_len, p.n_head])?;
    expect_len("q", q, product("q", &[rows, p.head_dim])?)?;
    let kv_elems = product("kv cache", &[p.batch, p.kv_cap, p.n_kv_head, p.head_dim])?;
    expect_len("k cache", k, kv_elems)?;
    expect_len("v cache", v, kv_elems)?;
    if let Some(m) = key_mask {
        expect_len("key mask", m, product("key mask", &[p.batch, p.kv_len])?)?;
    }
    let ([software_text, gpu_text, prefill_text], variant) = kv_reader(k, v)?;
    let kernel = match batch.ctx().caps.kernels.path {
        KernelPath::Software => Partial::Software,
        KernelPath::Gpu if p.q_len > 1 => Partial::GpuPrefill,
        KernelPath::Gpu => Partial::GpuDecode,
    };
    let budget = batch.ctx().caps.loop_budget;
    let AttentionPlan {
        heads_per_invocation: heads,
        head_groups,
        rows: inv_rows,
        chunk,
        n_chunks,
    } = match kernel {
        Partial::Software => plan(p, budget)?,
        Partial::GpuDecode => super::attention_gpu::plan(p, budget)?,
        Partial::GpuPrefill => super::attention_prefill_gpu::plan(p, budget)?,
    };
    check(
        "attention_combine",
        || format!("{} keys in {n_chunks} chunks of {chunk}", p.kv_len),
        combine_cost(n_chunks as u64),
        budget,
    )?;
    let params = Params {
        batch: dim_u32("batch", p.batch)?,
        q_len: dim_u32("q_len", p.q_len)?,
        kv_len: dim_u32("kv_len", p.kv_len)?,
        kv_cap: dim_u32("kv_cap", p.kv_cap)?,
        n_head: dim_u32("n_head", p.n_head)?,
        n_kv_head: dim_u32("n_kv_head", p.n_kv_head)?,
        head_dim: dim_u32("head_dim", p.head_dim)?,
        pos0: p.pos0,
        causal: u32::from(p.causal),
        window: p.window,
        use_mask: u32::from(key_mask.is_some()),
        softcap: p.softcap,
        scale: p.scale,
        chunk: dim_u32("chunk", chunk)?,
        n_chunks: dim_u32("chunks", n_chunks)?,
        heads_per_inv: dim_u32("heads", heads)?,
    };
    let ctx = batch.ctx();
    let out = ctx.tensor(&[p.batch, p.q_len, p.n_head, p.head_dim], DType::F32)?;
    let parts = product("attention chunks", &[rows, n_chunks])?;
    let part_acc = ctx.tensor(&[parts, p.head_dim], DType::F32)?;
    let part_ml = ctx.tensor(&[parts, 2], DType::F32)?;
    // Without a mask, q stands in for the unused binding.
    let mask = key_mask.map(|m| m.binding()).unwrap_or_else(|| q.binding());
    let params = bytemuck::bytes_of(&params);

    let buffers = [
        q.binding(),
        k.binding(),
        v.binding(),
        mask,
        part_acc.binding(),
        part_ml.binding(),
    ];
    let groups = product("attention chunks", &[inv_rows, n_chunks])?;
    let elem_bytes = kv_elem_bytes(k.dtype);
    let kv_bytes = match kernel {
        Partial::GpuPrefill => super::attention_prefill_gpu::kv_bytes_fetched(p, elem_bytes),
        _ => p.kv_bytes_fetched(p.n_kv_head * head_groups, elem_bytes),
    };
    match kernel {
        Partial::Software => {
            let partial = dim_u32("attention invocations", groups)?;
            let wg = workgroup_size(partial);
            let key = PipelineKey {
                kernel: "attention_partial",
                variant: variant.into(),
                workgroup: wg,
            };
            let pipeline = ctx.pipeline(key, "attention_partial", || shaders::plain(software_text))?;
            batch.dispatch(&pipeline, params, &buffers, partial.div_ceil(wg))?;
            // attention_partial's dynamically indexed private arrays: acc (MAX_D4 vec4s), the largest.
            batch.ctx().stats.private_array((MAX_D4 * 16) as u64);
        }
        Partial::GpuDecode | Partial::GpuPrefill => {
            // One workgroup per (row or row tile, chunk); its state is in workgroup memory,
            // scalars and constant-indexed registers.
            let pipeline = match kernel {
                Partial::GpuPrefill => {
                    super::attention_gpu::pipeline(ctx, "attention_prefill_gpu", prefill_text, variant)?
                }
                _ => super::attention_gpu::pipeline(ctx, "attention_gpu", gpu_text, variant)?,
            };
            batch.dispatch(&pipeline, params, &buffers, dim_u32("attention workgroups", groups)?)?;
            batch.ctx().stats.private_array(0);
        }
    }
    batch.ctx().stats.read_kv(kv_bytes);

    let combine = dim_u32("attention invocations", rows * p.head_dim / 4)?;
    let wg = workgroup_size(combine);
    let key = PipelineKey {
        kernel: "attention_combine",
        variant: String::new(),
        workgroup: wg,
    };
    let pipeline = ctx.pipeline(key, "attention_combine", || shaders::plain(shaders::ATTENTION))?;
    let buffers = [part_acc.binding(), part_ml.binding(), out.binding()];
    batch.dispatch_from(&pipeline, params, 5, &buffers, combine.div_ceil(wg))?;
    Ok(out)
}

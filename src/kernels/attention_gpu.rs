//! Decode attention for real GPUs (`KernelPath::Gpu`): split-K flash decoding, one 64-lane
//! workgroup per (query, kv head, group of its query heads, chunk of keys), lanes cooperating
//! over head_dim and the keys of a tile, all state in workgroup memory (see
//! `shaders/attention_gpu.wgsl`). It writes the same per-chunk parts as the software kernel, so
//! `attention_combine` merges both; `attention::attention` picks between them.

use std::sync::Arc;

use crate::gpu::{GpuContext, GpuError, Kernel, PipelineKey};
use crate::ops::AttentionParams;

use super::attention::AttentionPlan;
use super::loop_budget::{largest, Loops};
use super::{product, shaders};

/// Lanes per workgroup: enough to cover a head_dim-256 head's 64 vec4s, few enough for any
/// adapter (WebGPU guarantees 256).
pub const LANES: u32 = 64;
/// `MAX_ACC` in attention_gpu.wgsl: vec4s of query and output one workgroup holds.
const MAX_ACC: usize = 256;
const MAX_HEADS: usize = 16;
/// Keys per tile at most (here and in the prefill kernel).
pub(crate) const MAX_TILE: usize = 16;
/// Workgroups to aim for in a decode step or a prefill: a few per compute unit of a large GPU.
const TARGET_WORKGROUPS: usize = 256;
/// Fewest keys per workgroup: below this the combine pass costs more than the split saves.
const MIN_CHUNK: usize = 64;

/// Keys per tile for `d4` vec4s per head, as the shader computes it.
fn tile(d4: usize) -> usize {
    MAX_TILE.min(MAX_ACC / d4.max(1))
}

/// Loop iterations of one lane of `attention_gpu` with `nh` heads of `d4` vec4s over `keys`
/// keys, loop by loop as in attention_gpu.wgsl (see `loop_budget` for the counting rule; the
/// `lane < nh` branches are counted as taken).
pub fn gpu_cost(nh: u64, d4: u64, keys: u64) -> u64 {
    let lanes = u64::from(LANES);
    let tile = tile(d4 as usize) as u64;
    let strided = |n: u64| n.div_ceil(lanes);
    let per_tile = Loops::simple(strided(tile * d4)) // load the tile's keys
        .then(Loops::repeat(strided(nh * tile), Loops::simple(d4))) // scores
        .then(Loops::simple(tile).times(2)) // online softmax: max, then weights
        .then(Loops::repeat(strided(nh * d4), Loops::simple(tile))); // values
    Loops::simple(strided(nh * d4)) // q and acc init
        .then(Loops::repeat(keys.div_ceil(tile), per_tile))
        .then(Loops::simple(strided(nh * d4))) // write the parts
        .run
}

/// Query heads per workgroup: the whole group when its queries and outputs fit workgroup memory
/// (every GQA model shipped: SmolLM2 3 x 64, Qwen2.5 7 x 64, Gemma 3 4 x 256).
fn heads_per_workgroup(p: &AttentionParams) -> usize {
    let group = p.n_head / p.n_kv_head.max(1);
    group.min(MAX_ACC / (p.head_dim / 4).max(1)).clamp(1, MAX_HEADS)
}

/// Splits the keys into chunks so a decoded token spreads over about `TARGET_WORKGROUPS`
/// workgroups, each chunk a whole number of tiles and within one lane's loop budget.
pub fn plan(p: &AttentionParams, loop_budget: u64) -> Result<AttentionPlan, GpuError> {
    let heads = heads_per_workgroup(p);
    let head_groups = (p.n_head / p.n_kv_head.max(1)).div_ceil(heads);
    let rows = product("attention rows", &[p.batch, p.q_len, p.n_kv_head, head_groups])?;
    let d4 = p.head_dim / 4;
    let (nh, tile) = (heads as u64, tile(d4) as u64);
    let max_chunk =
        largest(p.kv_len.max(1) as u64, |n| gpu_cost(nh, d4 as u64, n) <= loop_budget).ok_or_else(|| {
            GpuError::LoopBudget {
                kernel: "attention_gpu",
                what: format!("one tile of {heads} heads of {} dims", p.head_dim),
                needed: gpu_cost(nh, d4 as u64, 1),
                budget: loop_budget,
            }
        })?;
    let chunk = chunk_size(p.kv_len, rows, tile, max_chunk);
    let n_chunks = p.kv_len.div_ceil(chunk).max(1);
    Ok(AttentionPlan {
        heads_per_invocation: heads,
        head_groups,
        rows,
        chunk,
        n_chunks,
    })
}

/// Keys per chunk when `rows` workgroups would cover `kv_len` keys unsplit: enough chunks to
/// reach about `TARGET_WORKGROUPS` workgroups, each a whole number of `tile`-key tiles, and at most
/// `max_chunk` (the loop budget's), rounded down to whole tiles when that allows one.
pub(crate) fn chunk_size(kv_len: usize, rows: usize, tile: u64, max_chunk: u64) -> usize {
    let want_chunks = TARGET_WORKGROUPS.div_ceil(rows.max(1));
    let chunk = (kv_len.div_ceil(want_chunks).max(MIN_CHUNK) as u64).next_multiple_of(tile);
    (match chunk.min(max_chunk) {
        c if c >= tile => c / tile * tile,
        c => c,
    }) as usize
}

/// The GPU-path attention pipeline `kernel` (`attention_gpu` or `attention_prefill_gpu`, its
/// entry point) from `text`, the module for the KV format (`shaders::ATTENTION_GPU...`).
pub fn pipeline(
    ctx: &GpuContext,
    kernel: &'static str,
    text: &'static str,
    variant: &str,
) -> Result<Arc<Kernel>, GpuError> {
    let key = PipelineKey {
        kernel,
        variant: variant.into(),
        workgroup: LANES,
    };
    ctx.pipeline(key, kernel, || shaders::plain(text))
}

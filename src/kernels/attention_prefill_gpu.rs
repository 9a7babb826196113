//! Prefill attention for real GPUs (`KernelPath::Gpu`, q_len > 1): tiled flash attention. The
//! (query, query head) rows of one kv head are cut into tiles of up to 32 rows; one 64-lane
//! workgroup runs a tile against one chunk of keys, staging the queries and each tile of keys and
//! values in workgroup memory, with an online softmax per row and lanes across head_dim holding
//! four rows' outputs in registers (see `shaders/attention_prefill_gpu.wgsl`). Each key is fetched
//! once per row tile, not once per query as in the decode kernel (`attention_gpu`). It writes the
//! same per-chunk parts, so `attention_combine` merges them; `attention::attention` picks it.

use crate::gpu::GpuError;
use crate::ops::AttentionParams;

use super::attention::AttentionPlan;
// Lanes per workgroup as the decode kernel (the shader's row and tile sizes assume 64:
// `rows * d4 <= 4 * LANES`), and its tile cap and chunking.
use super::attention_gpu::{chunk_size, LANES, MAX_TILE};
use super::loop_budget::{largest, Loops};
use super::product;

/// The shader's constants: accumulator rows per lane, lane groups across rows, vec4s per
/// workgroup array.
const ROWS_PER_LANE: usize = 4;
const MAX_GROUPS: usize = 8;
const MAX_VEC4: usize = 256;

/// Rows (query, head pairs) per workgroup and keys per tile for `d4` vec4s per head, as the
/// shader computes them.
pub fn tile_shape(d4: usize) -> (usize, usize) {
    let d4 = d4.max(1);
    let groups = MAX_GROUPS.min(LANES as usize / d4).max(1);
    (ROWS_PER_LANE * groups, MAX_TILE.min(MAX_VEC4 / d4))
}

/// Loop iterations of one lane of `attention_prefill_gpu` with `d4` vec4s per head over `keys`
/// keys, loop by loop as in the shader (see `loop_budget` for the counting rule; the `lane < rows`
/// and `g < groups` branches are counted as taken).
pub fn prefill_cost(d4: u64, keys: u64) -> u64 {
    let lanes = u64::from(LANES);
    let (rows, tile) = tile_shape(d4 as usize);
    let (rows, tile) = (rows as u64, tile as u64);
    let strided = |n: u64| n.div_ceil(lanes);
    let per_tile = Loops::simple(strided(tile * d4)) // load the tile's keys and values
        .then(Loops::repeat(strided(rows * tile), Loops::simple(d4))) // scores
        .then(Loops::simple(tile).times(2)) // online softmax: max, then weights
        .then(Loops::simple(tile)); // values
    Loops::simple(strided(rows * d4)) // the query tile
        .then(Loops::repeat(keys.div_ceil(tile), per_tile))
        .run
}

/// Row tiles per (batch, kv head).
fn row_tiles(p: &AttentionParams, rows: usize) -> usize {
    let group = p.n_head / p.n_kv_head.max(1);
    (p.q_len * group).div_ceil(rows.max(1))
}

/// Splits the keys into chunks so the prefill spreads over about `TARGET_WORKGROUPS`
/// workgroups, each chunk a whole number of tiles and within one lane's loop budget.
/// `AttentionPlan::rows` counts (batch, kv head, row tile) workgroup rows here.
pub fn plan(p: &AttentionParams, loop_budget: u64) -> Result<AttentionPlan, GpuError> {
    let d4 = p.head_dim / 4;
    let (rows, tile) = tile_shape(d4);
    let group = p.n_head / p.n_kv_head.max(1);
    let wg_rows = product("attention row tiles", &[p.batch, p.n_kv_head, row_tiles(p, rows)])?;
    let max_chunk =
        largest(p.kv_len.max(1) as u64, |n| prefill_cost(d4 as u64, n) <= loop_budget).ok_or_else(|| {
            GpuError::LoopBudget {
                kernel: "attention_prefill_gpu",
                what: format!("one tile of {tile} keys for {rows} rows of {} dims", p.head_dim),
                needed: prefill_cost(d4 as u64, 1),
                budget: loop_budget,
            }
        })?;
    let chunk = chunk_size(p.kv_len, wg_rows, tile as u64, max_chunk);
    let n_chunks = p.kv_len.div_ceil(chunk).max(1);
    Ok(AttentionPlan {
        // A tile holds whole groups of query heads or parts of them; the kernel reads the group
        // from n_head / n_kv_head, and this field only goes to the uniform.
        heads_per_invocation: group,
        head_groups: 1,
        rows: wg_rows,
        chunk,
        n_chunks,
    })
}

/// Bytes of keys and values the prefill kernel fetches (for `webslm bench`): each workgroup
/// reads the keys some row of its tile sees, once for the whole tile.
pub fn kv_bytes_fetched(p: &AttentionParams, elem_bytes: usize) -> u64 {
    let (rows, _) = tile_shape(p.head_dim / 4);
    let group = p.n_head / p.n_kv_head.max(1);
    let all_rows = p.q_len * group;
    let keys: usize = (0..row_tiles(p, rows))
        .map(|rt| {
            let r0 = rt * rows;
            let (first, last) = (r0 / group, (r0 + rows).min(all_rows).saturating_sub(1) / group);
            let tile = AttentionParams {
                pos0: p.pos0 + first as u32,
                q_len: last - first + 1,
                ..*p
            };
            // The tile's key range: the union of its queries' (each query's is nested in the next's
            // when causal, so that is from the first query's start to the last query's end).
            let (lo, hi) = match p.causal {
                false => (0, p.kv_len),
                true => (tile.oldest_visible(), p.kv_len.min(tile.pos0 as usize + tile.q_len)),
            };
            hi.saturating_sub(lo)
        })
        .sum();
    (keys * p.batch * p.n_kv_head * p.head_dim * elem_bytes * 2) as u64
}

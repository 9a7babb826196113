//! Appending new keys and values to an f16 KV cache (f32 rows in, packed f16 pairs out, at ring
//! slots). An f32 cache needs no kernel: `KvCache::write` copies its rows.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};

use super::{dim_u32, expect_len, product, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n: u32,
    half_row: u32,
    cap: u32,
    pos0: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n, half_row, cap, pos0)
}

/// Writes `n` rows of `k` and `v` (`[n, row]` f32) into the f16 caches `kc`, `vc`
/// (`[cap, row]` f16) at positions `pos0..pos0 + n`, slot `position % cap`.
#[allow(clippy::too_many_arguments)]
pub fn kv_append(
    batch: &mut Batch<'_>,
    k: &GpuTensor,
    v: &GpuTensor,
    kc: &GpuTensor,
    vc: &GpuTensor,
    row: usize,
    cap: usize,
    pos0: usize,
) -> Result<(), GpuError> {
    if row == 0 || !row.is_multiple_of(2) || cap == 0 {
        return Err(GpuError::InvalidArgument(format!(
            "kv_append: rows of {row} values into {cap} slots (rows must be even and non-empty)"
        )));
    }
    if kc.dtype != DType::F16 || vc.dtype != DType::F16 || k.dtype != DType::F32 || v.dtype != DType::F32 {
        return Err(GpuError::InvalidArgument(format!(
            "kv_append: f32 rows into f16 caches, got {:?}/{:?} into {:?}/{:?}",
            k.dtype, v.dtype, kc.dtype, vc.dtype
        )));
    }
    let n = k.numel() / row;
    if n > cap {
        return Err(GpuError::InvalidArgument(format!(
            "kv_append: {n} new rows would overwrite each other in {cap} slots"
        )));
    }
    expect_len("new keys", k, product("new keys", &[n, row])?)?;
    expect_len("new values", v, n * row)?;
    expect_len("key cache", kc, product("kv cache", &[cap, row])?)?;
    expect_len("value cache", vc, cap * row)?;
    let params = Params {
        n: dim_u32("rows", n)?,
        half_row: dim_u32("row", row / 2)?,
        cap: dim_u32("cap", cap)?,
        // Positions wrap at cap, so the slot arithmetic stays in u32 for any position.
        pos0: dim_u32("slot", pos0 % cap)?,
    };
    let invocations = dim_u32("kv_append invocations", n * row / 2)?;
    run_plain(
        batch,
        "kv_append",
        shaders::KV_APPEND,
        bytemuck::bytes_of(&params),
        &[k.binding(), v.binding(), kc.binding(), vc.binding()],
        invocations,
    )
}

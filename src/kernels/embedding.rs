//! Row gather from an embedding table in its block format.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor, PipelineKey};

use super::{dim_u32, shaders, workgroup_size, GpuWeight};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    n_ids: u32,
    k: u32,
    row0: u32,
    rows: u32,
    total_rows: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; n_ids, k, row0, rows, total_rows)
}

/// out[t] = table[ids[t]] for a u32 `ids` tensor; returns `[ids, k]`. Ids past the table give
/// zero rows (ids that come from the CPU are checked against the vocabulary before upload).
pub fn embedding(batch: &mut Batch<'_>, table: &GpuWeight, ids: &GpuTensor) -> Result<GpuTensor, GpuError> {
    if ids.dtype != DType::U32 {
        return Err(GpuError::InvalidArgument("embedding ids must be u32".into()));
    }
    let n_ids = ids.numel();
    let out = batch.ctx().tensor(&[n_ids, table.k], DType::F32)?;
    let invocations = dim_u32("embedding invocations", n_ids * table.k.div_ceil(4))?;
    let wg = workgroup_size(invocations);
    let key = PipelineKey {
        kernel: "embedding",
        variant: table.variant.name(),
        workgroup: wg,
    };
    let pipeline = batch.ctx().pipeline(key, "embedding", || {
        shaders::with_weights(shaders::EMBEDDING, table.variant)
    })?;
    for part in &table.parts {
        let params = Params {
            n_ids: dim_u32("ids", n_ids)?,
            k: dim_u32("k", table.k)?,
            row0: dim_u32("row0", part.row0)?,
            rows: dim_u32("rows", part.rows)?,
            total_rows: dim_u32("rows", table.n)?,
        };
        let buffers = [part.buffer.as_entire_binding(), ids.binding(), out.binding()];
        batch.dispatch(
            &pipeline,
            bytemuck::bytes_of(&params),
            &buffers,
            invocations.div_ceil(wg),
        )?;
    }
    // Each id's row, whichever part holds it.
    let row_bytes = table.size_bytes() / table.n.max(1) as u64;
    batch.ctx().stats.read_weights(n_ids as u64 * row_bytes);
    Ok(out)
}

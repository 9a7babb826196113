//! Rotary position embedding, in place.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};
use crate::ops::RopeLayout;

use super::{dim_u32, expect_len, run_plain, shaders};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    seq: u32,
    heads: u32,
    head_dim: u32,
    rot_dims: u32,
    pos0: u32,
    neox: u32,
    heads2: u32,
    _pad: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; seq, heads, head_dim, rot_dims, pos0, neox, heads2, _pad)
}

/// Rotates x = [seq, heads, head_dim] in place; token s is at position pos0 + s.
/// `inv_freq` holds rot_dims / 2 frequencies (see `crate::ops::rope_inv_freq`).
pub fn rope(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    heads: usize,
    head_dim: usize,
    inv_freq: &GpuTensor,
    pos0: u32,
    layout: RopeLayout,
) -> Result<(), GpuError> {
    rope_pair(batch, (x, heads), None, head_dim, inv_freq, pos0, layout)
}

/// Rotates queries `q.0` (`[seq, q.1 heads, head_dim]`) and, when given, keys `k.0`
/// (`[seq, k.1 heads, head_dim]`) at the same positions, in one dispatch.
pub fn rope_pair(
    batch: &mut Batch<'_>,
    (x, heads): (&GpuTensor, usize),
    keys: Option<(&GpuTensor, usize)>,
    head_dim: usize,
    inv_freq: &GpuTensor,
    pos0: u32,
    layout: RopeLayout,
) -> Result<(), GpuError> {
    let rot_dims = inv_freq.numel() * 2;
    if rot_dims == 0 || rot_dims > head_dim || heads * head_dim == 0 || !x.numel().is_multiple_of(heads * head_dim) {
        return Err(GpuError::InvalidArgument(format!(
            "rope: x {:?} with {heads} heads of {head_dim}, {rot_dims} rotary dims",
            x.shape
        )));
    }
    let seq = x.numel() / (heads * head_dim);
    expect_len("rope inv_freq", inv_freq, rot_dims / 2)?;
    // Without keys a small scratch buffer fills binding 3 (never touched with heads2 = 0), so x is
    // not bound twice as writable storage.
    let scratch;
    let (x2, heads2) = match keys {
        Some((_, 0)) => return Err(GpuError::InvalidArgument("rope: keys given with 0 heads".into())),
        Some((k, heads2)) => {
            expect_len("rope keys", k, seq * heads2 * head_dim)?;
            (k, heads2)
        }
        None => {
            scratch = batch.ctx().tensor(&[4], DType::F32)?;
            (&scratch, 0)
        }
    };
    let params = Params {
        seq: dim_u32("seq", seq)?,
        heads: dim_u32("heads", heads)?,
        head_dim: dim_u32("head_dim", head_dim)?,
        rot_dims: dim_u32("rot_dims", rot_dims)?,
        pos0,
        neox: u32::from(layout == RopeLayout::Neox),
        heads2: dim_u32("key heads", heads2)?,
        _pad: 0,
    };
    let invocations = dim_u32("rope invocations", seq * (heads + heads2) * rot_dims / 2)?;
    run_plain(
        batch,
        "rope",
        shaders::ROPE,
        bytemuck::bytes_of(&params),
        &[x.binding(), inv_freq.binding(), x2.binding()],
        invocations,
    )
}

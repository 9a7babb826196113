//! Rotary position embedding, in place.

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, GpuError, GpuTensor};

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
}

/// Which elements pair up when rotating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeLayout {
    /// (2i, 2i+1): llama.cpp's default for `llama` GGUFs (weights are permuted at conversion).
    Normal,
    /// (i, i + rot/2): HF `rotate_half`; Qwen2, Gemma, Phi-2, GPT-NeoX.
    Neox,
}

/// Rotates x = [seq, heads, head_dim] in place; token s is at position pos0 + s.
/// `inv_freq` holds rot_dims / 2 frequencies (see `crate::cpu::rope::rope_inv_freq`).
pub fn rope(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    heads: usize,
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
    let params = Params {
        seq: dim_u32("seq", seq)?,
        heads: dim_u32("heads", heads)?,
        head_dim: dim_u32("head_dim", head_dim)?,
        rot_dims: dim_u32("rot_dims", rot_dims)?,
        pos0,
        neox: u32::from(layout == RopeLayout::Neox),
    };
    let invocations = dim_u32("rope invocations", seq * heads * rot_dims / 2)?;
    run_plain(
        batch,
        "rope",
        shaders::ROPE,
        bytemuck::bytes_of(&params),
        &[x.binding(), inv_freq.binding()],
        invocations,
    )
}

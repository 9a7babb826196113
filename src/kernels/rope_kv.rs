//! The GPU path's fused step between the QKV projections and attention: per-head q/k RMSNorm
//! (Gemma 3), RoPE on queries (in place) and keys, and the keys and values stored into the KV
//! cache, in one dispatch per layer (`shaders/rope_kv.wgsl`). The software path keeps its
//! separate `norm`, `rope_pair` and `kv_append` dispatches; the CPU twin is those twins composed
//! (`cpu::rope_kv`).

use bytemuck::{Pod, Zeroable};

use crate::gpu::{Batch, DType, GpuError, GpuTensor};
use crate::ops::{NormKind, RopeLayout};

use super::{dim_u32, expect_len, product, run_rows, shaders, RowLoops};

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    seq: u32,
    n_head: u32,
    n_kv_head: u32,
    head_dim: u32,
    rot_dims: u32,
    pos0: u32,
    neox: u32,
    norm: u32,
    eps: f32,
    cap: u32,
    slot0: u32,
    f16: u32,
}

/// `Params` as laid out in memory, checked against the WGSL struct by tests/shaders_naga.rs.
pub fn params_layout() -> super::layout::ParamsLayout {
    super::layout::params_layout!(Params; seq, n_head, n_kv_head, head_dim, rot_dims, pos0, neox, norm, eps, cap, slot0, f16)
}

/// Gemma 3's per-head norm of queries and keys, before RoPE.
pub struct QkNorm<'a> {
    /// `Rms` or `RmsPlusOne` (the only kinds a per-head norm comes in).
    pub kind: NormKind,
    pub q: &'a GpuTensor, // [head_dim]
    pub k: &'a GpuTensor, // [head_dim]
    pub eps: f32,
}

/// One layer's new queries, keys and values for `seq` tokens at positions `pos0..`, and where
/// they go.
pub struct RopeKv<'a> {
    pub q: &'a GpuTensor, // [seq, n_head, head_dim], rotated in place
    pub k: &'a GpuTensor, // [seq, n_kv_head, head_dim]
    pub v: &'a GpuTensor, // [seq, n_kv_head, head_dim]
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub inv_freq: &'a GpuTensor, // [rot_dims / 2]
    pub layout: RopeLayout,
    pub qk_norm: Option<QkNorm<'a>>,
    pub kc: &'a GpuTensor, // [cap, n_kv_head * head_dim], f16 or f32
    pub vc: &'a GpuTensor, // the same
    pub cap: usize,
    pub pos0: usize,
}

/// rope_kv.wgsl's loops, for the loop budget: the sum of squares over head_dim, then either the
/// query pairs or the key/value words (head_dim / 2 each, counted as a head_dim pass to stay
/// on the safe side), and one workgroup reduction.
fn loops(head_dim: usize) -> RowLoops {
    RowLoops {
        dim: head_dim,
        passes: 3,
        reductions: 1,
    }
}

/// Records the fused step (see the module comment).
pub fn rope_kv(batch: &mut Batch<'_>, a: &RopeKv<'_>) -> Result<(), GpuError> {
    let (hd, rot_dims) = (a.head_dim, a.inv_freq.numel() * 2);
    let bad = |why: &str| {
        Err(GpuError::InvalidArgument(format!(
            "rope_kv: {why} ({} x {} heads of {hd}, {rot_dims} rotary dims, {} slots)",
            a.n_head, a.n_kv_head, a.cap
        )))
    };
    if hd == 0 || !hd.is_multiple_of(2) || a.n_head == 0 || a.n_kv_head == 0 || a.cap == 0 {
        return bad("empty or odd shape");
    }
    if rot_dims == 0 || rot_dims > hd {
        return bad("rotary dims out of range");
    }
    let q_row = product("rope_kv queries", &[a.n_head, hd])?;
    let kv_row = product("rope_kv keys", &[a.n_kv_head, hd])?;
    if !a.q.numel().is_multiple_of(q_row) {
        return bad("queries are not whole rows");
    }
    let seq = a.q.numel() / q_row;
    if seq > a.cap {
        return bad("more new rows than cache slots");
    }
    expect_len("rope_kv keys", a.k, seq * kv_row)?;
    expect_len("rope_kv values", a.v, seq * kv_row)?;
    let f16 = match (a.kc.dtype, a.vc.dtype) {
        (DType::F16, DType::F16) => true,
        (DType::F32, DType::F32) => false,
        _ => return bad("key and value caches must both be f16 or both f32"),
    };
    if a.q.dtype != DType::F32 || a.k.dtype != DType::F32 || a.v.dtype != DType::F32 {
        return bad("queries, keys and values must be f32");
    }
    let cache_len = product("rope_kv cache", &[a.cap, kv_row])?;
    expect_len("rope_kv key cache", a.kc, cache_len)?;
    expect_len("rope_kv value cache", a.vc, cache_len)?;
    let (norm, qn, kn, eps) = match &a.qk_norm {
        None => (0, a.inv_freq, a.inv_freq, 0.0),
        Some(n) => {
            let mode = match n.kind {
                NormKind::Rms => 1,
                NormKind::RmsPlusOne => 2,
                NormKind::Layer | NormKind::NoNorm => return bad("per-head norm must be an RMSNorm"),
            };
            expect_len("rope_kv q norm", n.q, hd)?;
            expect_len("rope_kv k norm", n.k, hd)?;
            (mode, n.q, n.k, n.eps)
        }
    };
    let params = Params {
        seq: dim_u32("seq", seq)?,
        n_head: dim_u32("heads", a.n_head)?,
        n_kv_head: dim_u32("kv heads", a.n_kv_head)?,
        head_dim: dim_u32("head_dim", hd)?,
        rot_dims: dim_u32("rot_dims", rot_dims)?,
        pos0: dim_u32("pos0", a.pos0)?,
        neox: u32::from(a.layout == RopeLayout::Neox),
        norm,
        eps,
        cap: dim_u32("cap", a.cap)?,
        // Positions wrap at cap, so the slot arithmetic stays in u32 for any position.
        slot0: dim_u32("slot", a.pos0 % a.cap)?,
        f16: u32::from(f16),
    };
    let rows = dim_u32("rope_kv rows", seq * (a.n_head + a.n_kv_head))?;
    let buffers = [
        a.q.binding(),
        a.k.binding(),
        a.v.binding(),
        a.inv_freq.binding(),
        qn.binding(),
        kn.binding(),
        a.kc.binding(),
        a.vc.binding(),
    ];
    run_rows(
        batch,
        "rope_kv",
        shaders::ROPE_KV,
        bytemuck::bytes_of(&params),
        &buffers,
        (rows, loops(hd)),
    )?;
    if a.qk_norm.is_some() {
        batch.ctx().stats.read_weights(qn.bytes() + kn.bytes());
    }
    Ok(())
}

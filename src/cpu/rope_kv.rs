//! Twin of `kernels::rope_kv`: the software path's steps composed, in their order (per-head
//! RMSNorm, RoPE, the f16 or f32 cache store), so the fused kernel is checked against exactly
//! what the unfused dispatches compute.

use super::{kv, norm::rms_norm, rope::rope};

/// Shapes and RoPE settings of one call.
pub struct RopeKvShape<'a> {
    pub seq: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    pub inv_freq: &'a [f32], // rot_dims / 2 frequencies
    pub neox: bool,
    pub pos0: usize,
}

/// Per-head norm: (q weight, k weight, eps, Gemma's `1 + w`).
pub type QkNorm<'a> = (&'a [f32], &'a [f32], f32, bool);

/// The cache rows, f16 packed as [`kv::pack_f16`] or f32.
pub enum Cache<'a> {
    F16 { k: &'a mut [u32], v: &'a mut [u32] },
    F32 { k: &'a mut [f32], v: &'a mut [f32] },
}

/// Normalises and rotates `q` in place, normalises and rotates a copy of `k`, and stores it and
/// `v` into a ring of `cap` slots at positions `pos0..pos0 + seq`.
///
/// Panics (test reference) on shape mismatches, as the composed twins do.
pub fn rope_kv(
    s: &RopeKvShape<'_>,
    q: &mut Vec<f32>,
    k: &[f32],
    v: &[f32],
    norm: Option<QkNorm<'_>>,
    cache: Cache<'_>,
    cap: usize,
) {
    let (hd, rot) = (s.head_dim, s.inv_freq.len() * 2);
    let mut k = k.to_vec();
    if let Some((qw, kw, eps, add_one)) = norm {
        *q = rms_norm(q, hd, qw, eps, add_one);
        k = rms_norm(&k, hd, kw, eps, add_one);
    }
    let pos0 = s.pos0 as u32;
    rope(q, s.seq, s.n_head, hd, rot, pos0, s.inv_freq, s.neox);
    rope(&mut k, s.seq, s.n_kv_head, hd, rot, pos0, s.inv_freq, s.neox);
    let row = s.n_kv_head * hd;
    match cache {
        Cache::F16 { k: kc, v: vc } => {
            kv::append(kc, &k, row, cap, s.pos0);
            kv::append(vc, v, row, cap, s.pos0);
        }
        Cache::F32 { k: kc, v: vc } => {
            for t in 0..s.seq {
                let slot = (s.pos0 + t) % cap;
                kc[slot * row..][..row].copy_from_slice(&k[t * row..][..row]);
                vc[slot * row..][..row].copy_from_slice(&v[t * row..][..row]);
            }
        }
    }
}

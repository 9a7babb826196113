//! Reference scaled-dot-product attention with GQA, causal/sliding-window
//! masking, key padding masks, logit soft-capping and ring-buffer KV caches.

use crate::ops::AttentionParams;

/// Attention output `[batch, q_len, n_head, head_dim]`.
///
/// Layouts: `q` is `[batch, q_len, n_head, hd]`; `k`, `v` are
/// `[batch, kv_cap, n_kv_head, hd]`; `key_mask`, if given, is
/// `[batch, kv_len]` with nonzero = attend.
///
/// Query head `h` reads KV head `h / (n_head / n_kv_head)` (GQA/MQA). Query
/// `s` has position `qp = pos0 + s`. Key position `t` is allowed iff
/// `t < kv_len` and (`!causal` or `t <= qp`) and (`!causal` or `window == 0`
/// or `t + window > qp`) and the key mask (if any) is nonzero at `t`.
/// Score = `scale * dot(q, k)` (f32), then `softcap * tanh(score / softcap)`
/// if `softcap > 0`. Softmax over allowed keys (max-subtracted, f32), then
/// `out = sum_t p_t * v_t`. A query with no allowed key outputs zeros (rather
/// than NaN) so padded rows are harmless.
///
/// Note: the ring buffer is not checked for overwritten positions: when
/// `kv_len > kv_cap`, the caller must make sure the mask (usually the
/// window, with `window <= kv_cap`) excludes positions older than
/// `kv_len - kv_cap`, exactly as the GPU kernel assumes.
///
/// Panics (test reference) on buffer length mismatches, `kv_cap == 0` with
/// `kv_len > 0`, or `n_head` not a multiple of `n_kv_head`.
pub fn attention(q: &[f32], k: &[f32], v: &[f32], key_mask: Option<&[u32]>, p: &AttentionParams) -> Vec<f32> {
    let hd = p.head_dim;
    assert!(
        p.n_kv_head > 0 && p.n_head.is_multiple_of(p.n_kv_head),
        "attention: n_head must be a multiple of n_kv_head"
    );
    assert!(p.kv_cap > 0 || p.kv_len == 0, "attention: kv_cap is 0");
    assert_eq!(q.len(), p.batch * p.q_len * p.n_head * hd, "attention: q");
    let kv_elems = p.batch * p.kv_cap * p.n_kv_head * hd;
    assert_eq!(k.len(), kv_elems, "attention: k");
    assert_eq!(v.len(), kv_elems, "attention: v");
    if let Some(m) = key_mask {
        assert_eq!(m.len(), p.batch * p.kv_len, "attention: key_mask");
    }
    let group = p.n_head / p.n_kv_head;
    let mut out = vec![0.0f32; q.len()];
    let mut scores: Vec<(usize, f32)> = Vec::with_capacity(p.kv_len);
    for b in 0..p.batch {
        for s in 0..p.q_len {
            let qp = p.pos0 as u64 + s as u64;
            for h in 0..p.n_head {
                let kvh = h / group;
                let qo = ((b * p.q_len + s) * p.n_head + h) * hd;
                let qv = &q[qo..qo + hd];
                scores.clear();
                for t in 0..p.kv_len {
                    if !key_allowed(t as u64, qp, p) {
                        continue;
                    }
                    if key_mask.is_some_and(|m| m[b * p.kv_len + t] == 0) {
                        continue;
                    }
                    let ko = kv_offset(b, t, kvh, p);
                    let dot: f32 = qv.iter().zip(&k[ko..ko + hd]).map(|(a, c)| a * c).sum();
                    let mut sc = p.scale * dot;
                    if p.softcap > 0.0 {
                        sc = p.softcap * (sc / p.softcap).tanh();
                    }
                    scores.push((ko, sc));
                }
                let max = scores.iter().map(|&(_, sc)| sc).fold(f32::NEG_INFINITY, f32::max);
                for e in &mut scores {
                    e.1 = (e.1 - max).exp();
                }
                let sum: f32 = scores.iter().map(|&(_, e)| e).sum();
                let o = &mut out[qo..qo + hd];
                for &(vo, e) in &scores {
                    let pr = e / sum;
                    for (od, &vd) in o.iter_mut().zip(&v[vo..vo + hd]) {
                        *od += pr * vd;
                    }
                }
            }
        }
    }
    out
}

/// Positional part of the mask (causal + sliding window).
fn key_allowed(t: u64, qp: u64, p: &AttentionParams) -> bool {
    if !p.causal {
        return true;
    }
    t <= qp && (p.window == 0 || t + p.window as u64 > qp)
}

/// Element offset of key/value position `t`, KV head `kvh`, batch `b`.
fn kv_offset(b: usize, t: usize, kvh: usize, p: &AttentionParams) -> usize {
    ((b * p.kv_cap + t % p.kv_cap) * p.n_kv_head + kvh) * p.head_dim
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::softmax::softmax;
    use crate::rng::Rng;

    fn params() -> AttentionParams {
        AttentionParams {
            batch: 1,
            q_len: 1,
            kv_len: 1,
            kv_cap: 1,
            n_head: 1,
            n_kv_head: 1,
            head_dim: 4,
            pos0: 0,
            causal: true,
            window: 0,
            softcap: 0.0,
            scale: 0.5,
        }
    }

    #[test]
    fn single_key_returns_v() {
        let p = params();
        let out = attention(&[1.0; 4], &[3.0; 4], &[1.0, 2.0, 3.0, 4.0], None, &p);
        assert_eq!(out, vec![1.0, 2.0, 3.0, 4.0]);
    }

    /// Naive dense reference for one head: softmax(scale*QK^T + mask) V.
    #[test]
    fn matches_dense_softmax_with_gqa_causal() {
        let mut p = params();
        p.q_len = 3;
        p.kv_len = 5;
        p.kv_cap = 5;
        p.n_head = 4;
        p.n_kv_head = 2;
        p.pos0 = 2;
        let hd = p.head_dim;
        let mut r = Rng::new(9);
        let q = r.vec_f32(3 * 4 * hd, -1.0, 1.0);
        let k = r.vec_f32(5 * 2 * hd, -1.0, 1.0);
        let v = r.vec_f32(5 * 2 * hd, -1.0, 1.0);
        let out = attention(&q, &k, &v, None, &p);
        for s in 0..3 {
            for h in 0..4 {
                let kvh = h / 2;
                let qv = &q[(s * 4 + h) * hd..][..hd];
                let logits: Vec<f32> = (0..5)
                    .map(|t| {
                        if t > 2 + s {
                            return f32::NEG_INFINITY;
                        }
                        let kv = &k[(t * 2 + kvh) * hd..][..hd];
                        p.scale * qv.iter().zip(kv).map(|(a, b)| a * b).sum::<f32>()
                    })
                    .collect();
                let pr = softmax(&logits, 5);
                for d in 0..hd {
                    let want: f32 = (0..5).map(|t| pr[t] * v[(t * 2 + kvh) * hd + d]).sum();
                    let got = out[(s * 4 + h) * hd + d];
                    assert!((got - want).abs() < 1e-6, "{got} vs {want}");
                }
            }
        }
    }

    #[test]
    fn masks_window_ring_buffer_and_empty_rows() {
        // kv_cap 2 ring buffer, window 2, decode at position 4: keys 3 and 4
        // are allowed and live in slots 1 and 0.
        let mut p = params();
        p.head_dim = 1;
        p.kv_len = 5;
        p.kv_cap = 2;
        p.window = 2;
        p.pos0 = 4;
        p.scale = 1.0;
        let k = [0.0, 0.0]; // equal scores -> average of v
        let v = [10.0, 20.0];
        assert_eq!(attention(&[1.0], &k, &v, None, &p), vec![15.0]);
        // Key mask removes position 4 (slot 0) -> only slot 1 remains.
        let mask = [1, 1, 1, 1, 0];
        assert_eq!(attention(&[1.0], &k, &v, Some(&mask), &p), vec![20.0]);
        // Everything masked -> zeros.
        let mask = [0; 5];
        assert_eq!(attention(&[1.0], &k, &v, Some(&mask), &p), vec![0.0]);
    }

    #[test]
    fn softcap_and_non_causal() {
        let mut p = params();
        p.head_dim = 1;
        p.kv_len = 2;
        p.kv_cap = 2;
        p.causal = false;
        p.window = 1; // ignored when not causal
        p.scale = 1.0;
        p.softcap = 1.0;
        let out = attention(&[100.0], &[1.0, 0.0], &[1.0, 0.0], None, &p);
        // scores tanh(100)=1 and 0 -> p0 = e/(e+1)
        let e = std::f32::consts::E;
        assert!((out[0] - e / (e + 1.0)).abs() < 1e-6);
    }
}

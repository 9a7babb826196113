//! Reference rotary position embedding (RoPE).

/// Applies RoPE in place to `x` laid out as `[seq, n_heads, head_dim]`.
///
/// Token `s` has position `p = pos0 + s`. For `i in 0..rot_dims/2` the angle
/// is `theta = p as f32 * inv_freq[i]` (product in f32, then f32 `cos`/`sin`)
/// and the pair `(a, b)` becomes `(a cos - b sin, a sin + b cos)`, where the
/// pair is `(2i, 2i+1)` in the normal (GPT-J / llama.cpp "norm") layout and
/// `(i, i + rot_dims/2)` in the NEOX (HF "rotate_half") layout. Dimensions
/// `>= rot_dims` are left untouched (partial rotary, e.g. Phi).
///
/// `inv_freq` is passed in rather than derived so that models with scaled
/// frequencies (llama3 / YaRN / linear scaling) reuse the same kernel.
///
/// Panics (test reference) if `x.len() != seq*n_heads*head_dim`,
/// `rot_dims` is odd or `> head_dim`, or `inv_freq.len() < rot_dims/2`.
#[allow(clippy::too_many_arguments)]
pub fn rope(
    x: &mut [f32],
    seq: usize,
    n_heads: usize,
    head_dim: usize,
    rot_dims: usize,
    pos0: u32,
    inv_freq: &[f32],
    neox: bool,
) {
    assert_eq!(x.len(), seq * n_heads * head_dim, "rope: x shape");
    assert!(rot_dims.is_multiple_of(2) && rot_dims <= head_dim, "rope: rot_dims");
    let half = rot_dims / 2;
    assert!(inv_freq.len() >= half, "rope: inv_freq too short");
    if head_dim == 0 {
        return;
    }
    for (s, tok) in x.chunks_exact_mut(n_heads * head_dim).enumerate() {
        let p = pos0.wrapping_add(s as u32) as f32;
        for head in tok.chunks_exact_mut(head_dim) {
            for (i, &f) in inv_freq[..half].iter().enumerate() {
                let theta = p * f;
                let (sin, cos) = theta.sin_cos();
                let (ia, ib) = if neox { (i, i + half) } else { (2 * i, 2 * i + 1) };
                let (a, b) = (head[ia], head[ib]);
                head[ia] = a * cos - b * sin;
                head[ib] = a * sin + b * cos;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::rope_inv_freq;
    use crate::rng::Rng;

    #[test]
    fn position_zero_is_identity() {
        let x0 = Rng::new(1).vec_f32(2 * 3 * 8, -1.0, 1.0);
        for neox in [false, true] {
            let mut x = x0.clone();
            // Only the first token (pos 0) must be unchanged.
            rope(&mut x, 2, 3, 8, 8, 0, &rope_inv_freq(8, 10000.0), neox);
            assert_eq!(x[..24], x0[..24]);
            assert_ne!(x[24..], x0[24..]);
        }
    }

    #[test]
    fn preserves_pair_norms_and_tail() {
        let (seq, nh, hd, rd) = (3, 2, 10, 6);
        let x0 = Rng::new(2).vec_f32(seq * nh * hd, -1.0, 1.0);
        let inv = rope_inv_freq(rd, 500.0);
        for neox in [false, true] {
            let mut x = x0.clone();
            rope(&mut x, seq, nh, hd, rd, 7, &inv, neox);
            for (h0, h1) in x0.chunks(hd).zip(x.chunks(hd)) {
                for i in 0..rd / 2 {
                    let (a, b) = if neox { (i, i + rd / 2) } else { (2 * i, 2 * i + 1) };
                    let n0 = h0[a].hypot(h0[b]);
                    let n1 = h1[a].hypot(h1[b]);
                    assert!((n0 - n1).abs() < 1e-5);
                }
                assert_eq!(h0[rd..], h1[rd..]);
            }
        }
    }

    #[test]
    fn known_rotation() {
        // One head, hd=2, inv_freq 1, position 1: (1, 0) -> (cos 1, sin 1).
        let mut x = vec![1.0, 0.0];
        rope(&mut x, 1, 1, 2, 2, 1, &[1.0], false);
        assert_eq!(x, vec![1f32.cos(), 1f32.sin()]);
        // NEOX pairs (0, 2) and (1, 3).
        let mut x = vec![1.0, 2.0, 0.0, 0.0];
        let half_pi = std::f32::consts::FRAC_PI_2;
        rope(&mut x, 1, 1, 4, 4, 1, &[half_pi, 0.0], true);
        assert!((x[0]).abs() < 1e-6 && (x[2] - 1.0).abs() < 1e-6);
        assert_eq!((x[1], x[3]), (2.0, 0.0));
    }
}

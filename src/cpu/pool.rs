//! CPU twins of `shaders/pool.wgsl` and `shaders/trigram.wgsl`: the encoder-only data movement.

use crate::ops::Pooling;

/// Pools each sequence of `x` (`[batch, seq, dim]`) with `mask` (`[batch, seq]`).
///
/// Panics (test reference) if the lengths do not match the shape.
pub fn pool(x: &[f32], mask: &[u32], batch: usize, seq: usize, dim: usize, mode: Pooling) -> Vec<f32> {
    assert_eq!(x.len(), batch * seq * dim, "pool: x");
    assert_eq!(mask.len(), batch * seq, "pool: mask");
    let mut y = vec![0.0; batch * dim];
    for b in 0..batch {
        let out = &mut y[b * dim..(b + 1) * dim];
        let rows = |t: usize| &x[(b * seq + t) * dim..(b * seq + t + 1) * dim];
        match mode {
            Pooling::First => {
                if seq > 0 {
                    out.copy_from_slice(rows(0));
                }
            }
            Pooling::Mean => {
                let kept: Vec<usize> = (0..seq).filter(|&t| mask[b * seq + t] != 0).collect();
                for &t in &kept {
                    for (o, v) in out.iter_mut().zip(rows(t)) {
                        *o += v;
                    }
                }
                if !kept.is_empty() {
                    out.iter_mut().for_each(|o| *o /= kept.len() as f32);
                }
            }
        }
    }
    y
}

/// MobileBERT's trigram input: row `t` of each sequence becomes `[e(t+1), e(t), e(t-1)]`, with
/// zeros for neighbours outside the sequence or masked out (padding).
///
/// Panics (test reference) if the lengths do not match the shape.
pub fn trigram(e: &[f32], mask: &[u32], batch: usize, seq: usize, dim: usize) -> Vec<f32> {
    assert_eq!(e.len(), batch * seq * dim, "trigram: e");
    assert_eq!(mask.len(), batch * seq, "trigram: mask");
    let mut y = vec![0.0; batch * seq * 3 * dim];
    for b in 0..batch {
        for t in 0..seq {
            let row = b * seq + t;
            let out = &mut y[row * 3 * dim..(row + 1) * 3 * dim];
            let src = |r: usize| &e[r * dim..(r + 1) * dim];
            if t + 1 < seq && mask[row + 1] != 0 {
                out[..dim].copy_from_slice(src(row + 1));
            }
            out[dim..2 * dim].copy_from_slice(src(row));
            if t > 0 && mask[row - 1] != 0 {
                out[2 * dim..].copy_from_slice(src(row - 1));
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_skips_padding_and_first_takes_cls() {
        let x = [1.0, 10.0, 3.0, 30.0, 100.0, 1000.0];
        let mask = [1, 1, 0];
        assert_eq!(pool(&x, &mask, 1, 3, 2, Pooling::Mean), vec![2.0, 20.0]);
        assert_eq!(pool(&x, &mask, 1, 3, 2, Pooling::First), vec![1.0, 10.0]);
        assert_eq!(pool(&x, &[0, 0, 0], 1, 3, 2, Pooling::Mean), vec![0.0, 0.0]);
    }

    #[test]
    fn trigram_neighbours() {
        let e = [1.0, 2.0, 3.0];
        assert_eq!(
            trigram(&e, &[1, 1, 1], 1, 3, 1),
            vec![2.0, 1.0, 0.0, 3.0, 2.0, 1.0, 0.0, 3.0, 2.0]
        );
        // The last real token does not see the padding after it.
        assert_eq!(trigram(&e, &[1, 1, 0], 1, 3, 1)[3..6], [0.0, 2.0, 1.0]);
    }
}

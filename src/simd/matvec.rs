//! Matrix-vector (m = 1, decode) and matrix-matrix (m > 1, prefill) products over a weight matrix
//! stored as GGUF rows, with the `dot` kernels: `y[i][j] = x[i] . W[j]`, W `[n, k]` as in a Linear.
//!
//! Work is split over weight rows, `ROWS_PER_TASK` at a time: natively on rayon's pool (the
//! caller's `ThreadPool::install` picks the thread count, the global pool has one per core), in
//! wasm on the calling thread until the Web Worker pool exists. Each task writes its rows of a
//! `[n, m]` result, so tasks never share an output element; an m > 1 result is transposed at the
//! end. Each weight row is read once per task and used for all m activation rows while it is in
//! cache.

use super::dot::{check_len, Activations, Dot};
use super::error::SimdError;
use super::quantize::{QK8, QK_K};
#[cfg(not(target_arch = "wasm32"))]
use rayon::prelude::*;

/// Weight rows per task: small enough that a 576-row projection still gives 36 tasks to share
/// between threads, large enough that scheduling costs nothing next to 16 row dot products.
pub const ROWS_PER_TASK: usize = 16;

/// `x` `[m, k]` f32 times `w` (n rows of k elements in `dot.fmt`) transposed: `[m, n]`.
/// Shapes and byte counts are checked (typed errors); the activations are prepared first.
pub fn matmul(dot: &Dot, x: &[f32], m: usize, k: usize, w: &[u8], n: usize) -> Result<Vec<f32>, SimdError> {
    let act = dot.prepare(x, m, k)?;
    matmul_prepared(dot, &act, m, k, w, n)
}

/// As [`matmul`] with activations already prepared by `dot.prepare` (the q, k and v projections,
/// or gate and up, share one input: it is quantised once).
pub fn matmul_prepared(
    dot: &Dot,
    act: &Activations,
    m: usize,
    k: usize,
    w: &[u8],
    n: usize,
) -> Result<Vec<f32>, SimdError> {
    let row_bytes = dot.fmt.row_bytes(k)?;
    check_len("weights", n.checked_mul(row_bytes), w.len())?;
    check_activations(act, m, k)?;
    if m == 0 || n == 0 {
        return Ok(Vec::new());
    }
    let mut yt = vec![0.0f32; n * m];
    let task = |(t, out): (usize, &mut [f32])| -> Result<(), SimdError> {
        for (r, yr) in out.chunks_exact_mut(m).enumerate() {
            let j = t * ROWS_PER_TASK + r;
            let wr = &w[j * row_bytes..(j + 1) * row_bytes];
            for (i, y) in yr.iter_mut().enumerate() {
                *y = dot.row(wr, act, i)?;
            }
        }
        Ok(())
    };
    #[cfg(not(target_arch = "wasm32"))]
    yt.par_chunks_mut(ROWS_PER_TASK * m).enumerate().try_for_each(task)?;
    #[cfg(target_arch = "wasm32")]
    yt.chunks_mut(ROWS_PER_TASK * m).enumerate().try_for_each(task)?;
    if m == 1 {
        return Ok(yt);
    }
    let mut y = vec![0.0f32; m * n];
    for (j, col) in yt.chunks_exact(m).enumerate() {
        for (i, &v) in col.iter().enumerate() {
            y[i * n + j] = v;
        }
    }
    Ok(y)
}

/// Prepared activations must be m rows of k, as the product is told.
fn check_activations(act: &Activations, m: usize, k: usize) -> Result<(), SimdError> {
    let (what, len, per_row, elems) = match act {
        Activations::Q8 { blocks, per_row } => ("q8 activations", blocks.len(), *per_row, per_row * QK8),
        Activations::Q8K { blocks, per_row } => ("q8_k activations", blocks.len(), *per_row, per_row * QK_K),
        Activations::F32 { x, k } => ("activations", x.len(), *k, *k),
    };
    check_len(what, Some(k), elems)?;
    check_len(what, m.checked_mul(per_row), len)
}

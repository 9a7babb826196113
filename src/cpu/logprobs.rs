//! CPU twin of `shaders/logprobs.wgsl`: log-softmax of a whole row, at a few ids.

/// `(logits[id] - lse for each id (-inf past the row), lse)`, where `lse` is the log-sum-exp of
/// the row, max-subtracted as the kernel does (in f64 here: the reference, not a mirror).
pub fn logprobs(logits: &[f32], ids: &[u32]) -> (Vec<f32>, f32) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
    let sum: f64 = logits.iter().map(|&l| (l as f64 - max).exp()).sum();
    let lse = max + sum.ln();
    let out = ids
        .iter()
        .map(|&id| match logits.get(id as usize) {
            Some(&l) => (l as f64 - lse) as f32,
            None => f32::NEG_INFINITY,
        })
        .collect();
    (out, lse as f32)
}

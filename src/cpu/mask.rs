//! CPU twin of `shaders/mask.wgsl`.

/// Sets every logit whose bit in `mask` (bit `i % 32` of word `i / 32`) is clear to -inf,
/// including ids past the mask's end.
pub fn mask_logits(logits: &mut [f32], mask: &[u32]) {
    for (i, l) in logits.iter_mut().enumerate() {
        let allowed = mask.get(i / 32).is_some_and(|w| w >> (i % 32) & 1 != 0);
        if !allowed {
            *l = f32::NEG_INFINITY;
        }
    }
}

//! CPU twin of `shaders/penalty.wgsl`.

pub use crate::ops::PenaltyEntry;

/// Applies logit_bias, then llama.cpp's repetition penalties to ids with a count, in place.
pub fn penalize(logits: &mut [f32], entries: &[PenaltyEntry], repeat: f32, presence: f32, frequency: f32) {
    for e in entries {
        let l = &mut logits[e.id as usize];
        *l += e.bias;
        if e.count > 0 {
            *l = if *l > 0.0 { *l / repeat } else { *l * repeat };
            *l -= presence + e.count as f32 * frequency;
        }
    }
}

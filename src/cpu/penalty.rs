//! CPU twin of `shaders/penalty.wgsl`.

/// Applies llama.cpp's repetition penalties in place to each (id, count) of `recent`.
pub fn penalize(logits: &mut [f32], recent: &[(u32, u32)], repeat: f32, presence: f32, frequency: f32) {
    for &(id, count) in recent {
        let l = &mut logits[id as usize];
        *l = if *l > 0.0 { *l / repeat } else { *l * repeat };
        *l -= presence + count as f32 * frequency;
    }
}

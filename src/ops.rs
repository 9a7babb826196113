//! Op types shared by the GPU kernels (`kernels/`), their CPU twins (`cpu/`) and the models:
//! what an op computes, apart from how. Kept out of both backends so neither depends on the other
//! for a type, and models name an op without choosing a backend.

/// The activation of an MLP (and of a GLU's gate). Evaluated by `cpu::elementwise::activate` and
/// by `shaders/activations.wgsl` (elementwise ops and the matmul epilogue).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Activation {
    GeluErf,
    GeluTanh,
    Silu,
    Identity,
    /// max(x, 0) (MobileBERT's FFN, DistilBERT's classifier head)
    Relu,
    /// tanh(x) (BERT's pooler)
    Tanh,
}

/// Which norm a layer applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    /// y = x / rms(x) * w (Llama, Qwen)
    Rms,
    /// y = x / rms(x) * (1 + w) (Gemma stores w - 1)
    RmsPlusOne,
    /// y = (x - mean) / std * w + b (BERT, Phi-2)
    Layer,
    /// y = x * w + b (MobileBERT's NoNorm; `eps` is unused)
    NoNorm,
}

/// How `[batch, seq, dim]` pools into `[batch, dim]` (`kernels::pool`, `cpu::pool`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pooling {
    /// Mean over positions whose mask is nonzero (zeros when there are none).
    Mean,
    /// Position 0 (`[CLS]`).
    First,
}

/// Which elements pair up when rotating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeLayout {
    /// (2i, 2i+1): llama.cpp's default for `llama` GGUFs (weights are permuted at conversion).
    Normal,
    /// (i, i + rot/2): HF `rotate_half`; Qwen2, Gemma, Phi-2, GPT-NeoX.
    Neox,
}

/// Standard RoPE inverse frequencies `base^(-2i/rot_dims)` for
/// `i in 0..rot_dims/2`.
///
/// Computed in f64 and rounded once to f32, so this is the correctly rounded
/// value (HF computes it in f32 and llama.cpp by repeated multiplication;
/// both differ from this by a few ulp at most).
pub fn rope_inv_freq(rot_dims: usize, base: f32) -> Vec<f32> {
    (0..rot_dims / 2)
        .map(|i| (base as f64).powf(-2.0 * i as f64 / rot_dims as f64) as f32)
        .collect()
}

/// Shapes and options of one attention call (`kernels::attention`, `cpu::attention`).
#[derive(Clone, Debug, PartialEq)]
pub struct AttentionParams {
    pub batch: usize,
    /// Queries per sequence in this call (1 for decode, >1 for prefill).
    pub q_len: usize,
    /// Number of valid key positions (`0..kv_len`) per sequence.
    pub kv_len: usize,
    /// Physical KV slots per sequence; position `t` lives in slot
    /// `t % kv_cap` (a ring buffer for sliding-window caches).
    pub kv_cap: usize,
    pub n_head: usize,
    pub n_kv_head: usize,
    pub head_dim: usize,
    /// Absolute position of query 0.
    pub pos0: u32,
    pub causal: bool,
    /// Sliding window size; 0 = unlimited. Only applies when `causal`.
    pub window: u32,
    /// Logit soft-cap (Gemma 2); 0 = none.
    pub softcap: f32,
    /// Multiplier on `q . k` (usually `1/sqrt(head_dim)`).
    pub scale: f32,
}

impl AttentionParams {
    /// The oldest key position any query of this call may see.
    pub fn oldest_visible(&self) -> usize {
        if self.causal && self.window > 0 {
            (self.pos0 as usize + 1).saturating_sub(self.window as usize)
        } else {
            0
        }
    }

    /// Whether a ring buffer of `kv_cap` slots still holds every key some query needs: it keeps
    /// positions `kv_len - kv_cap .. kv_len`, so a sliding-window layer needs
    /// `kv_cap >= window + q_len - 1` once it wraps.
    pub fn cache_holds_visible_keys(&self) -> bool {
        self.kv_cap > 0 && self.kv_len.saturating_sub(self.kv_cap) <= self.oldest_visible()
    }

    /// Bytes of keys and values fetched (for `webslm bench`) when `fetchers` invocations per
    /// query read each key row and value row their causal window lets them see (n_kv_head when
    /// every KV head is read once, n_head when each query head reads its own), stored as
    /// `elem_bytes` per element (4 for f32, 2 for f16). Key-mask skips are not subtracted.
    pub fn kv_bytes_fetched(&self, fetchers: usize, elem_bytes: usize) -> u64 {
        let keys: usize = (0..self.q_len)
            .map(|s| {
                let qpos = self.pos0 as usize + s;
                if !self.causal {
                    return self.kv_len;
                }
                let hi = self.kv_len.min(qpos + 1);
                let lo = if self.window > 0 {
                    (qpos + 1).saturating_sub(self.window as usize)
                } else {
                    0
                };
                hi.saturating_sub(lo)
            })
            .sum();
        (keys * self.batch * fetchers * self.head_dim * elem_bytes * 2) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::rope_inv_freq;

    #[test]
    fn inv_freq_values() {
        let f = rope_inv_freq(4, 10000.0);
        assert_eq!(f, vec![1.0, 0.01]);
    }
}

/// One id's entry in the penalty pass (`kernels::penalty`, `cpu::penalty`): its recent count
/// (0: only biased) and its logit_bias.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PenaltyEntry {
    pub id: u32,
    pub count: u32,
    pub bias: f32,
}

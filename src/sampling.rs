//! Choosing the next token from the model's top candidates, as llama.cpp's default sampler chain
//! does: penalties (on the GPU, before top-k) -> top-k -> top-p -> min-p -> temperature -> draw.
//!
//! The GPU returns the top `k <= 64` (id, logit) pairs; everything below runs on those few.
//!
//! Penalties count the tokens generated in this request (not the prompt: OpenAI's `c[j]`, "how
//! often token j was sampled"), the last `penalty_last_n` of them (llama.cpp's window; its
//! server also counts the prompt's tokens, OpenAI does not). `logit_bias` is added first, then
//! the penalties, as llama.cpp chains its `logit_bias` and `penalties` samplers.

use std::collections::HashMap;

use crate::ops::PenaltyEntry;
use crate::rng::Rng;

/// OpenAI's limits: `top_logprobs` 0..=20, `logit_bias` values -100..=100, penalties -2..=2.
pub const MAX_TOP_LOGPROBS: usize = 20;
pub const MAX_LOGIT_BIAS: f32 = 100.0;
pub const MAX_PENALTY: f32 = 2.0;

/// One generated token's log-probabilities: log-softmax of the model's raw logits (before
/// temperature, penalties, logit_bias and any grammar's mask, as OpenAI reports them).
#[derive(Clone, Debug, PartialEq)]
pub struct TokenLogprobs {
    pub id: u32,
    pub logprob: f32,
    /// The `top_logprobs` most likely ids, best first.
    pub top: Vec<(u32, f32)>,
}

/// The seed of choice `i` of a request for `n` choices: distinct per choice, and choice 0's is
/// the request's seed, so `n = 1` and the first of `n = 2` agree. (SplitMix64 decorrelates
/// adjacent seeds.)
pub fn choice_seed(seed: u64, i: usize) -> u64 {
    seed.wrapping_add(i as u64)
}

#[derive(Clone, Debug, PartialEq)]
pub struct SamplingParams {
    /// 0 means greedy (always the most likely token).
    pub temperature: f32,
    /// Candidates kept (1..=64; the GPU kernel's limit).
    pub top_k: usize,
    /// Smallest set of candidates whose probability sums to at least top_p (1.0 = off).
    pub top_p: f32,
    /// Drop candidates below min_p times the best one's probability (0.0 = off).
    pub min_p: f32,
    /// Divides positive logits and multiplies negative ones of recent tokens (1.0 = off).
    pub repeat_penalty: f32,
    pub presence_penalty: f32,
    pub frequency_penalty: f32,
    /// How many recent tokens the penalties look at.
    pub penalty_last_n: usize,
    pub seed: u64,
    /// (token id, bias) added to the logits before penalties and sampling (OpenAI's logit_bias).
    pub logit_bias: Vec<(u32, f32)>,
    /// Report each generated token's log-probability ([`TokenLogprobs`]).
    pub logprobs: bool,
    /// With `logprobs`: how many of the most likely tokens to report per position (0..=20).
    pub top_logprobs: usize,
}

impl Default for SamplingParams {
    /// llama.cpp's defaults.
    fn default() -> Self {
        SamplingParams {
            temperature: 0.8,
            top_k: 40,
            top_p: 0.95,
            min_p: 0.05,
            repeat_penalty: 1.0,
            presence_penalty: 0.0,
            frequency_penalty: 0.0,
            penalty_last_n: 64,
            seed: 0,
            logit_bias: Vec::new(),
            logprobs: false,
            top_logprobs: 0,
        }
    }
}

impl SamplingParams {
    /// Checks the values a user can type. `top_k` 0 (llama.cpp: no top-k) and values above the
    /// GPU kernel's 64 are accepted and mean 64 candidates (see [`SamplingParams::candidates`]).
    pub fn validate(&self) -> Result<(), String> {
        let bad = |what: &str, v: f32| Err(format!("{what} = {v} is out of range"));
        if !self.temperature.is_finite() {
            return bad("temperature", self.temperature);
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return bad("top-p (0 < p <= 1)", self.top_p);
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return bad("min-p (0..=1)", self.min_p);
        }
        if !(self.repeat_penalty.is_finite() && self.repeat_penalty > 0.0) {
            return bad("repeat-penalty (> 0)", self.repeat_penalty);
        }
        for (what, v) in [
            ("presence_penalty (-2..=2)", self.presence_penalty),
            ("frequency_penalty (-2..=2)", self.frequency_penalty),
        ] {
            if !(-MAX_PENALTY..=MAX_PENALTY).contains(&v) {
                return bad(what, v);
            }
        }
        if let Some((id, b)) = self
            .logit_bias
            .iter()
            .find(|(_, b)| !(-MAX_LOGIT_BIAS..=MAX_LOGIT_BIAS).contains(b))
        {
            return Err(format!("logit_bias for token {id} = {b} is out of range (-100..=100)"));
        }
        if self.top_logprobs > MAX_TOP_LOGPROBS {
            return Err(format!(
                "top_logprobs = {} is out of range (0..={MAX_TOP_LOGPROBS})",
                self.top_logprobs
            ));
        }
        if self.top_logprobs > 0 && !self.logprobs {
            return Err("top_logprobs needs logprobs".into());
        }
        Ok(())
    }

    pub fn greedy() -> Self {
        SamplingParams {
            temperature: 0.0,
            top_k: 1,
            ..Default::default()
        }
    }

    /// llama.cpp: a temperature of 0 or below picks the most likely token.
    pub fn is_greedy(&self) -> bool {
        self.temperature <= 0.0 || self.top_k == 1
    }

    /// Candidates to fetch from the GPU: top-k, where 0 (off) and anything above the kernel's
    /// limit become that limit, 64. Past the 64th candidate, top-p 0.95 and min-p 0.05 have cut
    /// the tail in practice; a truly unbounded top-k would need the logits on the CPU.
    pub fn candidates(&self) -> usize {
        let max = crate::kernels::topk::MAX_K;
        match self.top_k {
            _ if self.is_greedy() => 1,
            0 => max,
            k => k.min(max),
        }
    }

    pub fn penalties_active(&self) -> bool {
        self.repeat_penalty != 1.0 || self.presence_penalty != 0.0 || self.frequency_penalty != 0.0
    }

    /// What the penalty kernel applies after `generated` (this request's tokens so far): every
    /// biased id and, when penalties are on, every id of the window with its count. An id given
    /// twice in `logit_bias` gets the last bias, as a JSON object's last key wins.
    pub fn penalty_entries(&self, generated: &[u32]) -> Vec<PenaltyEntry> {
        // Runs every token, and a request's logit_bias may list thousands of ids (a ban list):
        // each id's entry is found through an index, not by a scan of the entries so far.
        let mut entries: Vec<PenaltyEntry> = Vec::new();
        let mut at: HashMap<u32, usize> = HashMap::new();
        let mut slot = |entries: &mut Vec<PenaltyEntry>, id: u32| -> usize {
            *at.entry(id).or_insert_with(|| {
                entries.push(PenaltyEntry {
                    id,
                    count: 0,
                    bias: 0.0,
                });
                entries.len() - 1
            })
        };
        for &(id, bias) in &self.logit_bias {
            let i = slot(&mut entries, id);
            entries[i].bias = bias;
        }
        if self.penalties_active() {
            for (id, count) in self.recent_counts(generated) {
                let i = slot(&mut entries, id);
                entries[i].count = count;
            }
        }
        entries
    }

    /// Distinct ids among the last `penalty_last_n` of `history`, with their counts.
    pub fn recent_counts(&self, history: &[u32]) -> Vec<(u32, u32)> {
        let start = history.len().saturating_sub(self.penalty_last_n);
        let mut counts: Vec<(u32, u32)> = Vec::new();
        for &t in &history[start..] {
            match counts.iter_mut().find(|(id, _)| *id == t) {
                Some((_, c)) => *c += 1,
                None => counts.push((t, 1)),
            }
        }
        counts
    }
}

/// Draws tokens with a seeded generator, so a seed reproduces a generation.
pub struct Sampler {
    pub params: SamplingParams,
    rng: Rng,
}

impl Sampler {
    pub fn new(params: SamplingParams) -> Self {
        let rng = Rng::new(params.seed);
        Sampler { params, rng }
    }

    /// Picks one id from `candidates` ((id, logit), best first, as the GPU's top-k returns them).
    /// Returns None only when there is no candidate at all.
    pub fn pick(&mut self, candidates: &[(u32, f32)]) -> Option<u32> {
        let first = candidates.first()?;
        if self.params.is_greedy() || candidates.len() == 1 {
            return Some(first.0);
        }
        let p = &self.params;
        // Probabilities of the raw logits (top-p and min-p use them, as in llama.cpp).
        let probs = softmax(candidates.iter().map(|c| c.1), 1.0);
        let mut keep = candidates.len();
        if p.top_p < 1.0 {
            let mut sum = 0.0;
            for (i, q) in probs.iter().enumerate() {
                sum += q;
                if sum >= p.top_p as f64 {
                    keep = keep.min(i + 1);
                    break;
                }
            }
        }
        if p.min_p > 0.0 {
            let floor = probs[0] * p.min_p as f64;
            keep = keep.min(probs.iter().take_while(|&&q| q >= floor).count().max(1));
        }
        let kept = &candidates[..keep];
        let weights = softmax(kept.iter().map(|c| c.1), p.temperature);
        let mut u = self.rng.f32_range(0.0, 1.0) as f64;
        for (c, w) in kept.iter().zip(&weights) {
            if u < *w {
                return Some(c.0);
            }
            u -= w;
        }
        kept.last().map(|c| c.0)
    }
}

/// Softmax of `logits / temperature` in f64.
fn softmax(logits: impl Iterator<Item = f32> + Clone, temperature: f32) -> Vec<f64> {
    let t = f64::from(temperature.max(1e-6));
    let max = logits.clone().fold(f32::NEG_INFINITY, f32::max) as f64;
    let e: Vec<f64> = logits.map(|l| ((l as f64 - max) / t).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cands() -> Vec<(u32, f32)> {
        vec![(7, 3.0), (2, 2.5), (9, 1.0), (4, -2.0)]
    }

    #[test]
    fn greedy_takes_the_best() {
        let mut s = Sampler::new(SamplingParams::greedy());
        assert_eq!(s.pick(&cands()), Some(7));
        assert_eq!(s.pick(&[]), None);
    }

    #[test]
    fn seeded_sampling_is_reproducible_and_varies() {
        let params = SamplingParams {
            temperature: 1.5,
            top_p: 1.0,
            min_p: 0.0,
            seed: 42,
            ..Default::default()
        };
        let run = |p: &SamplingParams| {
            let mut s = Sampler::new(p.clone());
            (0..200).map(|_| s.pick(&cands()).unwrap()).collect::<Vec<_>>()
        };
        assert_eq!(run(&params), run(&params));
        let draws = run(&params);
        assert!(
            draws.contains(&7) && draws.contains(&2) && draws.contains(&9),
            "a hot sampler reaches several ids"
        );
        assert_ne!(
            run(&params),
            run(&SamplingParams {
                seed: 43,
                ..params.clone()
            })
        );
    }

    #[test]
    fn top_p_and_min_p_cut_the_tail() {
        // p = softmax(3, 2.5, 1, -2) = 0.56, 0.34, 0.08, 0.003
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            top_p: 0.85,
            min_p: 0.0,
            ..Default::default()
        });
        assert!((0..300).all(|_| matches!(s.pick(&cands()), Some(7 | 2))));
        let mut s = Sampler::new(SamplingParams {
            temperature: 1.0,
            top_p: 1.0,
            min_p: 0.5,
            ..Default::default()
        });
        assert!((0..300).all(|_| matches!(s.pick(&cands()), Some(7 | 2))));
    }

    #[test]
    fn recent_counts_window() {
        let p = SamplingParams {
            penalty_last_n: 4,
            ..Default::default()
        };
        assert_eq!(p.recent_counts(&[1, 2, 3, 3, 2, 3]), vec![(3, 3), (2, 1)]);
    }

    #[test]
    fn penalty_entries_merge_bias_and_counts() {
        let p = SamplingParams {
            frequency_penalty: 0.5,
            logit_bias: vec![(2, 5.0), (9, -100.0), (2, 1.0)],
            ..Default::default()
        };
        let e = |id, count, bias| PenaltyEntry { id, count, bias };
        assert_eq!(
            p.penalty_entries(&[2, 4, 4]),
            vec![e(2, 1, 1.0), e(9, 0, -100.0), e(4, 2, 0.0)]
        );
        let off = SamplingParams {
            logit_bias: vec![(3, 2.0)],
            ..Default::default()
        };
        assert_eq!(
            off.penalty_entries(&[3, 3]),
            vec![e(3, 0, 2.0)],
            "no penalty: bias only"
        );
    }

    #[test]
    fn validate_openai_ranges() {
        let ok = |p: SamplingParams| p.validate().is_ok();
        let d = SamplingParams::default;
        assert!(ok(SamplingParams {
            presence_penalty: -2.0,
            frequency_penalty: 2.0,
            ..d()
        }));
        assert!(!ok(SamplingParams {
            presence_penalty: 2.5,
            ..d()
        }));
        assert!(!ok(SamplingParams {
            frequency_penalty: f32::NAN,
            ..d()
        }));
        assert!(!ok(SamplingParams {
            logit_bias: vec![(1, 100.5)],
            ..d()
        }));
        assert!(ok(SamplingParams {
            logit_bias: vec![(1, -100.0)],
            ..d()
        }));
        assert!(!ok(SamplingParams {
            logprobs: true,
            top_logprobs: 21,
            ..d()
        }));
        assert!(
            !ok(SamplingParams { top_logprobs: 2, ..d() }),
            "top_logprobs without logprobs"
        );
        assert_ne!(choice_seed(7, 0), choice_seed(7, 1));
        assert_eq!(choice_seed(7, 0), 7);
    }
}

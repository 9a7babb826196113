//! Extractive question answering: the best context span from start/end logits, following
//! transformers' question-answering pipeline (`select_starts_ends`, `decode_spans`,
//! `postprocess` in transformers 4's `pipelines/question_answering.py`).
//!
//! Per window (the context is split into overlapping windows when it does not fit):
//! 1. positions that cannot hold an answer (question, special tokens, padding) get logit
//!    -10000, except `[CLS]` at index 0; the mask comes before the softmax, as transformers';
//! 2. start and end probabilities are a softmax over the window, each on its own;
//! 3. a span (s, e) with s <= e < s + max_answer_len, both in the context, scores
//!    p_start(s) * p_end(e); `[CLS]`'s own score is the "no answer" score (the lowest over
//!    the windows, transformers' `min_null_score`), and `[CLS]` is then zeroed;
//! 4. spans are widened to whole words and mapped to character offsets in the context; spans
//!    that widen to the same text (ignoring case) are one answer whose score is the sum of
//!    theirs, across windows too.
//!
//! Departure from transformers, on purpose: transformers merges only the best `2 * top_k + 10`
//! spans of each window, so the merged scores, and with them the best answer, change with
//! `top_k` (issue 15: "box" at top_k 1, "box was crushed" first at top_k 6). Here every span
//! within `max_answer_len` is merged, so an answer's score is the whole probability of the
//! spans that widen to it and the ranking is the same for every `top_k`; it is what
//! transformers returns once `top_k` is large enough to reach every span
//! (`tests/qa_ranking.rs` checks both against transformers' own code).
//! When fewer answers exist than `top_k`, fewer come back (transformers pads the list with
//! empty zero-score answers).

use serde::Serialize;

use super::classify::softmax;
use super::inputs::Tokenized;

#[derive(Clone, Debug)]
pub struct QaOptions {
    /// Longest answer, in tokens.
    pub max_answer_len: usize,
    /// Answers to return.
    pub top_k: usize,
    /// Window length in tokens (question + context + specials); 0 = min(384, model maximum).
    pub max_seq_len: usize,
    /// Tokens shared by consecutive windows; 0 = min(max_seq_len / 2, 128).
    pub doc_stride: usize,
    /// Also offer "no answer" (empty, at 0..0) with the `[CLS]` score.
    pub handle_impossible_answer: bool,
}

impl Default for QaOptions {
    fn default() -> Self {
        QaOptions {
            max_answer_len: 15,
            top_k: 1,
            max_seq_len: 0,
            doc_stride: 0,
            handle_impossible_answer: false,
        }
    }
}

impl QaOptions {
    /// (window length, stride) for a model that takes `model_max` positions.
    pub fn windowing(&self, model_max: usize) -> (usize, usize) {
        let len = match self.max_seq_len {
            0 => model_max.min(384),
            n => n.min(model_max),
        };
        let stride = match self.doc_stride {
            0 => (len / 2).min(128),
            s => s,
        };
        (len, stride)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Answer {
    pub answer: String,
    pub score: f32,
    /// Character offsets into the context.
    pub start: usize,
    pub end: usize,
}

/// Logit given to positions that cannot be part of an answer (transformers' value).
const MASKED: f32 = -10000.0;

fn is_context(w: &Tokenized, i: usize) -> bool {
    w.sequence[i] == Some(1) && !w.special[i]
}

/// Character range of the word holding token `i` (within this window).
fn word_chars(w: &Tokenized, i: usize) -> (usize, usize) {
    let Some(word) = w.words[i] else {
        return w.offsets[i];
    };
    let same = (0..w.len()).filter(|&j| is_context(w, j) && w.words[j] == Some(word));
    let start = same.clone().map(|j| w.offsets[j].0).min().unwrap_or(w.offsets[i].0);
    let end = same.map(|j| w.offsets[j].1).max().unwrap_or(w.offsets[i].1);
    (start, end)
}

fn probabilities(w: &Tokenized, logits: &[f32]) -> Vec<f32> {
    let masked: Vec<f32> = (0..w.len())
        .map(|i| if i == 0 || is_context(w, i) { logits[i] } else { MASKED })
        .collect();
    softmax(&masked)
}

/// One candidate span: token positions in window `window`, both inclusive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    pub window: usize,
    pub start: usize,
    pub end: usize,
    pub score: f32,
}

/// Every candidate span of every window, best first (ties: earlier window, then earlier span,
/// the order of numpy's row-major argmax), and the lowest "no answer" score over the windows.
pub fn ranked_spans(windows: &[(&Tokenized, &[f32], &[f32])], max_answer_len: usize) -> (Vec<Span>, f32) {
    let mut spans = Vec::new();
    let mut null_score = f32::INFINITY;
    for (k, &(w, start_logits, end_logits)) in windows.iter().enumerate() {
        let (ps, pe) = (probabilities(w, start_logits), probabilities(w, end_logits));
        null_score = null_score.min(ps[0] * pe[0]);
        // [CLS] (index 0) is never a context token, so its zeroed score never enters a span.
        for s in (0..w.len()).filter(|&s| is_context(w, s)) {
            let last = s.saturating_add(max_answer_len).min(w.len());
            for e in (s..last).filter(|&e| is_context(w, e)) {
                spans.push(Span {
                    window: k,
                    start: s,
                    end: e,
                    score: ps[s] * pe[e],
                });
            }
        }
    }
    spans.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then((a.window, a.start, a.end).cmp(&(b.window, b.start, b.end)))
    });
    (spans, null_score)
}

/// Ranked answers from each window's tokens and its `start`/`end` logits (one per token).
pub fn answers(context: &str, windows: &[(&Tokenized, &[f32], &[f32])], opts: &QaOptions) -> Vec<Answer> {
    let chars: Vec<char> = context.chars().collect();
    // Each token's whole-word character range, once per window rather than once per span.
    let words: Vec<Vec<(usize, usize)>> = windows
        .iter()
        .map(|&(w, _, _)| (0..w.len()).map(|i| word_chars(w, i)).collect())
        .collect();
    let (mut spans, null_score) = ranked_spans(windows, opts.max_answer_len);
    // Window by window, as transformers merges: when one text occurs in two windows, its
    // offsets are those of the first window's occurrence (stable sort: best first within one).
    spans.sort_by_key(|s| s.window);
    let mut found: Vec<Answer> = Vec::new();
    // Same text, one answer: lowercased text -> index in `found`.
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for span in &spans {
        let (start, end) = (words[span.window][span.start].0, words[span.window][span.end].1);
        let Some(slice) = chars.get(start..end) else {
            continue; // offsets outside the context: not an answer we can show
        };
        let text: String = slice.iter().collect();
        match index.get(&text.to_lowercase()) {
            Some(&i) => found[i].score += span.score,
            None => {
                index.insert(text.to_lowercase(), found.len());
                found.push(Answer {
                    answer: text,
                    score: span.score,
                    start,
                    end,
                });
            }
        }
    }
    if opts.handle_impossible_answer && null_score.is_finite() {
        found.push(Answer {
            answer: String::new(),
            score: null_score,
            start: 0,
            end: 0,
        });
    }
    // Stable: among equal scores the answer whose best span ranked first.
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    found.truncate(opts.top_k);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// "[CLS] where ? [SEP] in par ##is today [SEP]" for context "in Paris today".
    fn window() -> Tokenized {
        Tokenized {
            ids: vec![0; 8],
            type_ids: vec![0, 0, 0, 0, 1, 1, 1, 1],
            offsets: vec![(0, 0), (0, 5), (5, 6), (0, 0), (0, 2), (3, 6), (6, 8), (0, 0)],
            words: vec![None, Some(0), Some(1), None, Some(0), Some(1), Some(1), None],
            sequence: vec![None, Some(0), Some(0), None, Some(1), Some(1), Some(1), None],
            special: vec![true, false, false, true, false, false, false, true],
        }
    }

    #[test]
    fn best_span_is_widened_to_words_and_skips_the_question() {
        let w = window();
        // The question token "where" has the largest logits but cannot be the answer; the best
        // context span starts on "##is", which widens to the whole word "Paris".
        let start = [0.0, 9.0, 0.0, 0.0, 0.0, 1.0, 3.0, 0.0];
        let end = [0.0, 9.0, 0.0, 0.0, 0.0, 0.0, 4.0, 0.0];
        let a = answers("in Paris today", &[(&w, &start, &end)], &QaOptions::default());
        assert_eq!(a.len(), 1);
        assert_eq!((a[0].answer.as_str(), a[0].start, a[0].end), ("Paris", 3, 8));
        assert!(a[0].score > 0.5 && a[0].score <= 1.0);
        let short = QaOptions {
            max_answer_len: 1,
            top_k: 3,
            ..Default::default()
        };
        // One-token spans: "in", "par" and "##is"; the last two widen to "Paris" and merge, their
        // scores summed.
        let a = answers("in Paris today", &[(&w, &start, &end)], &short);
        assert_eq!(a.iter().map(|a| a.answer.as_str()).collect::<Vec<_>>(), ["Paris", "in"]);
        let (ps, pe) = (probabilities(&w, &start), probabilities(&w, &end));
        // [CLS] is zeroed after the softmax, not renormalised, so these are the plain probabilities.
        let want = ps[5] * pe[5] + ps[6] * pe[6];
        assert!((a[0].score - want).abs() < 1e-6, "{} vs {want}", a[0].score);
    }
}

//! Text -> token ids with everything the tasks need to point back into the text (character
//! offsets, words, which sequence of a pair), and padded batches for the encoder.

use tokenizers::utils::truncation::{TruncationDirection, TruncationParams};
use tokenizers::{Encoding, PostProcessor};

use super::AnalysisError;
use crate::tokenizer::{Tokenizer, TokenizerError};

/// One tokenized input.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tokenized {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    /// Character (Unicode scalar value) offsets into the text each token came from, `(0, 0)`
    /// for special tokens. For a pair, offsets index the sequence of [`Tokenized::sequence`].
    pub offsets: Vec<(usize, usize)>,
    /// Which pre-tokenized word a token belongs to (`None` for special tokens).
    pub words: Vec<Option<u32>>,
    /// Which text of a pair a token came from: `Some(0)`, `Some(1)`, or `None` for specials.
    pub sequence: Vec<Option<usize>>,
    pub special: Vec<bool>,
}

impl Tokenized {
    fn from_encoding(e: &Encoding) -> Tokenized {
        Tokenized {
            ids: e.get_ids().to_vec(),
            type_ids: e.get_type_ids().to_vec(),
            offsets: e.get_offsets().to_vec(),
            words: e.get_word_ids().to_vec(),
            sequence: e.get_sequence_ids(),
            special: e.get_special_tokens_mask().iter().map(|&s| s != 0).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

fn library(what: &'static str) -> impl Fn(tokenizers::Error) -> AnalysisError {
    move |e| TokenizerError::library(what, e).into()
}

/// Tokenizes single texts with the model's special tokens. Longer than `max_len` is an
/// [`AnalysisError::InputTooLong`] unless `truncate`, which keeps the first `max_len` tokens
/// (special tokens included, as HF tokenizers' `truncation=True` does).
pub fn tokenize_texts(
    tok: &Tokenizer,
    texts: &[&str],
    max_len: usize,
    truncate: bool,
) -> Result<Vec<Tokenized>, AnalysisError> {
    let mut inner = tok.inner().clone();
    if truncate {
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(library("truncation"))?;
    }
    texts
        .iter()
        .enumerate()
        .map(|(index, text)| {
            let enc = inner.encode_char_offsets(*text, true).map_err(library("encode"))?;
            if enc.len() > max_len {
                return Err(AnalysisError::InputTooLong {
                    index,
                    tokens: enc.len(),
                    max: max_len,
                });
            }
            Ok(Tokenized::from_encoding(&enc))
        })
        .collect()
}

/// Tokenizes a (question, context) pair into windows of at most `max_len` tokens: the context
/// is cut into overlapping spans that share `stride` tokens, each window repeating the
/// question (what HF's `truncation="only_second"`, `return_overflowing_tokens=True` gives).
///
/// The windows are cut here rather than by the tokenizer's own pair truncation: tokenizers
/// 0.23.2 (Rust) ends the last window early on long contexts, unlike the Python release that
/// transformers uses.
pub fn tokenize_pair_windows(
    tok: &Tokenizer,
    question: &str,
    context: &str,
    max_len: usize,
    stride: usize,
) -> Result<Vec<Tokenized>, AnalysisError> {
    let inner = tok.inner();
    let question = inner.encode_char_offsets(question, false).map_err(library("encode"))?;
    let mut context = inner.encode_char_offsets(context, false).map_err(library("encode"))?;
    let added = inner.get_post_processor().map_or(0, |p| p.added_tokens(true));
    let budget = max_len.saturating_sub(added.saturating_add(question.len()));
    // The question must leave room for some context, and for windows that advance when the
    // context needs more than one.
    if budget == 0 || (context.len() > budget && stride >= budget) {
        return Err(AnalysisError::QuestionTooLong {
            question: question.len(),
            window: max_len,
            stride,
        });
    }
    // Encoding::truncate cuts [0, budget), then windows advancing by budget - stride.
    context.truncate(budget, stride, TruncationDirection::Right);
    let rest = context.take_overflowing();
    std::iter::once(context)
        .chain(rest)
        .map(|window| {
            let enc = inner
                .post_process(question.clone(), Some(window), true)
                .map_err(library("post-process"))?;
            Ok(Tokenized::from_encoding(&enc))
        })
        .collect()
}

/// A padded `[batch, seq]` batch: ids, token types and the attention mask.
pub struct Padded {
    pub batch: usize,
    pub seq: usize,
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
    pub mask: Vec<u32>,
}

/// Pads `inputs` to the longest with `pad_id` (masked out, so its value only matters to
/// MobileBERT's trigram input, which also masks it).
pub fn pad(inputs: &[&Tokenized], pad_id: u32) -> Padded {
    let seq = inputs.iter().map(|t| t.len()).max().unwrap_or(0).max(1);
    let n = inputs.len() * seq;
    let (mut ids, mut type_ids, mut mask) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
    for t in inputs {
        let pad = seq - t.len();
        ids.extend(t.ids.iter().copied().chain(std::iter::repeat_n(pad_id, pad)));
        type_ids.extend(t.type_ids.iter().copied().chain(std::iter::repeat_n(0, pad)));
        mask.extend(std::iter::repeat_n(1, t.len()).chain(std::iter::repeat_n(0, pad)));
    }
    Padded {
        batch: inputs.len(),
        seq,
        ids,
        type_ids,
        mask,
    }
}

/// Index groups of at most `batch_size` inputs of similar length (longest first), so little of
/// each padded batch is padding. Every index appears exactly once.
pub fn length_batches(lengths: &[usize], batch_size: usize) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..lengths.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    order.chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(ids: &[u32]) -> Tokenized {
        Tokenized {
            ids: ids.to_vec(),
            type_ids: vec![0; ids.len()],
            ..Default::default()
        }
    }

    #[test]
    fn pads_to_the_longest() {
        let (a, b) = (tok(&[5, 6, 7]), tok(&[8]));
        let p = pad(&[&a, &b], 0);
        assert_eq!((p.batch, p.seq), (2, 3));
        assert_eq!(p.ids, [5, 6, 7, 8, 0, 0]);
        assert_eq!(p.mask, [1, 1, 1, 1, 0, 0]);
    }

    #[test]
    fn length_batches_cover_every_input_once() {
        let groups = length_batches(&[3, 9, 1, 9, 4], 2);
        assert_eq!(groups, [vec![1, 3], vec![4, 0], vec![2]]);
    }
}

//! Token classification -> entities, with the aggregation strategies of transformers'
//! token-classification pipeline (the names and rules are theirs):
//!
//! - `none`: one entity per token, `B-`/`I-` tags kept;
//! - `simple`: tokens grouped when consecutive tokens share a tag and the later one is not `B-`;
//! - `first`, `average`, `max` (word level): sub-word tokens are first merged into their word,
//!   which takes the label of its first token, of the mean of its tokens' scores, or of its most
//!   confident token; words are then grouped like `simple`.
//!
//! Entities labelled `O` are dropped. Offsets are character offsets into the text, and `word` is
//! the text they cover (transformers prints the decoded, lower-cased tokens instead).
//!
//! Sub-words are found from the tokenizer's word ids. transformers instead calls a token a
//! sub-word when its vocabulary string and its text span differ in length, which also glues a
//! word with a decomposed accent ("Mu\u{308}ller") to the word before it; webslm does not.

use serde::Serialize;

use super::classify::softmax;
use super::inputs::Tokenized;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aggregation {
    None,
    Simple,
    First,
    Average,
    Max,
}

impl Aggregation {
    pub fn parse(s: &str) -> Option<Aggregation> {
        Some(match s {
            "none" => Aggregation::None,
            "simple" => Aggregation::Simple,
            "first" => Aggregation::First,
            "average" => Aggregation::Average,
            "max" => Aggregation::Max,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entity {
    /// The label (`B-PER` with `none`; the entity type, `PER`, when grouped).
    pub label: String,
    pub score: f32,
    pub word: String,
    pub start: usize,
    pub end: usize,
    /// Token index, for `none` only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

/// A token or word before grouping.
struct Scored {
    scores: Vec<f32>,
    start: usize,
    end: usize,
    index: usize,
    is_subword: bool,
}

fn argmax(v: &[f32]) -> usize {
    // First maximum, like numpy's argmax.
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

fn slice_chars(text: &str, start: usize, end: usize) -> String {
    text.chars().skip(start).take(end.saturating_sub(start)).collect()
}

/// Splits `B-PER` into ("B", "PER"); a label without a B-/I- prefix counts as a continuation.
fn tag(label: &str) -> (bool, &str) {
    if let Some(t) = label.strip_prefix("B-") {
        (true, t)
    } else if let Some(t) = label.strip_prefix("I-") {
        (false, t)
    } else {
        (false, label)
    }
}

/// Entities of one text from its per-token `logits` (`[tokens, labels]`).
pub fn entities(
    text: &str,
    tokens: &Tokenized,
    logits: &[f32],
    labels: &[String],
    strategy: Aggregation,
) -> Vec<Entity> {
    let n_labels = labels.len().max(1);
    let label = |i: usize| labels.get(i).cloned().unwrap_or_else(|| format!("LABEL_{i}"));
    let mut previous_word = None;
    let mut pre = Vec::new();
    for (i, row) in logits.chunks_exact(n_labels).enumerate().take(tokens.len()) {
        if tokens.special[i] {
            continue;
        }
        let word = tokens.words[i];
        pre.push(Scored {
            scores: softmax(row),
            start: tokens.offsets[i].0,
            end: tokens.offsets[i].1,
            index: i,
            is_subword: word.is_some() && word == previous_word,
        });
        previous_word = word;
    }
    let entity = |s: &Scored, scores: &[f32]| {
        let best = argmax(scores);
        Entity {
            label: label(best),
            score: scores[best],
            word: slice_chars(text, s.start, s.end),
            start: s.start,
            end: s.end,
            index: None,
        }
    };
    let units: Vec<Entity> = match strategy {
        Aggregation::None | Aggregation::Simple => pre
            .iter()
            .map(|s| Entity {
                index: (strategy == Aggregation::None).then_some(s.index),
                ..entity(s, &s.scores)
            })
            .collect(),
        _ => words(&pre)
            .into_iter()
            .map(|w| aggregate_word(w, strategy, &entity))
            .collect(),
    };
    let grouped = if strategy == Aggregation::None {
        units
    } else {
        group(units, text)
    };
    grouped.into_iter().filter(|e| e.label != "O").collect()
}

/// Consecutive runs of a word's first token and its sub-word tokens.
fn words(pre: &[Scored]) -> Vec<&[Scored]> {
    let mut out = Vec::new();
    let mut begin = 0;
    for i in 1..=pre.len() {
        if i == pre.len() || !pre[i].is_subword {
            if i > begin {
                out.push(&pre[begin..i]);
            }
            begin = i;
        }
    }
    out
}

fn aggregate_word(w: &[Scored], strategy: Aggregation, entity: &impl Fn(&Scored, &[f32]) -> Entity) -> Entity {
    let (first, last) = (&w[0], &w[w.len() - 1]);
    let mut e = match strategy {
        Aggregation::Max => {
            let best = w.iter().fold(first, |best, s| {
                let top = |s: &Scored| s.scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                if top(s) > top(best) {
                    s
                } else {
                    best
                }
            });
            entity(first, &best.scores)
        }
        Aggregation::Average => {
            let mut mean = vec![0.0f32; first.scores.len()];
            for s in w {
                mean.iter_mut().zip(&s.scores).for_each(|(m, v)| *m += v);
            }
            mean.iter_mut().for_each(|m| *m /= w.len() as f32);
            entity(first, &mean)
        }
        _ => entity(first, &first.scores),
    };
    e.end = last.end;
    e
}

/// Merges consecutive entities of the same type unless the later one begins a new entity
/// (`B-`); the group's score is the mean of its members'.
fn group(units: Vec<Entity>, text: &str) -> Vec<Entity> {
    let mut out: Vec<Entity> = Vec::new();
    let mut run: Vec<Entity> = Vec::new();
    let flush = |run: &mut Vec<Entity>, out: &mut Vec<Entity>| {
        if let (Some(first), Some(last)) = (run.first(), run.last()) {
            let (start, end) = (first.start, last.end);
            // The entity type is what follows the first '-' (B-LOC, I-LOC, S-LOC, E-LOC -> LOC).
            let label = first.label.split_once('-').map_or(first.label.as_str(), |(_, t)| t);
            out.push(Entity {
                label: label.to_string(),
                score: run.iter().map(|e| e.score).sum::<f32>() / run.len() as f32,
                word: slice_chars(text, start, end),
                start,
                end,
                index: None,
            });
        }
        run.clear();
    };
    for e in units {
        let continues = run.last().is_some_and(|last| {
            let (begins, t) = tag(&e.label);
            !begins && t == tag(&last.label).1
        });
        if !continues {
            flush(&mut run, &mut out);
        }
        run.push(e);
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ["O", "B-PER", "I-PER", "B-LOC"].iter().map(|s| s.to_string()).collect()
    }

    /// Logits that make `label` win clearly.
    fn row(label: usize) -> Vec<f32> {
        (0..4).map(|i| if i == label { 5.0 } else { 0.0 }).collect()
    }

    /// "[CLS] jo ##hn smith in paris [SEP]" over "John Smith in Paris".
    fn tokens() -> Tokenized {
        Tokenized {
            ids: vec![0; 7],
            type_ids: vec![0; 7],
            offsets: vec![(0, 0), (0, 2), (2, 4), (5, 10), (11, 13), (14, 19), (0, 0)],
            words: vec![None, Some(0), Some(0), Some(1), Some(2), Some(3), None],
            sequence: vec![None, Some(0), Some(0), Some(0), Some(0), Some(0), None],
            special: vec![true, false, false, false, false, false, true],
        }
    }

    #[test]
    fn simple_groups_b_then_i_and_drops_o() {
        let logits: Vec<f32> = [0, 1, 2, 2, 0, 3, 0].iter().flat_map(|&l| row(l)).collect();
        let e = entities(
            "John Smith in Paris",
            &tokens(),
            &logits,
            &labels(),
            Aggregation::Simple,
        );
        assert_eq!(e.len(), 2);
        assert_eq!(
            (e[0].label.as_str(), e[0].start, e[0].end, e[0].word.as_str()),
            ("PER", 0, 10, "John Smith")
        );
        assert_eq!((e[1].label.as_str(), e[1].word.as_str()), ("LOC", "Paris"));
    }

    #[test]
    fn first_takes_the_label_of_the_first_sub_word() {
        // "jo" says B-PER, "##hn" says B-LOC: simple splits the word, first does not.
        let logits: Vec<f32> = [0, 1, 3, 0, 0, 0, 0].iter().flat_map(|&l| row(l)).collect();
        let simple = entities(
            "John Smith in Paris",
            &tokens(),
            &logits,
            &labels(),
            Aggregation::Simple,
        );
        assert_eq!(simple.len(), 2);
        let first = entities("John Smith in Paris", &tokens(), &logits, &labels(), Aggregation::First);
        assert_eq!(first.len(), 1);
        assert_eq!((first[0].label.as_str(), first[0].word.as_str()), ("PER", "John"));
        let none = entities("John Smith in Paris", &tokens(), &logits, &labels(), Aggregation::None);
        assert_eq!(none.iter().map(|e| e.index).collect::<Vec<_>>(), [Some(1), Some(2)]);
    }
}

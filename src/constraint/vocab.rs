//! The model's vocabulary as llguidance sees it: the bytes each token id spells, in a `TokTrie`,
//! with the end-of-generation ids as its EOS set. Built once per model and shared by every
//! request's matcher (the trie of a 152k vocabulary takes tens of milliseconds).
//!
//! Written here rather than with `toktrie_hf_tokenizers` or llguidance's
//! `token_bytes_from_tokenizer_json`: the former pins its own `tokenizers` version, the latter
//! panics (`assert!`, `unwrap`) on vocabularies we accept; both read a `tokenizer.json`, while GGUF
//! vocabularies (`tokenizer/gguf_vocab.rs`) are converted straight to a `tokenizers::Tokenizer`.

use std::collections::HashMap;
use std::sync::Arc;

use llguidance::toktrie::{TokEnv, TokRxInfo, TokTrie, TokenId, TokenizerEnv};
use llguidance::ParserFactory;

use super::ConstraintError;
use crate::tokenizer::Tokenizer;

/// How a vocabulary entry maps to bytes, read from the tokenizer's decoder.
enum Spelling {
    /// GPT-2 byte-level BPE: each byte is one printable character (`Ġ` for a space).
    ByteLevel(HashMap<char, u8>),
    /// SentencePiece with byte fallback: `<0xNN>` is byte NN, `space` stands for ' '.
    ByteFallback { space: char },
}

/// GPT-2's byte-to-character table, inverted: printable Latin-1 maps to itself, the other bytes
/// to U+0100 onwards, in byte order.
fn byte_level_chars() -> HashMap<char, u8> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut next = 0x100u32;
    let mut map = HashMap::new();
    for b in 0..=255u8 {
        let c = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(next - 1).unwrap_or(char::REPLACEMENT_CHARACTER)
        };
        map.insert(c, b);
    }
    map
}

fn spelling(tokenizer: &tokenizers::Tokenizer) -> Result<Spelling, ConstraintError> {
    let decoder = serde_json::to_value(tokenizer.get_decoder()).unwrap_or_default();
    let unsupported =
        || ConstraintError::Vocabulary(format!("decoder {decoder} is neither byte-level nor byte-fallback"));
    match decoder["type"].as_str() {
        Some("ByteLevel") => Ok(Spelling::ByteLevel(byte_level_chars())),
        Some("Sequence") => {
            let parts = decoder["decoders"].as_array().ok_or_else(unsupported)?;
            if !parts.iter().any(|d| d["type"] == "ByteFallback") {
                return Err(unsupported());
            }
            let space = parts
                .iter()
                .filter(|d| d["type"] == "Replace" && d["content"] == " ")
                .find_map(|d| {
                    let s = d["pattern"]["String"].as_str()?;
                    let mut chars = s.chars();
                    let c = chars.next()?;
                    chars.next().is_none().then_some(c)
                })
                .unwrap_or(' ');
            Ok(Spelling::ByteFallback { space })
        }
        _ => Err(unsupported()),
    }
}

/// `<0xNN>` → NN.
fn byte_token(name: &str) -> Option<u8> {
    let hex = name.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2).then(|| u8::from_str_radix(hex, 16).ok())?
}

/// The bytes of every id below `vocab` (ids the tokenizer lacks, such as a model's padding rows,
/// spell nothing and are never allowed). Special tokens start with `TokTrie::SPECIAL_TOKEN_MARKER`,
/// so no grammar over text can produce them.
fn token_bytes(tokenizer: &tokenizers::Tokenizer, vocab: usize) -> Result<Vec<Vec<u8>>, ConstraintError> {
    let spelling = spelling(tokenizer)?;
    let mut words = vec![Vec::new(); vocab];
    let added = tokenizer.get_added_tokens_decoder();
    for (name, id) in tokenizer.get_vocab(false) {
        let Some(word) = words.get_mut(id as usize) else {
            continue;
        };
        if added.contains_key(&id) {
            continue;
        }
        *word = match &spelling {
            Spelling::ByteFallback { space } => match byte_token(&name) {
                Some(b) => vec![b],
                None => name.replace(*space, " ").into_bytes(),
            },
            Spelling::ByteLevel(map) => name
                .chars()
                .map(|c| map.get(&c).copied())
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| ConstraintError::Vocabulary(format!("token {id} ({name:?}) is not byte-level BPE")))?,
        };
    }
    for (id, token) in added {
        let Some(word) = words.get_mut(id as usize) else {
            continue;
        };
        *word = Vec::with_capacity(token.content.len() + 1);
        if token.special {
            word.push(TokTrie::SPECIAL_TOKEN_MARKER);
        }
        word.extend_from_slice(token.content.as_bytes());
    }
    Ok(words)
}

/// The bytes each id below `vocab` stands for, as OpenAI's logprobs report them (`bytes`):
/// the same spelling llguidance gets, special tokens as their text without the marker.
pub fn token_spellings(tokenizer: &Tokenizer, vocab: usize) -> Result<Vec<Vec<u8>>, ConstraintError> {
    let mut words = token_bytes(tokenizer.inner(), vocab)?;
    for w in &mut words {
        if w.first() == Some(&TokTrie::SPECIAL_TOKEN_MARKER) {
            w.remove(0);
        }
    }
    Ok(words)
}

/// `TokenizerEnv` over our tokenizer: llguidance tokenizes forced text (a grammar's fixed
/// strings) with it, so forced tokens are the ones the model would have seen in training.
struct Env {
    trie: TokTrie,
    tokenizer: tokenizers::Tokenizer,
}

impl TokenizerEnv for Env {
    fn tok_trie(&self) -> &TokTrie {
        &self.trie
    }

    fn tokenize_bytes(&self, s: &[u8]) -> Vec<TokenId> {
        // Not UTF-8, or the tokenizer fails: the trie's greedy tokenization is always valid.
        let encoded = std::str::from_utf8(s)
            .ok()
            .and_then(|text| self.tokenizer.encode_fast(text, false).ok());
        match encoded {
            Some(enc) => enc.get_ids().to_vec(),
            None => self.trie.greedy_tokenize(s),
        }
    }
}

/// A model's vocabulary compiled for llguidance; cheap to clone and share between requests.
#[derive(Clone)]
pub struct Vocabulary {
    pub(super) factory: Arc<ParserFactory>,
    /// Logits per step (the model's vocabulary, which may exceed the tokenizer's).
    pub vocab: usize,
}

impl Vocabulary {
    /// `vocab` is the model's logits count; `stop_ids` the ids that end generation (the grammar
    /// allows them only where it accepts).
    pub fn new(tokenizer: &Tokenizer, vocab: usize, stop_ids: &[u32]) -> Result<Self, ConstraintError> {
        let inner = tokenizer.inner();
        let vocab = vocab.max(inner.get_vocab_size(true));
        let words = token_bytes(inner, vocab)?;
        let eos = *stop_ids
            .first()
            .ok_or_else(|| ConstraintError::Vocabulary("the model has no end-of-generation token".into()))?;
        let vocab_u32 = u32::try_from(vocab).map_err(|_| ConstraintError::Vocabulary(format!("{vocab} tokens")))?;
        let trie = TokTrie::from(&TokRxInfo::new(vocab_u32, eos), &words).with_eos_tokens(stop_ids);
        let env: TokEnv = Arc::new(Env {
            trie,
            tokenizer: inner.clone(),
        });
        let mut factory = ParserFactory::new_simple(&env).map_err(|e| ConstraintError::Vocabulary(e.to_string()))?;
        factory.quiet();
        Ok(Vocabulary {
            factory: Arc::new(factory),
            vocab,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_level_table_is_gpt2s() {
        let map = byte_level_chars();
        assert_eq!(map.len(), 256);
        assert_eq!(map[&'Ġ'], b' ');
        assert_eq!(map[&'Ċ'], b'\n');
        assert_eq!(map[&'a'], b'a');
    }

    #[test]
    fn byte_tokens() {
        assert_eq!(byte_token("<0x0A>"), Some(b'\n'));
        assert_eq!(byte_token("<0xZZ>"), None);
        assert_eq!(byte_token("<0x1234>"), None);
        assert_eq!(byte_token("<0x>"), None);
    }
}

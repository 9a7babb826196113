//! A GGUF vocabulary (`tokenizer.ggml.*` metadata) converted to a `tokenizers::Tokenizer` that
//! tokenizes as llama.cpp does (`llama_tokenize(add_special=true, parse_special=true)`).
//!
//! Two vocabulary kinds (`tokenizer.ggml.model`):
//! - `llama`: SentencePiece BPE (Gemma). llama.cpp replaces ' ' with '▁', then repeatedly merges the
//!   adjacent pair whose concatenation is the vocabulary token with the highest score (leftmost on
//!   ties); characters left outside the vocabulary become `<0xNN>` byte tokens. That is a BPE whose
//!   merge list holds every split of every token into two tokens, ranked by the merged token's
//!   score, with byte fallback; that list is built here (`spm_merges`).
//! - `gpt2`: byte-level BPE (SmolLM2, Qwen2.5) with the file's merges, after the regex splits that
//!   llama.cpp uses for `tokenizer.ggml.pre` (copied from llama.cpp's `llama-vocab.cpp`).
//!
//! Control, user-defined and unknown tokens (token types 3, 4, 2) are added tokens matched in the
//! raw text before anything else, as llama.cpp's `tokenizer_st_partition` does with
//! `parse_special=true`. Both match the longest token; they differ only where two special tokens
//! overlap in the text (llama.cpp takes the longest anywhere, `tokenizers` the leftmost-longest).
//!
//! Which tokens count as control follows llama.cpp's load-time rules (`special_tokens.rs`). Not
//! reproduced: the per-model lstrip/rstrip attributes (phi-3, jina, modern-bert).

use tokenizers::decoders::byte_fallback::ByteFallback;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::decoders::fuse::Fuse;
use tokenizers::decoders::sequence::Sequence as DecoderSequence;
use tokenizers::decoders::strip::Strip;
use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::bpe::{Vocab, BPE};
use tokenizers::normalizers::{Prepend, Replace, Sequence as NormalizerSequence};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::sequence::Sequence as PreTokenizerSequence;
use tokenizers::pre_tokenizers::split::{Split, SplitPattern};
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::{AddedToken, NormalizerWrapper, SplitDelimiterBehavior};

use super::error::TokenizerError;
use super::special_tokens::{effective_types, TYPE_CONTROL, TYPE_UNKNOWN, TYPE_USER_DEFINED};
use crate::formats::gguf::{GgufFile, MetaArray, MetaValue};

/// Longest token accepted (bytes). Real vocabularies stay under a few hundred bytes; the bound
/// keeps the O(len²) merge construction for SentencePiece vocabularies small on hostile files.
pub const MAX_TOKEN_BYTES: usize = 1024;

/// Which GGUF vocabulary kind a tokenizer came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GgufVocabKind {
    /// `tokenizer.ggml.model = llama`: SentencePiece BPE with scores and byte fallback.
    SentencePiece,
    /// `tokenizer.ggml.model = gpt2`: byte-level BPE with merges.
    ByteLevelBpe,
}

/// The converted tokenizer plus what llama.cpp adds around it.
pub struct GgufVocab {
    pub tokenizer: tokenizers::Tokenizer,
    pub kind: GgufVocabKind,
    /// The BOS id when `llama_tokenize(add_special=true)` prepends one.
    pub add_bos: Option<u32>,
    /// The EOS id when `llama_tokenize(add_special=true)` appends one.
    pub add_eos: Option<u32>,
    pub bos_id: Option<u32>,
    pub eos_id: Option<u32>,
}

/// Pre-tokenizer names accepted in `tokenizer.ggml.pre` (for the error message).
const KNOWN_PRE: &str = "default, gpt2, smollm, qwen2, llama-bpe (llama3, llama-v3), starcoder, refact, command-r, codeshell, exaone, minerva, mpt, olmo, jais, stablelm2";

// The regexes llama.cpp applies in sequence for each `tokenizer.ggml.pre` (llama-vocab.cpp,
// `llm_tokenizer_bpe`). Each splits every piece left by the previous one; matches and the text
// between them both become pieces (`Isolated`).
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

/// (regexes, ignore_merges) for a pre-tokenizer name, or `None` when unknown.
fn pre_tokenizer_regexes(pre: &str) -> Option<(Vec<&'static str>, bool)> {
    Some(match pre {
        "default" | "" => (
            vec![r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", r"[0-9][0-9][0-9]"],
            false,
        ),
        "llama3" | "llama-v3" | "llama-bpe" => (vec![LLAMA3], true),
        "qwen2" | "stablelm2" | "deepseek-r1-qwen" => (vec![QWEN2], false),
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva" => {
            (vec![r"\p{N}", GPT2], false)
        }
        "gpt-2" | "gpt2" | "mpt" | "olmo" | "jais" => (vec![GPT2], false),
        _ => return None,
    })
}

/// Converts the vocabulary in `gguf`'s metadata.
pub fn from_gguf(gguf: &GgufFile) -> Result<GgufVocab, TokenizerError> {
    let model = gguf.md_str("tokenizer.ggml.model")?;
    let kind = match model {
        "llama" => GgufVocabKind::SentencePiece,
        "gpt2" => GgufVocabKind::ByteLevelBpe,
        other => {
            return Err(TokenizerError::UnknownModel {
                model: other.to_owned(),
            })
        }
    };
    let tokens = gguf.md_str_array("tokenizer.ggml.tokens")?;
    if tokens.is_empty() {
        return Err(TokenizerError::EmptyVocab);
    }
    let n = tokens.len();
    let types = match gguf.md_value("tokenizer.ggml.token_type") {
        None => None,
        Some(_) => Some(gguf.md_i32_array("tokenizer.ggml.token_type")?),
    };
    if let Some(t) = types {
        if t.len() != n {
            return Err(TokenizerError::LengthMismatch {
                key: "tokenizer.ggml.token_type",
                len: t.len(),
                n_tokens: n,
            });
        }
    }

    let mut vocab = Vocab::with_capacity(n);
    for (id, tok) in tokens.iter().enumerate() {
        if tok.len() > MAX_TOKEN_BYTES {
            return Err(TokenizerError::TokenTooLong {
                id: id as u32,
                len: tok.len(),
                limit: MAX_TOKEN_BYTES,
            });
        }
        // llama.cpp renames empty tokens so that they never match text.
        let tok = if tok.is_empty() {
            format!("[EMPTY_{id}]")
        } else {
            tok.clone()
        };
        if let Some(first) = vocab.insert(tok.clone(), id as u32) {
            return Err(TokenizerError::DuplicateToken {
                first,
                second: id as u32,
                token: tok,
            });
        }
    }

    // llama.cpp's defaults, then the metadata's word.
    let (bos_default, eos_default, unk_default, add_bos_default) = match kind {
        GgufVocabKind::SentencePiece => (Some(1), Some(2), Some(0), true),
        GgufVocabKind::ByteLevelBpe => (Some(11), Some(11), None, false),
    };
    let special_id = |key: &'static str, default: Option<u32>| -> Result<Option<u32>, TokenizerError> {
        match gguf.md_opt::<u64>(key)? {
            // llama.cpp ignores an out-of-range id with a warning and keeps the default.
            Some(id) if (id as usize) < n => Ok(Some(id as u32)),
            _ => Ok(default.filter(|&d| (d as usize) < n)),
        }
    };
    let bos_id = special_id("tokenizer.ggml.bos_token_id", bos_default)?;
    let eos_id = special_id("tokenizer.ggml.eos_token_id", eos_default)?;
    let unk_id = special_id("tokenizer.ggml.unknown_token_id", unk_default)?;
    let pre = gguf.md_opt::<String>("tokenizer.ggml.pre")?.unwrap_or_default();

    let (model, normalizer, pre_tokenizer, decoder, pre_add_bos) = match kind {
        GgufVocabKind::SentencePiece => {
            let scores = scores(gguf, n)?;
            let add_space_prefix = gguf.md_opt::<bool>("tokenizer.ggml.add_space_prefix")?.unwrap_or(true);
            let merges = spm_merges(tokens, &scores, &vocab);
            let mut b = BPE::builder().vocab_and_merges(vocab, merges).byte_fallback(true);
            if let Some(u) = unk_id {
                b = b.unk_token(tokens[u as usize].clone());
            }
            let bpe = b
                .build()
                .map_err(|e| TokenizerError::library("SentencePiece vocabulary", e))?;
            let replace = Replace::new(" ", "▁").map_err(|e| TokenizerError::library("SentencePiece normalizer", e))?;
            let mut norms: Vec<NormalizerWrapper> = Vec::new();
            if add_space_prefix {
                norms.push(Prepend::new("▁".into()).into());
            }
            norms.push(replace.clone().into());
            let mut decoders: Vec<DecoderWrapper> = vec![
                DecoderWrapper::Replace(
                    Replace::new("▁", " ").map_err(|e| TokenizerError::library("SentencePiece decoder", e))?,
                ),
                ByteFallback::new().into(),
                Fuse::new().into(),
            ];
            if add_space_prefix {
                decoders.push(Strip::new(' ', 1, 0).into());
            }
            (
                bpe,
                Some(NormalizerWrapper::Sequence(NormalizerSequence::new(norms))),
                None,
                DecoderWrapper::Sequence(DecoderSequence::new(decoders)),
                add_bos_default,
            )
        }
        GgufVocabKind::ByteLevelBpe => {
            let (regexes, ignore_merges) =
                pre_tokenizer_regexes(&pre).ok_or_else(|| TokenizerError::UnknownPreTokenizer {
                    pre: pre.clone(),
                    known: KNOWN_PRE,
                })?;
            let merges = bpe_merges(gguf.md_str_array("tokenizer.ggml.merges")?, &vocab)?;
            let bpe = BPE::builder()
                .vocab_and_merges(vocab, merges)
                .ignore_merges(ignore_merges)
                .build()
                .map_err(|e| TokenizerError::library("BPE vocabulary", e))?;
            let mut pres: Vec<PreTokenizerWrapper> = Vec::new();
            for r in regexes {
                let split = Split::new(
                    SplitPattern::Regex(r.to_owned()),
                    SplitDelimiterBehavior::Isolated,
                    false,
                )
                .map_err(|e| TokenizerError::library("pre-tokenizer regex", e))?;
                pres.push(split.into());
            }
            pres.push(ByteLevel::new(false, false, false).into());
            // llama.cpp turns add_bos on for the llama3 family; the metadata still overrides it.
            let llama3 = matches!(pre.as_str(), "llama3" | "llama-v3" | "llama-bpe");
            (
                bpe,
                None,
                Some(PreTokenizerWrapper::Sequence(PreTokenizerSequence::new(pres))),
                DecoderWrapper::ByteLevel(ByteLevelDecoder::default()),
                llama3,
            )
        }
    };

    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer
        .with_normalizer(normalizer)
        .map_err(|e| TokenizerError::library("normalizer", e))?;
    tokenizer.with_pre_tokenizer(pre_tokenizer);
    tokenizer.with_decoder(Some(decoder));

    let added: Vec<AddedToken> = effective_types(gguf, tokens, types)
        .iter()
        .enumerate()
        .filter(|(_, &t)| matches!(t, TYPE_CONTROL | TYPE_USER_DEFINED | TYPE_UNKNOWN))
        .filter(|(id, _)| !tokens[*id].is_empty())
        .map(|(id, &t)| {
            // Control and unknown tokens are "special" (skipped by decode(skip_special=true));
            // user-defined ones (Gemma's "\n\n", "<table>") are ordinary text.
            AddedToken::from(tokens[id].clone(), t != TYPE_USER_DEFINED).normalized(false)
        })
        .collect();
    tokenizer
        .add_tokens(added)
        .map_err(|e| TokenizerError::library("special tokens", e))?;

    let add_bos = gguf
        .md_opt::<bool>("tokenizer.ggml.add_bos_token")?
        .unwrap_or(pre_add_bos);
    let add_eos = gguf.md_opt::<bool>("tokenizer.ggml.add_eos_token")?.unwrap_or(false);
    Ok(GgufVocab {
        tokenizer,
        kind,
        add_bos: if add_bos { bos_id } else { None },
        add_eos: if add_eos { eos_id } else { None },
        bos_id,
        eos_id,
    })
}

/// `tokenizer.ggml.scores` (f32, or i32 as llama.cpp also accepts), or all zeros when absent.
fn scores(gguf: &GgufFile, n: usize) -> Result<Vec<f32>, TokenizerError> {
    const KEY: &str = "tokenizer.ggml.scores";
    let scores: Vec<f32> = match gguf.md_value(KEY) {
        None => return Ok(vec![0.0; n]),
        Some(MetaValue::Array(MetaArray::I32(v))) => v.iter().map(|&s| s as f32).collect(),
        Some(_) => gguf.md_f32_array(KEY)?.to_vec(),
    };
    if scores.len() != n {
        return Err(TokenizerError::LengthMismatch {
            key: KEY,
            len: scores.len(),
            n_tokens: n,
        });
    }
    Ok(scores)
}

/// The merge list that makes a BPE behave like llama.cpp's SentencePiece tokenizer: every split
/// of every token into two vocabulary tokens, ranked by the merged token's score (highest first;
/// equal scores by id). llama.cpp merges the highest-scoring adjacent pair whose concatenation is
/// in the vocabulary, which is exactly what this list ranks.
fn spm_merges(tokens: &[String], scores: &[f32], index: &Vocab) -> Vec<(String, String)> {
    let mut order: Vec<u32> = (0..tokens.len() as u32).collect();
    // A total order (a partial one may make `sort_by` panic on NaN scores), in which -0.0 equals
    // 0.0 as in llama.cpp's float comparison (Gemma's "▁t" scores -0.0, its byte tokens 0.0).
    let key = |i: u32| scores[i as usize] + 0.0;
    order.sort_by(|&a, &b| key(b).total_cmp(&key(a)).then(a.cmp(&b)));
    let mut merges = Vec::new();
    for id in order {
        let tok = tokens[id as usize].as_str();
        for (split, _) in tok.char_indices().skip(1) {
            let (left, right) = tok.split_at(split);
            if index.contains_key(left) && index.contains_key(right) {
                merges.push((left.to_owned(), right.to_owned()));
            }
        }
    }
    merges
}

/// `tokenizer.ggml.merges` entries ("left right", split at the first space after the first byte,
/// as llama.cpp does) checked against the vocabulary.
fn bpe_merges(raw: &[String], vocab: &Vocab) -> Result<Vec<(String, String)>, TokenizerError> {
    let mut merges = Vec::with_capacity(raw.len());
    for (index, m) in raw.iter().enumerate() {
        let bad = || TokenizerError::BadMerge {
            index,
            merge: m.chars().take(64).collect(),
        };
        // ' ' is ASCII, so the position is a char boundary.
        let pos = m.as_bytes().iter().skip(1).position(|&b| b == b' ').ok_or_else(bad)? + 1;
        let (left, right) = (&m[..pos], &m[pos + 1..]);
        let merged = format!("{left}{right}");
        if !vocab.contains_key(left) || !vocab.contains_key(right) || !vocab.contains_key(&merged) {
            return Err(bad());
        }
        merges.push((left.to_owned(), right.to_owned()));
    }
    Ok(merges)
}

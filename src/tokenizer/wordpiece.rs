//! BERT's `vocab.txt` (+ `tokenizer_config.json`, + `special_tokens_map.json`) → a
//! `tokenizers::Tokenizer` equal to transformers' `BertTokenizerFast` loaded from the same files.
//!
//! Many encoder repos on the hub (distilbert-sst2, dslim/bert-base-NER, mobilebert-squad) ship no
//! `tokenizer.json`; transformers then builds one (`convert_slow_tokenizer.BertConverter`):
//!
//! ```text
//! vocab.txt             one token per line; line n is id n. transformers 5 passes the file to
//!                       `tokenizers`' `WordPiece.read_file`: "\n" ends a line, trailing
//!                       whitespace is trimmed, and a repeated token keeps the id of its last
//!                       line (its earlier id is then unused). (transformers 4's `load_vocab`
//!                       also split on a lone "\r" and kept trailing spaces; no real vocabulary
//!                       has either.)
//! normalizer            BertNormalizer(clean_text=True, handle_chinese_chars=tokenize_chinese_chars,
//!                       strip_accents, lowercase=do_lower_case)
//! pre-tokenizer         BertPreTokenizer (whitespace, then punctuation)
//! model                 WordPiece(unk_token, "##", max_input_chars_per_word=100)
//! post-processor        "[CLS]:0 $A:0 [SEP]:0" / "[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1"
//! decoder               WordPiece("##", cleanup=True)
//! special tokens        unk, sep, pad, cls, mask as non-normalised added tokens, so "[MASK]"
//!                       written in the text is that token
//! ```
//!
//! Config values (`BertTokenizerFast`'s defaults when absent): `do_lower_case` true,
//! `strip_accents` null (= follow `do_lower_case`), `tokenize_chinese_chars` true, tokens
//! `[UNK]` `[SEP]` `[PAD]` `[CLS]` `[MASK]` (a string or an `AddedToken` object with
//! `content`), `model_max_length` (absent, or transformers' 1e30 "no limit", means none).
//! `special_tokens_map.json` overrides the config's tokens, as `from_pretrained` lets it.

use std::collections::HashMap;

use serde_json::Value;
use tokenizers::decoders::wordpiece::WordPiece as WordPieceDecoder;
use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::processors::template::TemplateProcessing;
use tokenizers::{AddedToken, Model};

use super::TokenizerError;

/// Largest `vocab.txt` accepted (16 MiB; real ones are 0.2-1 MB, 30k-120k lines). A bigger file
/// (a 100 MB line, a wrong file) is refused before any line is split.
pub const MAX_VOCAB_TXT_BYTES: usize = 16 << 20;
/// Longest token line (the same cap as a GGUF token; real WordPiece tokens are under 30 bytes).
pub const MAX_VOCAB_TOKEN_BYTES: usize = super::MAX_TOKEN_BYTES;
/// HF's `max_input_chars_per_word`: a longer word is one `[UNK]`.
const MAX_INPUT_CHARS_PER_WORD: usize = 100;

/// The files of a BERT tokenizer without `tokenizer.json`.
#[derive(Clone, Copy, Debug, Default)]
pub struct VocabFiles<'a> {
    pub vocab_txt: &'a [u8],
    pub tokenizer_config: Option<&'a [u8]>,
    pub special_tokens_map: Option<&'a [u8]>,
}

/// The built tokenizer and what else the files say.
pub(crate) struct WordPieceTokenizer {
    pub tokenizer: tokenizers::Tokenizer,
    pub cls_id: u32,
    pub sep_id: u32,
    pub model_max_length: Option<usize>,
}

/// The special tokens' roles, in the order transformers registers them.
const ROLES: [(&str, &str); 5] = [
    ("unk_token", "[UNK]"),
    ("sep_token", "[SEP]"),
    ("pad_token", "[PAD]"),
    ("cls_token", "[CLS]"),
    ("mask_token", "[MASK]"),
];

pub(crate) fn from_vocab_files(files: VocabFiles<'_>) -> Result<WordPieceTokenizer, TokenizerError> {
    let config = json_object("tokenizer_config.json", files.tokenizer_config)?;
    let map = json_object("special_tokens_map.json", files.special_tokens_map)?;

    let flag = |key: &'static str, default: Option<bool>| -> Result<Option<bool>, TokenizerError> {
        match config.get(key) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(bad_config("tokenizer_config.json", key, other, "true, false or null")),
        }
    };
    let lowercase = flag("do_lower_case", Some(true))?.unwrap_or(true);
    let strip_accents = flag("strip_accents", None)?;
    let chinese = flag("tokenize_chinese_chars", Some(true))?.unwrap_or(true);

    let mut tokens = HashMap::new();
    for (role, default) in ROLES {
        // special_tokens_map.json is read after the config in `from_pretrained`, so it wins.
        let from_map = special_token(&map, "special_tokens_map.json", role)?;
        let from_config = special_token(&config, "tokenizer_config.json", role)?;
        tokens.insert(role, from_map.or(from_config).unwrap_or_else(|| default.to_string()));
    }
    let model = parse_vocab(files.vocab_txt, &tokens["unk_token"])?;
    let id_of = |role: &'static str| -> Result<u32, TokenizerError> {
        let token = &tokens[role];
        model
            .token_to_id(token)
            .ok_or_else(|| TokenizerError::MissingSpecialToken {
                role,
                token: token.clone(),
            })
    };
    let (cls_id, sep_id) = (id_of("cls_token")?, id_of("sep_token")?);
    id_of("unk_token")?;

    let (cls, sep) = (&tokens["cls_token"], &tokens["sep_token"]);
    for (role, token) in [("cls_token", cls), ("sep_token", sep)] {
        // The template is written as text: a space, a colon or a leading `$` would change it.
        if token.contains([' ', ':']) || token.starts_with('$') {
            return Err(TokenizerError::UnusableSpecialToken {
                role,
                token: token.clone(),
            });
        }
    }
    let template = TemplateProcessing::builder()
        .try_single(format!("{cls}:0 $A:0 {sep}:0"))
        .and_then(|b| b.try_pair(format!("{cls}:0 $A:0 {sep}:0 $B:1 {sep}:1")))
        .map_err(|e| TokenizerError::library("tokenizer template", e))?
        .special_tokens(vec![(cls.clone(), cls_id), (sep.clone(), sep_id)])
        .build()
        .map_err(|e| TokenizerError::library("tokenizer template", e))?;

    let in_vocab = |t: &&String| model.token_to_id(t).is_some();
    let special: Vec<_> = ROLES
        .iter()
        .map(|(role, _)| &tokens[role])
        .filter(in_vocab)
        .map(|t| AddedToken::from(t.clone(), true))
        .collect();
    let mut tokenizer = tokenizers::Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(BertNormalizer::new(true, chinese, strip_accents, lowercase)))
        .map_err(|e| TokenizerError::library("normalizer", e))?;
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer.with_post_processor(Some(template));
    tokenizer.with_decoder(Some(WordPieceDecoder::new("##".into(), true)));
    // Registered only when the vocabulary has them: transformers would append a missing one
    // after the vocabulary, an id the model's embedding table does not have.
    tokenizer
        .add_special_tokens(special)
        .map_err(|e| TokenizerError::library("special tokens", e))?;

    let model_max_length = config
        .get("model_max_length")
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok());
    Ok(WordPieceTokenizer {
        tokenizer,
        cls_id,
        sep_id,
        model_max_length,
    })
}

/// Token → id, read by the same code transformers 5 reads it with (`WordPiece::read_bytes`),
/// after the checks that make a bad file a readable error rather than an I/O error or a huge map.
fn parse_vocab(bytes: &[u8], unk_token: &str) -> Result<WordPiece, TokenizerError> {
    if bytes.len() > MAX_VOCAB_TXT_BYTES {
        return Err(TokenizerError::TooLarge {
            file: "vocab.txt",
            len: bytes.len(),
            limit: MAX_VOCAB_TXT_BYTES,
        });
    }
    if let Err(e) = std::str::from_utf8(bytes) {
        let line = bytes[..e.valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        return Err(TokenizerError::VocabNotUtf8 { line });
    }
    if bytes.is_empty() {
        return Err(TokenizerError::EmptyVocabTxt);
    }
    if let Some((id, line)) = bytes
        .split(|&b| b == b'\n')
        .enumerate()
        .find(|(_, l)| l.len() > MAX_VOCAB_TOKEN_BYTES)
    {
        return Err(TokenizerError::TokenTooLong {
            id: id as u32,
            len: line.len(),
            limit: MAX_VOCAB_TOKEN_BYTES,
        });
    }
    let library = |e| TokenizerError::library("vocab.txt", e);
    WordPiece::builder()
        .vocab(WordPiece::read_bytes(bytes).map_err(library)?)
        .unk_token(unk_token.to_string())
        .continuing_subword_prefix("##".into())
        .max_input_chars_per_word(MAX_INPUT_CHARS_PER_WORD)
        .build()
        .map_err(library)
}

/// A JSON object from an optional file (absent: empty).
fn json_object(file: &'static str, bytes: Option<&[u8]>) -> Result<serde_json::Map<String, Value>, TokenizerError> {
    let Some(bytes) = bytes else {
        return Ok(serde_json::Map::new());
    };
    if bytes.len() > super::MAX_TOKENIZER_JSON_BYTES {
        return Err(TokenizerError::TooLarge {
            file,
            len: bytes.len(),
            limit: super::MAX_TOKENIZER_JSON_BYTES,
        });
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(TokenizerError::BadConfig {
            file,
            reason: format!("expected a JSON object, found {}", json_kind(&other)),
        }),
        Err(e) => Err(TokenizerError::BadConfig {
            file,
            reason: e.to_string(),
        }),
    }
}

/// A special token: a string, or an `AddedToken` object (`{"content": "[CLS]", ...}`).
fn special_token(
    map: &serde_json::Map<String, Value>,
    file: &'static str,
    role: &'static str,
) -> Result<Option<String>, TokenizerError> {
    match map.get(role) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Object(o)) => match o.get("content") {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            _ => Err(bad_config(file, role, &map[role], "a string or {\"content\": string}")),
        },
        Some(other) => Err(bad_config(file, role, other, "a string or {\"content\": string}")),
    }
}

fn bad_config(file: &'static str, key: &str, value: &Value, expected: &str) -> TokenizerError {
    TokenizerError::BadConfig {
        file,
        reason: format!("`{key}` is {}; expected {expected}", json_kind(value)),
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_at_newlines_and_a_repeated_token_keeps_its_last_id() {
        let v = parse_vocab(b"[UNK]\r\nx \ny\nx\nz", "[UNK]").unwrap();
        let id = |t| v.token_to_id(t);
        assert_eq!(
            (id("[UNK]"), id("x"), id("y"), id("z")),
            (Some(0), Some(3), Some(2), Some(4))
        );
        assert_eq!(v.get_vocab_size(), 4);
        assert!(matches!(
            parse_vocab(b"a\nb\xff\n", "[UNK]"),
            Err(TokenizerError::VocabNotUtf8 { line: 2 })
        ));
    }
}

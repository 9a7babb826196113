//! Everything that can be wrong with a tokenizer source, as one typed enum. A GGUF vocabulary and a
//! `tokenizer.json` are untrusted input: each problem is an error that names the key or the entry,
//! never a panic.

use crate::formats::gguf::GgufError;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    /// A metadata key is missing or has the wrong type (the GGUF error names the key).
    #[error("tokenizer metadata: {0}")]
    Metadata(#[from] GgufError),
    #[error("`tokenizer.ggml.model` is {model:?}; webslm converts only \"llama\" (SentencePiece) and \"gpt2\" (byte-level BPE) vocabularies")]
    UnknownModel { model: String },
    #[error("`tokenizer.ggml.pre` is {pre:?}, a pre-tokenizer webslm does not know; known: {known}")]
    UnknownPreTokenizer { pre: String, known: &'static str },
    #[error("`tokenizer.ggml.tokens` is empty; the file has no vocabulary")]
    EmptyVocab,
    #[error("{key} has {len} entries but the vocabulary has {n_tokens} tokens; the file is corrupt")]
    LengthMismatch {
        key: &'static str,
        len: usize,
        n_tokens: usize,
    },
    #[error("tokens {first} and {second} are both {token:?}; a vocabulary must not repeat a token")]
    DuplicateToken { first: u32, second: u32, token: String },
    #[error("token {id} is {len} bytes long; at most {limit} are allowed")]
    TokenTooLong { id: u32, len: usize, limit: usize },
    #[error("merge {index} ({merge:?}) is not two vocabulary tokens separated by a space")]
    BadMerge { index: usize, merge: String },
    #[error("{key} is {id}, but the vocabulary has only {n_tokens} tokens")]
    BadTokenId {
        key: &'static str,
        id: u64,
        n_tokens: usize,
    },
    #[error("the {file} is {len} bytes; at most {limit} are accepted")]
    TooLarge {
        file: &'static str,
        len: usize,
        limit: usize,
    },
    #[error("vocab.txt is empty; a WordPiece vocabulary has one token per line")]
    EmptyVocabTxt,
    #[error("vocab.txt line {line} is not UTF-8; transformers reads the file as UTF-8 text")]
    VocabNotUtf8 { line: usize },
    #[error("the {role} {token:?} is not in vocab.txt; a BERT tokenizer needs it (set `{role}` in tokenizer_config.json or special_tokens_map.json to a token of the vocabulary)")]
    MissingSpecialToken { role: &'static str, token: String },
    #[error(
        "the {role} {token:?} contains a space or ':' or starts with '$', which the [CLS]/[SEP] template cannot hold"
    )]
    UnusableSpecialToken { role: &'static str, token: String },
    #[error("{file}: {reason}")]
    BadConfig { file: &'static str, reason: String },
    /// The `tokenizers` library refused the input (malformed tokenizer.json, an invalid regex, …).
    #[error("{context}: {reason}")]
    Library { context: &'static str, reason: String },
    #[error("{path}: no tokenizer.json and no vocab.txt in this model folder (expected {path}/tokenizer.json, or a BERT vocab.txt)")]
    NoTokenizerJson { path: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl TokenizerError {
    /// Wraps an error from the `tokenizers` crate (a boxed `dyn Error`).
    pub(crate) fn library(context: &'static str, e: impl std::fmt::Display) -> TokenizerError {
        TokenizerError::Library {
            context,
            reason: e.to_string(),
        }
    }
}

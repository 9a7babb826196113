//! Text ↔ token ids, with the HF `tokenizers` crate underneath (natively and in wasm32).
//!
//! Three sources:
//! - a `tokenizer.json` (HF models such as all-MiniLM-L6-v2), used as is: [`Tokenizer::from_json_bytes`];
//! - a BERT `vocab.txt` (+ `tokenizer_config.json`, `special_tokens_map.json`) where a repo has no
//!   `tokenizer.json`, built as transformers' `BertTokenizerFast` builds it:
//!   [`Tokenizer::from_vocab_files`] (see `wordpiece.rs`);
//! - the vocabulary inside a GGUF file, converted so that ids match llama.cpp's
//!   `llama_tokenize(text, add_special=true, parse_special=true)`: [`Tokenizer::from_gguf`]
//!   (see `gguf_vocab.rs` for how).
//!
//! "Default special tokens" ([`Tokenizer::encode`]) means what each reference adds: the
//! `tokenizer.json` post-processor (`[CLS] … [SEP]` for BERT), or llama.cpp's BOS/EOS as
//! `tokenizer.ggml.add_bos_token` / `add_eos_token` say (llama.cpp's defaults when absent).
//! Control tokens written in the text (`<|im_start|>`, `<start_of_turn>`) are always read as
//! those tokens, as chat templates need; llama-cpp-python calls that `special=True`.

mod error;
mod gguf_vocab;
mod json_checks;
mod special_tokens;
mod wordpiece;

pub use error::TokenizerError;
pub use gguf_vocab::{GgufVocabKind, MAX_TOKEN_BYTES};
pub use wordpiece::{VocabFiles, MAX_VOCAB_TXT_BYTES};

use tokenizers::decoders::DecoderWrapper;
use tokenizers::models::ModelWrapper;
use tokenizers::normalizers::NormalizerWrapper;
use tokenizers::pre_tokenizers::PreTokenizerWrapper;
use tokenizers::processors::PostProcessorWrapper;

use crate::formats::gguf::GgufFile;

/// Largest `tokenizer.json` accepted (64 MiB; real ones are 0.5-35 MB).
pub const MAX_TOKENIZER_JSON_BYTES: usize = 64 << 20;

/// Where a [`Tokenizer`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenizerSource {
    /// An HF `tokenizer.json`.
    TokenizerJson,
    /// A BERT `vocab.txt` (WordPiece).
    VocabTxt,
    /// A GGUF vocabulary of this kind.
    Gguf(GgufVocabKind),
}

/// A tokenizer plus the special tokens its model adds by default.
pub struct Tokenizer {
    inner: tokenizers::Tokenizer,
    source: TokenizerSource,
    /// GGUF only: ids that llama.cpp puts before / after the text with `add_special=true`.
    /// (A `tokenizer.json` adds its own through its post-processor.)
    prepend: Option<u32>,
    append: Option<u32>,
    bos_id: Option<u32>,
    eos_id: Option<u32>,
    /// `tokenizer_config.json`'s `model_max_length` (vocab.txt tokenizers only).
    model_max_length: Option<usize>,
}

impl Tokenizer {
    /// Parses a `tokenizer.json`. Malformed or hostile JSON is an error, never a panic.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Tokenizer, TokenizerError> {
        if bytes.len() > MAX_TOKENIZER_JSON_BYTES {
            return Err(TokenizerError::TooLarge {
                file: "tokenizer.json",
                len: bytes.len(),
                limit: MAX_TOKENIZER_JSON_BYTES,
            });
        }
        json_checks::check_before_load(bytes)?;
        let mut inner =
            tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| TokenizerError::library("tokenizer.json", e))?;
        json_checks::check_after_load(&inner)?;
        // Padding and truncation (all-MiniLM-L6-v2's file pads and cuts to 128) belong to the
        // model's batching, not to tokenization; the model applies its own maximum length.
        inner.with_padding(None);
        inner
            .with_truncation(None)
            .map_err(|e| TokenizerError::library("tokenizer.json", e))?;
        let id = |names: &[&str]| names.iter().find_map(|n| inner.token_to_id(n));
        let bos_id = id(&["<s>", "<bos>", "[CLS]", "<|begin_of_text|>"]);
        let eos_id = id(&["</s>", "<eos>", "[SEP]", "<|end_of_text|>", "<|endoftext|>"]);
        Ok(Tokenizer {
            inner,
            source: TokenizerSource::TokenizerJson,
            prepend: None,
            append: None,
            bos_id,
            eos_id,
            model_max_length: None,
        })
    }

    /// Builds a WordPiece tokenizer from a BERT `vocab.txt` and its optional config files, equal
    /// to transformers' `BertTokenizerFast` loaded from them. Bad files are typed errors.
    pub fn from_vocab_files(files: VocabFiles<'_>) -> Result<Tokenizer, TokenizerError> {
        let w = wordpiece::from_vocab_files(files)?;
        Ok(Tokenizer {
            inner: w.tokenizer,
            source: TokenizerSource::VocabTxt,
            prepend: None,
            append: None,
            bos_id: Some(w.cls_id),
            eos_id: Some(w.sep_id),
            model_max_length: w.model_max_length,
        })
    }

    /// Converts the vocabulary in a GGUF header (`tokenizer.ggml.*`).
    pub fn from_gguf(gguf: &GgufFile) -> Result<Tokenizer, TokenizerError> {
        let v = gguf_vocab::from_gguf(gguf)?;
        Ok(Tokenizer {
            inner: v.tokenizer,
            source: TokenizerSource::Gguf(v.kind),
            prepend: v.add_bos,
            append: v.add_eos,
            bos_id: v.bos_id,
            eos_id: v.eos_id,
            model_max_length: None,
        })
    }

    /// A `.gguf` file (its embedded vocabulary) or a safetensors model folder (its
    /// `tokenizer.json`, else its BERT `vocab.txt` with `tokenizer_config.json` and
    /// `special_tokens_map.json` when present).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_model_path(path: &std::path::Path) -> Result<Tokenizer, TokenizerError> {
        if !path.is_dir() {
            let gguf = GgufFile::open(path)?;
            return Tokenizer::from_gguf(&gguf);
        }
        let json = path.join("tokenizer.json");
        if json.is_file() {
            return Tokenizer::from_json_bytes(&read_capped(&json, "tokenizer.json", MAX_TOKENIZER_JSON_BYTES)?);
        }
        let vocab = path.join("vocab.txt");
        if !vocab.is_file() {
            return Err(TokenizerError::NoTokenizerJson {
                path: path.display().to_string(),
            });
        }
        let vocab_txt = read_capped(&vocab, "vocab.txt", MAX_VOCAB_TXT_BYTES)?;
        let optional = |name: &'static str| {
            let p = path.join(name);
            p.is_file()
                .then(|| read_capped(&p, name, MAX_TOKENIZER_JSON_BYTES))
                .transpose()
        };
        let tokenizer_config = optional("tokenizer_config.json")?;
        let special_tokens_map = optional("special_tokens_map.json")?;
        Tokenizer::from_vocab_files(VocabFiles {
            vocab_txt: &vocab_txt,
            tokenizer_config: tokenizer_config.as_deref(),
            special_tokens_map: special_tokens_map.as_deref(),
        })
    }

    /// Ids for `text` with the model's default special tokens (see the module docs).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, TokenizerError> {
        self.encode_with(text, true)
    }

    /// Ids for `text`; `add_special` adds BOS/EOS (GGUF) or runs the post-processor
    /// (`tokenizer.json`). Special tokens written in the text are parsed either way.
    pub fn encode_with(&self, text: &str, add_special: bool) -> Result<Vec<u32>, TokenizerError> {
        let enc = self
            .inner
            .encode_fast(text, add_special)
            .map_err(|e| TokenizerError::library("encode", e))?;
        let ids = enc.get_ids();
        let mut out = Vec::with_capacity(ids.len() + 2);
        if add_special {
            out.extend(self.prepend);
        }
        out.extend_from_slice(ids);
        if add_special {
            out.extend(self.append);
        }
        Ok(out)
    }

    /// Text for `ids`; `skip_special` leaves out control tokens (BOS, `<|im_end|>`, …).
    pub fn decode(&self, ids: &[u32], skip_special: bool) -> Result<String, TokenizerError> {
        self.inner
            .decode(ids, skip_special)
            .map_err(|e| TokenizerError::library("decode", e))
    }

    /// A streaming decoder for generated ids: see [`DecodeStream`].
    pub fn decode_stream(&self, skip_special: bool) -> DecodeStream<'_> {
        DecodeStream {
            inner: self.inner.decode_stream(skip_special),
        }
    }

    pub fn source(&self) -> TokenizerSource {
        self.source
    }

    /// Vocabulary size including added tokens.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// BOS (or `[CLS]`): from the GGUF metadata, or for a tokenizer.json the first of `<s>`,
    /// `<bos>`, `[CLS]`, `<|begin_of_text|>` in its vocabulary.
    pub fn bos_id(&self) -> Option<u32> {
        self.bos_id
    }

    /// EOS (or `[SEP]`), found the same way as [`Tokenizer::bos_id`].
    pub fn eos_id(&self) -> Option<u32> {
        self.eos_id
    }

    /// `tokenizer_config.json`'s `model_max_length` for a vocab.txt tokenizer; `None` when
    /// absent, unbounded, or the tokenizer came from elsewhere.
    pub fn model_max_length(&self) -> Option<usize> {
        self.model_max_length
    }

    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn id_to_token(&self, id: u32) -> Option<String> {
        self.inner.id_to_token(id)
    }

    /// The underlying `tokenizers::Tokenizer` (for GGUF sources it does not add BOS/EOS itself).
    pub fn inner(&self) -> &tokenizers::Tokenizer {
        &self.inner
    }
}

/// The bytes of a file, refused unread when longer than `limit`.
#[cfg(not(target_arch = "wasm32"))]
fn read_capped(path: &std::path::Path, file: &'static str, limit: usize) -> Result<Vec<u8>, TokenizerError> {
    let io = |source| TokenizerError::Io {
        path: path.display().to_string(),
        source,
    };
    let len = std::fs::metadata(path).map_err(io)?.len();
    if len > limit as u64 {
        return Err(TokenizerError::TooLarge {
            file,
            len: usize::try_from(len).unwrap_or(usize::MAX),
            limit,
        });
    }
    std::fs::read(path).map_err(io)
}

type HfDecodeStream<'a> = tokenizers::DecodeStream<
    'a,
    ModelWrapper,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// Turns generated ids into text as they arrive, and never emits half a UTF-8 character: when a
/// character spans several tokens (byte-fallback `<0xF0>…` tokens, or byte-level BPE pieces of an
/// emoji), [`DecodeStream::push`] returns "" until the last piece arrives, then the whole
/// character. Concatenating every `push` result gives the same text as decoding all ids at once.
pub struct DecodeStream<'a> {
    inner: HfDecodeStream<'a>,
}

impl DecodeStream<'_> {
    /// Adds one id; returns the text it completes (possibly empty).
    pub fn push(&mut self, id: u32) -> Result<String, TokenizerError> {
        self.inner
            .step(id)
            .map(Option::unwrap_or_default)
            .map_err(|e| TokenizerError::library("streaming decode", e))
    }
}

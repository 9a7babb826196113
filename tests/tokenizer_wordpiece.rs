//! BERT tokenizers from `vocab.txt` (no `tokenizer.json`), natively:
//! - ids, type ids and character offsets equal transformers' BertTokenizerFast loaded from the
//!   same files (`tests/fixtures/wordpiece/encodings.json`, made by
//!   `scripts/fixtures/make_wordpiece_fixtures.py`): an uncased vocabulary (MiniLM's, from
//!   `models/`), a cased one (committed), and the cased one with accents stripped, CJK not split,
//!   `AddedToken` objects and a `special_tokens_map.json`; 98 strings and 8 (question, context)
//!   pairs each;
//! - a model folder with vocab.txt and no tokenizer.json is found by `Tokenizer::from_model_path`;
//! - bad files are typed errors, never a panic or a hang.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common_formats::models_dir;
use webslm::tokenizer::{Tokenizer, TokenizerError, TokenizerSource, VocabFiles, MAX_VOCAB_TXT_BYTES};

#[derive(serde::Deserialize)]
struct Fixture {
    versions: serde_json::Value,
    strings: Vec<String>,
    pairs: Vec<(String, String)>,
    cases: BTreeMap<String, Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    vocab: String,
    tokenizer_config: serde_json::Value,
    special_tokens_map: Option<serde_json::Value>,
    model_max_length: Option<usize>,
    singles: Vec<Encoding>,
    pairs: Vec<Encoding>,
}

#[derive(serde::Deserialize, Debug, PartialEq)]
struct Encoding {
    ids: Vec<u32>,
    type_ids: Vec<u32>,
    offsets: Vec<(usize, usize)>,
}

impl From<tokenizers::Encoding> for Encoding {
    fn from(e: tokenizers::Encoding) -> Encoding {
        Encoding {
            ids: e.get_ids().to_vec(),
            type_ids: e.get_type_ids().to_vec(),
            offsets: e.get_offsets().to_vec(),
        }
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/wordpiece/encodings.json")).expect("encodings.json parses")
}

/// The case's vocab.txt: committed under tests/fixtures, or MiniLM's in the models folder.
fn vocab_path(case: &Case) -> Option<PathBuf> {
    match case.vocab.strip_prefix("models/") {
        Some(rest) => models_dir("tokenizer_wordpiece").map(|m| m.join(rest)),
        None => Some(root().join(&case.vocab)),
    }
}

fn json_bytes(v: &serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("serialise")
}

#[test]
fn encodings_match_bert_tokenizer_fast() {
    let f = fixture();
    assert!(
        f.strings.len() >= 40 && f.pairs.len() >= 5,
        "the fixture needs >= 40 strings and pairs"
    );
    for name in ["minilm-uncased", "cased", "cased-strip"] {
        assert!(f.cases.contains_key(name), "fixture lacks case {name}");
    }
    for (name, case) in &f.cases {
        let Some(path) = vocab_path(case) else { continue };
        let vocab = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let config = json_bytes(&case.tokenizer_config);
        let map = case.special_tokens_map.as_ref().map(json_bytes);
        let tok = Tokenizer::from_vocab_files(VocabFiles {
            vocab_txt: &vocab,
            tokenizer_config: Some(&config),
            special_tokens_map: map.as_deref(),
        })
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(tok.source(), TokenizerSource::VocabTxt);
        assert_eq!(
            tok.model_max_length(),
            case.model_max_length,
            "{name}: model_max_length"
        );
        let inner = tok.inner();
        let mut mismatches = Vec::new();
        for (s, want) in f.strings.iter().zip(&case.singles) {
            let got: Encoding = inner.encode_char_offsets(s.as_str(), true).expect("encode").into();
            if &got != want {
                mismatches.push(format!("{s:?}:\n  got  {got:?}\n  want {want:?}"));
            }
        }
        for ((q, c), want) in f.pairs.iter().zip(&case.pairs) {
            let got: Encoding = inner
                .encode_char_offsets((q.as_str(), c.as_str()), true)
                .expect("encode")
                .into();
            if &got != want {
                mismatches.push(format!("({q:?}, {c:?}):\n  got  {got:?}\n  want {want:?}"));
            }
        }
        assert_eq!(case.singles.len(), f.strings.len(), "{name}: one encoding per string");
        assert_eq!(case.pairs.len(), f.pairs.len(), "{name}: one encoding per pair");
        assert!(
            mismatches.is_empty(),
            "{name} ({}): {} of {} encodings differ from BertTokenizerFast:\n{}",
            f.versions,
            mismatches.len(),
            f.strings.len() + f.pairs.len(),
            mismatches.join("\n")
        );
    }
}

/// A temp model folder holding `files`; removed when dropped.
struct Folder(PathBuf);

impl Folder {
    fn new(tag: &str, files: &[(&str, &[u8])]) -> Folder {
        let dir = std::env::temp_dir().join(format!("webslm-wordpiece-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp folder");
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).expect("write");
        }
        Folder(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const SMALL_VOCAB: &[u8] = b"[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n##s\n";

#[test]
fn a_folder_with_only_vocab_txt_gets_a_wordpiece_tokenizer() {
    let config = br#"{"do_lower_case": true, "model_max_length": 64}"#;
    let dir = Folder::new(
        "only-vocab",
        &[("vocab.txt", SMALL_VOCAB), ("tokenizer_config.json", config)],
    );
    let tok = Tokenizer::from_model_path(dir.path()).expect("vocab.txt folder");
    assert_eq!(tok.source(), TokenizerSource::VocabTxt);
    assert_eq!(tok.encode("Hello worlds!").unwrap(), [2, 5, 6, 7, 1, 3]);
    assert_eq!(tok.model_max_length(), Some(64));
    assert_eq!((tok.bos_id(), tok.eos_id()), (Some(2), Some(3)));

    // No tokenizer_config.json: BertTokenizerFast's defaults (lower case, no length limit).
    let dir = Folder::new("defaults", &[("vocab.txt", SMALL_VOCAB)]);
    let tok = Tokenizer::from_model_path(dir.path()).expect("vocab.txt alone");
    assert_eq!(tok.encode("HELLO").unwrap(), [2, 5, 3]);
    assert_eq!(tok.model_max_length(), None);
}

#[test]
fn a_folder_without_tokenizer_files_is_a_typed_error() {
    let dir = Folder::new("none", &[("config.json", b"{}")]);
    let err = Tokenizer::from_model_path(dir.path())
        .err()
        .expect("no tokenizer files");
    assert!(matches!(err, TokenizerError::NoTokenizerJson { .. }), "{err}");
    assert!(err.to_string().contains("vocab.txt"), "{err}");
}

fn build(vocab: &[u8], config: Option<&[u8]>, map: Option<&[u8]>) -> Result<Tokenizer, TokenizerError> {
    Tokenizer::from_vocab_files(VocabFiles {
        vocab_txt: vocab,
        tokenizer_config: config,
        special_tokens_map: map,
    })
}

#[test]
fn bad_vocab_txt_is_a_typed_error() {
    let err = |r: Result<Tokenizer, TokenizerError>| r.err().expect("must fail");
    assert!(matches!(err(build(b"", None, None)), TokenizerError::EmptyVocabTxt));
    let e = err(build(b"[CLS]\n[SEP]\nhello\n", None, None));
    assert!(
        matches!(&e, TokenizerError::MissingSpecialToken { role: "unk_token", token } if token == "[UNK]"),
        "{e}"
    );
    let e = err(build(SMALL_VOCAB, Some(br#"{"cls_token": "<s>"}"#), None));
    assert!(
        matches!(&e, TokenizerError::MissingSpecialToken { role: "cls_token", .. }),
        "{e}"
    );
    let e = err(build(b"[PAD]\n[UNK]\n\xff\xfe\n", None, None));
    assert!(matches!(e, TokenizerError::VocabNotUtf8 { line: 3 }), "{e}");
    let mut long = SMALL_VOCAB.to_vec();
    long.extend(std::iter::repeat_n(b'a', 5000));
    let e = err(build(&long, None, None));
    assert!(
        matches!(e, TokenizerError::TokenTooLong { id: 8, len: 5000, .. }),
        "{e}"
    );

    // A 100 MB single line is refused by its size before any line is split.
    let huge = vec![b'x'; 100 << 20];
    let started = std::time::Instant::now();
    let e = err(build(&huge, None, None));
    assert!(
        matches!(e, TokenizerError::TooLarge { file: "vocab.txt", len, limit } if len == 100 << 20 && limit == MAX_VOCAB_TXT_BYTES),
        "{e}"
    );
    assert!(
        started.elapsed().as_secs() < 2,
        "a huge vocab.txt must be refused at once"
    );
    // ... and natively before it is read.
    let dir = Folder::new("huge", &[("vocab.txt", &huge)]);
    let e = Tokenizer::from_model_path(dir.path()).err().expect("huge vocab.txt");
    assert!(matches!(e, TokenizerError::TooLarge { file: "vocab.txt", .. }), "{e}");
}

#[test]
fn a_repeated_token_keeps_its_last_id_as_transformers_5_does() {
    // transformers 5 reads vocab.txt with tokenizers' WordPiece.read_file: the last line wins.
    let tok = build(b"[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\nhello\n", None, None).expect("duplicates load");
    assert_eq!(tok.encode("hello world").unwrap(), [2, 6, 5, 3]);
}

#[test]
fn bad_config_files_are_typed_errors() {
    for (config, map) in [
        (Some(&b"{not json"[..]), None),
        (Some(&b"[1, 2]"[..]), None),
        (Some(&br#"{"do_lower_case": "yes"}"#[..]), None),
        (Some(&br#"{"unk_token": 5}"#[..]), None),
        (Some(&br#"{"sep_token": {"lstrip": true}}"#[..]), None),
        (None, Some(&b"\xff"[..])),
        (None, Some(&br#"{"cls_token": ["[CLS]"]}"#[..])),
    ] {
        let e = build(SMALL_VOCAB, config, map).err().expect("bad config must fail");
        assert!(matches!(e, TokenizerError::BadConfig { .. }), "{e}");
    }
    // A token the [CLS]/[SEP] template cannot be written with, even though the vocabulary has it.
    let vocab = [SMALL_VOCAB, b"a b\n"].concat();
    let e = build(&vocab, Some(br#"{"cls_token": "a b"}"#), None)
        .err()
        .expect("spaced token");
    assert!(
        matches!(e, TokenizerError::UnusableSpecialToken { role: "cls_token", .. }),
        "{e}"
    );
}

//! What each fuzz target does with one input, shared by the cargo-fuzz binaries in
//! `fuzz_targets/` (nightly, libFuzzer) and by `tests/fuzz_replay.rs` (stable `cargo test`), which
//! replays `fuzz/seeds/<target>/*` and `fuzz/regressions/<target>/*` through the same functions.
//!
//! Every input is untrusted bytes from a model file or a model folder. Any outcome but a panic, a
//! hang or unbounded memory is fine: an `Err` is the expected answer to most of them.

use webslm::chat_template::{ChatMessage, ChatTemplate, RenderOptions, TemplateOrigin};
use webslm::formats::gguf::GgufFile;
use webslm::formats::hf_config::HfConfig;
use webslm::formats::safetensors::{SafetensorsFile, SafetensorsIndex};
use webslm::models::encoder::config::EncoderConfig;
use webslm::tokenizer::{Tokenizer, VocabFiles};

/// What a target does with one input.
pub type Handler = fn(&[u8]);

/// Every target, by the name of its binary and of its seed folder.
pub const TARGETS: &[(&str, Handler)] = &[
    ("gguf_header", gguf_header),
    ("gguf_vocab", gguf_vocab),
    ("safetensors_header", safetensors_header),
    ("tokenizer_json", tokenizer_json),
    ("vocab_txt", vocab_txt),
    ("hf_config", hf_config),
    ("chat_template", chat_template),
    ("lora_adapter", lora_adapter),
];

/// A text that crosses byte-level, whitespace, digit and CJK pre-tokenizer paths.
const TEXT: &str = "Hello, wörld! 123  \n\t 你好 <s></s>";

/// `GgufFile::parse` as a whole file (file_len = len) and as the prefix of a longer file (which
/// must parse or ask for more, never panic or over-allocate); what parses also yields its
/// decoder configuration and its summary.
pub fn gguf_header(data: &[u8]) {
    if let Ok(f) = GgufFile::parse(data, data.len() as u64) {
        // Every range handed out must lie inside the file.
        for t in f.tensors() {
            assert!(t.range().end <= data.len() as u64, "tensor range past the file");
        }
        let _ = webslm::formats::inspect::inspect_gguf(&f);
        let _ = webslm::models::config_from_gguf(&f);
    }
    let _ = GgufFile::parse(data, (data.len() as u64).saturating_mul(3) + 1000);
}

/// A GGUF's embedded vocabulary (`tokenizer.ggml.*`) turned into a tokenizer, which must then
/// encode and decode without panicking.
pub fn gguf_vocab(data: &[u8]) {
    let Ok(f) = GgufFile::parse(data, data.len() as u64) else {
        return;
    };
    if let Ok(tok) = Tokenizer::from_gguf(&f) {
        exercise(&tok);
    }
}

/// A LoRA adapter: the input as a GGUF adapter, and as a PEFT folder (a u32 LE length, that many
/// bytes of `adapter_config.json`, then `adapter_model.safetensors`). What parses must hold
/// pairs of agreeing rank whose bytes are whole rows.
pub fn lora_adapter(data: &[u8]) {
    let gguf = webslm::lora::gguf::parse(data);
    let peft = match data.get(..4) {
        Some(n) => {
            let n = u32::from_le_bytes([n[0], n[1], n[2], n[3]]) as usize;
            let rest = &data[4..];
            let (cfg, st) = rest.split_at(n.min(rest.len()));
            webslm::lora::peft::parse(cfg, st)
        }
        None => return,
    };
    for adapter in [gguf, peft].into_iter().flatten() {
        let _ = adapter.tensor_bytes();
        for p in &adapter.pairs {
            assert_eq!(p.a.rows, p.b.cols, "rank");
            let _ = adapter.pair_scale(p.a.rows);
            for m in [&p.a, &p.b] {
                let row = m.format.row_bytes(m.cols).expect("a parsed matrix has whole rows");
                assert_eq!(row * m.rows, m.bytes.len(), "matrix bytes");
            }
        }
    }
}

/// `SafetensorsFile::parse` (whole file, and as a prefix of a longer one), and the shard index
/// parser on the same bytes.
pub fn safetensors_header(data: &[u8]) {
    if let Ok(f) = SafetensorsFile::parse(data, data.len() as u64) {
        for t in f.tensors() {
            assert!(
                t.range.start <= t.range.end && t.range.end <= data.len() as u64,
                "tensor range past the file"
            );
        }
    }
    let _ = SafetensorsFile::parse(data, (data.len() as u64).saturating_mul(3) + 1000);
    let _ = SafetensorsIndex::parse(data);
}

/// webslm's `tokenizer.json` loader (its checks, then the tokenizers crate); what loads must
/// encode and decode.
pub fn tokenizer_json(data: &[u8]) {
    if let Ok(tok) = Tokenizer::from_json_bytes(data) {
        exercise(&tok);
    }
}

/// A BERT folder without tokenizer.json: the input is `vocab.txt`, then optionally a NUL byte and
/// `tokenizer_config.json`, then another NUL and `special_tokens_map.json`; what loads must encode
/// a single text and a pair, and decode.
pub fn vocab_txt(data: &[u8]) {
    let mut parts = data.splitn(3, |&b| b == 0);
    let vocab_txt = parts.next().unwrap_or_default();
    let files = VocabFiles {
        vocab_txt,
        tokenizer_config: parts.next(),
        special_tokens_map: parts.next(),
    };
    if let Ok(tok) = Tokenizer::from_vocab_files(files) {
        exercise(&tok);
        let _ = tok.inner().encode_char_offsets((TEXT, TEXT), true);
    }
}

/// The JSON files of an HF folder: `config.json` as the header summary, a decoder (through
/// `hf::parse`, the engine's and web.rs's one path, with the input also read as
/// `generation_config.json`) and an encoder configuration, and `tokenizer_config.json`'s chat
/// template (rendered when one loads).
pub fn hf_config(data: &[u8]) {
    let _ = HfConfig::parse(data);
    let _ = webslm::models::hf::parse(data, Some(data));
    let _ = EncoderConfig::parse(data);
    if let Ok(t) = ChatTemplate::from_tokenizer_config(data, "llama") {
        render(t, "Hi");
    }
}

/// Arbitrary template text rendered with the default fuel. The first line of the input, if short,
/// becomes a message's content, so templates and messages vary together.
pub fn chat_template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (content, source) = match text.split_once('\n') {
        Some((first, rest)) if first.len() <= 64 => (first, rest),
        _ => ("Hi", text),
    };
    let Ok(mut t) = ChatTemplate::new(source, TemplateOrigin::Custom) else {
        return;
    };
    t.bos_token = "<s>".into();
    t.eos_token = "</s>".into();
    render(t, content);
}

fn render(t: ChatTemplate, content: &str) {
    let messages = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", content),
        ChatMessage::new("assistant", "Hello!"),
    ];
    let opts = RenderOptions {
        add_generation_prompt: true,
        ..RenderOptions::default()
    };
    let _ = t.render(&messages, &opts);
}

/// Encodes and decodes [`TEXT`] the ways the runtime does, and decodes every id once more as a
/// stream (ids past the vocabulary too: a sampler's output is not trusted either).
fn exercise(tok: &Tokenizer) {
    for add_special in [true, false] {
        if let Ok(ids) = tok.encode_with(TEXT, add_special) {
            let _ = tok.decode(&ids, false);
            let _ = tok.decode(&ids, true);
            let mut stream = tok.decode_stream(false);
            for id in ids.iter().chain(&[tok.vocab_size() as u32, u32::MAX]) {
                let _ = stream.push(*id);
            }
        }
    }
}

//! Which GGUF tokens llama.cpp reads as whole tokens in the input text.
//!
//! The token types in the file are not the whole story: llama.cpp (`llama_vocab::impl::load`,
//! llama-vocab.cpp) promotes tokens spelled like end-of-generation or fill-in-the-middle markers to
//! control tokens even when the file calls them normal (Qwen2.5's vocabulary has a normal `</s>`
//! that llama.cpp reads as one token), and demotes a few. This file repeats those rules so that
//! ids match llama.cpp's.

use crate::formats::gguf::GgufFile;

/// GGUF token types (llama.cpp `llama_token_type`).
pub const TYPE_NORMAL: i32 = 1;
pub const TYPE_UNKNOWN: i32 = 2;
pub const TYPE_CONTROL: i32 = 3;
pub const TYPE_USER_DEFINED: i32 = 4;

/// Always promoted to control (llama.cpp's end-of-generation list).
const EOG: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

/// Promoted to control when the metadata does not name that special token itself.
const FIM: &[(&str, &[&str])] = &[
    (
        "tokenizer.ggml.fim_pre_token_id",
        &[
            "<|fim_prefix|>",
            "<fim-prefix>",
            "<fim_prefix>",
            "<｜fim▁begin｜>",
            "<PRE>",
            "▁<PRE>",
            "<|code_prefix|>",
            "<|prefix|>",
        ],
    ),
    (
        "tokenizer.ggml.fim_suf_token_id",
        &[
            "<|fim_suffix|>",
            "<fim-suffix>",
            "<fim_suffix>",
            "<｜fim▁hole｜>",
            "<SUF>",
            "▁<SUF>",
            "<|code_suffix|>",
            "<|suffix|>",
        ],
    ),
    (
        "tokenizer.ggml.fim_mid_token_id",
        &[
            "<|fim_middle|>",
            "<fim-middle>",
            "<fim_middle>",
            "<｜fim▁end｜>",
            "<MID>",
            "▁<MID>",
            "<|code_middle|>",
            "<|middle|>",
        ],
    ),
    (
        "tokenizer.ggml.fim_pad_token_id",
        &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"],
    ),
    (
        "tokenizer.ggml.fim_rep_token_id",
        &["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
    ),
    ("tokenizer.ggml.fim_sep_token_id", &["<|file_sep|>"]),
];

/// Rendered as text by llama.cpp (gpt-oss): user-defined whatever the file says.
const ALWAYS_USER_DEFINED: &[&str] = &["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"];

/// The token types llama.cpp ends up with. `types` is the file's `tokenizer.ggml.token_type`
/// (all normal when absent).
pub fn effective_types(gguf: &GgufFile, tokens: &[String], types: Option<&[i32]>) -> Vec<i32> {
    let mut out: Vec<i32> = types.map_or_else(|| vec![TYPE_NORMAL; tokens.len()], <[i32]>::to_vec);
    let has = |t: &str| tokens.iter().any(|x| x == t);
    // The file's own (or llama.cpp's deprecated) key naming a FIM token turns the text rule off.
    let named = |key: &str| gguf.md_value(key).is_some();
    let promote = |t: &mut i32| {
        if *t != TYPE_CONTROL && *t != TYPE_UNKNOWN {
            *t = TYPE_CONTROL;
        }
    };
    // gemma4 / plamo: "</s>" stays a normal token next to these.
    let s_is_normal = has("<|tool_response>") || has("<|plamo:eos|>");
    // o200k_harmony / solar-open: "<|end|>" is not end-of-generation next to these.
    let end_is_text = (has("<|return|>") && has("<|call|>")) || (has("<|calls|>") && has("<|flush|>"));
    for (id, tok) in tokens.iter().enumerate() {
        let t = tok.as_str();
        if EOG.contains(&t) {
            promote(&mut out[id]);
        }
        for (key, texts) in FIM {
            if texts.contains(&t) && !named(key) {
                promote(&mut out[id]);
            }
        }
        if ALWAYS_USER_DEFINED.contains(&t) || (t == "<|end|>" && end_is_text) {
            out[id] = TYPE_USER_DEFINED;
        }
        if t == "</s>" && s_is_normal {
            out[id] = TYPE_NORMAL;
        }
    }
    out
}

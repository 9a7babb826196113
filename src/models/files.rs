//! What, besides the weights, a decoder's files say: where its tokenizer and chat template come
//! from, and which ids end generation. Kept with the models (not the engine) so the engine, text
//! generation and the browser read the same answer.

use std::path::PathBuf;

use crate::formats::gguf::GgufFile;
use crate::tokenizer::Tokenizer;

/// Where a decoder's tokenizer, chat template and end-of-text ids come from.
pub enum ModelFiles {
    /// The GGUF header (metadata and vocabulary), kept so the file is parsed once.
    Gguf(GgufFile),
    /// An HF folder: `tokenizer.json`, `tokenizer_config.json` (chat template), and the
    /// `eos_token_id`s of `config.json` / `generation_config.json` (see `hf::parse`).
    Folder {
        dir: PathBuf,
        model_type: String,
        eos_ids: Vec<u32>,
    },
    /// The same files already in memory (the browser fetched them).
    Memory {
        tokenizer_json: Vec<u8>,
        tokenizer_config: Option<Vec<u8>>,
        model_type: String,
        eos_ids: Vec<u32>,
    },
}

impl ModelFiles {
    /// Ids that end generation: [`end_of_generation_ids`], plus the HF configs' EOS ids.
    pub fn stop_ids(&self, tokenizer: &Tokenizer) -> Vec<u32> {
        match self {
            ModelFiles::Gguf(g) => end_of_generation_ids(tokenizer, Some(g)),
            ModelFiles::Folder { eos_ids, .. } | ModelFiles::Memory { eos_ids, .. } => {
                let mut ids = end_of_generation_ids(tokenizer, None);
                ids.extend(eos_ids);
                ids.sort_unstable();
                ids.dedup();
                ids
            }
        }
    }
}

/// Token texts that end a turn in the chat formats we know (llama.cpp's end-of-generation list).
const END_OF_TURN_TOKENS: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<EOT>",
    "<|end_of_text|>",
];

/// Ids that end generation: the EOS token, `tokenizer.ggml.eot/eom_token_id`, and the
/// end-of-turn tokens above when the vocabulary has them.
pub fn end_of_generation_ids(tokenizer: &Tokenizer, gguf: Option<&GgufFile>) -> Vec<u32> {
    let mut ids: Vec<u32> = tokenizer.eos_id().into_iter().collect();
    if let Some(g) = gguf {
        for key in ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let Ok(Some(id)) = g.md_opt::<u32>(key) {
                ids.push(id);
            }
        }
    }
    ids.extend(END_OF_TURN_TOKENS.iter().filter_map(|t| tokenizer.token_to_id(t)));
    ids.sort_unstable();
    ids.dedup();
    ids
}

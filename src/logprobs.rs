//! OpenAI's `logprobs` JSON for generated tokens: `{content: [{token, logprob, bytes,
//! top_logprobs: [{token, logprob, bytes}]}]}`, one entry per token, for the CLI and the browser
//! alike. `bytes` are the token's own bytes (a token may hold part of a UTF-8 character, which
//! `token` then shows as U+FFFD).

use serde_json::{json, Value};

use crate::sampling::TokenLogprobs;

/// Token id -> its bytes (`constraint::token_spellings`).
pub struct Spellings(pub Vec<Vec<u8>>);

impl Spellings {
    fn entry(&self, id: u32, logprob: f32) -> Value {
        let bytes: &[u8] = self.0.get(id as usize).map_or(&[], Vec::as_slice);
        json!({ "token": String::from_utf8_lossy(bytes), "logprob": logprob, "bytes": bytes })
    }

    /// The `content` entries of `tokens`.
    pub fn content(&self, tokens: &[TokenLogprobs]) -> Vec<Value> {
        tokens
            .iter()
            .map(|t| {
                let mut e = self.entry(t.id, t.logprob);
                e["top_logprobs"] = t.top.iter().map(|&(id, lp)| self.entry(id, lp)).collect();
                e
            })
            .collect()
    }

    /// `{content: [...]}` for a choice or a streamed chunk.
    pub fn logprobs(&self, tokens: &[TokenLogprobs]) -> Value {
        json!({ "content": self.content(tokens) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openai_shape_with_partial_characters() {
        let s = Spellings(vec![b"Hi".to_vec(), vec![0xE2, 0x82], b" there".to_vec()]);
        let lp = TokenLogprobs {
            id: 1,
            logprob: -0.5,
            top: vec![(1, -0.5), (2, -1.5)],
        };
        let v = s.logprobs(&[lp]);
        let e = &v["content"][0];
        assert_eq!(e["token"], "\u{FFFD}");
        assert_eq!(e["bytes"], json!([0xE2, 0x82]));
        assert_eq!(e["logprob"], -0.5);
        assert_eq!(
            e["top_logprobs"][1],
            json!({"token": " there", "logprob": -1.5, "bytes": b" there"})
        );
    }
}

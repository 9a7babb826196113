//! Text generation: a prompt's ids in, streamed text out, stopping at the end-of-generation ids
//! (`models::files`) and user stop strings. The token loop itself is `Engine::generate`.

use crate::constraint::Guide;
use crate::engine::{Engine, GenerationStats, StopReason};
use crate::models::ModelError;
use crate::sampling::{Sampler, TokenLogprobs};
use crate::tokenizer::{Tokenizer, TokenizerError};

/// The generated text and ids, with timings.
pub struct TextGeneration {
    pub text: String,
    pub stats: GenerationStats,
}

/// When generation ends.
#[derive(Clone, Copy, Debug)]
pub struct Limits<'a> {
    pub max_tokens: usize,
    /// End-of-generation ids (see `models::files::end_of_generation_ids`); not part of the output.
    pub stop_ids: &'a [u32],
    /// Text that ends generation; not part of the output.
    pub stop_strings: &'a [String],
}

/// [`generate_text_async`], waiting for the GPU (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn generate_text(
    engine: &mut Engine,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    sampler: &mut Sampler,
    limits: Limits<'_>,
    guide: Option<&mut Guide>,
    on_text: impl FnMut(&str, &[TokenLogprobs]) -> bool,
) -> Result<TextGeneration, ModelError> {
    pollster::block_on(generate_text_async(
        engine, tokenizer, prompt, sampler, limits, guide, on_text,
    ))
}

/// Generates after `prompt` (ids), streaming text to `on_text` (return false to cancel). Stops at
/// the limits; text that might be the start of a stop string is held back until it is known not
/// to be. When a stop string ends generation, `text` ends before it, while `stats.ids` still holds
/// every generated token, including those that spelled the stop string. With `guide`, the output
/// follows its grammar (see [`Engine::generate_async`]). With logprobs, each piece comes with the
/// log-probabilities of the tokens generated since the previous piece (a token whose text is
/// held back passes its entry on to the piece that finally shows it).
pub async fn generate_text_async(
    engine: &mut Engine,
    tokenizer: &Tokenizer,
    prompt: &[u32],
    sampler: &mut Sampler,
    limits: Limits<'_>,
    guide: Option<&mut Guide>,
    mut on_text: impl FnMut(&str, &[TokenLogprobs]) -> bool,
) -> Result<TextGeneration, ModelError> {
    let Limits {
        max_tokens,
        stop_ids,
        stop_strings,
    } = limits;
    let mut decoded = TextSoFar::new(tokenizer);
    let mut text = String::new();
    let mut emitted = 0;
    let mut error = None;
    let mut stopped_by_string = false;
    let mut cancelled = false;
    let mut pending: Vec<TokenLogprobs> = Vec::new();
    let generation = engine.generate_async(prompt, max_tokens, sampler, stop_ids, guide, |id, lp| {
        pending.extend(lp.cloned());
        match decoded.push(id) {
            Ok(piece) => text.push_str(&piece),
            Err(e) => {
                error = Some(e);
                return false;
            }
        }
        if let Some(at) = stop_strings
            .iter()
            .filter(|s| !s.is_empty())
            .filter_map(|s| text.find(s.as_str()))
            .min()
        {
            text.truncate(at);
            stopped_by_string = true;
        }
        let safe = if stopped_by_string {
            text.len()
        } else {
            text.len() - held_back(&text, stop_strings)
        };
        let keep_going = emitted >= safe || on_text(&text[emitted..safe], &std::mem::take(&mut pending));
        cancelled |= !keep_going;
        emitted = emitted.max(safe);
        keep_going && !stopped_by_string
    });
    let stats = generation.await?;
    if let Some(e) = error {
        return Err(e.into());
    }
    if !stopped_by_string {
        // Bytes of a character the last tokens did not complete, decoded lossily as llama.cpp does.
        text.push_str(&decoded.finish()?);
    }
    // Text held back for a stop string that never came (unless the caller stopped listening).
    // (With the log-probabilities still pending; alone, when the text is all out.)
    if (emitted < text.len() || !pending.is_empty()) && !cancelled {
        on_text(&text[emitted..], &pending);
    }
    let mut stats = stats;
    if stopped_by_string {
        stats.stop = StopReason::StopString;
    }
    Ok(TextGeneration { text, stats })
}

/// Generated text, streamed without ever splitting a UTF-8 character. The incremental decoder of
/// `tokenizers` refuses to continue after it once produced U+FFFD (an invalid byte run, common
/// when sampling hot with byte-level BPE); from then on each step decodes all ids and emits what
/// is new.
struct TextSoFar<'a> {
    tokenizer: &'a Tokenizer,
    stream: Option<crate::tokenizer::DecodeStream<'a>>,
    ids: Vec<u32>,
    /// Length of the text emitted so far.
    len: usize,
}

impl<'a> TextSoFar<'a> {
    fn new(tokenizer: &'a Tokenizer) -> Self {
        TextSoFar {
            tokenizer,
            stream: Some(tokenizer.decode_stream(true)),
            ids: Vec::new(),
            len: 0,
        }
    }

    fn push(&mut self, id: u32) -> Result<String, TokenizerError> {
        self.ids.push(id);
        if let Some(stream) = self.stream.as_mut() {
            if let Ok(piece) = stream.push(id) {
                self.len += piece.len();
                return Ok(piece);
            }
            self.stream = None;
        }
        self.new_text(false)
    }

    /// Whatever the ids decode to beyond what was emitted; `lossy` also takes an unfinished
    /// character at the end (as U+FFFD).
    fn new_text(&mut self, lossy: bool) -> Result<String, TokenizerError> {
        let full = self.tokenizer.decode(&self.ids, true)?;
        let mut end = full.len();
        if !lossy {
            // Hold back a trailing replacement character: the next token may complete it.
            while full[..end].ends_with('\u{FFFD}') {
                end -= '\u{FFFD}'.len_utf8();
            }
        }
        if end <= self.len || !full.is_char_boundary(self.len) {
            return Ok(String::new());
        }
        let piece = full[self.len..end].to_string();
        self.len = end;
        Ok(piece)
    }

    fn finish(&mut self) -> Result<String, TokenizerError> {
        self.new_text(true)
    }
}

/// Bytes at the end of `text` that could begin a stop string (kept back from the stream).
fn held_back(text: &str, stop_strings: &[String]) -> usize {
    stop_strings
        .iter()
        .flat_map(|s| {
            (1..s.len())
                .filter(move |&n| s.is_char_boundary(n))
                .map(move |n| &s[..n])
        })
        .filter(|prefix| text.ends_with(prefix))
        .map(str::len)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::held_back;

    #[test]
    fn holds_back_possible_stop_prefixes() {
        let stops = vec!["\nUser:".to_string(), "END".to_string()];
        assert_eq!(held_back("hello\nUs", &stops), 3);
        assert_eq!(held_back("hello EN", &stops), 2);
        assert_eq!(held_back("hello", &stops), 0);
    }
}

//! Multi-turn chat over one KV cache: each turn renders the conversation with the model's chat
//! template, and only the text the conversation did not have yet is tokenised and prefilled.
//!
//! The session keeps the conversation's token ids (prompts plus generated replies, including the
//! end-of-turn token the model produced), and the text they stand for. When the new rendering
//! starts with that text, the new ids are the old ones plus the tokens of the new suffix, so the
//! cached keys and values of every earlier turn are reused. Otherwise (a template that rewrites
//! earlier turns) the whole rendering is tokenised again and the engine reuses what prefix it can.

use crate::chat_template::{ChatMessage, ChatTemplate, RenderOptions};
use crate::constraint::Guide;
use crate::engine::{Engine, StopReason};
use crate::generate::{generate_text, Limits, TextGeneration};
use crate::models::ModelError;
use crate::sampling::Sampler;
use crate::tokenizer::Tokenizer;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Template(#[from] crate::chat_template::ChatTemplateError),
}

pub struct ChatSession {
    pub template: ChatTemplate,
    pub messages: Vec<ChatMessage>,
    /// Token ids of the conversation so far, as fed to (or produced by) the model.
    ids: Vec<u32>,
    /// The rendered text those ids stand for.
    rendered: String,
}

/// What a turn did, besides the reply.
pub struct TurnReport {
    pub reply: TextGeneration,
    /// Prompt tokens of this turn (the whole conversation so far).
    pub prompt_tokens: usize,
    /// Tokens this turn actually prefilled; the rest came from the KV cache.
    pub prefilled_tokens: usize,
}

impl ChatSession {
    pub fn new(template: ChatTemplate, system: Option<&str>) -> Self {
        let messages = system.map(|s| vec![ChatMessage::new("system", s)]).unwrap_or_default();
        ChatSession {
            template,
            messages,
            ids: Vec::new(),
            rendered: String::new(),
        }
    }

    /// The conversation's token ids so far.
    pub fn ids(&self) -> &[u32] {
        &self.ids
    }

    /// Adds `user`'s message, generates the assistant's reply (streamed to `on_text`; constrained
    /// by `guide` when given: structured output) and adds it.
    #[allow(clippy::too_many_arguments)]
    pub fn turn(
        &mut self,
        engine: &mut Engine,
        tokenizer: &Tokenizer,
        user: &str,
        max_tokens: usize,
        sampler: &mut Sampler,
        stop_ids: &[u32],
        guide: Option<&mut Guide>,
        mut on_text: impl FnMut(&str) -> bool,
    ) -> Result<TurnReport, ChatError> {
        // The conversation changes only when the turn succeeds, so a failed turn can be retried.
        let mut messages = self.messages.clone();
        messages.push(ChatMessage::new("user", user));
        let opts = RenderOptions {
            add_generation_prompt: true,
            ..Default::default()
        };
        let prompt_text = self.template.render(&messages, &opts)?;
        // The template writes its own special tokens (BOS included), so none are added here.
        let prompt = match prompt_text.strip_prefix(self.rendered.as_str()) {
            Some(suffix) if !self.ids.is_empty() => {
                let mut ids = self.ids.clone();
                ids.extend(tokenizer.encode_with(suffix, false).map_err(ModelError::from)?);
                ids
            }
            _ => tokenizer.encode_with(&prompt_text, false).map_err(ModelError::from)?,
        };
        let prompt_tokens = prompt.len();
        let limits = Limits {
            max_tokens,
            stop_ids,
            stop_strings: &[],
        };
        let reply = generate_text(engine, tokenizer, &prompt, sampler, limits, guide, |t, _| on_text(t))?;
        let prefilled_tokens = reply.stats.prefilled_tokens;
        self.rendered = prompt_text + &reply.text;
        self.ids = prompt;
        self.ids.extend(&reply.stats.ids);
        // The end-of-turn token closes the reply in the ids and in the text the template renders.
        if reply.stats.stop == StopReason::EndOfText {
            if let Some(&eot) = reply.stats.stop_token.as_ref() {
                self.ids.push(eot);
                self.rendered
                    .push_str(&tokenizer.decode(&[eot], false).map_err(ModelError::from)?);
            }
        }
        messages.push(ChatMessage::new("assistant", reply.text.clone()));
        self.messages = messages;
        Ok(TurnReport {
            prompt_tokens,
            prefilled_tokens,
            reply,
        })
    }
}

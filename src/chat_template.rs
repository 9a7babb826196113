//! Chat templates: a model's Jinja template (GGUF `tokenizer.chat_template`, or the
//! `chat_template` field of HF `tokenizer_config.json`) rendered with `minijinja`, the way HF
//! transformers' `apply_chat_template` renders it; and a per-family fallback when a model has none.
//!
//! HF renders templates in a Jinja2 sandbox with `trim_blocks`, `lstrip_blocks`, the
//! `loopcontrols` extension, `raise_exception(msg)` and `strftime_now(fmt)` globals and a `tojson`
//! filter that calls Python's `json.dumps(x, ensure_ascii=False)`. Templates also call Python
//! string and dict methods (`.strip()`, `.startswith()`, `.items()`), which
//! `minijinja_contrib::pycompat` supplies. [`env`] sets up the same environment, [`messages`]
//! prepares the messages as transformers does, [`pyjson`] is the `tojson` filter.
//! tests/chat_template_corpus.rs holds this to HF's output on llama.cpp's template corpus.
//!
//! A template is untrusted input (it ships inside the model file). minijinja never panics on a
//! bad template; we turn its errors into [`ChatTemplateError`], and bound the work a render may do
//! with *fuel*: every instruction, and every byte of every value a template builds, costs fuel,
//! so a runaway loop or a string that doubles in a loop stops with [`ChatTemplateError::OutOfFuel`]
//! instead of eating the CPU or the memory.
//!
//! Known gap (minijinja 3.1.0): list concatenation `a + b` stays lazy up to 32 levels and is
//! then copied into one list *before* fuel is charged, so a template that doubles a list more than
//! 32 times (`{% set l = l + l %}` in a loop or unrolled) allocates 2^33 items and runs out of
//! memory. Python's jinja2, which HF uses, has the same problem (its lists are eager). Render
//! templates from untrusted models where a runaway can be stopped (a Web Worker in the browser).

mod env;
pub mod messages;
mod pyjson;

use chrono::NaiveDateTime;
use minijinja::value::Value;
use minijinja::{Error, ErrorKind};
use serde::{Deserialize, Serialize};

use crate::formats::gguf::{GgufError, GgufFile, MetaValue};
use env::{environment, without_generation_tags, Raised};

/// Fuel every render gets, whatever its input: 2 M units is about 10 ms of rendering, hundreds of
/// times what a real template spends on a short conversation.
pub const BASE_FUEL: u64 = 2_000_000;
/// Extra fuel per byte of input messages (a template copies each message a few times).
pub const FUEL_PER_INPUT_BYTE: u64 = 64;
/// Deepest template call recursion (macros, recursive loops, includes).
pub const RECURSION_LIMIT: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum ChatTemplateError {
    #[error("the chat template does not parse: {message}")]
    Syntax { message: String, line: Option<usize> },
    #[error("the chat template raised an exception: {message}")]
    Raised { message: String },
    #[error("the chat template ran out of fuel ({fuel} units): it loops too long or builds too large a value; a real template needs far less, so the template is broken or hostile")]
    OutOfFuel { fuel: u64 },
    #[error("rendering the chat template failed: {message}")]
    Render { message: String },
    #[error("the model has no chat template and no fallback is known for architecture {architecture:?} (fallbacks: gemma*, llama, qwen*, smollm, phi2, phi3); pass a template yourself")]
    NoTemplate { architecture: String },
    #[error("tokenizer_config.json is not valid JSON of the expected shape: {0}")]
    InvalidTokenizerConfig(#[source] serde_json::Error),
    #[error("tokenizer_config.json lists named chat templates ({names}) but none is called \"default\"")]
    NoDefaultTemplate { names: String },
    #[error("the messages cannot be turned into template values: {0}")]
    BadMessages(#[source] serde_json::Error),
    #[error("the messages are not an OpenAI-style message list: {message}")]
    InvalidMessages { message: String },
    #[error("the tools are not valid JSON: {0}")]
    BadTools(#[source] serde_json::Error),
    #[error(transparent)]
    Gguf(#[from] GgufError),
}

/// One turn of a conversation. Templates may read more fields (`tool_calls`, `name`); pass any
/// `Serialize` value to [`ChatTemplate::render`] for those.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// `system`, `user`, `assistant` (or `tool`, ...: the template decides what it accepts).
    pub role: String,
    pub content: String,
}

impl ChatMessage {
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> ChatMessage {
        ChatMessage {
            role: role.into(),
            content: content.into(),
        }
    }
}

/// The built-in templates used when a model ships none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// `<start_of_turn>user\n...<end_of_turn>\n<start_of_turn>model\n` (Gemma 1/2/3).
    Gemma,
    /// `<|im_start|>role\n...<|im_end|>\n` (Qwen, SmolLM).
    ChatMl,
    /// `<|start_header_id|>role<|end_header_id|>\n\n...<|eot_id|>` (Llama 3).
    Llama3,
    /// `Instruct: ...\nOutput:` (Phi-2, which was never chat-tuned; this is its model card's QA format).
    Phi2,
    /// `<|user|>\n...<|end|>\n<|assistant|>\n` (Phi-3).
    Phi3,
}

impl Fallback {
    /// The fallback for a GGUF `general.architecture` (or HF `model_type`, which uses the same
    /// names for these families). `pre_tokenizer` (`tokenizer.ggml.pre`) tells SmolLM, whose
    /// architecture is `llama` but whose format is ChatML, from Llama 3.
    pub fn for_architecture(arch: &str, pre_tokenizer: Option<&str>) -> Option<Fallback> {
        Some(match arch {
            a if a.starts_with("gemma") => Fallback::Gemma,
            a if a.starts_with("qwen") => Fallback::ChatMl,
            "llama" if pre_tokenizer == Some("smollm") => Fallback::ChatMl,
            "llama" => Fallback::Llama3,
            "phi2" | "phi" => Fallback::Phi2,
            "phi3" => Fallback::Phi3,
            _ => return None,
        })
    }

    /// The template text. Written in the same Jinja as the models' own templates (Gemma's and
    /// Llama 3's are their official templates without the role-alternation checks).
    pub fn source(self) -> &'static str {
        match self {
            Fallback::Gemma => concat!(
                "{{ bos_token }}",
                "{% if messages[0]['role'] == 'system' %}",
                "{% set first_user_prefix = messages[0]['content'] + '\n\n' %}",
                "{% set loop_messages = messages[1:] %}",
                "{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}",
                "{% for message in loop_messages %}",
                "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}",
                "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '')",
                " + message['content'] | trim + '<end_of_turn>\n' }}",
                "{% endfor %}",
                "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}",
            ),
            Fallback::ChatMl => concat!(
                "{% for message in messages %}",
                "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}",
                "{% endfor %}",
                "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}",
            ),
            Fallback::Llama3 => concat!(
                "{{ bos_token }}",
                "{% for message in messages %}",
                "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'",
                " + message['content'] | trim + '<|eot_id|>' }}",
                "{% endfor %}",
                "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}",
            ),
            Fallback::Phi2 => concat!(
                "{% for message in messages %}",
                "{% if message['role'] == 'user' %}{{ 'Instruct: ' + message['content'] + '\n' }}",
                "{% elif message['role'] == 'assistant' %}{{ 'Output: ' + message['content'] + '\n' }}",
                "{% else %}{{ message['content'] + '\n' }}{% endif %}",
                "{% endfor %}",
                "{% if add_generation_prompt %}{{ 'Output:' }}{% endif %}",
            ),
            Fallback::Phi3 => concat!(
                "{% for message in messages %}",
                "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}",
                "{% endfor %}",
                "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}",
            ),
        }
    }
}

/// Where a [`ChatTemplate`]'s text came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TemplateOrigin {
    /// GGUF `tokenizer.chat_template`.
    Gguf,
    /// `tokenizer_config.json`'s `chat_template`.
    TokenizerConfig,
    /// Given by the caller.
    Custom,
    /// The model has none; a built-in one for its family.
    Fallback(Fallback),
}

/// Per-render inputs besides the messages.
#[derive(Clone, Debug, Default)]
pub struct RenderOptions {
    /// End with the header of an assistant turn, so that generation continues as the assistant.
    pub add_generation_prompt: bool,
    /// Fuel for this render; `None` is [`BASE_FUEL`] plus [`FUEL_PER_INPUT_BYTE`] per input byte.
    pub fuel: Option<u64>,
    /// The template's `tools` variable: a JSON array of OpenAI tool definitions
    /// (`{"type": "function", "function": {name, description, parameters}}`), as JSON text so
    /// that its keys keep their order when the template prints it. `None`: `tools` is `none`.
    pub tools_json: Option<String>,
    /// What `strftime_now` formats (templates print today's date with it); `None` is the wall
    /// clock ([`crate::clock::wall_clock`]). Tests pin it.
    pub now: Option<NaiveDateTime>,
}

/// A validated chat template with the model's BOS/EOS token strings, which templates print.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    source: String,
    origin: TemplateOrigin,
    pub bos_token: String,
    pub eos_token: String,
}

impl ChatTemplate {
    /// A template from its text; a syntax error is reported here, not at the first render.
    pub fn new(source: impl Into<String>, origin: TemplateOrigin) -> Result<ChatTemplate, ChatTemplateError> {
        let source = source.into();
        environment(0, NaiveDateTime::default())
            .template_from_str(&without_generation_tags(&source))
            .map_err(|e| map_error(e, 0))?;
        Ok(ChatTemplate {
            source,
            origin,
            bos_token: String::new(),
            eos_token: String::new(),
        })
    }

    pub fn fallback(family: Fallback) -> ChatTemplate {
        ChatTemplate {
            source: family.source().to_owned(),
            origin: TemplateOrigin::Fallback(family),
            bos_token: String::new(),
            eos_token: String::new(),
        }
    }

    /// The GGUF's `tokenizer.chat_template`, or the fallback for its architecture; BOS/EOS
    /// strings come from the vocabulary (`tokenizer.ggml.tokens[bos_token_id]`).
    pub fn from_gguf(gguf: &GgufFile) -> Result<ChatTemplate, ChatTemplateError> {
        let mut t = match gguf.md_value("tokenizer.chat_template") {
            Some(MetaValue::Str(s)) => ChatTemplate::new(s.clone(), TemplateOrigin::Gguf)?,
            _ => {
                let arch = gguf.arch()?;
                let pre = gguf.md_str("tokenizer.ggml.pre").ok();
                let family = Fallback::for_architecture(arch, pre).ok_or_else(|| ChatTemplateError::NoTemplate {
                    architecture: arch.to_owned(),
                })?;
                ChatTemplate::fallback(family)
            }
        };
        let token = |key: &str| -> Result<String, GgufError> {
            let Some(id) = gguf.md_opt::<u32>(key)? else {
                return Ok(String::new());
            };
            let tokens = gguf.md_str_array("tokenizer.ggml.tokens")?;
            Ok(tokens.get(id as usize).cloned().unwrap_or_default())
        };
        t.bos_token = token("tokenizer.ggml.bos_token_id")?;
        t.eos_token = token("tokenizer.ggml.eos_token_id")?;
        Ok(t)
    }

    /// The `chat_template` of a `tokenizer_config.json` (a string, or a list of
    /// `{name, template}` of which "default" is used), or the fallback for `model_type` (from
    /// `config.json`) when there is none. BOS/EOS come from `bos_token` / `eos_token`, which are
    /// strings or `{"content": ...}` objects.
    pub fn from_tokenizer_config(json: &[u8], model_type: &str) -> Result<ChatTemplate, ChatTemplateError> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Source {
            One(String),
            Named(Vec<Named>),
        }
        #[derive(Deserialize)]
        struct Named {
            name: String,
            template: String,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Token {
            Plain(String),
            Added { content: String },
        }
        #[derive(Deserialize)]
        struct Config {
            chat_template: Option<Source>,
            bos_token: Option<Token>,
            eos_token: Option<Token>,
        }
        let cfg: Config = serde_json::from_slice(json).map_err(ChatTemplateError::InvalidTokenizerConfig)?;
        let mut t = match cfg.chat_template {
            Some(Source::One(s)) => ChatTemplate::new(s, TemplateOrigin::TokenizerConfig)?,
            Some(Source::Named(list)) => match list.iter().find(|n| n.name == "default") {
                Some(n) => ChatTemplate::new(n.template.clone(), TemplateOrigin::TokenizerConfig)?,
                None => {
                    let names: Vec<&str> = list.iter().map(|n| n.name.as_str()).collect();
                    return Err(ChatTemplateError::NoDefaultTemplate {
                        names: names.join(", "),
                    });
                }
            },
            None => Fallback::for_architecture(model_type, None)
                .map(ChatTemplate::fallback)
                .ok_or_else(|| ChatTemplateError::NoTemplate {
                    architecture: model_type.to_owned(),
                })?,
        };
        let text = |tok: Option<Token>| match tok {
            Some(Token::Plain(s) | Token::Added { content: s }) => s,
            None => String::new(),
        };
        t.bos_token = text(cfg.bos_token);
        t.eos_token = text(cfg.eos_token);
        Ok(t)
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn origin(&self) -> TemplateOrigin {
        self.origin
    }

    /// Renders `messages` (a slice of [`ChatMessage`], or of any `Serialize` value with the fields
    /// the template reads) into the prompt text. The text contains the special tokens the template
    /// writes (BOS included, for Gemma and Llama 3): tokenize it without adding them again.
    pub fn render<M: Serialize>(&self, messages: &[M], opts: &RenderOptions) -> Result<String, ChatTemplateError> {
        let json = serde_json::to_string(messages).map_err(ChatTemplateError::BadMessages)?;
        self.render_json(&json, opts)
    }

    /// Renders a JSON message list (OpenAI-style: `role`, `content`, `tool_calls`, `tool_call_id`,
    /// ...), prepared as transformers prepares it ([`messages::normalize`]). Object keys keep the
    /// order they have in `messages_json`.
    pub fn render_json(&self, messages_json: &str, opts: &RenderOptions) -> Result<String, ChatTemplateError> {
        let messages: Value = serde_json::from_str(messages_json).map_err(ChatTemplateError::BadMessages)?;
        self.render_value(&messages, opts)
    }

    /// Renders a message list already parsed into template values.
    pub fn render_value(&self, messages: &Value, opts: &RenderOptions) -> Result<String, ChatTemplateError> {
        let tools: Value = match &opts.tools_json {
            Some(t) => serde_json::from_str(t).map_err(ChatTemplateError::BadTools)?,
            None => Value::from(()),
        };
        let messages = messages::normalize(messages)?;
        let input_bytes = messages.to_string().len() as u64 + opts.tools_json.as_ref().map_or(0, |t| t.len() as u64);
        let fuel = opts
            .fuel
            .unwrap_or_else(|| BASE_FUEL.saturating_add(input_bytes.saturating_mul(FUEL_PER_INPUT_BYTE)));
        let now = opts.now.unwrap_or_else(crate::clock::wall_clock);
        let env = environment(fuel, now);
        let source = without_generation_tags(&self.source);
        let tmpl = env.template_from_str(&source).map_err(|e| map_error(e, fuel))?;
        // The variables apply_chat_template passes: the messages, tools, documents (webslm has
        // none), add_generation_prompt and the tokenizer's special tokens.
        let ctx = minijinja::context! {
            messages => messages,
            tools => tools,
            documents => Value::from(()),
            add_generation_prompt => opts.add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        tmpl.render(ctx).map_err(|e| map_error(e, fuel))
    }
}

fn map_error(e: Error, fuel: u64) -> ChatTemplateError {
    // raise_exception's marker may sit under the error minijinja wraps around a failed call.
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Raised>() {
            return ChatTemplateError::Raised { message: r.0.clone() };
        }
        source = s.source();
    }
    match e.kind() {
        ErrorKind::OutOfFuel => ChatTemplateError::OutOfFuel { fuel },
        ErrorKind::SyntaxError | ErrorKind::BadEscape | ErrorKind::InvalidDelimiter => ChatTemplateError::Syntax {
            message: e.to_string(),
            line: e.line(),
        },
        _ => ChatTemplateError::Render { message: e.to_string() },
    }
}

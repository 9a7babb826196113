//! Chat templates: a model's Jinja template (GGUF `tokenizer.chat_template`, or the
//! `chat_template` field of HF `tokenizer_config.json`) rendered with `minijinja`, the way HF
//! transformers' `apply_chat_template` renders it; and a per-family fallback when a model has none.
//!
//! HF renders templates in a Jinja2 sandbox with `trim_blocks`, `lstrip_blocks`, the
//! `loopcontrols` extension, a `raise_exception(msg)` global and a `tojson` filter that calls
//! Python's `json.dumps(x, ensure_ascii=False)`. Templates also call Python string and dict
//! methods (`.strip()`, `.startswith()`, `.items()`), which `minijinja_contrib::pycompat` supplies.
//! We set up the same environment.
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

use std::fmt;

use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind, State};
use serde::{Deserialize, Serialize};

use crate::formats::gguf::{GgufError, GgufFile, MetaValue};

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
}

/// A validated chat template with the model's BOS/EOS token strings, which templates print.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    source: String,
    origin: TemplateOrigin,
    pub bos_token: String,
    pub eos_token: String,
}

/// Marks an error as the template's own `raise_exception(msg)`, so it maps to
/// [`ChatTemplateError::Raised`] however deep in the render it happened.
#[derive(Debug)]
struct Raised(String);

impl fmt::Display for Raised {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

impl ChatTemplate {
    /// A template from its text; a syntax error is reported here, not at the first render.
    pub fn new(source: impl Into<String>, origin: TemplateOrigin) -> Result<ChatTemplate, ChatTemplateError> {
        let source = source.into();
        environment(0).template_from_str(&source).map_err(|e| map_error(e, 0))?;
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
        let input_bytes = serde_json::to_vec(messages)
            .map_err(ChatTemplateError::BadMessages)?
            .len() as u64;
        let fuel = opts
            .fuel
            .unwrap_or_else(|| BASE_FUEL.saturating_add(input_bytes.saturating_mul(FUEL_PER_INPUT_BYTE)));
        let env = environment(fuel);
        let tmpl = env.template_from_str(&self.source).map_err(|e| map_error(e, fuel))?;
        let ctx = minijinja::context! {
            messages => Value::from(minijinja::value::Serde(messages)),
            add_generation_prompt => opts.add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
        };
        tmpl.render(ctx).map_err(|e| map_error(e, fuel))
    }
}

/// The Jinja environment HF transformers renders chat templates in (`fuel` 0: compile only).
fn environment(fuel: u64) -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
    // The default syntax config always builds; keep minijinja's default if that ever changes.
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    env.set_fuel(Some(fuel.max(1)));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, "raise_exception").with_source(Raised(msg)))
    });
    env.add_filter("tojson", tojson);
    env
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

/// HF's `tojson`: Python's `json.dumps(value, ensure_ascii=False, indent=indent)`, which puts a
/// space after `,` and `:` and keeps non-ASCII text as is (minijinja's own filter escapes `<`,
/// `>`, `&` and `'` for HTML, which would change tool definitions in the prompt).
fn tojson(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let indent: Option<usize> = kwargs.get("indent")?;
    let _: Option<Value> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    // minijinja charges the returned string against the fuel, but only once it exists; a list
    // that repeats one long string many times would serialize to far more bytes than it holds,
    // so stop as soon as the text outgrows the fuel left.
    let budget = state.fuel_levels().map_or(u64::MAX, |(_, left)| left);
    let mut w = JsonWriter {
        out: String::new(),
        indent,
        sort: sort_keys.unwrap_or(false),
        budget: usize::try_from(budget).unwrap_or(usize::MAX),
    };
    w.value(value, 0)?;
    Ok(Value::from(w.out))
}

/// Nesting limit for `tojson` (template values nest only as deep as their source allows).
const MAX_JSON_DEPTH: usize = 64;

struct JsonWriter {
    out: String,
    indent: Option<usize>,
    sort: bool,
    budget: usize,
}

impl JsonWriter {
    fn newline(&mut self, level: usize) {
        if let Some(n) = self.indent {
            self.out.push('\n');
            self.out
                .extend(std::iter::repeat_n(' ', n.saturating_mul(level).min(self.budget)));
        }
    }

    /// Python's separators: `", "` without indent, `","` plus a newline with it.
    fn item_sep(&mut self, level: usize) {
        self.out.push_str(if self.indent.is_some() { "," } else { ", " });
        self.newline(level);
    }

    fn value(&mut self, v: &Value, depth: usize) -> Result<(), Error> {
        if depth > MAX_JSON_DEPTH {
            return Err(Error::new(
                ErrorKind::InvalidOperation,
                "tojson: the value nests too deep",
            ));
        }
        if self.out.len() > self.budget {
            return Err(Error::from(ErrorKind::OutOfFuel));
        }
        match v.kind() {
            ValueKind::Undefined | ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self.out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => {
                // minijinja prints integral floats as `1.0`, as Python does.
                let s = v.to_string();
                self.out.push_str(match s.as_str() {
                    "inf" => "Infinity",
                    "-inf" => "-Infinity",
                    "NaN" | "nan" => "NaN",
                    other => other,
                });
            }
            ValueKind::String => write_json_str(&mut self.out, v.as_str().unwrap_or_default()),
            ValueKind::Seq | ValueKind::Iterable => {
                self.out.push('[');
                let mut first = true;
                for item in v.try_iter()? {
                    if first {
                        self.newline(depth + 1);
                    } else {
                        self.item_sep(depth + 1);
                    }
                    first = false;
                    self.value(&item, depth + 1)?;
                }
                if !first {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            ValueKind::Map => {
                let mut keys: Vec<Value> = v.try_iter()?.collect();
                if self.sort {
                    keys.sort();
                }
                self.out.push('{');
                for (i, key) in keys.iter().enumerate() {
                    if i == 0 {
                        self.newline(depth + 1);
                    } else {
                        self.item_sep(depth + 1);
                    }
                    match key.as_str() {
                        Some(k) => write_json_str(&mut self.out, k),
                        None => write_json_str(&mut self.out, &key.to_string()),
                    }
                    self.out.push_str(": ");
                    self.value(&v.get_item(key)?, depth + 1)?;
                }
                if !keys.is_empty() {
                    self.newline(depth);
                }
                self.out.push('}');
            }
            kind => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson: cannot serialize a value of kind {kind}"),
                ))
            }
        }
        Ok(())
    }
}

/// A JSON string as Python's `json.dumps(ensure_ascii=False)` writes it.
fn write_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

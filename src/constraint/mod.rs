//! Structured output: a JSON schema, a Lark grammar or a regex compiled by llguidance into a
//! per-request matcher that says, before each token, which ids may come next (a bitmask over
//! the vocabulary, applied to the logits on the GPU by `kernels::mask`).
//!
//! Everything that can be wrong with a request (a schema that is not JSON, a keyword llguidance
//! does not support, a grammar that does not parse) is a typed error from [`Guide::new`], before
//! any token is generated.

mod vocab;

pub use vocab::{token_spellings, Vocabulary};

use llguidance::api::TopLevelGrammar;
use llguidance::Matcher;

/// What a request constrains its output to.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstraintSpec {
    /// Any JSON object (OpenAI's `response_format: { type: 'json_object' }`).
    JsonObject,
    /// A JSON schema (`{ type: 'json_schema', json_schema: { schema } }`).
    JsonSchema(serde_json::Value),
    /// A grammar in llguidance's Lark syntax.
    Lark(String),
    /// A regular expression the whole output must match.
    Regex(String),
}

/// The whitespace a JSON output may put between two of its tokens: one space, or a newline and
/// at most 20 spaces or tabs of indent. This is llama.cpp's `space` rule (json-schema-to-grammar:
/// `| " " | "\n" [ \t]{0,20}`). llguidance's default, any run of whitespace, lets a small model
/// pour newlines into an unclosed object until max_tokens. A schema that sets its own
/// `x-guidance` options keeps them.
pub const JSON_WHITESPACE: &str = r"[ ]|\n[ \t]{0,20}";

/// A JSON schema's grammar, with [`JSON_WHITESPACE`] unless the schema says otherwise.
fn json_grammar(mut schema: serde_json::Value) -> TopLevelGrammar {
    if let Some(obj) = schema.as_object_mut() {
        obj.entry("x-guidance")
            .or_insert_with(|| serde_json::json!({ "whitespace_pattern": JSON_WHITESPACE }));
    }
    TopLevelGrammar::from_json_schema(schema)
}

impl ConstraintSpec {
    /// A schema from JSON text (a CLI file, a JS object serialised).
    pub fn json_schema_text(text: &str) -> Result<Self, ConstraintError> {
        serde_json::from_str(text)
            .map(ConstraintSpec::JsonSchema)
            .map_err(|e| ConstraintError::InvalidSchema(format!("not JSON: {e}")))
    }

    fn grammar(&self) -> TopLevelGrammar {
        match self {
            ConstraintSpec::JsonObject => json_grammar(serde_json::json!({ "type": "object" })),
            ConstraintSpec::JsonSchema(schema) => json_grammar(schema.clone()),
            ConstraintSpec::Lark(text) => TopLevelGrammar::from_lark(text.clone()),
            ConstraintSpec::Regex(rx) => TopLevelGrammar::from_regex(rx),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            ConstraintSpec::JsonObject | ConstraintSpec::JsonSchema(_) => "schema",
            ConstraintSpec::Lark(_) => "grammar",
            ConstraintSpec::Regex(_) => "regex",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConstraintError {
    #[error("invalid JSON schema: {0}")]
    InvalidSchema(String),
    #[error("invalid grammar: {0}")]
    InvalidGrammar(String),
    #[error("invalid regex: {0}")]
    InvalidRegex(String),
    #[error("structured output is not available for this vocabulary: {0}")]
    Vocabulary(String),
    /// The matcher failed mid-generation (llguidance's step limits, an internal error).
    #[error("structured output failed while generating: {0}")]
    Matcher(String),
    #[error("the model produced token {0}, which the grammar does not allow")]
    Rejected(u32),
}

/// This step's allowed ids: one bit per id, bit `i % 32` of word `i / 32`.
pub struct Mask {
    pub words: Vec<u32>,
}

impl Mask {
    /// The one id allowed, when exactly one is (a forced token: no sampling needed).
    pub fn forced(&self) -> Option<u32> {
        let mut set = self.words.iter().enumerate().filter(|(_, w)| **w != 0);
        let (i, w) = set.next()?;
        (set.next().is_none() && w.count_ones() == 1).then(|| i as u32 * 32 + w.trailing_zeros())
    }

    pub fn allows(&self, id: u32) -> bool {
        self.words
            .get(id as usize / 32)
            .is_some_and(|w| w & (1 << (id % 32)) != 0)
    }

    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }
}

/// One request's matcher: [`Guide::mask`] before each token, [`Guide::commit`] after it.
pub struct Guide {
    matcher: Matcher,
}

impl Guide {
    /// Compiles `spec` over `vocab`; every error in the spec surfaces here.
    pub fn new(vocab: &Vocabulary, spec: &ConstraintSpec) -> Result<Self, ConstraintError> {
        let parser = vocab.factory.create_parser(spec.grammar()).map_err(|e| {
            let msg = e.to_string();
            match spec.kind() {
                "schema" => ConstraintError::InvalidSchema(msg),
                "grammar" => ConstraintError::InvalidGrammar(msg),
                _ => ConstraintError::InvalidRegex(msg),
            }
        })?;
        let matcher = Matcher::new(Ok(parser));
        match matcher.get_error() {
            Some(e) => Err(ConstraintError::Matcher(e)),
            None => Ok(Guide { matcher }),
        }
    }

    /// The ids allowed next. End-of-generation ids are in it only where the grammar accepts;
    /// once the grammar is complete, only they are.
    pub fn mask(&mut self) -> Result<Mask, ConstraintError> {
        let vob = self
            .matcher
            .compute_mask_or_eos()
            .map_err(|e| ConstraintError::Matcher(e.to_string()))?;
        Ok(Mask {
            words: vob.as_slice().to_vec(),
        })
    }

    /// Advances past `token`, which the last mask allowed.
    pub fn commit(&mut self, token: u32) -> Result<(), ConstraintError> {
        self.matcher
            .consume_token(token)
            .map_err(|e| ConstraintError::Matcher(e.to_string()))
    }

    /// Whether the output so far is complete (end-of-generation is allowed now).
    pub fn is_accepting(&mut self) -> bool {
        self.matcher.is_accepting().unwrap_or(false)
    }
}

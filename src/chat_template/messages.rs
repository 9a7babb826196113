//! The messages a template sees, prepared as transformers prepares them before rendering
//! (`_normalize_chat_messages` and `_alias_reasoning_fields` in `chat_template_utils.py`), and
//! the OpenAI-to-HF step servers apply to tool calls.
//!
//! Values stay minijinja [`Value`]s parsed straight from JSON text, so an object's keys keep their
//! order (a template that prints `tools | tojson` must print the keys as they were given; a
//! `serde_json::Value` would sort them).

use minijinja::value::{Value, ValueKind};

use super::ChatTemplateError;

/// Names a message's reasoning goes under; templates read `reasoning_content` or `thinking`.
const REASONING_FIELDS: [&str; 3] = ["reasoning_content", "thinking", "reasoning"];

/// transformers' preparation of a conversation: every message must be an object; keys whose value
/// is `null` are dropped (OpenAI clients send `content: null` beside `tool_calls`, which many
/// templates would print as `None`); and a message's reasoning, under any of its names, is also
/// given as `thinking` (first) and `reasoning_content`.
pub fn normalize(messages: &Value) -> Result<Value, ChatTemplateError> {
    if messages.kind() != ValueKind::Seq {
        return Err(invalid(format!("messages must be a list, not {}", messages.kind())));
    }
    let mut out = Vec::new();
    for (i, message) in iter(messages)?.enumerate() {
        if message.kind() != ValueKind::Map {
            return Err(invalid(format!(
                "message {i} must be an object, not {}",
                message.kind()
            )));
        }
        let mut pairs: Vec<(Value, Value)> = Vec::new();
        for key in iter(&message)? {
            let value = message.get_item(&key).map_err(|e| invalid(e.to_string()))?;
            if !value.is_none() && !value.is_undefined() {
                pairs.push((key, value));
            }
        }
        let reasoning = REASONING_FIELDS.iter().find_map(|f| {
            pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(f))
                .map(|(_, v)| v.clone())
        });
        if let Some(r) = reasoning {
            // Python: {"thinking": r, **message, "reasoning_content": r}.
            set(&mut pairs, "reasoning_content", r.clone());
            if !pairs.iter().any(|(k, _)| k.as_str() == Some("thinking")) {
                pairs.insert(0, (Value::from("thinking"), r));
            }
        }
        out.push(object(pairs));
    }
    Ok(Value::from(out))
}

/// OpenAI sends a tool call's `function.arguments` as a JSON *string*; HF templates expect the
/// object (they print `arguments | tojson`, which would quote the string again). Parse each such
/// string that holds a JSON object into the object, as vLLM and llama.cpp's server do before
/// rendering; anything else is left as it is.
pub fn openai_tool_arguments(messages: &Value) -> Result<Value, ChatTemplateError> {
    if messages.kind() != ValueKind::Seq {
        return Ok(messages.clone());
    }
    let mut out = Vec::new();
    for message in iter(messages)? {
        let calls = message.get_attr("tool_calls").unwrap_or_default();
        if message.kind() != ValueKind::Map || calls.kind() != ValueKind::Seq {
            out.push(message);
            continue;
        }
        let mut new_calls = Vec::new();
        for call in iter(&calls)? {
            let function = call.get_attr("function").unwrap_or_default();
            let args = function.get_attr("arguments").unwrap_or_default();
            let parsed = args
                .as_str()
                .and_then(|s| serde_json::from_str::<Value>(s).ok())
                .filter(|v| v.kind() == ValueKind::Map);
            match parsed {
                Some(obj) => {
                    let function = with(&function, "arguments", obj)?;
                    new_calls.push(with(&call, "function", function)?);
                }
                None => new_calls.push(call),
            }
        }
        out.push(with(&message, "tool_calls", Value::from(new_calls))?);
    }
    Ok(Value::from(out))
}

fn invalid(message: String) -> ChatTemplateError {
    ChatTemplateError::InvalidMessages { message }
}

fn iter(v: &Value) -> Result<impl Iterator<Item = Value>, ChatTemplateError> {
    v.try_iter().map_err(|e| invalid(e.to_string()))
}

/// Sets `key` in an ordered list of pairs: in place where it exists, else at the end.
fn set(pairs: &mut Vec<(Value, Value)>, key: &str, value: Value) {
    match pairs.iter_mut().find(|(k, _)| k.as_str() == Some(key)) {
        Some(pair) => pair.1 = value,
        None => pairs.push((Value::from(key), value)),
    }
}

/// A copy of the map `obj` with `key` set to `value` (keys keep their order).
fn with(obj: &Value, key: &str, value: Value) -> Result<Value, ChatTemplateError> {
    let mut pairs = Vec::new();
    if obj.kind() == ValueKind::Map {
        for k in iter(obj)? {
            let v = obj.get_item(&k).map_err(|e| invalid(e.to_string()))?;
            pairs.push((k, v));
        }
    }
    set(&mut pairs, key, value);
    Ok(object(pairs))
}

/// A template object with these keys in this order. (`Value::from_iter` of pairs makes a list of
/// pairs; minijinja builds its ordered map from a serialized map, so serialize one.)
fn object(pairs: Vec<(Value, Value)>) -> Value {
    struct Ordered(Vec<(Value, Value)>);
    impl serde::Serialize for Ordered {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = s.serialize_map(Some(self.0.len()))?;
            for (k, v) in &self.0 {
                map.serialize_entry(k, v)?;
            }
            map.end()
        }
    }
    Value::from(minijinja::value::Serde(Ordered(pairs)))
}

//! The Jinja environment HF transformers renders chat templates in
//! (`transformers.utils.chat_template_utils._cached_compile_jinja_template`), rebuilt on
//! minijinja: `trim_blocks`, `lstrip_blocks`, loop controls, the globals `raise_exception` and
//! `strftime_now`, HF's `tojson`; plus what makes minijinja print and compute as Python does
//! where templates depend on it (`{{ none }}` is `None`, `{{ [1] }}` is `[1]`, `map` yields a
//! generator that `tojson` rejects, Python's string and dict methods through pycompat).

use std::borrow::Cow;
use std::fmt::Write as _;

use chrono::format::{Item, StrftimeItems};
use chrono::NaiveDateTime;
use minijinja::syntax::SyntaxConfig;
use minijinja::value::{Rest, Value, ValueKind, ValueOrKwargs};
use minijinja::{Environment, Error, ErrorKind, Output, State};

use super::pyjson::{f64_of, py_float_repr, tojson};
use super::RECURSION_LIMIT;

/// Marks an error as the template's own `raise_exception(msg)`, so it maps to
/// `ChatTemplateError::Raised` however deep in the render it happened.
#[derive(Debug)]
pub struct Raised(pub String);

impl std::fmt::Display for Raised {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Raised {}

/// The environment for one render: `fuel` bounds its work (0: compile only), `now` is what
/// `strftime_now` formats.
pub fn environment(fuel: u64, now: NaiveDateTime) -> Environment<'static> {
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
    // The default syntax config always builds; keep minijinja's default if that ever changes.
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    env.set_fuel(Some(fuel.max(1)));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    env.set_formatter(python_str);
    env.add_function("raise_exception", |msg: String| -> Result<Value, Error> {
        Err(Error::new(ErrorKind::InvalidOperation, "raise_exception").with_source(Raised(msg)))
    });
    env.add_function("strftime_now", move |format: String| strftime(now, &format));
    env.add_filter("tojson", tojson);
    // `string` is Python's str() too (`{{ flag | string }}` is `True`, not `true`).
    env.add_filter("string", |v: &Value| -> Result<Value, Error> {
        Ok(match v.kind() {
            ValueKind::String => v.clone(),
            _ => Value::from(python_repr(v, 0)?),
        })
    });
    // Python's `iter(x)` decides `is iterable`: None is not (minijinja says it is, and templates
    // guard `tools | length` with it), jinja2's Undefined is (it iterates as empty).
    env.add_test("iterable", |v: &Value| {
        matches!(
            v.kind(),
            ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::String | ValueKind::Undefined
        )
    });
    // jinja2's map/select/reject/selectattr/rejectattr return generators: printing one shows
    // `<generator object ...>` and json.dumps rejects it, where minijinja's return lists. Wrap
    // them so the result is a one-shot iterator, as in Python.
    use minijinja::filters as f;
    env.add_filter("map", |st: &mut State, v: Value, args: Rest<ValueOrKwargs>| {
        f::map(st, v, args).map(generator)
    });
    env.add_filter(
        "select",
        |st: &mut State, v: Value, test: Option<Cow<str>>, args: Rest<ValueOrKwargs>| {
            f::select(st, v, test, args).map(generator)
        },
    );
    env.add_filter(
        "reject",
        |st: &mut State, v: Value, test: Option<Cow<str>>, args: Rest<ValueOrKwargs>| {
            f::reject(st, v, test, args).map(generator)
        },
    );
    env.add_filter(
        "selectattr",
        |st: &mut State, v: Value, attr: Cow<str>, test: Option<Cow<str>>, args: Rest<ValueOrKwargs>| {
            f::selectattr(st, v, attr, test, args).map(generator)
        },
    );
    env.add_filter(
        "rejectattr",
        |st: &mut State, v: Value, attr: Cow<str>, test: Option<Cow<str>>, args: Rest<ValueOrKwargs>| {
            f::rejectattr(st, v, attr, test, args).map(generator)
        },
    );
    env
}

/// The template with HF's `{% generation %}` ... `{% endgeneration %}` tags (transformers'
/// AssistantTracker extension, which marks the assistant's tokens for training masks and renders
/// its body unchanged) turned into `{% if true %}` ... `{% endif %}`, a block minijinja knows that
/// renders its body the same way and keeps the tags' whitespace control (`{%-`, `-%}`).
pub fn without_generation_tags(source: &str) -> Cow<'_, str> {
    if !source.contains("generation") {
        return Cow::Borrowed(source);
    }
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    while let Some(at) = rest.find("{%") {
        out.push_str(&rest[..at]);
        let tag = &rest[at..];
        match generation_tag(tag) {
            Some((len, name_start, name_len, end)) => {
                out.push_str(&tag[..name_start]);
                out.push_str(if end { "endif" } else { "if true" });
                out.push_str(&tag[name_start + name_len..len]);
                rest = &tag[len..];
            }
            None => {
                out.push_str("{%");
                rest = &tag[2..];
            }
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// If `tag` starts with a `{% generation %}` or `{% endgeneration %}` tag: (its length, where
/// the name starts, the name's length, whether it is the end tag).
fn generation_tag(tag: &str) -> Option<(usize, usize, usize, bool)> {
    let b = tag.as_bytes();
    let mut i = 2;
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    let name_start = i;
    let (name_len, end) = if tag[i..].starts_with("endgeneration") {
        ("endgeneration".len(), true)
    } else if tag[i..].starts_with("generation") {
        ("generation".len(), false)
    } else {
        return None;
    };
    i += name_len;
    while b.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    if matches!(b.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    tag[i..].starts_with("%}").then_some((i + 2, name_start, name_len, end))
}

/// A filter's result as jinja2 returns it: a one-shot iterator (a Python generator).
fn generator(items: Vec<Value>) -> Value {
    Value::make_one_shot_iterator(items.into_iter())
}

/// Python's `datetime.strftime(format)` for `strftime_now`: C strftime specifiers in the C
/// locale (English month and day names), which chrono implements.
fn strftime(now: NaiveDateTime, format: &str) -> Result<Value, Error> {
    let items: Vec<Item> = StrftimeItems::new(format).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: unsupported format {format:?}"),
        ));
    }
    let mut out = String::new();
    write!(out, "{}", now.format_with_items(items.into_iter())).map_err(|_| {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("strftime_now: cannot format {format:?}"),
        )
    })?;
    Ok(Value::from(out))
}

/// What `{{ value }}` prints: Python's `str(value)`, as jinja2 prints it (`None`, `True`, a
/// list as `['a', 1]`), where minijinja would print `none`, `true`, `["a", 1]`.
fn python_str(out: &mut Output, _state: &mut State, value: &Value) -> Result<(), Error> {
    let text = match value.kind() {
        ValueKind::Undefined => return Ok(()),
        ValueKind::String => return out.write_str(value.as_str().unwrap_or_default()).map_err(Error::from),
        _ => python_repr(value, 0)?,
    };
    out.write_str(&text).map_err(Error::from)
}

/// Python's `repr`, which `str()` of a container applies to its items.
fn python_repr(value: &Value, depth: usize) -> Result<String, Error> {
    if depth > 64 {
        return Err(Error::new(
            ErrorKind::InvalidOperation,
            "the value nests too deep to print",
        ));
    }
    Ok(match value.kind() {
        ValueKind::Undefined => String::new(),
        ValueKind::None => "None".to_owned(),
        ValueKind::Bool => (if value.is_true() { "True" } else { "False" }).to_owned(),
        ValueKind::Number => match f64_of(value) {
            Some(f) => py_float_repr(f),
            None => value.to_string(),
        },
        ValueKind::String => py_str_repr(value.as_str().unwrap_or_default()),
        ValueKind::Seq => {
            let items: Result<Vec<String>, Error> = value.try_iter()?.map(|v| python_repr(&v, depth + 1)).collect();
            format!("[{}]", items?.join(", "))
        }
        ValueKind::Map => {
            let mut parts = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                parts.push(format!(
                    "{}: {}",
                    python_repr(&key, depth + 1)?,
                    python_repr(&item, depth + 1)?
                ));
            }
            format!("{{{}}}", parts.join(", "))
        }
        ValueKind::Iterable => "<generator object>".to_owned(),
        _ => value.to_string(),
    })
}

/// Python's `repr(str)`: single quotes unless the text holds a `'` and no `"`.
fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

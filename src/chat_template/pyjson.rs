//! HF's `tojson` filter: Python's `json.dumps(value, ensure_ascii=False, indent=None,
//! separators=None, sort_keys=False)`, with every keyword a template may pass; and Python's
//! `repr` of a float, which both `json.dumps` and `{{ x }}` print.
//!
//! minijinja's own `tojson` escapes `<`, `>`, `&` and `'` for HTML and spaces items differently,
//! which would change tool definitions in the prompt; so the filter is written out here (Python's
//! json module is the specification: `json/encoder.py`).

use minijinja::value::{Kwargs, Value, ValueKind};
use minijinja::{Error, ErrorKind, State};

/// Nesting limit for `tojson` (template values nest only as deep as their source allows).
const MAX_JSON_DEPTH: usize = 64;

/// The `tojson` filter.
pub fn tojson(state: &State, value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let ensure_ascii: Option<bool> = kwargs.get("ensure_ascii")?;
    let indent: Option<Value> = kwargs.get("indent")?;
    let separators: Option<Value> = kwargs.get("separators")?;
    let sort_keys: Option<bool> = kwargs.get("sort_keys")?;
    kwargs.assert_all_used()?;
    // Python: an int indent is that many spaces, a string is used as is, None is one line.
    let indent = match indent {
        None => None,
        Some(v) if v.is_none() => None,
        Some(v) => Some(match v.as_str() {
            Some(s) => s.to_owned(),
            None => " ".repeat(usize::try_from(i64::try_from(v)?).unwrap_or(0).min(64)),
        }),
    };
    let (item_sep, key_sep) = match separators {
        Some(v) if !v.is_none() => {
            let parts: Vec<Value> = v.try_iter()?.collect();
            match parts.as_slice() {
                [a, b] => (a.to_string(), b.to_string()),
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidOperation,
                        "tojson: separators must be an (item_separator, key_separator) pair",
                    ))
                }
            }
        }
        // json.dumps: (', ', ': ') on one line, (',', ': ') with an indent.
        _ if indent.is_some() => (",".to_owned(), ": ".to_owned()),
        _ => (", ".to_owned(), ": ".to_owned()),
    };
    // minijinja charges the returned string against the fuel, but only once it exists; a list
    // that repeats one long string many times would serialize to far more bytes than it holds,
    // so stop as soon as the text outgrows the fuel left.
    let budget = state.fuel_levels().map_or(u64::MAX, |(_, left)| left);
    let mut w = JsonWriter {
        out: String::new(),
        indent,
        item_sep,
        key_sep,
        ascii: ensure_ascii.unwrap_or(false),
        sort: sort_keys.unwrap_or(false),
        budget: usize::try_from(budget).unwrap_or(usize::MAX),
    };
    w.value(value, 0)?;
    Ok(Value::from(w.out))
}

struct JsonWriter {
    out: String,
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    ascii: bool,
    sort: bool,
    budget: usize,
}

impl JsonWriter {
    fn newline(&mut self, level: usize) {
        if let Some(unit) = &self.indent {
            self.out.push('\n');
            for _ in 0..level {
                if self.out.len() > self.budget {
                    break;
                }
                self.out.push_str(unit);
            }
        }
    }

    fn item_sep(&mut self, level: usize) {
        let sep = std::mem::take(&mut self.item_sep);
        self.out.push_str(&sep);
        self.item_sep = sep;
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
            // Python's json.dumps rejects jinja2's Undefined (TypeError), so a template that
            // serializes a missing field fails in HF too.
            ValueKind::Undefined => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    "tojson: Object of type Undefined is not JSON serializable",
                ))
            }
            ValueKind::None => self.out.push_str("null"),
            ValueKind::Bool => self.out.push_str(if v.is_true() { "true" } else { "false" }),
            ValueKind::Number => match f64_of(v) {
                Some(f) => self.out.push_str(&json_float(f)),
                None => self.out.push_str(&v.to_string()),
            },
            ValueKind::String => write_json_str(&mut self.out, v.as_str().unwrap_or_default(), self.ascii),
            ValueKind::Seq => {
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
                    // json.dumps turns None/bool/number keys into their JSON text.
                    let text = match key.kind() {
                        ValueKind::String => key.as_str().unwrap_or_default().to_owned(),
                        ValueKind::None => "null".to_owned(),
                        ValueKind::Bool => (if key.is_true() { "true" } else { "false" }).to_owned(),
                        _ => key.to_string(),
                    };
                    write_json_str(&mut self.out, &text, self.ascii);
                    let sep = std::mem::take(&mut self.key_sep);
                    self.out.push_str(&sep);
                    self.key_sep = sep;
                    self.value(&v.get_item(key)?, depth + 1)?;
                }
                if !keys.is_empty() {
                    self.newline(depth);
                }
                self.out.push('}');
            }
            // A lazy sequence, what jinja2 holds as a generator (the result of `map`, `select`,
            // ...): json.dumps rejects generators, so do the same.
            kind => {
                return Err(Error::new(
                    ErrorKind::InvalidOperation,
                    format!("tojson: a value of kind {kind} is not JSON serializable"),
                ))
            }
        }
        Ok(())
    }
}

/// The float inside a number value, `None` for integers (which print as they are).
pub fn f64_of(v: &Value) -> Option<f64> {
    if v.is_integer() {
        return None;
    }
    f64::try_from(v.clone()).ok()
}

/// A float as `json.dumps` writes it: `repr(f)`, with `NaN` / `Infinity` for the non-finite.
fn json_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f.is_infinite() {
        (if f > 0.0 { "Infinity" } else { "-Infinity" }).to_owned()
    } else {
        py_float_repr(f)
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, positional for exponents in
/// -4..16 (`0.0001`, `1e+16`, `1e-05`), and always a `.0` on an integral value (`2.0`).
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".to_owned();
    }
    if f.is_infinite() {
        return (if f > 0.0 { "inf" } else { "-inf" }).to_owned();
    }
    // Rust's `{:e}` prints the same shortest round-trip digits: "1.2345e-5", "-2e0".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exp) {
        let point = exp + 1; // digits before the decimal point
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (int, frac) = digits.split_at(point as usize);
            format!("{int}.{frac}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.unsigned_abs())
    }
}

/// A JSON string as Python's `json.dumps` writes it: with `ascii` (ensure_ascii=True) every
/// non-ASCII character becomes `\uXXXX` (a surrogate pair above U+FFFF).
fn write_json_str(out: &mut String, s: &str, ascii: bool) {
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
            c if (c as u32) < 0x20 || (ascii && !(' '..='~').contains(&c)) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

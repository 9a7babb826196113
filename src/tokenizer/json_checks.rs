//! Checks on a `tokenizer.json` for inputs that make `tokenizers` 0.23 panic (found by the
//! hostile-input tests). In the browser a panic aborts the whole module, so these become typed
//! errors:
//! - before loading: a JSON syntax error inside the `decoder` (tokenizers' decoder deserializer
//!   `expect`s), and a `Precompiled` normalizer whose charsmap does not parse (its deserializer
//!   `expect`s too);
//! - after loading: a `TemplateProcessing` post-processor naming a special token it does not
//!   define (`encode` indexes a map with it);
//! - before loading: a `Precompiled` normalizer whose trie points outside itself (`encode`
//!   indexes the trie unchecked);
//! - before loading: a BPE merge of two vocabulary tokens whose result is not in the vocabulary,
//!   or whose right part is shorter than the `continuing_subword_prefix` (found by fuzzing: the
//!   BPE builder copies the merged text into a buffer sized by the longest token and slices off
//!   the prefix unchecked, and panics before it reports the unknown token).
//!
//! The `Precompiled` normalizer (from the `spm_precompiled` crate) walks a double-array trie from the file with
//! unchecked indices: a hostile `precompiled_charsmap` makes `encode` panic (index out of bounds),
//! which in the browser aborts the whole module. So every trie walk that any input could take is
//! replayed here once, at load time, with checked indices.
//!
//! Layout (spm_precompiled): u32 LE trie byte size, then that many bytes of u32 LE trie units, then
//! the normalized strings (UTF-8, each ending in NUL). A unit holds a label (bits 0-7 and 31), a
//! has-leaf flag (bit 8) and an offset (bits 10.., shifted left by 8 when bit 9 is set); a leaf
//! unit's low 31 bits index into the normalized strings.

use std::collections::HashSet;

use super::error::TokenizerError;

/// Largest charsmap accepted (1 MiB; the T5/ALBERT ones are about 240 KB). Bounds the check's
/// work at 256 steps per trie unit.
pub const MAX_CHARSMAP_BYTES: usize = 1 << 20;

/// The part of a tokenizer.json read before `tokenizers` sees it.
#[derive(serde::Deserialize)]
struct Top {
    #[serde(default)]
    normalizer: Option<serde_json::Value>,
    /// Parsed in full (not just skipped) so that what the skip accepts but a parse refuses (a
    /// lone surrogate `\uD800`) is caught here rather than in tokenizers' decoder `expect`.
    #[serde(default)]
    #[allow(dead_code)]
    decoder: Option<serde_json::Value>,
    #[serde(default)]
    model: Option<serde_json::Value>,
}

/// Runs on the raw bytes before `tokenizers` does: the whole document must be valid JSON (a
/// syntax error reaching tokenizers' decoder deserializer panics), and every `Precompiled`
/// normalizer must hold a charsmap that parses and whose trie stays inside itself.
pub fn check_before_load(bytes: &[u8]) -> Result<(), TokenizerError> {
    // Unknown fields are skipped but still parsed, so this checks the syntax of everything.
    let top: Top = serde_json::from_slice(bytes).map_err(|e| TokenizerError::library("tokenizer.json", e))?;
    top.normalizer.as_ref().map_or(Ok(()), check_normalizer_value)?;
    top.model.as_ref().map_or(Ok(()), check_bpe_merges)
}

/// For a BPE model (an object `vocab` and a `merges` list), every merge whose two parts are
/// vocabulary tokens must produce one: `left` + `right` without the continuing-subword prefix.
/// Merges that name unknown parts or do not split in two are left to tokenizers' own errors.
fn check_bpe_merges(model: &serde_json::Value) -> Result<(), TokenizerError> {
    let (Some(vocab), Some(merges)) = (
        model.get("vocab").and_then(|v| v.as_object()),
        model.get("merges").and_then(|m| m.as_array()),
    ) else {
        return Ok(());
    };
    if model.get("type").is_some_and(|t| t != "BPE") {
        return Ok(());
    }
    let prefix = model
        .get("continuing_subword_prefix")
        .and_then(|p| p.as_str())
        .unwrap_or("");
    for (index, merge) in merges.iter().enumerate() {
        // "left right" (split at every space, as tokenizers does) or ["left", "right"].
        let parts: Vec<&str> = match merge {
            serde_json::Value::String(m) => m.split(' ').collect(),
            serde_json::Value::Array(pair) => pair.iter().filter_map(|p| p.as_str()).collect(),
            _ => continue,
        };
        let [left, right] = parts[..] else { continue };
        if !vocab.contains_key(left) || !vocab.contains_key(right) {
            continue;
        }
        let merged = right
            .get(prefix.len()..)
            .map(|rest| format!("{left}{rest}"))
            .filter(|m| vocab.contains_key(m));
        if merged.is_none() {
            return Err(TokenizerError::Library {
                context: "tokenizer.json model",
                reason: format!(
                    "merge {index} ({left:?} + {right:?}, continuing prefix {prefix:?}) makes a token that is not in the vocabulary"
                ),
            });
        }
    }
    Ok(())
}

/// Runs on the loaded tokenizer.
pub fn check_after_load(tok: &tokenizers::Tokenizer) -> Result<(), TokenizerError> {
    if let Some(p) = tok.get_post_processor() {
        let v = serde_json::to_value(p).map_err(|e| TokenizerError::library("tokenizer.json post_processor", e))?;
        check_templates(&v)?;
    }
    Ok(())
}

/// Every `{"SpecialToken": {"id": X}}` piece of a `TemplateProcessing` (also inside a
/// `Sequence`) must name an entry of its `special_tokens`.
fn check_templates(v: &serde_json::Value) -> Result<(), TokenizerError> {
    if let Some(list) = v.get("processors").and_then(|p| p.as_array()) {
        return list.iter().try_for_each(check_templates);
    }
    if v.get("type").and_then(|t| t.as_str()) != Some("TemplateProcessing") {
        return Ok(());
    }
    let defined = &v["special_tokens"];
    for key in ["single", "pair"] {
        for piece in v[key].as_array().into_iter().flatten() {
            if let Some(id) = piece["SpecialToken"]["id"].as_str() {
                if defined.get(id).is_none() {
                    return Err(TokenizerError::Library {
                        context: "tokenizer.json post_processor",
                        reason: format!("the {key} template uses {id:?}, which its special_tokens do not define"),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Checks every `Precompiled` normalizer in `v` (also inside sequences).
fn check_normalizer_value(v: &serde_json::Value) -> Result<(), TokenizerError> {
    if let Some(list) = v.get("normalizers").and_then(|n| n.as_array()) {
        return list.iter().try_for_each(check_normalizer_value);
    }
    if v.get("type").and_then(|t| t.as_str()) != Some("Precompiled") {
        return Ok(());
    }
    let bad = |why: String| TokenizerError::Library {
        context: "tokenizer.json precompiled_charsmap",
        reason: why,
    };
    let b64 = v["precompiled_charsmap"]
        .as_str()
        .ok_or_else(|| bad("missing or not a string".into()))?;
    let bytes = base64::decode(b64).map_err(|e| bad(format!("not base64: {e}")))?;
    check_charsmap(&bytes).map_err(bad)
}

fn offset(unit: usize) -> usize {
    (unit >> 10) << ((unit & (1 << 9)) >> 6)
}

fn label(unit: usize) -> usize {
    unit & ((1 << 31) | 0xFF)
}

/// Replays spm_precompiled's `common_prefix_search` and `transform` for every byte path.
fn check_charsmap(bytes: &[u8]) -> Result<(), String> {
    if bytes.len() > MAX_CHARSMAP_BYTES {
        return Err(format!(
            "{} bytes; at most {MAX_CHARSMAP_BYTES} are accepted",
            bytes.len()
        ));
    }
    let trie_bytes = bytes
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize / 4 * 4)
        .ok_or("shorter than its 4-byte header")?;
    let trie: Vec<usize> = bytes
        .get(4..4 + trie_bytes)
        .ok_or("the trie is longer than the charsmap")?
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let normalized =
        std::str::from_utf8(&bytes[4 + trie_bytes..]).map_err(|_| "the normalized strings are not UTF-8")?;
    let unit_at = |pos: usize| {
        trie.get(pos)
            .copied()
            .ok_or_else(|| format!("the trie points at unit {pos} of {}", trie.len()))
    };
    let start = offset(unit_at(0)?);
    let mut seen = HashSet::from([start]);
    let mut todo = vec![start];
    while let Some(node) = todo.pop() {
        // Key bytes are 1..=255: the search stops at a NUL.
        for c in 1..=255usize {
            let pos = node ^ c;
            let unit = unit_at(pos)?;
            if label(unit) != c {
                continue;
            }
            let next = pos ^ offset(unit);
            if (unit >> 8) & 1 == 1 {
                let index = unit_at(next)? & ((1 << 31) - 1);
                if !normalized.is_char_boundary(index) {
                    return Err(format!(
                        "a replacement starts at byte {index}, outside the strings or inside a character"
                    ));
                }
            }
            if seen.insert(next) {
                todo.push(next);
            }
        }
    }
    Ok(())
}

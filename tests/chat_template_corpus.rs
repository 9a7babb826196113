//! llama.cpp's chat-template corpus (tests/fixtures/templates/llama.cpp/, 70 real templates:
//! Llama 3.x, Qwen 2.5/3, Gemma, Phi, Mistral, DeepSeek, Hermes tool use, ...) rendered by webslm
//! for every case in conversations.json (system, multi-turn, tools, assistant tool calls, tool
//! results, with and without the generation prompt) must be the string HF transformers renders
//! (expected.json, written by scripts/templates/render_hf.py with transformers' own renderer),
//! or raise where the template raises there: the same message for `raise_exception`, an error
//! for any other failure of the template (Python's and minijinja's wording differ).
//!
//! A (template, conversation) pair that webslm cannot render as HF does must be listed in
//! UNSUPPORTED with its reason; a listed pair that starts matching fails the test too, so the list
//! only ever shrinks.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use minijinja::value::Value as JValue;
use serde_json::Value;
use sha2::{Digest, Sha256};
use webslm::chat_template::{ChatTemplate, ChatTemplateError, RenderOptions, TemplateOrigin};

/// (template file, conversation, why webslm's rendering differs from HF's).
const UNSUPPORTED: &[(&str, &str, &str)] = &[
    (
        "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
        "system_user",
        NONE_ITER,
    ),
    (
        "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
        "multi_turn",
        NONE_ITER,
    ),
    (
        "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
        "system_multi_turn",
        NONE_ITER,
    ),
    (
        "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
        "system_user",
        NONE_ITER,
    ),
    (
        "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
        "multi_turn",
        NONE_ITER,
    ),
    (
        "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
        "system_multi_turn",
        NONE_ITER,
    ),
    (
        "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "system_user",
        NONE_ITER,
    ),
    (
        "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "multi_turn",
        NONE_ITER,
    ),
    (
        "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
        "system_multi_turn",
        NONE_ITER,
    ),
    ("meetkai-functionary-medium-v3.1.jinja", "tools_user", MARKUP),
    ("meetkai-functionary-medium-v3.1.jinja", "tool_result", MARKUP),
    ("meetkai-functionary-medium-v3.1.jinja", "tool_round_trip", MARKUP),
];

const NONE_ITER: &str = "HF passes tools=None and the template loops over it (`for tool in tools`), a TypeError in Python; minijinja iterates none as an empty list, so webslm renders a prompt with no tools where HF fails";
const MARKUP: &str = "`'text'|safe + value` is markupsafe's Markup.__add__ in jinja2, which HTML-escapes `value` (HF's prompt holds `&#34;` for every quote in the tool JSON); minijinja's `safe` string concatenates plainly";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where two strings first differ, with some context, for a readable failure.
fn first_difference(got: &str, want: &str) -> String {
    let at = got
        .char_indices()
        .zip(want.chars())
        .find(|((_, a), b)| a != b)
        .map_or(got.len().min(want.len()), |((i, _), _)| i);
    let start = got[..at.min(got.len())]
        .char_indices()
        .rev()
        .nth(40)
        .map_or(0, |(i, _)| i);
    let tail = |s: &str| s.get(start..).unwrap_or_default().chars().take(120).collect::<String>();
    format!("at byte {at}:\n    got  {:?}\n    want {:?}", tail(got), tail(want))
}

/// What happened to one case, compared with HF; `None` when they agree.
fn mismatch(got: &Result<String, ChatTemplateError>, want: &Value) -> Option<String> {
    match (got, want.get("prompt").and_then(Value::as_str), want.get("error")) {
        (Ok(g), Some(w), _) if g == w => None,
        (Ok(g), Some(w), _) => Some(format!("prompt differs {}", first_difference(g, w))),
        (Err(e), Some(_), _) => Some(format!("HF renders, webslm fails: {e}")),
        (got, None, Some(err)) => {
            let kind = err["kind"].as_str().unwrap_or_default();
            let message = err["message"].as_str().unwrap_or_default();
            match got {
                Ok(_) => Some(format!("HF raises ({kind}: {message}), webslm renders")),
                Err(ChatTemplateError::Raised { message: m }) if kind == "raise" && m == message => None,
                Err(e) if kind == "raise" => Some(format!("HF raises {message:?}, webslm: {e}")),
                Err(ChatTemplateError::Render { .. } | ChatTemplateError::Syntax { .. }) => None,
                Err(e) => Some(format!("HF fails ({kind}: {message}), webslm fails differently: {e}")),
            }
        }
        _ => Some("expected.json has neither a prompt nor an error".to_owned()),
    }
}

#[test]
fn every_template_renders_as_hf_renders_it() {
    let dir = fixtures();
    // Parsed as template values so that objects keep their key order (tools are printed).
    let spec: JValue = serde_json::from_str(&read(&dir.join("conversations.json"))).expect("conversations.json");
    let expected: Value = serde_json::from_str(&read(&dir.join("expected.json"))).expect("expected.json");
    let results = expected["results"].as_array().expect("expected.json lists results");
    let text = |v: JValue| v.as_str().map(str::to_owned).expect("a string in conversations.json");
    let (bos, eos) = (
        text(spec.get_attr("bos_token").unwrap()),
        text(spec.get_attr("eos_token").unwrap()),
    );
    let now = chrono::NaiveDateTime::parse_from_str(&text(spec.get_attr("now").unwrap()), "%Y-%m-%dT%H:%M:%S")
        .expect("conversations.json: now");
    let tools_json = serde_json::to_string(&spec.get_attr("tools").unwrap()).expect("tools serialize");
    let conversations = spec.get_attr("conversations").unwrap();

    let templates: BTreeSet<&str> = results.iter().filter_map(|r| r["template"].as_str()).collect();
    let on_disk = std::fs::read_dir(dir.join("llama.cpp"))
        .expect("the corpus folder")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".jinja"))
        .count();
    assert_eq!(
        templates.len(),
        on_disk,
        "expected.json covers every template in the corpus"
    );

    let (mut failures, mut unexpected_passes, mut agreed) = (Vec::new(), Vec::new(), 0);
    let mut used_exclusions = BTreeSet::new();
    for r in results {
        let name = r["template"].as_str().expect("template name");
        let conv = r["conversation"].as_str().expect("conversation name");
        let gen = r["add_generation_prompt"].as_bool().expect("add_generation_prompt");
        let source = read(&dir.join("llama.cpp").join(name));
        let sha = format!("{:x}", Sha256::digest(source.as_bytes()));
        assert_eq!(
            Some(sha.as_str()),
            r["template_sha256"].as_str(),
            "{name} changed since expected.json was written: rerun scripts/templates/render_hf.py"
        );
        let case = conversations.get_attr(conv).unwrap();
        let opts = RenderOptions {
            add_generation_prompt: gen,
            tools_json: case
                .get_attr("tools")
                .is_ok_and(|t| t.is_true())
                .then(|| tools_json.clone()),
            now: Some(now),
            ..Default::default()
        };
        let got = ChatTemplate::new(source, TemplateOrigin::Custom).and_then(|mut t| {
            t.bos_token = bos.clone();
            t.eos_token = eos.clone();
            t.render_value(&case.get_attr("messages").unwrap(), &opts)
        });
        let label = format!("{name} / {conv} / generation prompt {gen}");
        let excluded = UNSUPPORTED.iter().find(|(t, c, _)| *t == name && *c == conv);
        match (mismatch(&got, r), excluded) {
            (None, None) => agreed += 1,
            (None, Some(_)) => unexpected_passes.push(label),
            (Some(why), None) => failures.push(format!("{label}: {why}")),
            (Some(_), Some(&(t, c, _))) => {
                used_exclusions.insert((t, c));
            }
        }
    }
    let stale: Vec<_> = UNSUPPORTED
        .iter()
        .filter(|(t, c, _)| !used_exclusions.contains(&(*t, *c)))
        .map(|(t, c, why)| format!("{t} / {c} ({why})"))
        .collect();
    eprintln!(
        "{agreed} of {} renders identical to HF's; {} listed as unsupported",
        results.len(),
        results.len() - agreed
    );
    let n = failures.len();
    assert!(
        n == 0,
        "{n} renders differ from HF transformers':\n{}",
        failures.join("\n")
    );
    assert!(
        unexpected_passes.is_empty() && stale.is_empty(),
        "UNSUPPORTED is out of date: these now match HF, remove them:\n{}\n{}",
        unexpected_passes.join("\n"),
        stale.join("\n")
    );
}

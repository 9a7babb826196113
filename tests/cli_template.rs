//! `webslm template`: a raw template (`--template`) or a model's (`--model`) rendered for an
//! OpenAI-style message file prints HF's prompt as `{"prompt": ...}`; OpenAI's string tool-call
//! arguments render as the objects HF templates expect; bad input is a readable error.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/templates")
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webslm"))
        .arg("template")
        .args(args)
        .output()
        .expect("the webslm binary runs")
}

/// The printed prompt; panics with stderr on failure.
fn prompt(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "webslm template {args:?} failed: {stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("one JSON object on stdout");
    v["prompt"].as_str().expect("a prompt string").to_owned()
}

/// A file in a per-test temporary folder; the folder is removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("webslm-cli-template-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temp folder");
        Scratch(dir)
    }

    fn file(&self, name: &str, text: &str) -> String {
        let path = self.0.join(name);
        std::fs::write(&path, text).expect("write a temp file");
        path.to_string_lossy().into_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn expected(template: &str, conversation: &str) -> String {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).expect("expected.json");
    let doc: Value = serde_json::from_str(&text).expect("expected.json parses");
    let hit = doc["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["template"] == template && r["conversation"] == conversation);
    hit.and_then(|r| r["prompt"].as_str())
        .expect("a rendered case")
        .to_owned()
}

/// The tool-result conversation of conversations.json, with OpenAI's string arguments.
fn openai_tool_result() -> Value {
    json!([
        { "role": "user", "content": "What's the weather in Zürich?" },
        { "role": "assistant", "content": null, "tool_calls": [{
            "id": "call0w3a1", "type": "function",
            "function": { "name": "get_weather", "arguments": "{\"city\": \"Zürich\", \"unit\": \"celsius\"}" }
        }]},
        { "role": "tool", "tool_call_id": "call0w3a1", "name": "get_weather",
          "content": "{\"temperature\": 22, \"sky\": \"clear\"}" }
    ])
}

#[test]
fn a_raw_template_with_tools_and_openai_tool_calls_prints_hfs_prompt() {
    let s = Scratch::new("qwen");
    // A template value keeps the tools' key order (the prompt prints them; serde_json would sort).
    let spec: minijinja::Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("conversations.json")).unwrap()).unwrap();
    let tools = s.file(
        "tools.json",
        &serde_json::to_string(&spec.get_attr("tools").unwrap()).unwrap(),
    );
    let messages = s.file("messages.json", &openai_tool_result().to_string());
    let template = fixtures().join("llama.cpp/Qwen-Qwen2.5-7B-Instruct.jinja");
    let template = template.to_string_lossy();
    let args = [
        "--template",
        &template,
        "--messages",
        &messages,
        "--tools",
        &tools,
        "--bos",
        "<s>",
        "--eos",
        "</s>",
    ];
    let got = prompt(&args);
    assert_eq!(got, expected("Qwen-Qwen2.5-7B-Instruct.jinja", "tool_result"));
    assert!(
        got.ends_with("<|im_start|>assistant\n"),
        "the generation prompt is added by default"
    );

    let without = prompt(&[&args[..], &["--no-generation-prompt"]].concat());
    assert_eq!(format!("{without}<|im_start|>assistant\n"), got);
}

#[test]
fn a_models_own_template_renders() {
    let Some(dir) = common_formats::models_dir("cli_template") else {
        return;
    };
    let s = Scratch::new("smollm");
    let messages = s.file("messages.json", r#"[{"role": "user", "content": "Hi"}]"#);
    let model = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let got = prompt(&["--model", &model.to_string_lossy(), "--messages", &messages]);
    assert_eq!(
        got,
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
}

#[test]
fn bad_input_is_a_readable_error() {
    let s = Scratch::new("bad");
    let template = s.file("t.jinja", "{% for m in messages %}{{ m.content }}{% endfor %}");
    let cases = [
        (s.file("m1.json", "not json"), "not JSON"),
        (s.file("m2.json", r#"{"role": "user"}"#), "messages must be a list"),
        (s.file("m3.json", r#"["hi"]"#), "message 0 must be an object"),
    ];
    for (messages, wanted) in &cases {
        let out = run(&["--template", &template, "--messages", messages]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && stderr.contains(wanted), "{messages}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let raising = s.file("r.jinja", "{{ raise_exception('System role not supported') }}");
    let messages = s.file("ok.json", r#"[{"role": "system", "content": "x"}]"#);
    let out = run(&["--template", &raising, "--messages", &messages]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("raised an exception: System role not supported"),
        "{stderr}"
    );
    let out = run(&["--messages", &messages]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("exactly one of --model"));
}

//! `webslm template`: a model's chat template rendered for an OpenAI-style message list, as HF
//! transformers' `apply_chat_template` renders it; prints `{"prompt": "..."}`.

use std::path::Path;

use webslm::chat_template::{messages, ChatTemplate, RenderOptions, TemplateOrigin};
use webslm::formats::gguf::GgufFile;

use crate::opts::{self, Opts};
use crate::resolve;

/// `template (--model PATH | --template FILE) --messages FILE [--tools FILE]
/// [--no-generation-prompt] [--bos S] [--eos S]`.
pub fn template(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(
        args,
        &["no-generation-prompt"],
        &["model", "template", "messages", "tools", "bos", "eos"],
    )?;
    let mut template = match (opts.str("model"), opts.str("template")) {
        (Some(model), None) => model_template(model)?,
        (None, Some(file)) => {
            let source = read(file)?;
            ChatTemplate::new(source, TemplateOrigin::Custom).map_err(|e| format!("{file}: {e}"))?
        }
        _ => return Err("give exactly one of --model PATH and --template FILE".into()),
    };
    // A raw template has no tokenizer to take them from; a model's can be overridden.
    if let Some(bos) = opts.str("bos") {
        template.bos_token = bos.to_owned();
    }
    if let Some(eos) = opts.str("eos") {
        template.eos_token = eos.to_owned();
    }
    let messages_file = opts.required("messages")?;
    let messages: minijinja::Value =
        serde_json::from_str(&read(messages_file)?).map_err(|e| format!("{messages_file}: not JSON: {e}"))?;
    let messages = messages::openai_tool_arguments(&messages).map_err(|e| format!("{messages_file}: {e}"))?;
    let tools_json = opts.str("tools").map(read).transpose()?;
    let render = RenderOptions {
        add_generation_prompt: !opts.has("no-generation-prompt"),
        tools_json,
        ..Default::default()
    };
    let prompt = template.render_value(&messages, &render).map_err(|e| e.to_string())?;
    opts::print_line(serde_json::json!({ "prompt": prompt }))
}

/// The template of a `.gguf` file (`tokenizer.chat_template`) or of an HF folder
/// (`chat_template.jinja`, else tokenizer_config.json's `chat_template`), with its BOS/EOS.
fn model_template(model: &str) -> Result<ChatTemplate, String> {
    let path = resolve::model_path(model)?;
    if !path.is_dir() {
        let gguf = GgufFile::open(&path).map_err(|e| format!("{model}: {e}"))?;
        return ChatTemplate::from_gguf(&gguf).map_err(|e| format!("{model}: {e}"));
    }
    let config = std::fs::read(path.join("tokenizer_config.json")).unwrap_or_else(|_| b"{}".to_vec());
    // transformers 4.43+ saves the template beside the config as chat_template.jinja and prefers
    // that file: put it in the config's place (the config still gives BOS/EOS).
    let jinja = path.join("chat_template.jinja");
    let config = if jinja.is_file() {
        let mut cfg: serde_json::Value =
            serde_json::from_slice(&config).map_err(|e| format!("{model}: tokenizer_config.json: {e}"))?;
        let source = read(&jinja.to_string_lossy())?;
        match cfg.as_object_mut() {
            Some(obj) => obj.insert("chat_template".into(), source.into()),
            None => return Err(format!("{model}: tokenizer_config.json is not an object")),
        };
        cfg.to_string().into_bytes()
    } else {
        config
    };
    ChatTemplate::from_tokenizer_config(&config, &model_type(&path)).map_err(|e| format!("{model}: {e}"))
}

/// `model_type` from the folder's config.json (picks the fallback template when there is none).
fn model_type(dir: &Path) -> String {
    std::fs::read(dir.join("config.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v.get("model_type")?.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn read(file: &str) -> Result<String, String> {
    std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))
}

//! Chat templates: the real templates in the GGUFs render conversations exactly as HF
//! transformers' `apply_chat_template` does (the expected strings are written by hand from each
//! template's logic), the fallbacks cover models without one, and broken or hostile templates
//! give typed errors quickly.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::time::{Duration, Instant};

use webslm::chat_template::{ChatMessage, ChatTemplate, ChatTemplateError, Fallback, RenderOptions, TemplateOrigin};
use webslm::formats::gguf::GgufFile;

fn gguf_template(file: &str) -> Option<ChatTemplate> {
    let dir = common_formats::models_dir("chat_template")?;
    let gguf = GgufFile::open(&dir.join(file)).expect("the model header parses");
    Some(ChatTemplate::from_gguf(&gguf).expect("a template or a fallback"))
}

fn three_turns() -> Vec<ChatMessage> {
    vec![
        ChatMessage::new("user", "Hi"),
        ChatMessage::new("assistant", "Hello! How can I help?"),
        ChatMessage::new("user", "What is 2+2?"),
    ]
}

fn gen_prompt() -> RenderOptions {
    RenderOptions {
        add_generation_prompt: true,
        ..RenderOptions::default()
    }
}

fn custom(source: &str) -> Result<String, ChatTemplateError> {
    ChatTemplate::new(source, TemplateOrigin::Custom)?.render(&three_turns(), &gen_prompt())
}

#[test]
fn smollm2_template_renders_chatml_with_its_default_system_prompt() {
    let Some(t) = gguf_template("SmolLM2-135M-Instruct.Q4_1.gguf") else {
        return;
    };
    assert_eq!(t.origin(), TemplateOrigin::Gguf);
    assert_eq!(
        (t.bos_token.as_str(), t.eos_token.as_str()),
        ("<|im_start|>", "<|im_end|>")
    );
    // The template adds this system turn when the first message is not a system message.
    let expected =
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
                    <|im_start|>user\nHi<|im_end|>\n\
                    <|im_start|>assistant\nHello! How can I help?<|im_end|>\n\
                    <|im_start|>user\nWhat is 2+2?<|im_end|>\n\
                    <|im_start|>assistant\n";
    assert_eq!(t.render(&three_turns(), &gen_prompt()).unwrap(), expected);

    // With a system message of its own, and without the generation prompt.
    let mut msgs = vec![ChatMessage::new("system", "Be brief.")];
    msgs.extend(three_turns());
    let expected = "<|im_start|>system\nBe brief.<|im_end|>\n\
                    <|im_start|>user\nHi<|im_end|>\n\
                    <|im_start|>assistant\nHello! How can I help?<|im_end|>\n\
                    <|im_start|>user\nWhat is 2+2?<|im_end|>\n";
    assert_eq!(t.render(&msgs, &RenderOptions::default()).unwrap(), expected);
}

#[test]
fn qwen_template_renders_default_system_prompt_and_tool_calls() {
    let Some(t) = gguf_template("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf") else {
        return;
    };
    assert_eq!(t.origin(), TemplateOrigin::Gguf);
    assert_eq!(t.eos_token, "<|im_end|>");
    let expected =
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n\
                    <|im_start|>user\nHi<|im_end|>\n\
                    <|im_start|>assistant\nHello! How can I help?<|im_end|>\n\
                    <|im_start|>user\nWhat is 2+2?<|im_end|>\n\
                    <|im_start|>assistant\n";
    assert_eq!(t.render(&three_turns(), &gen_prompt()).unwrap(), expected);

    // An assistant tool call goes through `tojson`, which must print like Python's
    // json.dumps(ensure_ascii=False): ", " and ": " separators, key order kept, no HTML escapes.
    #[derive(serde::Serialize)]
    struct Args {
        city: &'static str,
        days: u32,
    }
    #[derive(serde::Serialize)]
    struct Function {
        name: &'static str,
        arguments: Args,
    }
    #[derive(serde::Serialize)]
    struct Call {
        function: Function,
    }
    #[derive(serde::Serialize)]
    struct Msg {
        role: &'static str,
        content: &'static str,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<Call>,
    }
    let msgs = [
        Msg {
            role: "system",
            content: "Use tools.",
            tool_calls: vec![],
        },
        Msg {
            role: "user",
            content: "Weather in Zürich?",
            tool_calls: vec![],
        },
        Msg {
            role: "assistant",
            content: "",
            tool_calls: vec![Call {
                function: Function {
                    name: "weather",
                    arguments: Args {
                        city: "Zürich <CH>",
                        days: 2,
                    },
                },
            }],
        },
    ];
    let expected = "<|im_start|>system\nUse tools.<|im_end|>\n\
                    <|im_start|>user\nWeather in Zürich?<|im_end|>\n\
                    <|im_start|>assistant\n<tool_call>\n{\"name\": \"weather\", \"arguments\": {\"city\": \"Zürich <CH>\", \"days\": 2}}\n</tool_call><|im_end|>\n";
    assert_eq!(t.render(&msgs, &RenderOptions::default()).unwrap(), expected);
}

#[test]
fn gemma3_base_has_no_template_so_the_gemma_fallback_is_used() {
    let Some(t) = gguf_template("gemma-3-270m-q4_k_m.gguf") else {
        return;
    };
    assert_eq!(t.origin(), TemplateOrigin::Fallback(Fallback::Gemma));
    assert_eq!(t.bos_token, "<bos>");
    let expected = "<bos><start_of_turn>user\nHi<end_of_turn>\n\
                    <start_of_turn>model\nHello! How can I help?<end_of_turn>\n\
                    <start_of_turn>user\nWhat is 2+2?<end_of_turn>\n\
                    <start_of_turn>model\n";
    assert_eq!(t.render(&three_turns(), &gen_prompt()).unwrap(), expected);
    // Gemma has no system role: the system text opens the first user turn.
    let msgs = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", " Hi "),
    ];
    let expected = "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\n";
    assert_eq!(t.render(&msgs, &gen_prompt()).unwrap(), expected);
}

#[test]
fn fallbacks_by_family() {
    let pick = |arch, pre| Fallback::for_architecture(arch, pre);
    assert_eq!(pick("gemma3", None), Some(Fallback::Gemma));
    assert_eq!(pick("qwen2", None), Some(Fallback::ChatMl));
    assert_eq!(pick("llama", Some("smollm")), Some(Fallback::ChatMl));
    assert_eq!(pick("llama", Some("llama-bpe")), Some(Fallback::Llama3));
    assert_eq!(pick("phi2", None), Some(Fallback::Phi2));
    assert_eq!(pick("bert", None), None);

    let one = [ChatMessage::new("user", "Hi")];
    let render = |f: Fallback, bos: &str| {
        let mut t = ChatTemplate::fallback(f);
        t.bos_token = bos.to_owned();
        t.render(&one, &gen_prompt()).unwrap()
    };
    assert_eq!(
        render(Fallback::ChatMl, ""),
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    );
    assert_eq!(
        render(Fallback::Llama3, "<|begin_of_text|>"),
        "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>\
         <|start_header_id|>assistant<|end_header_id|>\n\n"
    );
    assert_eq!(render(Fallback::Phi2, ""), "Instruct: Hi\nOutput:");
    assert_eq!(render(Fallback::Phi3, ""), "<|user|>\nHi<|end|>\n<|assistant|>\n");
}

#[test]
fn tokenizer_config_templates() {
    let cfg = br#"{"chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}",
                   "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": "</s>"}"#;
    let t = ChatTemplate::from_tokenizer_config(cfg, "llama").unwrap();
    assert_eq!(t.origin(), TemplateOrigin::TokenizerConfig);
    assert_eq!(
        t.render(&three_turns(), &RenderOptions::default()).unwrap(),
        "<s>HiHello! How can I help?What is 2+2?</s>"
    );

    let named = br#"{"chat_template": [{"name": "tool_use", "template": "T"}, {"name": "default", "template": "D"}]}"#;
    let t = ChatTemplate::from_tokenizer_config(named, "llama").unwrap();
    assert_eq!(t.source(), "D");
    let no_default = br#"{"chat_template": [{"name": "tool_use", "template": "T"}]}"#;
    assert!(matches!(
        ChatTemplate::from_tokenizer_config(no_default, "llama"),
        Err(ChatTemplateError::NoDefaultTemplate { .. })
    ));

    let none = br#"{"bos_token": "<bos>"}"#;
    let t = ChatTemplate::from_tokenizer_config(none, "gemma3_text").unwrap();
    assert_eq!(t.origin(), TemplateOrigin::Fallback(Fallback::Gemma));
    assert!(matches!(
        ChatTemplate::from_tokenizer_config(none, "bert"),
        Err(ChatTemplateError::NoTemplate { .. })
    ));
    assert!(matches!(
        ChatTemplate::from_tokenizer_config(b"{not json", "llama"),
        Err(ChatTemplateError::InvalidTokenizerConfig(_))
    ));
}

#[test]
fn python_string_methods_and_loop_controls_work() {
    let src = "{% for m in messages %}{% if m.role == 'assistant' %}{% continue %}{% endif %}\
               {{ m.content.strip().upper() }}{% if m.content.startswith('Wh') %}?{% endif %}|{% endfor %}";
    assert_eq!(custom(src).unwrap(), "HI|WHAT IS 2+2??|");
}

#[test]
fn raise_exception_is_a_typed_error() {
    let src = "{% if messages[1]['role'] == 'assistant' %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}";
    match custom(src) {
        Err(ChatTemplateError::Raised { message }) => assert!(message.contains("must alternate"), "{message}"),
        other => panic!("expected Raised, got {other:?}"),
    }
    // Also from inside a macro call.
    let src = "{% macro check(m) %}{{ raise_exception('bad role ' ~ m.role) }}{% endmacro %}{{ check(messages[0]) }}";
    assert!(matches!(custom(src), Err(ChatTemplateError::Raised { message }) if message == "bad role user"));
}

#[test]
fn syntax_errors_are_typed_errors() {
    for src in [
        "{% for m in messages %}{{ m.content }}",
        "{{ 1 + }}",
        "{% if %}",
        "{{ 'unterminated }}",
        "{% endfor %}",
    ] {
        match ChatTemplate::new(src, TemplateOrigin::Custom) {
            Err(ChatTemplateError::Syntax { message, .. }) => assert!(!message.is_empty()),
            other => panic!("{src:?}: expected Syntax, got {other:?}"),
        }
    }
}

#[test]
fn runaway_templates_run_out_of_fuel_quickly() {
    let hostile = [
        // 10^10 iterations.
        "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}",
        // A string that doubles 64 times (would need 2^64 bytes).
        "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
        // A list that doubles 24 times (16 M items, kept lazy by minijinja), printed with tojson,
        // whose output stops at the fuel left. Past 32 doublings minijinja materialises the list
        // without charging fuel first: see the note at the top of src/chat_template.rs.
        "{% set ns = namespace(l=[messages]) %}{% for i in range(24) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l|tojson }}",
        // Deep recursion.
        "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
    ];
    for src in hostile {
        let start = Instant::now();
        let r = custom(src);
        let took = start.elapsed();
        eprintln!("{took:?} {src:?}: {r:?}");
        assert!(
            matches!(
                r,
                Err(ChatTemplateError::OutOfFuel { .. } | ChatTemplateError::Render { .. })
            ),
            "{src:?}: expected an error, got {r:?}"
        );
        assert!(took < Duration::from_secs(2), "{src:?} took {took:?}");
    }
    // The plain loop is a fuel error specifically.
    assert!(matches!(custom(hostile[0]), Err(ChatTemplateError::OutOfFuel { .. })));
    // And a small explicit budget stops even a short template.
    let t = ChatTemplate::fallback(Fallback::ChatMl);
    let tiny = RenderOptions {
        fuel: Some(10),
        ..gen_prompt()
    };
    assert!(matches!(
        t.render(&three_turns(), &tiny),
        Err(ChatTemplateError::OutOfFuel { fuel: 10 })
    ));
}

#[test]
fn undefined_and_type_errors_are_typed_errors() {
    // Lenient undefined, as in HF's jinja2: a missing field prints nothing.
    assert_eq!(custom("{{ messages[0].nope }}|{{ nope }}").unwrap(), "|");
    for src in [
        "{{ messages + 1 }}",
        "{{ 1 / 0 }}",
        "{{ nope() }}",
        "{{ messages|nofilter }}",
    ] {
        assert!(matches!(custom(src), Err(ChatTemplateError::Render { .. })), "{src:?}");
    }
}

/// The Python semantics templates lean on, against transformers 5.24's own rendering of the same
/// template and inputs (the expected text is its output, as JSON): `tojson` with each keyword,
/// printing None/True/lists/floats as Python does, `strftime_now` on a pinned clock,
/// `{% generation %}`, null keys dropped and reasoning aliased, `map` results, `is iterable`.
#[test]
fn python_semantics_match_transformers() {
    let template = r#"{% set x = tools[0] %}{{ x | tojson }}|{{ x | tojson(indent=2) }}|{{ x | tojson(ensure_ascii=True) }}|{{ x | tojson(separators=(',', ':'), sort_keys=True) }}|{{ none }} {{ true }} {{ [1, 'a', none, 2.5] }} {{ {'k': "it's"} }} {{ 1e-5 }} {{ 1e16 }} {{ 0.1 }} {{ 3.0 }}|{{ strftime_now('%d %b %Y, %A %B %H:%M:%S %j') }}|{% generation %}{{ messages[0].thinking }}/{{ messages[0].reasoning_content }}{% endgeneration %}|{{ messages[0] | tojson }}|{{ (messages | map(attribute='role') | list) }}|{{ none is iterable }}{{ undef is iterable }}{{ 'ab' is iterable }} {{ none | string }}{{ true | string }}{{ [1, "x"] | string }}{{ 2.50 | string }}"#;
    let tools = r#"[{"b": "Zürich \"q\" <&> \u2028 😀", "a": [1, 2.0, 1e-7, true, null, {}], "c": {}}]"#;
    let messages = r#"[{"role":"assistant","content":"hi","reasoning":"because","extra":null}]"#;
    let want: String = serde_json::from_str(r#""{\"b\": \"Zürich \\\"q\\\" <&>   😀\", \"a\": [1, 2.0, 1e-07, true, null, {}], \"c\": {}}|{\n  \"b\": \"Zürich \\\"q\\\" <&>   😀\",\n  \"a\": [\n    1,\n    2.0,\n    1e-07,\n    true,\n    null,\n    {}\n  ],\n  \"c\": {}\n}|{\"b\": \"Z\\u00fcrich \\\"q\\\" <&> \\u2028 \\ud83d\\ude00\", \"a\": [1, 2.0, 1e-07, true, null, {}], \"c\": {}}|{\"a\":[1,2.0,1e-07,true,null,{}],\"b\":\"Zürich \\\"q\\\" <&>   😀\",\"c\":{}}|None True [1, 'a', None, 2.5] {'k': \"it's\"} 1e-05 1e+16 0.1 3.0|26 Jul 2026, Sunday July 09:05:03 207|because/because|{\"thinking\": \"because\", \"role\": \"assistant\", \"content\": \"hi\", \"reasoning\": \"because\", \"reasoning_content\": \"because\"}|['assistant']|FalseTrueTrue NoneTrue[1, 'x']2.5""#).unwrap();
    let opts = RenderOptions {
        tools_json: Some(tools.to_owned()),
        now: chrono::NaiveDate::from_ymd_opt(2026, 7, 26).and_then(|d| d.and_hms_opt(9, 5, 3)),
        ..RenderOptions::default()
    };
    let t = ChatTemplate::new(template, TemplateOrigin::Custom).unwrap();
    assert_eq!(t.render_json(messages, &opts).unwrap(), want);
}

//! Arbitrary template text rendered with the default fuel: any outcome but a panic, a hang or
//! unbounded memory is fine. The first line of the input, if it is short, becomes a message's
//! content, so templates and messages vary together.
#![no_main]

use libfuzzer_sys::fuzz_target;
use webslm::chat_template::{ChatMessage, ChatTemplate, RenderOptions, TemplateOrigin};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (content, source) = match text.split_once('\n') {
        Some((first, rest)) if first.len() <= 64 => (first, rest),
        _ => ("Hi", text),
    };
    let Ok(mut t) = ChatTemplate::new(source, TemplateOrigin::Custom) else {
        return;
    };
    t.bos_token = "<s>".into();
    t.eos_token = "</s>".into();
    let messages = [
        ChatMessage::new("system", "Be brief."),
        ChatMessage::new("user", content),
        ChatMessage::new("assistant", "Hello!"),
    ];
    let opts = RenderOptions {
        add_generation_prompt: true,
        ..RenderOptions::default()
    };
    let _ = t.render(&messages, &opts);
});

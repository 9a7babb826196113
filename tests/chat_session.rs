//! A three-turn SmolLM2 chat: every turn after the first prefills only the tokens the
//! conversation did not have, and what the model sees equals tokenising the whole rendering.

#[path = "common_formats/mod.rs"]
mod common_formats;

use webslm::chat::ChatSession;
use webslm::chat_template::RenderOptions;
use webslm::engine::{Engine, EngineOptions};
use webslm::sampling::{Sampler, SamplingParams};

#[test]
fn three_turn_chat_prefills_only_new_tokens() {
    let Some(dir) = common_formats::models_dir("chat_session") else {
        return;
    };
    let path = dir.join("SmolLM2-135M-Instruct.Q4_1.gguf");
    let mut engine = Engine::load(
        &path,
        &EngineOptions {
            context: 512,
            ..Default::default()
        },
    )
    .unwrap();
    let tokenizer = engine.tokenizer().unwrap();
    let stop_ids = engine.stop_ids(&tokenizer);
    let mut session = ChatSession::new(engine.chat_template().unwrap(), None);
    let mut sampler = Sampler::new(SamplingParams::greedy());
    let turns = [
        "What is the capital of France?",
        "And of Italy?",
        "Name one river there.",
    ];
    for (i, user) in turns.iter().enumerate() {
        let cached_before = engine.cache.len();
        let ids_before = session.ids().len();
        let r = session
            .turn(&mut engine, &tokenizer, user, 24, &mut sampler, &stop_ids, None, |_| {
                true
            })
            .unwrap();
        assert!(!r.reply.text.trim().is_empty(), "turn {i}: empty reply");
        // What the model saw is exactly the tokenised rendering of the whole conversation.
        let rendered = session.template.render(
            &session.messages[..session.messages.len() - 1],
            &RenderOptions {
                add_generation_prompt: true,
                ..Default::default()
            },
        );
        let full = tokenizer.encode_with(&rendered.unwrap(), false).unwrap();
        assert_eq!(
            &session.ids()[..r.prompt_tokens],
            &full[..],
            "turn {i}: incremental ids differ from a fresh tokenisation"
        );
        if i == 0 {
            assert_eq!(
                r.prefilled_tokens, r.prompt_tokens,
                "the first turn prefills everything"
            );
        } else {
            // New tokens: the previous reply's end-of-turn token (sampled, never run) and this
            // turn's text. Everything before came from the KV cache.
            assert_eq!(
                cached_before,
                ids_before - 1,
                "turn {i}: the cache holds the conversation but its last token"
            );
            assert_eq!(r.prefilled_tokens, r.prompt_tokens - cached_before, "turn {i}");
            assert!(
                r.prefilled_tokens < 20 && r.prompt_tokens > 40,
                "turn {i}: prefilled {} of {}",
                r.prefilled_tokens,
                r.prompt_tokens
            );
        }
    }
}

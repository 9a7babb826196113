//! Device loss, recovered (natively): the GPU device is destroyed in the middle of a generation.
//! The running call must fail with `DeviceLost` (not hang, not panic), later calls on the lost
//! device must fail fast, and after recovery (a new device, the weights loaded again from the
//! same file) the engine must give the same greedy tokens as before the loss; a chat continues
//! its conversation, prefilled in full on the new device.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::time::{Duration, Instant};

use webslm::chat::{ChatError, ChatSession};
use webslm::engine::EngineOptions;
use webslm::gpu::GpuError;
use webslm::models::ModelError;
use webslm::recovery::Recoverable;
use webslm::sampling::{Sampler, SamplingParams};

/// A lost device must end the call promptly; lavapipe decodes a token of this model in well
/// under a second, so anything near this bound is a hang, not slowness.
const LOSS_REPORTED_WITHIN: Duration = Duration::from_secs(60);

fn load(test: &str) -> Option<Recoverable> {
    let dir = common_formats::models_dir(test)?;
    let options = EngineOptions {
        context: 512,
        ..Default::default()
    };
    Some(Recoverable::load(&dir.join("SmolLM2-135M-Instruct.Q4_1.gguf"), options).unwrap())
}

fn is_device_lost(e: &ModelError) -> bool {
    matches!(e, ModelError::Gpu(GpuError::DeviceLost(_)))
}

#[test]
fn generation_fails_with_device_lost_then_recovers_with_the_same_tokens() {
    let Some(mut engine) = load("device_loss") else {
        return;
    };
    let tokenizer = engine.engine().tokenizer().unwrap();
    let prompt = tokenizer.encode("The three primary colours are").unwrap();
    let greedy = || Sampler::new(SamplingParams::greedy());
    let max_tokens = 12;

    let before = engine
        .ready()
        .unwrap()
        .generate(&prompt, max_tokens, &mut greedy(), &[], |_| true)
        .unwrap()
        .ids;
    assert_eq!(before.len(), max_tokens);

    // Destroy the device from inside the token callback: the generation is mid-way, with
    // decode steps still to submit and read back.
    let device = engine.engine().ctx.device.clone();
    let mut seen = Vec::new();
    let t = Instant::now();
    let lost = engine
        .ready()
        .unwrap()
        .generate(&prompt, max_tokens, &mut greedy(), &[], |id| {
            seen.push(id);
            if seen.len() == 3 {
                device.destroy();
            }
            true
        });
    let elapsed = t.elapsed();
    let err = lost.err().expect("a generation whose device was destroyed must fail");
    assert!(is_device_lost(&err), "expected DeviceLost, got {err:?}");
    eprintln!("device destroyed after 3 tokens: the call failed after {elapsed:?}");
    assert!(elapsed < LOSS_REPORTED_WITHIN, "the loss took {elapsed:?} to surface");
    assert_eq!(seen[..], before[..3], "tokens before the loss were the usual ones");
    assert!(
        seen.len() < max_tokens,
        "the generation went on after the loss: {seen:?}"
    );
    assert!(engine.is_lost(), "the context must remember that its device is gone");
    assert_eq!(engine.recoveries(), 0);

    // Without recovering, every call on the lost device fails at once.
    let t = Instant::now();
    let again = engine
        .engine_mut()
        .generate(&prompt, max_tokens, &mut greedy(), &[], |_| true);
    assert!(matches!(&again, Err(e) if is_device_lost(e)), "expected DeviceLost");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "a call on a lost device took {:?}",
        t.elapsed()
    );

    // The next call through `ready` recovers: a new device, the weights read from the file again.
    let t = Instant::now();
    let after = engine
        .ready()
        .unwrap()
        .generate(&prompt, max_tokens, &mut greedy(), &[], |_| true)
        .unwrap();
    eprintln!("recovery plus a {max_tokens}-token generation took {:?}", t.elapsed());
    assert_eq!(engine.recoveries(), 1);
    assert!(!engine.is_lost());
    assert_eq!(
        after.ids, before,
        "greedy tokens after recovery differ from before the loss"
    );
    assert_eq!(after.prefilled_tokens, prompt.len(), "the new cache starts empty");

    // A healthy engine is not rebuilt.
    engine.ready().unwrap();
    assert_eq!(engine.recoveries(), 1);

    // A loss between calls (nothing running) is noticed by `ready`, which recovers before the
    // call instead of failing it.
    engine.engine().ctx.device.destroy();
    let idle = engine
        .ready()
        .unwrap()
        .generate(&prompt, max_tokens, &mut greedy(), &[], |_| true)
        .unwrap();
    assert_eq!(engine.recoveries(), 2);
    assert_eq!(idle.ids, before);
}

#[test]
fn chat_continues_its_conversation_after_device_loss() {
    let Some(mut engine) = load("device_loss_chat") else {
        return;
    };
    let tokenizer = engine.engine().tokenizer().unwrap();
    let stop_ids = engine.engine().stop_ids(&tokenizer);
    let template = engine.engine().chat_template().unwrap();
    let mut greedy = Sampler::new(SamplingParams::greedy());
    let turns = ["What is the capital of France?", "And of Italy?"];
    let max_tokens = 24;

    // The reference conversation, with the second turn prefilled in full as it will be after
    // the loss (the new device's cache is empty), so both runs do the same arithmetic.
    let mut reference = ChatSession::new(template.clone(), None);
    let e = engine.ready().unwrap();
    let first = reference
        .turn(
            e,
            &tokenizer,
            turns[0],
            max_tokens,
            &mut greedy,
            &stop_ids,
            None,
            |_| true,
        )
        .unwrap();
    e.cache.truncate(0);
    let second = reference
        .turn(
            e,
            &tokenizer,
            turns[1],
            max_tokens,
            &mut greedy,
            &stop_ids,
            None,
            |_| true,
        )
        .unwrap();
    assert!(!second.reply.text.trim().is_empty());

    let mut chat = ChatSession::new(template, None);
    let e = engine.ready().unwrap();
    e.cache.truncate(0);
    let r = chat
        .turn(
            e,
            &tokenizer,
            turns[0],
            max_tokens,
            &mut greedy,
            &stop_ids,
            None,
            |_| true,
        )
        .unwrap();
    assert_eq!(r.reply.text, first.reply.text);

    // The device goes in the middle of the second reply.
    let device = e.ctx.device.clone();
    let mut pieces = 0;
    let t = Instant::now();
    let lost = chat.turn(
        e,
        &tokenizer,
        turns[1],
        max_tokens,
        &mut greedy,
        &stop_ids,
        None,
        |_| {
            pieces += 1;
            if pieces == 2 {
                device.destroy();
            }
            true
        },
    );
    assert!(
        t.elapsed() < LOSS_REPORTED_WITHIN,
        "the loss took {:?} to surface",
        t.elapsed()
    );
    match lost {
        Err(ChatError::Model(e)) if is_device_lost(&e) => {}
        Err(other) => panic!("expected DeviceLost, got {other:?}"),
        Ok(r) => panic!("the turn survived its device: {:?}", r.reply.text),
    }
    assert_eq!(
        chat.messages.len(),
        2,
        "a failed turn leaves the conversation as it was"
    );
    assert_eq!(chat.messages, reference.messages[..2]);

    // Recovered, the same turn again: the whole conversation is prefilled on the new device
    // and the reply is the one the healthy engine gave.
    let e = engine.ready().unwrap();
    let r = chat
        .turn(
            e,
            &tokenizer,
            turns[1],
            max_tokens,
            &mut greedy,
            &stop_ids,
            None,
            |_| true,
        )
        .unwrap();
    assert_eq!(engine.recoveries(), 1);
    assert_eq!(
        r.prefilled_tokens, r.prompt_tokens,
        "the conversation is prefilled in full"
    );
    assert_eq!(r.prompt_tokens, second.prompt_tokens);
    assert_eq!(r.reply.text, second.reply.text);
    assert_eq!(chat.ids(), reference.ids());
}

//! Commands that run a decoder: `logits`, `generate`, `score` and `chat`. Prompts are raw text,
//! tokenised as `webslm tokenize` does (the model's default special tokens, no chat template).

use std::io::Write;

use webslm::engine::{Engine, EngineOptions, StopReason};
use webslm::generate::{generate_text, Limits, TextGeneration};
use webslm::logprobs::Spellings;
use webslm::sampling::{choice_seed, Sampler, SamplingParams};
use webslm::tokenizer::Tokenizer;

use super::constraint_opts;
use super::opts::Opts;

/// A decoder with its tokenizer and end-of-generation ids.
pub struct Loaded {
    pub engine: Engine,
    pub tokenizer: Tokenizer,
    pub stop_ids: Vec<u32>,
}

pub fn load(opts: &Opts) -> Result<Loaded, String> {
    let path = opts.required("model")?;
    let defaults = EngineOptions::default();
    let options = EngineOptions {
        context: opts.get("context", defaults.context)?,
        gpu: opts.gpu_options()?,
        ..defaults
    };
    let resolved = super::resolve::model_path(path)?;
    let mut engine = Engine::load(&resolved, &options).map_err(|e| format!("{path}: {e}"))?;
    load_adapters(&opts.all("lora"), &mut engine)?;
    let tokenizer = engine.tokenizer().map_err(|e| format!("{path}: {e}"))?;
    let stop_ids = engine.stop_ids(&tokenizer);
    Ok(Loaded {
        engine,
        tokenizer,
        stop_ids,
    })
}

/// `--lora PATH[:SCALE]` (repeatable): each adapter (a GGUF adapter or a PEFT folder) read, with
/// its scale (default 1) and its path for messages.
pub fn read_adapters(specs: &[&str]) -> Result<Vec<(String, webslm::lora::LoraAdapter, f32)>, String> {
    specs
        .iter()
        .map(|spec| read_adapter(spec).map(|(path, adapter, scale)| (path.to_string(), adapter, scale)))
        .collect()
}

/// Every `--lora` adapter attached and active at its scale.
fn load_adapters(specs: &[&str], engine: &mut Engine) -> Result<(), String> {
    let mut active = Vec::new();
    for (path, adapter, scale) in read_adapters(specs)? {
        let (id, _) = engine
            .load_adapter(&adapter)
            .map_err(|e| format!("--lora {path}: {e}"))?;
        active.push(webslm::lora::AdapterSpec { id, scale });
    }
    engine.set_adapters(&active).map_err(|e| format!("--lora: {e}"))
}

/// One `--lora PATH[:SCALE]` value read from disk: its path, the adapter, and its scale.
pub fn read_adapter(spec: &str) -> Result<(&str, webslm::lora::LoraAdapter, f32), String> {
    let (path, scale) = match spec.rsplit_once(':') {
        Some((p, s)) if s.parse::<f32>().is_ok() => (p, s.parse::<f32>().unwrap_or(1.0)),
        _ => (spec, 1.0),
    };
    let adapter = webslm::lora::read(std::path::Path::new(path)).map_err(|e| format!("--lora {path}: {e}"))?;
    Ok((path, adapter, scale))
}

/// The prompt's ids: `--prompt TEXT` tokenised, or `--ids I,J,..` as given.
fn prompt_ids(opts: &Opts, tokenizer: &Tokenizer) -> Result<Vec<u32>, String> {
    match (opts.str("prompt"), opts.str("ids")) {
        (Some(text), None) => tokenizer.encode(text).map_err(|e| e.to_string()),
        (None, Some(ids)) => ids
            .split(',')
            .map(|t| {
                t.trim()
                    .parse::<u32>()
                    .map_err(|_| format!("--ids: `{t}` is not a token id"))
            })
            .collect(),
        _ => Err("give exactly one of --prompt TEXT or --ids I,J,..".into()),
    }
}

/// `webslm logits --model P --prompt T --top K`: the top K next-token logits, best first.
pub fn logits(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(args, &[], &["model", "prompt", "ids", "top", "context", "lora"])?;
    let k: usize = opts.get("top", 5)?;
    let mut m = load(&opts)?;
    let ids = prompt_ids(&opts, &m.tokenizer)?;
    let logits = m.engine.prefill(&ids).map_err(|e| e.to_string())?;
    let top = m.engine.top_k(&logits, k).map_err(|e| e.to_string())?;
    let (ids, values): (Vec<u32>, Vec<f32>) = top.into_iter().unzip();
    println!("{}", serde_json::json!({ "ids": ids, "logits": values }));
    Ok(())
}

pub fn sampling_params(opts: &Opts) -> Result<SamplingParams, String> {
    let d = SamplingParams::default();
    let p = SamplingParams {
        temperature: opts.get("temperature", d.temperature)?,
        top_k: opts.get("top-k", d.top_k)?,
        top_p: opts.get("top-p", d.top_p)?,
        min_p: opts.get("min-p", d.min_p)?,
        repeat_penalty: opts.get("repeat-penalty", d.repeat_penalty)?,
        frequency_penalty: opts.get("frequency-penalty", d.frequency_penalty)?,
        presence_penalty: opts.get("presence-penalty", d.presence_penalty)?,
        seed: opts.get("seed", d.seed)?,
        logit_bias: logit_bias(opts)?,
        logprobs: opts.has("logprobs"),
        top_logprobs: opts.get("top-logprobs", d.top_logprobs)?,
        ..d
    };
    p.validate()?;
    if p.top_k == 0 || p.top_k > webslm::kernels::topk::MAX_K {
        eprintln!(
            "note: --top-k {} samples from the 64 best candidates (the GPU top-k limit)",
            p.top_k
        );
    }
    Ok(p)
}

/// `--logit-bias ID=BIAS` (repeatable): OpenAI's logit_bias.
fn logit_bias(opts: &Opts) -> Result<Vec<(u32, f32)>, String> {
    opts.all("logit-bias")
        .into_iter()
        .map(|spec| {
            let parsed = spec
                .split_once('=')
                .and_then(|(id, b)| Some((id.trim().parse::<u32>().ok()?, b.trim().parse::<f32>().ok()?)));
            parsed.ok_or_else(|| format!("--logit-bias: `{spec}` is not ID=BIAS (a token id and a number)"))
        })
        .collect()
}

pub const SAMPLING_OPTS: [&str; 11] = [
    "temperature",
    "top-k",
    "top-p",
    "min-p",
    "repeat-penalty",
    "frequency-penalty",
    "presence-penalty",
    "logit-bias",
    "top-logprobs",
    "seed",
    "max-tokens",
];

/// The switch among the sampling options.
pub const SAMPLING_SWITCHES: [&str; 1] = ["logprobs"];

/// OpenAI's finish_reason: "stop" (end of text or a stop string) or "length".
fn finish_reason(stop: StopReason) -> &'static str {
    match stop {
        StopReason::EndOfText | StopReason::StopString | StopReason::Cancelled => "stop",
        StopReason::MaxTokens | StopReason::ContextFull => "length",
    }
}

/// One choice of `generate --json`: text, ids, finish_reason, and logprobs when asked for.
fn choice_json(index: usize, g: &TextGeneration, spellings: Option<&Spellings>) -> serde_json::Value {
    let mut c = serde_json::json!({
        "index": index, "text": g.text, "ids": g.stats.ids, "finish_reason": finish_reason(g.stats.stop),
    });
    if let Some(s) = spellings {
        c["logprobs"] = s.logprobs(&g.stats.logprobs);
    }
    c
}

/// `webslm generate --model P --prompt T [sampling options] [--n N] [--json]`. With `--n`, the
/// choices are generated one after another from the same prompt (its KV cache reused), choice i
/// with seed `choice_seed(seed, i)`; text output separates them with a blank line.
pub fn generate(args: &[String]) -> Result<(), String> {
    let mut valued = vec!["model", "prompt", "ids", "context", "stop", "lora", "n"];
    valued.extend(SAMPLING_OPTS);
    valued.extend(constraint_opts::CONSTRAINT_VALUED);
    let mut switches = vec!["json"];
    switches.extend(SAMPLING_SWITCHES);
    switches.extend(constraint_opts::CONSTRAINT_SWITCHES);
    let opts = Opts::parse_gpu(args, &switches, &valued)?;
    let json = opts.has("json");
    let max_tokens: usize = opts.get("max-tokens", 128)?;
    let n: usize = opts.get("n", 1)?;
    if n == 0 || n > 128 {
        return Err(format!("--n {n} is out of range (1..=128)"));
    }
    let stops: Vec<String> = opts.str("stop").map(|s| vec![s.to_string()]).unwrap_or_default();
    let spec = constraint_opts::spec(&opts)?;
    let params = sampling_params(&opts)?;
    let mut m = load(&opts)?;
    let ids = prompt_ids(&opts, &m.tokenizer)?;
    let vocabulary = match &spec {
        Some(_) => Some(constraint_opts::vocabulary(&m)?),
        None => None,
    };
    let spellings = match params.logprobs {
        true => Some(Spellings(
            webslm::constraint::token_spellings(&m.tokenizer, m.engine.model.cfg.vocab).map_err(|e| e.to_string())?,
        )),
        false => None,
    };
    let mut out = std::io::stdout();
    let mut choices = Vec::new();
    for i in 0..n {
        let mut guide = match (&vocabulary, &spec) {
            (Some(v), Some(spec)) => Some(constraint_opts::guide(v, spec)?),
            _ => None,
        };
        let mut sampler = Sampler::new(SamplingParams {
            seed: choice_seed(params.seed, i),
            ..params.clone()
        });
        let limits = Limits {
            max_tokens,
            stop_ids: &m.stop_ids,
            stop_strings: &stops,
        };
        if i > 0 && !json {
            let _ = out.write_all(b"\n\n");
        }
        let g = generate_text(
            &mut m.engine,
            &m.tokenizer,
            &ids,
            &mut sampler,
            limits,
            guide.as_mut(),
            |t, _| {
                if !json {
                    let _ = out.write_all(t.as_bytes());
                    let _ = out.flush();
                }
                true
            },
        )
        .map_err(|e| e.to_string())?;
        choices.push(g);
    }
    let completion_tokens: usize = choices.iter().map(|g| g.stats.ids.len()).sum();
    if json {
        // Choice 0's fields stay at the top level (as before --n); `choices` holds every one.
        let g = &choices[0];
        let mut v = serde_json::json!({
            "text": g.text, "ids": g.stats.ids, "prompt_tokens": g.stats.prompt_tokens,
            "prefill_tok_s": g.stats.prefill_tok_s(), "decode_tok_s": g.stats.decode_tok_s(),
            "finish_reason": finish_reason(g.stats.stop),
            "choices": choices.iter().enumerate().map(|(i, g)| choice_json(i, g, spellings.as_ref())).collect::<Vec<_>>(),
            "usage": {
                "prompt_tokens": ids.len(), "completion_tokens": completion_tokens,
                "total_tokens": ids.len() + completion_tokens,
            },
        });
        if let Some(s) = &spellings {
            v["logprobs"] = s.logprobs(&g.stats.logprobs);
        }
        println!("{v}");
    } else {
        println!();
    }
    eprintln!(
        "[GPU memory: weights {:.1} MiB, KV cache {:.1} MiB]",
        m.engine.model.weight_bytes() as f64 / 1048576.0,
        m.engine.cache.size_bytes() as f64 / 1048576.0
    );
    if !json {
        let g = &choices[0];
        eprintln!(
            "[{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s, stop: {:?}]",
            g.stats.prompt_tokens,
            g.stats.prefill_tok_s(),
            g.stats.ids.len(),
            g.stats.decode_tok_s(),
            g.stats.stop
        );
        if let Some(s) = &spellings {
            for g in &choices {
                eprintln!("[logprobs: {}]", s.logprobs(&g.stats.logprobs));
            }
        }
    }
    Ok(())
}

/// `webslm score --model P --file F`: the file as one sequence, teacher-forced.
pub fn score(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(args, &[], &["model", "file", "ids", "context", "lora"])?;
    let mut m = load(&opts)?;
    let ids = match opts.str("file") {
        Some(f) => {
            let text = std::fs::read_to_string(f).map_err(|e| format!("{f}: {e}"))?;
            m.tokenizer.encode(&text).map_err(|e| e.to_string())?
        }
        None => prompt_ids(&opts, &m.tokenizer)?,
    };
    let s = m.engine.score(&ids).map_err(|e| e.to_string())?;
    println!(
        "{}",
        serde_json::json!({ "tokens": s.tokens, "ppl": s.ppl, "argmax_next": s.argmax_next })
    );
    Ok(())
}

/// `webslm chat --model P [--system S]`: an interactive chat in the terminal, streaming. Each
/// turn prefills only what the conversation did not have (see `webslm::chat`).
pub fn chat(args: &[String]) -> Result<(), String> {
    use std::io::BufRead;
    use webslm::chat::ChatSession;

    let mut valued = vec!["model", "system", "context", "lora", "json-schema"];
    valued.extend(SAMPLING_OPTS);
    let opts = Opts::parse_gpu(args, &SAMPLING_SWITCHES, &valued)?;
    let max_tokens: usize = opts.get("max-tokens", 512)?;
    let spec = constraint_opts::spec(&opts)?;
    let mut m = load(&opts)?;
    let vocab = match spec {
        Some(_) => Some(constraint_opts::vocabulary(&m)?),
        None => None,
    };
    let template = m.engine.chat_template().map_err(|e| e.to_string())?;
    let mut session = ChatSession::new(template, opts.str("system"));
    let mut sampler = Sampler::new(sampling_params(&opts)?);
    let spellings = match sampler.params.logprobs {
        true => Some(Spellings(
            webslm::constraint::token_spellings(&m.tokenizer, m.engine.model.cfg.vocab).map_err(|e| e.to_string())?,
        )),
        false => None,
    };
    let mut out = std::io::stdout();
    eprintln!("webslm chat: type a message, an empty line or end of input (Ctrl-D) to quit");
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if line.trim().is_empty() {
            break;
        }
        // A fresh matcher per reply: each reply is one JSON value.
        let mut guide = match (&vocab, &spec) {
            (Some(v), Some(s)) => Some(constraint_opts::guide(v, s)?),
            _ => None,
        };
        let turn = session.turn(
            &mut m.engine,
            &m.tokenizer,
            &line,
            max_tokens,
            &mut sampler,
            &m.stop_ids,
            guide.as_mut(),
            |t| {
                let _ = out.write_all(t.as_bytes());
                let _ = out.flush();
                true
            },
        );
        let report = match turn {
            Ok(r) => r,
            Err(e) => {
                // The conversation is unchanged: report it and let the user go on (or quit).
                eprintln!("\nwebslm: {e}");
                continue;
            }
        };
        println!();
        eprintln!(
            "[prefilled {} of {} prompt tokens, {:.1} tok/s decode]",
            report.prefilled_tokens,
            report.prompt_tokens,
            report.reply.stats.decode_tok_s()
        );
        if let Some(s) = &spellings {
            eprintln!("[logprobs: {}]", s.logprobs(&report.reply.stats.logprobs));
        }
    }
    Ok(())
}

//! The `webslm` command line: the same kernels as the browser build, on the native GPU.
//! JSON goes to stdout, logs and progress to stderr.

#[path = "webslm/bench_cmd.rs"]
mod bench_cmd;
#[path = "webslm/bench_cpu_cmd.rs"]
mod bench_cpu_cmd;
#[path = "webslm/constraint_opts.rs"]
mod constraint_opts;
#[path = "webslm/encoder_cmds.rs"]
mod encoder_cmds;
#[path = "webslm/model_cmds.rs"]
mod model_cmds;
#[path = "webslm/opts.rs"]
mod opts;
#[path = "webslm/resolve.rs"]
mod resolve;
#[path = "webslm/template_cmd.rs"]
mod template_cmd;

use std::process::ExitCode;

use opts::Opts;

use webslm::bench::{bench_matmul, bench_ops, BenchConfig, BenchRow};
use webslm::gpu::GpuContext;
use webslm::tokenizer::Tokenizer;

const USAGE: &str = "usage: webslm <command> [options]

commands:
  info [--kernels K]         print the GPU adapter's capabilities and the kernel path (JSON)
  inspect --model PATH       print a model's architecture, hyper-parameters and tensors (JSON);
                             PATH is a .gguf file or a safetensors model folder (config.json
                             + model.safetensors or model.safetensors.index.json); shapes are
                             outermost dimension first
  bench-kernels [--quick] [--json]
                             time every kernel x weight format on the GPU next to its CPU twin
  bench-cpu [--quick] [--json] [--prefill 32]
                             the SIMD CPU matrix products (no GPU): scalar vs AVX2, 1 vs 2
                             threads, on SmolLM2 and Gemma 3 projection shapes
  bench --model P [--runs 5] [--prompts 128,512] [--decode 128] [--cost-tokens 8] [--profile N]
        [--context N] [--json FILE|-] [--kernels software|gpu|auto] [--kv f16|f32]
                             a decoder end to end, medians over runs: load time, prefill tok/s
                             and time to first token per prompt length, decode tok/s, GPU
                             memory; per decoded token: dispatches, submits, bytes of weights
                             and KV read against the least possible, the counters that stand
                             in for a real-GPU timing (compute passes, queue writes, GEMV
                             invocations, serial loads, private arrays) and the decode tok/s
                             they predict on two reference GPUs (a model, not a measurement);
                             --profile N times each kernel over N tokens; --json - prints the
                             JSON alone on stdout; --lora PATH[:SCALE] (repeatable) runs with
                             adapters and reports the GPU bytes they add and what switching costs;
                             --kv f32 keeps the KV cache in f32 (default f16)
  generate --model P --prompt T [--max-tokens N] [--temperature X] [--top-k K] [--top-p P]
           [--min-p M] [--repeat-penalty R] [--frequency-penalty F] [--presence-penalty P]
           [--logit-bias ID=BIAS ...] [--logprobs [--top-logprobs N]] [--n N] [--seed S]
           [--stop STR] [--json] [--json-schema FILE | --json-object | --grammar FILE | --regex R]
                             continue the raw prompt; streams text, or one JSON object with
                             text, ids, prompt_tokens, prefill_tok_s, decode_tok_s, finish_reason,
                             choices (--n of them, choice i sampled with seed S + i), usage and
                             logprobs (OpenAI's shape: log-softmax of the raw logits, before
                             temperature, penalties and bias; --top-logprobs 0..20 alternatives);
                             penalties (-2..2) count this generation's last 64 tokens, logit
                             bias (-100..100) is added first, as llama.cpp does;
                             the output follows a JSON schema, any JSON object, a Lark grammar
                             or a regex (llguidance) when one is given
  bench-schema --model P --json-schema FILE [--tokens N] [--runs R]
                             structured output's cost per decoded token (JSON): the CPU time
                             of each token's mask as a share of the constrained decode step,
                             and the step against an unconstrained one
  logits --model P --prompt T [--top K]
                             the top K next-token logits after the prompt (JSON)
  chat --model P [--system S] [--json-schema FILE] [sampling options]
                             interactive chat with the model's chat template, streaming
                             (every reply follows the schema when one is given)
  template (--model P | --template FILE.jinja) --messages FILE [--tools FILE]
           [--no-generation-prompt] [--bos S] [--eos S]
                             {\"prompt\": ...}: the chat template rendered for an OpenAI-style
                             message list (tool_calls, tool results) and tools, as HF
                             transformers' apply_chat_template renders it
  score --model P --file F   the file as one sequence, teacher-forced: {tokens, ppl, argmax_next}
                             (logits, generate and score also take --ids I,J,.. instead of text,
                             and --context N, the KV cache size, default 2048; logits, generate,
                             score and chat take --lora PATH[:SCALE], repeatable: a LoRA adapter,
                             a llama.cpp .gguf adapter or a PEFT folder, active at SCALE, default 1)
  embed --model DIR --text T [--text T2 ...] [--file F] [--pooling mean|cls] [--truncate]
        [--batch-size N] [--no-normalize]
                             sentence embeddings, L2-normalised: {\"embeddings\":[[...],...]};
                             DIR is an encoder folder (config.json, model.safetensors,
                             tokenizer.json); --file adds one text per line
  classify --model DIR --text T [--text ...] [--truncate]
                             {\"labels\":[{\"label\",\"score\"},...]} per text, highest first
  ner --model DIR --text T [--aggregation none|simple|first|average|max] [--truncate]
                             {\"entities\":[{\"label\",\"score\",\"word\",\"start\",\"end\"}]} per text;
                             start/end are character offsets (default aggregation: first,
                             word level)
  qa --model DIR --question Q (--context C | --context-file F) [--top-k K]
     [--max-answer-len N] [--max-seq-len N] [--doc-stride N] [--handle-impossible]
                             {\"answer\",\"start\",\"end\",\"score\"} (character offsets into C);
                             long contexts are read in overlapping windows
  bench-embed --model DIR [--batch 1,32] [--seconds S] [--sentences scripts/bench/sentences.json]
                             sentences/s of embed at each batch size
  Inputs longer than the model's maximum (sentence-transformers' max_seq_length, else
  max_position_embeddings) are an error unless --truncate. embed, classify, ner and qa take
  --lora DIR[:SCALE], repeatable: a PEFT LoRA folder, with the task head it saved
  (modules_to_save) used instead of the model's; a head with other labels needs the task
  model's config.json (id2label) in DIR.
  tokenize --model PATH --text TEXT
                             print the ids of TEXT as {\"ids\":[...]} (JSON), with the model's
                             default special tokens; PATH is a .gguf file or a safetensors folder
  models                     the catalogue of real checkpoints (JSON), each variant with its
                             download bytes and GPU memory; every --model also takes a catalogue
                             id or id:variant (phi-2:q8_0), downloaded on first use into
                             ~/.cache/webslm (or $WEBSLM_CACHE) with curl, size and sha256 checked
  help                       this text

Every command that opens a GPU (info, bench, bench-kernels, generate, logits, score, chat and
the encoder commands) takes --kernels software|gpu|auto: the kernels tuned for software
adapters (CPU emulators), the ones designed for real GPUs, or (auto, the default) the adapter's.

environment:
  WEBSLM_KERNELS=software|gpu|auto the same as --kernels, where no --kernels is given
  WGPU_BACKEND=vulkan|metal|dx12   pick the native backend
  WEBSLM_HUB=URL                   a mirror that replaces https://huggingface.co in catalogue URLs
  HF_TOKEN=TOKEN                   the hub token gated models (Gemma, Llama) need";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("info") => info(&args[1..]),
        Some("bench-kernels") => bench_kernels(&args[1..]),
        Some("bench") => bench_cmd::bench(&args[1..]),
        Some("bench-cpu") => bench_cpu_cmd::bench_cpu(&args[1..]),
        Some("bench-schema") => constraint_opts::bench_schema(&args[1..]),
        Some("logits") => model_cmds::logits(&args[1..]),
        Some("generate") => model_cmds::generate(&args[1..]),
        Some("score") => model_cmds::score(&args[1..]),
        Some("chat") => model_cmds::chat(&args[1..]),
        Some("template") => template_cmd::template(&args[1..]),
        Some("tokenize") => tokenize(&args[1..]),
        Some("embed") => encoder_cmds::embed(&args[1..]),
        Some("classify") => encoder_cmds::classify(&args[1..]),
        Some("ner") => encoder_cmds::ner(&args[1..]),
        Some("qa") => encoder_cmds::qa(&args[1..]),
        Some("bench-embed") => encoder_cmds::bench_embed(&args[1..]),
        Some("inspect") => inspect(&args[1..]),
        Some("models") => resolve::list(),
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("webslm: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `tokenize --model PATH --text TEXT`: ids as llama.cpp (GGUF, `special=True`) or HF tokenizers
/// (tokenizer.json) give them, with the model's default special tokens.
fn tokenize(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(args, &[], &["model", "text"])?;
    let (model, text) = (opts.required("model")?, opts.required("text")?);
    let path = resolve::model_path(model)?;
    let tok = Tokenizer::from_model_path(&path).map_err(|e| format!("{model}: {e}"))?;
    let ids = tok.encode(text).map_err(|e| e.to_string())?;
    println!("{}", serde_json::json!({ "ids": ids }));
    Ok(())
}

fn open_gpu(opts: &Opts) -> Result<GpuContext, String> {
    GpuContext::new_blocking(opts.gpu_options()?).map_err(|e| e.to_string())
}

fn info(args: &[String]) -> Result<(), String> {
    let ctx = open_gpu(&Opts::parse_gpu(args, &[], &[])?)?;
    let c = &ctx.caps;
    println!(
        "{}",
        serde_json::json!({
            "adapter": c.adapter, "backend": c.backend, "software": c.is_software,
            "kernels": c.kernels.path.as_str(), "kernels_reason": c.kernels.reason,
            "shader_f16": c.shader_f16, "subgroups": c.subgroups,
            "max_storage_binding": c.max_storage_binding, "max_buffer_size": c.max_buffer_size,
            "max_workgroup_storage": c.max_workgroup_storage,
            "max_invocations_per_workgroup": c.max_invocations_per_workgroup,
        })
    );
    Ok(())
}

fn inspect(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(args, &[], &["model"])?;
    let model = opts.required("model")?;
    let path = resolve::model_path(model)?;
    let report = webslm::formats::inspect::inspect(&path).map_err(|e| e.to_string())?;
    opts::print_line(report)
}

fn bench_kernels(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(args, &["quick", "json"], &[])?;
    let (quick, json) = (opts.has("quick"), opts.has("json"));
    let ctx = open_gpu(&opts)?;
    let cfg = if quick {
        BenchConfig::quick()
    } else {
        BenchConfig::full()
    };
    eprintln!("adapter: {}", ctx.caps.summary());
    if !json {
        println!(
            "{:<14} {:<6} {:<14} {:>12} {:>12} {:>10}",
            "kernel", "format", "shape", "gpu", "cpu twin", "gpu/cpu"
        );
    }
    let print = |r: &BenchRow| {
        if !json {
            println!(
                "{:<14} {:<6} {:<14} {:>7.2} {:<4} {:>7.2} {:<4} {:>9.2}x",
                r.kernel,
                r.format,
                r.shape,
                r.gpu,
                r.unit,
                r.cpu,
                r.unit,
                r.ratio()
            );
        }
    };
    let mut rows = bench_matmul(&ctx, &cfg, print).map_err(|e| e.to_string())?;
    rows.extend(bench_ops(&ctx, &cfg, print).map_err(|e| e.to_string())?);
    if json {
        let results: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "kernel": r.kernel, "format": r.format, "shape": r.shape, "unit": r.unit,
                    "gpu": r.gpu, "cpu": r.cpu, "ratio": r.ratio(),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({ "adapter": ctx.caps.adapter, "results": results })
        );
    }
    Ok(())
}

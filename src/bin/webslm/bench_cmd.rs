//! `webslm bench --model P`: load, prefill, decode and per-token costs of a decoder (see
//! `webslm::bench::model`), as a table on stdout and optionally JSON for `scripts/bench/`
//! (`--json FILE`, or `--json -` for the JSON alone on stdout, the table then going to stderr).

use webslm::bench::lora::BenchAdapter;
use webslm::bench::model::{bench_model, ModelBench, ModelBenchConfig};
use webslm::engine::EngineOptions;
use webslm::models::KvDtype;

use super::opts::{print_line, Opts};

const MIB: f64 = 1048576.0;

pub fn bench(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse_gpu(
        args,
        &[],
        &[
            "model",
            "runs",
            "prompts",
            "decode",
            "cost-tokens",
            "profile",
            "json",
            "context",
            "lora",
            "kv",
        ],
    )?;
    let path = opts.required("model")?;
    let cfg = ModelBenchConfig {
        runs: opts.get("runs", 5)?.max(1),
        prompt_lens: opts.counts("prompts", "128,512")?,
        decode_tokens: match opts.get("decode", 128)? {
            n if n >= 2 => n,
            n => return Err(format!("--decode {n}: decode speed needs at least 2 tokens")),
        },
        cost_tokens: opts.get("cost-tokens", 8)?,
        profile_tokens: opts.get("profile", 0)?,
        adapters: super::model_cmds::read_adapters(&opts.all("lora"))?
            .into_iter()
            .map(|(name, adapter, scale)| BenchAdapter { name, adapter, scale })
            .collect(),
    };
    // The KV cache is sized for the default context (or --context), as a user would run it, so
    // the memory reported is real; it grows to what the benchmark needs, within the model's
    // training context (bench_model says so up front when the benchmark cannot fit).
    let defaults = EngineOptions::default();
    let options = EngineOptions {
        context: opts.get("context", defaults.context)?,
        gpu: opts.gpu_options()?,
        // --kv f32: the cache as before issue 16, to A/B the f16 cache's cost on one binary.
        kv_dtype: match opts.str("kv") {
            None => defaults.kv_dtype,
            Some("f16") => KvDtype::F16,
            Some("f32") => KvDtype::F32,
            Some(other) => return Err(format!("--kv {other}: expected f16 or f32")),
        },
        ..defaults
    };
    let resolved = super::resolve::model_path(path)?;
    let report =
        bench_model(&resolved, &cfg, &options, |line| eprintln!("{line}")).map_err(|e| format!("{path}: {e}"))?;
    let json = opts.str("json");
    let to_stdout = json == Some("-");
    print_report(&report, |line: String| {
        if to_stdout {
            eprintln!("{line}");
            Ok(())
        } else {
            print_line(line)
        }
    })?;
    if let Some(out) = json {
        let body = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        if to_stdout {
            print_line(body)?;
        } else {
            std::fs::write(out, body).map_err(|e| format!("writing {out}: {e}"))?;
        }
    }
    Ok(())
}

fn print_report(r: &ModelBench, mut print_line: impl FnMut(String) -> Result<(), String>) -> Result<(), String> {
    print_line(format!("model    {}", r.model))?;
    print_line(format!("adapter  {}", r.adapter))?;
    print_line(format!("kernels  {} ({})", r.kernels, r.kernels_reason))?;
    print_line(format!("medians of {} runs", r.runs.len()))?;
    print_line(format!("load                 {:>9.2} s", r.median_load_secs()))?;
    for (i, len) in r.prompt_lens.iter().enumerate() {
        print_line(format!(
            "prefill {len:>4} tokens  {:>9.2} tok/s   time to first token {:.2} s",
            r.median_prefill_tok_s(i),
            r.median_ttft_secs(i)
        ))?;
    }
    print_line(format!(
        "decode {:>4} tokens   {:>9.2} tok/s",
        r.decode_tokens,
        r.median_decode_tok_s()
    ))?;
    print_line(format!(
        "GPU memory           {:>9.1} MiB peak (weights {:.1} MiB, KV cache {:.1} MiB)",
        r.gpu_peak_bytes as f64 / MIB,
        r.weight_bytes as f64 / MIB,
        r.kv_cache_bytes as f64 / MIB
    ))?;
    if let Some(l) = &r.lora {
        print_line(format!(
            "LoRA {}: {:.3} MiB of adapter tensors; GPU memory +{:.3} MiB on a {:.1} MiB base, \
             +{} bytes of scratch per adapted step",
            l.adapters.join(" "),
            l.adapter_tensor_bytes as f64 / MIB,
            l.gpu_bytes_added as f64 / MIB,
            l.base_weight_bytes as f64 / MIB,
            l.adapter_scratch_bytes
        ))?;
        print_line(format!(
            "  switching: {} queue writes, {} bytes allocated; first token after a switch: {} queue writes, \
             {:+} bytes alive",
            l.switch_queue_writes,
            l.switch_bytes_allocated,
            l.step_after_switch_queue_writes,
            l.step_after_switch_live_bytes_delta
        ))?;
    }
    let c = &r.cost;
    print_line(format!(
        "per decoded token at position {} ({} tokens): {:.0} dispatches, {:.0} submits",
        c.position, c.tokens, c.dispatches, c.submits
    ))?;
    print_line(format!(
        "  read {:.2} MiB weights + {:.2} MiB KV; least possible {:.2} + {:.2} MiB; ratio {:.3}",
        c.weight_bytes_read / MIB,
        c.kv_bytes_read / MIB,
        c.weight_bytes as f64 / MIB,
        c.kv_bytes_needed / MIB,
        c.read_ratio()
    ))?;
    print_line(format!(
        "  time: {:.1} ms recording on the CPU, {:.1} ms from submit to the token",
        c.record_secs * 1000.0,
        c.wait_secs * 1000.0
    ))?;
    let t = &r.per_token;
    print_line(format!(
        "  shape: {:.0} compute passes, {:.0} queue writes, fewest GEMV invocations {}, {:.1}% of weight \
         bytes in dispatches under {} invocations",
        t.compute_passes,
        t.queue_writes,
        t.min_gemv_invocations.map_or("-".to_string(), |n| n.to_string()),
        t.small_dispatch_weight_share * 100.0,
        webslm::gpu::SMALL_DISPATCH_INVOCATIONS
    ))?;
    print_line(format!(
        "         serial weight loads {} at most per invocation ({:.0} summed over dispatches), private \
         array {} bytes, KV {:.2} MiB",
        t.max_serial_weight_loads,
        t.serial_weight_loads,
        t.private_array_bytes,
        t.kv_bytes_per_token / MIB
    ))?;
    let m = &r.model_tok_s;
    print_line(format!(
        "MODELLED decode (not measured): {:.0} tok/s on a 100 GB/s integrated GPU, {:.0} tok/s on a 500 GB/s \
         discrete GPU",
        m.integrated_100gbps, m.discrete_500gbps
    ))?;
    for p in &m.terms {
        print_line(format!(
            "  {:<20} bandwidth {:.0} us + load latency {:.0} us + dispatches {:.0} us + passes {:.0} us",
            p.gpu, p.bandwidth_us, p.latency_us, p.dispatch_us, p.pass_us
        ))?;
    }
    print_line(format!("  ({})", m.kind))?;
    if let Some(p) = &r.profile {
        print_line(format!(
            "GPU time per token by kernel ({} tokens, each dispatch alone; an empty submit costs {:.3} ms):",
            p.tokens, p.empty_submit_ms
        ))?;
        print_line(format!(
            "  (a tiny dispatch batched with hundreds of others costs {:.3} ms)",
            p.batched_tiny_dispatch_ms
        ))?;
        for k in &p.kernels {
            print_line(format!(
                "  {:<20} {:>6.1} calls {:>9.2} ms",
                k.kernel, k.calls_per_token, k.ms_per_token
            ))?;
        }
    }
    Ok(())
}

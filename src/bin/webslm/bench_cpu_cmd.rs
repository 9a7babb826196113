//! `webslm bench-cpu [--quick] [--json] [--prefill M]`: the SIMD CPU products against the scalar
//! ones and one thread against two (see `webslm::bench::cpu_kernels`). Needs no GPU.

use crate::opts::{self, Opts};
use webslm::bench::cpu_kernels::{bench_cpu as run, cases, CpuRow};

pub fn bench_cpu(args: &[String]) -> Result<(), String> {
    let opts = Opts::parse(args, &["quick", "json"], &["prefill"])?;
    let prefill: usize = opts.get("prefill", 32usize)?;
    if prefill == 0 {
        return Err("--prefill must be at least 1".into());
    }
    let min_seconds = if opts.has("quick") { 0.05 } else { 0.5 };
    let json = opts.has("json");
    if !json {
        println!(
            "{:<17} {:<5} {:>4} {:>5} {:>5} {:<8} {:>3} {:>9} {:>7} {:>8} {:>7}",
            "case", "fmt", "m", "n", "k", "isa", "thr", "us/call", "GB/s", "GFLOP/s", "ratio"
        );
    }
    // Ratios: a vector row against scalar on 1 thread, a 2-thread row against the same isa on 1.
    let mut scalar_1t = 0.0;
    let mut best_1t = 0.0;
    let ratio = |r: &CpuRow, scalar_1t: &mut f64, best_1t: &mut f64| -> (String, f64) {
        match (r.isa.name(), r.threads) {
            ("scalar", 1) => {
                *scalar_1t = r.seconds;
                *best_1t = r.seconds;
                ("1.00x".into(), 1.0)
            }
            (_, 1) => {
                *best_1t = r.seconds;
                let x = *scalar_1t / r.seconds;
                (format!("{x:.2}x sc"), x)
            }
            _ => {
                let x = *best_1t / r.seconds;
                (format!("{x:.2}x 1t"), x)
            }
        }
    };
    let mut results = Vec::new();
    run(&cases(prefill), min_seconds, |r| {
        let (label, x) = ratio(r, &mut scalar_1t, &mut best_1t);
        if json {
            results.push(serde_json::json!({
                "case": r.case.name, "format": r.case.fmt.name(), "m": r.case.m, "n": r.case.n,
                "k": r.case.k, "isa": r.isa.name(), "threads": r.threads, "seconds": r.seconds,
                "gb_s": r.gb_s(), "gflop_s": r.gflop_s(), "ratio": x,
            }));
        } else {
            println!(
                "{:<17} {:<5} {:>4} {:>5} {:>5} {:<8} {:>3} {:>9.1} {:>7.2} {:>8.2} {:>7}",
                r.case.name,
                r.case.fmt.name(),
                r.case.m,
                r.case.n,
                r.case.k,
                r.isa.name(),
                r.threads,
                r.seconds * 1e6,
                r.gb_s(),
                r.gflop_s(),
                label
            );
        }
    })?;
    if json {
        opts::print_line(serde_json::json!({ "results": results }))?;
    }
    Ok(())
}

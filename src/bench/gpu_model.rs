//! A model of decode speed on two reference GPUs, from the counters of one decoded token. It is
//! arithmetic on counters, not a measurement: no real GPU ran anything. It exists because the
//! machines that build webslm have only software adapters, whose speed says nothing about a real
//! GPU's (their optimum is the opposite one: see `gpu::kernel_path`).
//!
//! Time per token is the sum of four terms:
//!
//! - **bandwidth**: bytes fetched (weights + KV cache) / the memory bandwidth;
//! - **latency**: the serial chains of weight loads. A GPU hides memory latency by running other
//!   lanes while one waits, never along one lane's loop, so a dispatch whose lanes each make `s`
//!   dependent loads lasts at least `s` x the load latency. By Little's law this is also how the
//!   invocation count enters: the same bytes split over fewer lanes make longer chains, and few
//!   lanes cannot keep enough loads in flight to reach the bandwidth. The term sums each
//!   weight-reading dispatch's chain (`GpuStats`' `serial_weight_loads`). Adding it to the
//!   bandwidth term, rather than taking the larger of the two per dispatch, errs on the slow side
//!   by at most 2x;
//! - **dispatch**: a fixed cost per dispatch (launch and the barrier between dependent dispatches);
//! - **pass**: a fixed cost per compute pass (WebGPU validates and synchronises each pass).
//!
//! The constants are round figures of the published order of magnitude (DRAM latency of a few
//! hundred ns; a few µs per dependent kernel launch), chosen once and kept fixed so that runs
//! compare; the model ranks kernel designs, it does not predict a particular GPU to better than
//! about 2x.

use serde::Serialize;

/// A GPU the model runs the counters on.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ReferenceGpu {
    pub name: &'static str,
    pub bandwidth_gb_s: f64,
    /// Latency of one dependent global-memory load.
    pub load_latency_us: f64,
    pub dispatch_us: f64,
    pub pass_us: f64,
}

/// An integrated GPU of about 100 GB/s (an Apple M2-class laptop).
pub const INTEGRATED: ReferenceGpu = ReferenceGpu {
    name: "integrated_100GBps",
    bandwidth_gb_s: 100.0,
    load_latency_us: 0.6,
    dispatch_us: 4.0,
    pass_us: 10.0,
};

/// A discrete GPU of about 500 GB/s (an RTX 4070-class desktop card).
pub const DISCRETE: ReferenceGpu = ReferenceGpu {
    name: "discrete_500GBps",
    bandwidth_gb_s: 500.0,
    load_latency_us: 0.5,
    dispatch_us: 4.0,
    pass_us: 10.0,
};

pub const REFERENCE_GPUS: [ReferenceGpu; 2] = [INTEGRATED, DISCRETE];

/// What one decoded token asks of the GPU: the model's inputs.
#[derive(Clone, Copy, Debug, Default)]
pub struct TokenWork {
    pub bytes: f64,
    pub serial_weight_loads: f64,
    pub dispatches: f64,
    pub compute_passes: f64,
}

/// The model's time per token on `gpu`, split into its terms (microseconds).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Predicted {
    pub gpu: &'static str,
    pub tok_s: f64,
    pub bandwidth_us: f64,
    pub latency_us: f64,
    pub dispatch_us: f64,
    pub pass_us: f64,
}

pub fn predict(w: &TokenWork, gpu: &ReferenceGpu) -> Predicted {
    // GB/s = 1e3 bytes per µs.
    let bandwidth_us = w.bytes / (gpu.bandwidth_gb_s * 1e3);
    let latency_us = w.serial_weight_loads * gpu.load_latency_us;
    let dispatch_us = w.dispatches * gpu.dispatch_us;
    let pass_us = w.compute_passes * gpu.pass_us;
    let total = bandwidth_us + latency_us + dispatch_us + pass_us;
    Predicted {
        gpu: gpu.name,
        tok_s: if total > 0.0 { 1e6 / total } else { f64::INFINITY },
        bandwidth_us,
        latency_us,
        dispatch_us,
        pass_us,
    }
}

/// What the JSON and the text output say the figures are.
pub const LABEL: &str = "a model, not a measurement: (weight + KV bytes) / bandwidth + summed serial weight-load \
                         chains x load latency + dispatches x dispatch cost + compute passes x pass cost \
                         (src/bench/gpu_model.rs)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_add_up_and_move_the_right_way() {
        // 100 MB at 100 GB/s is 1 ms; nothing else: 1000 tok/s.
        let bytes_only = TokenWork {
            bytes: 100e6,
            ..TokenWork::default()
        };
        let p = predict(&bytes_only, &INTEGRATED);
        assert!((p.bandwidth_us - 1000.0).abs() < 1e-9);
        assert!((p.tok_s - 1000.0).abs() < 1e-9);
        // The discrete GPU has 5x the bandwidth.
        assert!((predict(&bytes_only, &DISCRETE).tok_s - 5000.0).abs() < 1e-6);
        // Longer chains, more dispatches or more passes are each slower.
        let base = TokenWork {
            bytes: 100e6,
            serial_weight_loads: 1000.0,
            dispatches: 200.0,
            compute_passes: 1.0,
        };
        let t = predict(&base, &INTEGRATED).tok_s;
        for worse in [
            TokenWork {
                serial_weight_loads: 2000.0,
                ..base
            },
            TokenWork {
                dispatches: 400.0,
                ..base
            },
            TokenWork {
                compute_passes: 200.0,
                ..base
            },
        ] {
            assert!(predict(&worse, &INTEGRATED).tok_s < t);
        }
        assert!(predict(&TokenWork::default(), &INTEGRATED).tok_s.is_infinite());
    }
}

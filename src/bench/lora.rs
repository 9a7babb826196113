//! `webslm bench --lora PATH[:SCALE]`: what LoRA adapters cost on top of a base model (issue 19's
//! done-when): the GPU bytes attaching them adds (`GpuStats::live_bytes` before and after, which
//! should be the adapters' own tensor bytes and nothing of the base model's), and what switching
//! the active set costs: host-to-GPU writes and new buffers while switching, and the queue writes
//! of the first token decoded after a switch (the same as any token's: no weight upload).

use serde::Serialize;

use crate::engine::Engine;
use crate::lora::{AdapterSpec, LoraAdapter, LoraError};
use crate::models::ModelError;

/// An adapter the benchmark attaches, as the CLI read it.
#[derive(Clone, Debug)]
pub struct BenchAdapter {
    /// Where it came from (the `--lora` argument's path), for the report.
    pub name: String,
    pub adapter: LoraAdapter,
    pub scale: f32,
}

/// What attaching and switching the adapters cost (the `lora` object of the bench JSON).
#[derive(Clone, Debug, Serialize)]
pub struct LoraCost {
    pub adapters: Vec<String>,
    /// Bytes of the adapters' tensors as stored in their files (what has to be uploaded).
    pub adapter_tensor_bytes: u64,
    /// GPU buffer bytes alive after attaching minus before: equal to `adapter_tensor_bytes` when
    /// nothing but the adapters was uploaded.
    pub gpu_bytes_added: u64,
    /// GPU memory a decoded token with the adapters holds beyond one without them (pooled
    /// scratch for the low-rank products), so that `gpu_bytes_added + adapter_scratch_bytes` is
    /// all an adapter costs in memory.
    pub adapter_scratch_bytes: u64,
    /// The base model's weights on the GPU, for scale.
    pub base_weight_bytes: u64,
    /// Switching adapters -> base -> adapters -> base -> adapters (host-side scales only): queue
    /// writes and GPU bytes allocated meanwhile.
    pub switch_queue_writes: u64,
    pub switch_bytes_allocated: u64,
    /// The first token decoded after a switch (after one warm-up token with the adapters): its
    /// queue writes (the token id and the uniform arena, as any token) and the GPU bytes alive
    /// after it minus before the switch (0: nothing uploaded, every buffer reused).
    pub step_after_switch_queue_writes: u64,
    pub step_after_switch_live_bytes_delta: i64,
}

/// An adapter that does not fit, as the benchmark's error (the message names the tensor).
fn lora_error(e: LoraError) -> ModelError {
    ModelError::Config(format!("LoRA adapter: {e}"))
}

/// Attaches `adapters` to `engine`, makes them the active set, and measures the cost of doing so
/// and of switching. `step(engine)` decodes one token (the benchmark's own timed step).
pub fn attach_and_measure(
    engine: &mut Engine,
    adapters: &[BenchAdapter],
    mut step: impl FnMut(&mut Engine) -> Result<(), ModelError>,
) -> Result<LoraCost, ModelError> {
    engine.ctx.wait_idle()?;
    let stats = engine.ctx.stats.clone();
    let live_before = stats.live_bytes();
    let mut active = Vec::new();
    for a in adapters {
        let (id, _) = engine.load_adapter(&a.adapter).map_err(lora_error)?;
        active.push(AdapterSpec { id, scale: a.scale });
    }
    let gpu_bytes_added = stats.live_bytes().saturating_sub(live_before);

    // One token without the adapters, then one with them: pooled buffers are kept for reuse, so
    // what the second adds is the scratch an adapted step needs beyond the base model's (the
    // r-wide intermediates). It also makes the pipelines a LoRA step needs, so that what follows
    // shows only what a switch itself costs.
    engine.set_adapters(&[]).map_err(lora_error)?;
    step(engine)?;
    engine.ctx.wait_idle()?;
    let live_base_step = stats.live_bytes();
    engine.set_adapters(&active).map_err(lora_error)?;
    step(engine)?;
    engine.ctx.wait_idle()?;
    let adapter_scratch_bytes = stats.live_bytes().saturating_sub(live_base_step);

    let before = stats.snapshot();
    let live_switch = stats.live_bytes();
    engine.set_adapters(&[]).map_err(lora_error)?;
    engine.set_adapters(&active).map_err(lora_error)?;
    engine.set_adapters(&[]).map_err(lora_error)?;
    engine.set_adapters(&active).map_err(lora_error)?;
    let switch = stats.snapshot().since(&before);
    let switch_bytes_allocated = stats.live_bytes().saturating_sub(live_switch);

    // The switch emptied the cache: the step decodes at the same position as the warm-up.
    let before = stats.snapshot();
    step(engine)?;
    engine.ctx.wait_idle()?;
    let stepped = stats.snapshot().since(&before);
    Ok(LoraCost {
        adapters: adapters.iter().map(|a| format!("{}:{}", a.name, a.scale)).collect(),
        adapter_tensor_bytes: adapters.iter().map(|a| a.adapter.tensor_bytes()).sum(),
        gpu_bytes_added,
        adapter_scratch_bytes,
        base_weight_bytes: engine.model.weight_bytes(),
        switch_queue_writes: switch.queue_writes,
        switch_bytes_allocated,
        step_after_switch_queue_writes: stepped.queue_writes,
        step_after_switch_live_bytes_delta: stats.live_bytes() as i64 - live_switch as i64,
    })
}

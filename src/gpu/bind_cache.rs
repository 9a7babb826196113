//! Bind groups reused across batches.
//!
//! Creating a bind group is validated and allocated by the browser or driver on every call, and a
//! decoded token records a few hundred dispatches whose bindings are the same every token: the
//! weights, the KV cache, the pooled activation buffers (the pool hands them out in the same
//! order each token) and the uniform arena at the same offsets. So a bind group is looked up by
//! its pipeline and exact bindings (buffer, offset, size) before one is created.
//!
//! The key holds clones of the bound buffers. That keeps them alive, so a buffer id can never be
//! reused for a different buffer while a bind group keyed by it is cached; it also means an entry
//! must not live forever (a one-off upload would then never be freed). Entries therefore last two
//! generations: those used by the current batch, and those used by the one before, which is what
//! one decoded token needs of the previous one. Anything older is dropped at the next submit.

use std::collections::HashMap;
use std::sync::Mutex;

/// One binding of a cached bind group: binding number, buffer, offset and size.
type Entry = (u32, wgpu::Buffer, u64, Option<u64>);

#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct BindKey {
    pipeline: wgpu::ComputePipeline,
    entries: Vec<Entry>,
}

impl BindKey {
    /// The key for `entries` bound to `pipeline`, or `None` when a resource is not a plain buffer
    /// binding (those are created each time; none of today's kernels bind anything else).
    pub fn new(pipeline: &wgpu::ComputePipeline, entries: &[wgpu::BindGroupEntry<'_>]) -> Option<Self> {
        let entries = entries
            .iter()
            .map(|e| match &e.resource {
                wgpu::BindingResource::Buffer(b) => {
                    Some((e.binding, b.buffer.clone(), b.offset, b.size.map(|s| s.get())))
                }
                _ => None,
            })
            .collect::<Option<Vec<_>>>()?;
        Some(BindKey {
            pipeline: pipeline.clone(),
            entries,
        })
    }
}

#[derive(Default)]
struct Generations {
    current: HashMap<BindKey, wgpu::BindGroup>,
    previous: HashMap<BindKey, wgpu::BindGroup>,
}

#[derive(Default)]
pub(crate) struct BindGroupCache {
    generations: Mutex<Generations>,
}

impl BindGroupCache {
    /// The bind group cached under `key`, or the one `create` makes (then cached).
    pub fn get_or_create(&self, key: BindKey, create: impl FnOnce() -> wgpu::BindGroup) -> wgpu::BindGroup {
        let mut g = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(found) = g.current.get(&key) {
            return found.clone();
        }
        let group = match g.previous.remove(&key) {
            Some(found) => found,
            None => create(),
        };
        g.current.insert(key, group.clone());
        group
    }

    /// A batch was submitted: what it used becomes the previous generation, and what the batch
    /// before it used and this one did not is dropped (with the buffers its keys held).
    pub fn next_generation(&self) {
        let mut g = self.generations.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        g.previous = std::mem::take(&mut g.current);
    }
}

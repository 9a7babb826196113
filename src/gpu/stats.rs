//! Counters of the work a device was given, for `webslm bench`: take a [`StatsSnapshot`] before
//! and after a step and subtract.
//!
//! Bytes read are counted by the kernel launchers, which know what a dispatch fetches: a GEMV
//! streams its whole weight once, attention reads the keys and values it can see. They count what
//! the invocations ask for, so a key that query heads share (grouped-query attention) is counted
//! once per invocation that fetches it: once per KV head when its query heads fit one invocation,
//! more often when they do not (head_dim 256).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

#[derive(Default)]
pub struct GpuStats {
    dispatches: AtomicU64,
    submits: AtomicU64,
    /// Compute passes begun: each costs a real GPU a barrier and the browser a validation pass.
    compute_passes: AtomicU64,
    /// Host-to-GPU data transfers: `queue.write_buffer` calls and buffers created mapped with data.
    queue_writes: AtomicU64,
    /// Bind groups created (a cached one reused is not counted).
    bind_groups: AtomicU64,
    weight_bytes_read: AtomicU64,
    kv_bytes_read: AtomicU64,
    /// The shape of weight-reading dispatches (see [`WeightDispatch`]): weight bytes read by
    /// dispatches too small to fill a real GPU, the longest serial chain of weight loads one
    /// invocation makes, the fewest invocations a weight-reading dispatch had, and the largest
    /// dynamically indexed private array a dispatched kernel declares. Maxima and minima cannot be
    /// subtracted, so [`GpuStats::reset_shape`] starts a new window for them.
    small_dispatch_weight_bytes: AtomicU64,
    max_serial_weight_loads: AtomicU64,
    /// The serial chains of all weight-reading dispatches, summed: dependent dispatches run one
    /// after another, so their latency floors add up (the reference-GPU model in `bench`).
    serial_weight_loads: AtomicU64,
    /// Stored as `u64::MAX - invocations`, so that `fetch_max` keeps the minimum (0: none yet).
    min_weight_invocations_inverted: AtomicU64,
    private_array_bytes: AtomicU64,
    /// Bytes of GPU buffers alive now, and the most there ever were.
    live_bytes: AtomicU64,
    peak_bytes: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub dispatches: u64,
    pub submits: u64,
    pub compute_passes: u64,
    pub queue_writes: u64,
    pub bind_groups: u64,
    pub weight_bytes_read: u64,
    pub kv_bytes_read: u64,
    pub peak_bytes: u64,
    pub small_dispatch_weight_bytes: u64,
    /// Summed over weight-reading dispatches (subtractable, unlike the maximum).
    pub serial_weight_loads: u64,
    /// Since the last [`GpuStats::reset_shape`], not since `earlier`.
    pub max_serial_weight_loads: u64,
    /// `None` when no weight-reading dispatch reported its shape since the last reset.
    pub min_weight_invocations: Option<u64>,
    pub private_array_bytes: u64,
}

/// A dispatch below this many invocations cannot fill a real GPU (a mid-range GPU runs tens of
/// thousands of lanes at once); `small_dispatch_weight_share` counts the weight bytes such
/// dispatches read.
pub const SMALL_DISPATCH_INVOCATIONS: u64 = 8192;

/// What a kernel launcher knows about a dispatch that streams weights, for the counters that
/// predict real-GPU speed (`webslm bench`, `per_token`).
#[derive(Clone, Copy, Debug)]
pub struct WeightDispatch {
    /// Weight bytes the dispatch fetches.
    pub bytes: u64,
    /// Invocations launched (workgroups x workgroup size).
    pub invocations: u64,
    /// The longest chain of dependent weight loads one invocation makes in a loop: a GPU hides
    /// memory latency across lanes, not along one lane's loop.
    pub serial_loads: u64,
}

impl StatsSnapshot {
    /// Work done between `earlier` and this snapshot (the peak is this snapshot's).
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            dispatches: self.dispatches.saturating_sub(earlier.dispatches),
            submits: self.submits.saturating_sub(earlier.submits),
            compute_passes: self.compute_passes.saturating_sub(earlier.compute_passes),
            queue_writes: self.queue_writes.saturating_sub(earlier.queue_writes),
            bind_groups: self.bind_groups.saturating_sub(earlier.bind_groups),
            weight_bytes_read: self.weight_bytes_read.saturating_sub(earlier.weight_bytes_read),
            kv_bytes_read: self.kv_bytes_read.saturating_sub(earlier.kv_bytes_read),
            peak_bytes: self.peak_bytes,
            small_dispatch_weight_bytes: self
                .small_dispatch_weight_bytes
                .saturating_sub(earlier.small_dispatch_weight_bytes),
            serial_weight_loads: self.serial_weight_loads.saturating_sub(earlier.serial_weight_loads),
            max_serial_weight_loads: self.max_serial_weight_loads,
            min_weight_invocations: self.min_weight_invocations,
            private_array_bytes: self.private_array_bytes,
        }
    }
}

impl GpuStats {
    /// Bytes of GPU buffers alive now (weights, caches, pooled activations).
    pub fn live_bytes(&self) -> u64 {
        self.live_bytes.load(Relaxed)
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            dispatches: self.dispatches.load(Relaxed),
            submits: self.submits.load(Relaxed),
            compute_passes: self.compute_passes.load(Relaxed),
            queue_writes: self.queue_writes.load(Relaxed),
            bind_groups: self.bind_groups.load(Relaxed),
            weight_bytes_read: self.weight_bytes_read.load(Relaxed),
            kv_bytes_read: self.kv_bytes_read.load(Relaxed),
            peak_bytes: self.peak_bytes.load(Relaxed),
            small_dispatch_weight_bytes: self.small_dispatch_weight_bytes.load(Relaxed),
            serial_weight_loads: self.serial_weight_loads.load(Relaxed),
            max_serial_weight_loads: self.max_serial_weight_loads.load(Relaxed),
            min_weight_invocations: match self.min_weight_invocations_inverted.load(Relaxed) {
                0 => None,
                inverted => Some(u64::MAX - inverted),
            },
            private_array_bytes: self.private_array_bytes.load(Relaxed),
        }
    }

    /// Starts a new window for the maxima and minima (serial loads, invocations, private arrays).
    pub fn reset_shape(&self) {
        self.max_serial_weight_loads.store(0, Relaxed);
        self.min_weight_invocations_inverted.store(0, Relaxed);
        self.private_array_bytes.store(0, Relaxed);
    }

    /// Counts a weight-reading dispatch with its shape (the bytes as [`GpuStats::read_weights`]).
    pub(crate) fn read_weights_by(&self, d: WeightDispatch) {
        self.read_weights(d.bytes);
        if d.invocations < SMALL_DISPATCH_INVOCATIONS {
            self.small_dispatch_weight_bytes.fetch_add(d.bytes, Relaxed);
        }
        self.max_serial_weight_loads.fetch_max(d.serial_loads, Relaxed);
        self.serial_weight_loads.fetch_add(d.serial_loads, Relaxed);
        self.min_weight_invocations_inverted
            .fetch_max(u64::MAX - d.invocations, Relaxed);
    }

    /// Records a dispatched kernel's largest dynamically indexed private (function-scope) array:
    /// real GPUs spill such arrays to slow local memory.
    pub(crate) fn private_array(&self, bytes: u64) {
        self.private_array_bytes.fetch_max(bytes, Relaxed);
    }

    pub(crate) fn dispatched(&self) {
        self.dispatches.fetch_add(1, Relaxed);
    }

    pub(crate) fn compute_pass(&self) {
        self.compute_passes.fetch_add(1, Relaxed);
    }

    pub(crate) fn queue_write(&self) {
        self.queue_writes.fetch_add(1, Relaxed);
    }

    pub(crate) fn bind_group_created(&self) {
        self.bind_groups.fetch_add(1, Relaxed);
    }

    pub(crate) fn submitted(&self) {
        self.submits.fetch_add(1, Relaxed);
    }

    pub(crate) fn read_weights(&self, bytes: u64) {
        self.weight_bytes_read.fetch_add(bytes, Relaxed);
    }

    pub(crate) fn read_kv(&self, bytes: u64) {
        self.kv_bytes_read.fetch_add(bytes, Relaxed);
    }

    pub(crate) fn allocated(&self, bytes: u64) {
        let live = self.live_bytes.fetch_add(bytes, Relaxed) + bytes;
        self.peak_bytes.fetch_max(live, Relaxed);
    }

    pub(crate) fn freed(&self, bytes: u64) {
        self.live_bytes.fetch_sub(bytes, Relaxed);
    }
}

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
    weight_bytes_read: AtomicU64,
    kv_bytes_read: AtomicU64,
    /// Bytes of GPU buffers alive now, and the most there ever were.
    live_bytes: AtomicU64,
    peak_bytes: AtomicU64,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub dispatches: u64,
    pub submits: u64,
    pub weight_bytes_read: u64,
    pub kv_bytes_read: u64,
    pub peak_bytes: u64,
}

impl StatsSnapshot {
    /// Work done between `earlier` and this snapshot (the peak is this snapshot's).
    pub fn since(&self, earlier: &StatsSnapshot) -> StatsSnapshot {
        StatsSnapshot {
            dispatches: self.dispatches.saturating_sub(earlier.dispatches),
            submits: self.submits.saturating_sub(earlier.submits),
            weight_bytes_read: self.weight_bytes_read.saturating_sub(earlier.weight_bytes_read),
            kv_bytes_read: self.kv_bytes_read.saturating_sub(earlier.kv_bytes_read),
            peak_bytes: self.peak_bytes,
        }
    }
}

impl GpuStats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            dispatches: self.dispatches.load(Relaxed),
            submits: self.submits.load(Relaxed),
            weight_bytes_read: self.weight_bytes_read.load(Relaxed),
            kv_bytes_read: self.kv_bytes_read.load(Relaxed),
            peak_bytes: self.peak_bytes.load(Relaxed),
        }
    }

    pub(crate) fn dispatched(&self) {
        self.dispatches.fetch_add(1, Relaxed);
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

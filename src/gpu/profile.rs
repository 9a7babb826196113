//! Per-kernel GPU time for `webslm bench --profile` (native only).
//!
//! With profiling on, [`super::Batch`] submits every dispatch alone and waits for it, so each
//! kernel's time is wall time from submit to completion. That includes one submit-and-wait
//! overhead per dispatch, which the bench measures separately (an empty submit) and reports, and
//! it serialises work that a real run would pipeline: use it to rank costs, not to add them up.

use std::collections::BTreeMap;
use std::sync::Mutex;

/// Calls and total seconds of one kernel family.
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelTime {
    pub calls: u64,
    pub secs: f64,
}

#[derive(Default)]
pub struct KernelProfiler {
    times: Mutex<BTreeMap<&'static str, KernelTime>>,
}

impl KernelProfiler {
    pub(crate) fn add(&self, kernel: &'static str, secs: f64) {
        if let Ok(mut times) = self.times.lock() {
            let t = times.entry(kernel).or_default();
            t.calls += 1;
            t.secs += secs;
        }
    }

    /// The times so far, by kernel name, and starts again from zero.
    pub fn take(&self) -> BTreeMap<&'static str, KernelTime> {
        self.times
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .unwrap_or_default()
    }
}

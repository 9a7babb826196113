//! How many loop iterations one invocation may run, and what each kernel's loops cost.
//!
//! lavapipe (llvmpipe's Vulkan driver, which CI and this project's tests run on) keeps one loop
//! counter per invocation, shared by every loop in the shader, and silently stops the
//! invocation when it reaches 65535: the kernel's outputs are then whatever the invocation had
//! written so far, with no error anywhere. Long prompts scored as garbage because attention's
//! chunk size undercounted its loops (183 counted per key where lavapipe counts 225 for
//! SmolLM2's heads).
//!
//! So the cost of every data-dependent loop is written down here, mirroring the WGSL loop by
//! loop, and each kernel with such a loop checks it against [`Capabilities::loop_budget`]
//! before it dispatches: either the host splits the work until it fits (attention's key
//! chunks), or the call fails with [`GpuError::LoopBudget`] instead of returning garbage.
//!
//! The counting rule, measured on lavapipe with probe shaders (`tests/loop_limit.rs` keeps the
//! probes, and runs every kernel at the largest size this model allows with no margin). llvmpipe
//! keeps one "loop limiter" per invocation, starting at 65535, and takes one off at the end of
//! every iteration of any loop; a loop only goes round again while it is above zero:
//! - each trip of a loop costs 1, plus whatever the loops inside it cost on that trip;
//! - leaving a loop costs 1 more: the trip that finds the condition false still ends an
//!   iteration, because SIMD code runs it with every lane masked off, and on that trip it also
//!   walks once through every loop inside, each costing its own leaving cost ([`Loops::skipped`]);
//! - a loop in an `if` branch no lane takes can cost that much too, so it is counted as if taken;
//! - lavapipe runs 8 or 16 invocations in lockstep, and a loop goes round while any of them
//!   wants another trip (for an inner loop, even a lane past the workgroup's end): so a loop's
//!   trips are the most that any invocation of the kernel could compute, live or not;
//! - loops with a small constant trip count (`for i < 4u`) are unrolled and cost nothing; this
//!   module counts them anyway where it is cheap to, which only errs on the safe side;
//! - a WGSL `switch` holding loops is lowered to a loop of its own; no kernel has one.
//!
//! A shader whose [`Loops::run`] is at most [`LOOP_LIMIT`] runs every trip. The count overstates
//! the driver by at most one per nesting level (the final leaving trips need not go round again).
//!
//! Real GPUs have no such counter; the budget still bounds the work of one invocation there.
//!
//! [`Capabilities::loop_budget`]: crate::gpu::Capabilities::loop_budget

use crate::gpu::GpuError;

// A property of the device, so `gpu` keeps them (the default `Capabilities::loop_budget`).
pub use crate::gpu::capabilities::{LOOP_BUDGET, LOOP_LIMIT};

/// What a sequence of loops costs one invocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loops {
    /// Iterations counted when the code runs.
    pub run: u64,
    /// Iterations counted when it runs with every lane masked off (inside the trip that leaves
    /// an enclosing loop): one per loop, nested ones included.
    pub skipped: u64,
}

impl Loops {
    /// Straight-line code.
    pub const NONE: Loops = Loops { run: 0, skipped: 0 };

    /// A loop of `trips` trips whose body runs `body`.
    pub const fn repeat(trips: u64, body: Loops) -> Loops {
        let skipped = 1 + body.skipped;
        Loops {
            run: trips * (1 + body.run) + skipped,
            skipped,
        }
    }

    /// A loop of `trips` trips with no loop inside.
    pub const fn simple(trips: u64) -> Loops {
        Self::repeat(trips, Self::NONE)
    }

    /// `self`, then `next`.
    pub const fn then(self, next: Loops) -> Loops {
        Loops {
            run: self.run + next.run,
            skipped: self.skipped + next.skipped,
        }
    }

    /// `self`, `n` times in a row.
    pub const fn times(self, n: u64) -> Loops {
        Loops {
            run: self.run * n,
            skipped: self.skipped * n,
        }
    }
}

/// Trips of `for (var i = start; i < n; i += stride)` for the invocation with the most:
/// `start` = 0 (the row kernels' first thread).
pub const fn strided_trips(n: u64, stride: u64) -> u64 {
    n.div_ceil(stride)
}

/// `workgroup_sum` / `workgroup_max` in reduce.wgsl: one loop of log2(wg) halvings.
pub const fn workgroup_reduce(wg: u64) -> Loops {
    Loops::simple(wg.ilog2() as u64)
}

/// Fails with [`GpuError::LoopBudget`] when `needed` exceeds `budget`.
pub fn check(kernel: &'static str, what: impl FnOnce() -> String, needed: u64, budget: u64) -> Result<(), GpuError> {
    if needed <= budget {
        return Ok(());
    }
    Err(GpuError::LoopBudget {
        kernel,
        what: what(),
        needed,
        budget,
    })
}

/// The largest `n` in `1..=max` for which `fits(n)` holds, where `fits` holds up to some size
/// and not past it (a cost within a budget; a probe that runs every trip), or None when even 1
/// does not fit. A binary search: `fits` may be a GPU run.
pub fn largest(max: u64, fits: impl Fn(u64) -> bool) -> Option<u64> {
    if max == 0 || !fits(1) {
        return None;
    }
    let (mut lo, mut hi) = (1, max);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_cost_a_trip_each_plus_leaving() {
        assert_eq!(Loops::simple(0).run, 1);
        assert_eq!(Loops::simple(10).run, 11);
        // 3 outer trips, each running an inner loop of 4 trips (5 with leaving it); leaving the
        // outer loop walks the inner one once more.
        let nest = Loops::repeat(3, Loops::simple(4));
        assert_eq!(
            nest,
            Loops {
                run: 3 * 6 + 2,
                skipped: 2
            }
        );
        // Inside another loop, that nest costs its leaving trips on each outer trip.
        assert_eq!(Loops::repeat(2, nest).run, 2 * (1 + 20) + 3);
        assert_eq!(Loops::simple(5).then(Loops::simple(6)), Loops { run: 13, skipped: 2 });
        assert_eq!(Loops::simple(5).times(3), Loops { run: 18, skipped: 3 });
    }

    #[test]
    fn strided_trips_round_up() {
        assert_eq!(strided_trips(64, 64), 1);
        assert_eq!(strided_trips(65, 64), 2);
        assert_eq!(strided_trips(0, 64), 0);
    }

    #[test]
    fn largest_finds_the_boundary() {
        let cost = |n: u64| Loops::repeat(n, Loops::simple(223)).run;
        let n = largest(1 << 20, |n| cost(n) <= LOOP_LIMIT).expect("fits");
        assert!(cost(n) <= LOOP_LIMIT && cost(n + 1) > LOOP_LIMIT);
        assert_eq!(largest(5, |n| cost(n) <= LOOP_LIMIT), Some(5));
        assert_eq!(largest(5, |n| cost(n) <= 10), None);
    }

    #[test]
    fn check_reports_what_did_not_fit() {
        assert!(check("k", || "x".into(), LOOP_BUDGET, LOOP_BUDGET).is_ok());
        let e = check("softmax", || "a row of 10 values".into(), LOOP_BUDGET + 1, LOOP_BUDGET).unwrap_err();
        assert!(e.to_string().contains("softmax") && e.to_string().contains("a row of 10 values"));
    }
}

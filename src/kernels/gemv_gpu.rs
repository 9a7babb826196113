//! The GPU path's decode GEMV (`shaders/gemv_gpu.wgsl`): a workgroup of 64-256 lanes owns a few
//! weight rows and its lanes split K, so adjacent lanes read adjacent bytes and a dispatch has
//! thousands of lanes in flight; the lanes' partial sums meet through subgroups where the device
//! has them, else a tree in workgroup memory. x is read from its storage buffer.
//!
//! [`plan`] sizes a dispatch. What a real GPU needs, in the counters `webslm bench` reports
//! (`GpuStats`): at least [`SMALL_DISPATCH_INVOCATIONS`] lanes per dispatch where the layer has
//! that much work, and a short chain of weight loads per lane ([`WeightDispatch::serial_loads`],
//! the trips of the K loop). The tests print and check both on the shipped models' shapes.

use crate::gpu::{Batch, Capabilities, GpuError, GpuTensor, PipelineKey, WeightDispatch, SMALL_DISPATCH_INVOCATIONS};

use super::layout::OverrideSet;
use super::matmul::{Epilogue, Params};
use super::{dim_u32, loop_budget, shaders, GpuWeight};

/// Activation rows one dispatch serves (`M` in the WGSL: a partial sum is a vec4 of them).
pub const MAX_M: usize = 4;

/// The workgroup sizes [`plan`] picks from: 64 lanes is two to four subgroups on every
/// desktop GPU, 256 the most WebGPU guarantees.
pub const WORKGROUP_SIZES: [u32; 3] = [64, 128, 256];

/// Weight rows per workgroup the shader handles (`ROWS`).
pub const ROW_COUNTS: [u32; 3] = [1, 2, 4];

/// Size of the WGSL `red` array in vec4s: ROWS * WG partial sums (8 KiB).
const REDUCTION_SLOTS: u32 = 512;

/// A lane walks at most this many units before the workgroup is widened (when it can be).
const SERIAL_TARGET: u64 = 16;

/// How one dispatch of the GEMV is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemvPlan {
    /// Lanes per workgroup.
    pub workgroup: u32,
    /// Weight rows per workgroup.
    pub rows: u32,
    /// A lane's unit of K: a 32-weight chunk (true) or 4 weights.
    pub chunks: bool,
    /// Workgroups dispatched.
    pub workgroups: u32,
    /// Trips of the K loop of the busiest lane: its chain of weight loads.
    pub serial_loads: u64,
}

impl GemvPlan {
    pub fn invocations(&self) -> u64 {
        u64::from(self.workgroups) * u64::from(self.workgroup)
    }
}

/// Lays out `n` rows of `k` weights for a device.
///
/// - The unit is a whole chunk when every lane of a 64-lane workgroup gets one (k >= 2048 on a
///   32-multiple row); shorter rows give 8 lanes to each chunk, 4 weights each, so small layers
///   still have lanes enough (their decoders then read a block's scale once per 4 weights, from
///   cache).
/// - The workgroup widens while a lane would walk more than [`SERIAL_TARGET`] units.
/// - Rows per workgroup (each x load is reused for every row) shrink from 4 while the dispatch
///   would have fewer than [`SMALL_DISPATCH_INVOCATIONS`] lanes; with one row, the workgroup
///   widens while every lane still gets a unit.
pub fn plan(n: usize, k: usize, caps: &Capabilities) -> Result<GemvPlan, GpuError> {
    let limit = caps.max_invocations_per_workgroup.min(caps.max_workgroup_size_x);
    let sizes: Vec<u32> = WORKGROUP_SIZES.into_iter().filter(|&w| w <= limit).collect();
    let (Some(&smallest), Some(&largest)) = (sizes.first(), sizes.last()) else {
        return Err(GpuError::InvalidArgument(format!(
            "the GPU-path GEMV needs workgroups of {} lanes; this device allows {limit}",
            WORKGROUP_SIZES[0]
        )));
    };
    let mut wg = smallest;
    let chunks = k.is_multiple_of(32) && k / 32 >= wg as usize;
    let units = k.div_ceil(if chunks { 32 } else { 4 }) as u64;
    while units.div_ceil(u64::from(wg)) > SERIAL_TARGET && wg < largest {
        wg *= 2;
    }
    let lanes = |rows: u32, wg: u32| (n as u64).div_ceil(u64::from(rows)) * u64::from(wg);
    let mut rows = ROW_COUNTS[ROW_COUNTS.len() - 1];
    while rows > 1 && lanes(rows, wg) < SMALL_DISPATCH_INVOCATIONS {
        rows /= 2;
    }
    while rows == 1 && lanes(1, wg) < SMALL_DISPATCH_INVOCATIONS && wg < largest && units >= 2 * u64::from(wg) {
        wg *= 2;
    }
    rows = rows.min(REDUCTION_SLOTS / wg);
    let workgroups = dim_u32("GEMV workgroups", n.div_ceil(rows as usize))?;
    Ok(GemvPlan {
        workgroup: wg,
        rows,
        chunks,
        workgroups,
        serial_loads: units.div_ceil(u64::from(wg)),
    })
}

/// The `override` constants of one pipeline besides `WG`.
pub fn overrides(m: u32, rows: u32, chunks: bool, epilogue: u32, x_vec4: bool) -> OverrideSet {
    vec![
        ("M", f64::from(m)),
        ("ROWS", f64::from(rows)),
        ("CHUNKS", f64::from(u8::from(chunks))),
        ("EPILOGUE", f64::from(epilogue)),
        ("X_VEC4", f64::from(u8::from(x_vec4))),
    ]
}

/// Every override set [`gemv_gpu`] can pass (for tests/shaders_naga.rs). Chunks need k % 32 == 0,
/// so they always come with X_VEC4.
pub fn override_sets(_entry: &str) -> Vec<OverrideSet> {
    let mut sets = Vec::new();
    for m in 1..=MAX_M as u32 {
        for rows in ROW_COUNTS {
            for (chunks, x_vec4) in [(false, false), (false, true), (true, true)] {
                for epilogue in super::matmul::EPILOGUE_CODES {
                    sets.push(overrides(m, rows, chunks, epilogue, x_vec4));
                }
            }
        }
    }
    sets
}

/// The loops of one invocation: the K loop, then the reduction (the tree's log2(WG) halvings, or
/// the subgroup sums' combining loop over at most WG subgroups). `x4`'s and the decoders' 4- and
/// 8-trip loops are constant and unrolled.
pub fn loop_cost(plan: &GemvPlan, subgroups: bool) -> u64 {
    let reduce = match subgroups {
        true => loop_budget::Loops::simple(u64::from(plan.workgroup)),
        false => loop_budget::workgroup_reduce(u64::from(plan.workgroup)),
    };
    loop_budget::Loops::simple(plan.serial_loads).then(reduce).run
}

/// Records y[m, n] = x[m, k] W[n, k]^T (then `epilogue`) for m <= [`MAX_M`]; the caller has
/// checked the shapes (`matmul::matmul_full`). `gate` is the epilogue's gate, or x.
pub(super) fn gemv_gpu(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
    gate: &GpuTensor,
    epilogue: Epilogue<'_>,
) -> Result<(), GpuError> {
    let m = x.numel() / w.k.max(1);
    if m == 0 || m > MAX_M {
        return Err(GpuError::InvalidArgument(format!(
            "the GPU-path GEMV serves 1 to {MAX_M} activation rows, not {m}"
        )));
    }
    let caps = &batch.ctx().caps;
    let subgroups = caps.subgroups;
    let epilogue_code = epilogue.code()?;
    // Rows of x start on vec4s when k % 4 == 0 (every real model); then x is read as vec4s and a
    // 16-byte stand-in fills the vec4 binding otherwise (a binding must hold a whole vec4).
    let x_vec4 = w.k.is_multiple_of(4);
    let stand_in = match x_vec4 {
        true => None,
        false => Some(batch.ctx().tensor(&[4], crate::gpu::DType::F32)?),
    };
    for part in &w.parts {
        let plan = plan(part.rows, w.k, caps)?;
        loop_budget::check(
            "gemv_gpu",
            || format!("rows of {} weights", w.k),
            loop_cost(&plan, subgroups),
            caps.loop_budget,
        )?;
        let params = Params::for_part(m, w, part, &epilogue)?;
        let overrides = overrides(params.m, plan.rows, plan.chunks, epilogue_code, x_vec4);
        let key = PipelineKey {
            kernel: "gemv_gpu",
            variant: format!(
                "{}_m{m}_r{}_c{}_e{epilogue_code}_v{}_sg{}",
                w.variant.name(),
                plan.rows,
                u8::from(plan.chunks),
                u8::from(x_vec4),
                u8::from(subgroups)
            ),
            workgroup: plan.workgroup,
        };
        let source = || shaders::gemv_gpu(w.variant, subgroups);
        let pipeline = batch.ctx().pipeline_with(key, "gemv_gpu", &overrides, source)?;
        let buffers = super::matmul::part_bindings(part, x, y, gate, stand_in.as_ref());
        batch.dispatch_at(&pipeline, bytemuck::bytes_of(&params), &buffers, plan.workgroups)?;
        // The weights are streamed once for all m activation rows.
        batch.ctx().stats.read_weights_by(WeightDispatch {
            bytes: part.buffer.size(),
            invocations: plan.invocations(),
            serial_loads: plan.serial_loads,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caps() -> Capabilities {
        Capabilities::from_adapter(
            &wgpu::AdapterInfo::new(wgpu::DeviceType::DiscreteGpu, wgpu::Backend::Vulkan),
            wgpu::Features::SUBGROUP,
            &wgpu::Limits::default(),
        )
    }

    #[test]
    fn small_layers_split_chunks_and_big_ones_keep_four_rows() {
        let c = caps();
        // SmolLM2's K projection: 192 rows of 576: 4-weight units, one row per workgroup.
        let p = plan(192, 576, &c).unwrap();
        assert_eq!((p.chunks, p.rows, p.workgroup), (false, 1, 64));
        assert!(p.invocations() >= SMALL_DISPATCH_INVOCATIONS);
        // Qwen2.5's FFN down projection: 896 rows of 4864: whole chunks, 3 per lane.
        let p = plan(896, 4864, &c).unwrap();
        assert_eq!((p.chunks, p.rows, p.serial_loads), (true, 4, 3));
        // A tiny test layer has no lanes to fill a GPU: it does not pretend to.
        let p = plan(5, 37, &c).unwrap();
        assert_eq!((p.rows, p.workgroup, p.workgroups), (1, 64, 5));
    }

    #[test]
    fn devices_with_small_workgroups_are_refused_in_words() {
        let mut c = caps();
        c.max_invocations_per_workgroup = 32;
        let e = plan(10, 64, &c).unwrap_err();
        assert!(e.to_string().contains("64 lanes"), "{e}");
    }
}

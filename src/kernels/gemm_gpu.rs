//! Prefill GEMM for the real-GPU kernel path (`KernelPath::Gpu`): 32 x 32 output tiles staged
//! through workgroup memory (`shaders/gemm_gpu.wgsl` says how the tile is worked).
//!
//! The software path's `gemm` (matmul.wgsl) decodes every weight once per 4 tokens from registers
//! alone, the optimum on CPU emulators, where workgroup memory and barriers are slow. A real GPU
//! has fast workgroup memory and wants many lanes cooperating: here each weight block is decoded
//! once per 32 tokens, into the tile, and each x value is read once per 32 weight rows.
//!
//! The weight tile holds f16 where the device has `shader-f16` (half the workgroup memory, and
//! f16 loads), except for F32 and BF16 weights, whose values f16 would overflow or flush; block
//! formats (d * q, with d an f16) and F16 then round each decoded weight to f16 once, as
//! llama.cpp's WebGPU backend does. x and the accumulators stay f32: activations outrange f16.

use crate::formats::quant::WeightFormat;
use crate::gpu::{Batch, Capabilities, DType, GpuError, GpuTensor, KernelPath, PipelineKey, WeightDispatch};

use super::layout::OverrideSet;
use super::loop_budget::Loops;
use super::matmul::{Epilogue, Params, EPILOGUE_CODES};
use super::weights::Precision;
use super::{dim_u32, shaders, GpuWeight};

/// Outputs per tile side: 32 tokens x 32 weight rows.
pub const TILE: usize = 32;
/// Lanes per workgroup: 8 x 8, each accumulating a 4 x 4 block (the WGSL assumes exactly this).
pub const THREADS: u32 = 64;
/// vec4s per tile row in workgroup memory: 8 for 32 values, 1 of padding (see the WGSL).
const PITCH: u64 = 9;
/// The WGSL entry point.
pub const ENTRY: &str = "gemm_tiled";

/// Fewest activation rows for which the GPU path uses the tile: a decode batch (one row per
/// sequence) below this would leave most of a 32-row tile empty, and goes to a GEMV.
pub const MIN_ROWS: usize = 8;

/// Whether the weight tile is f16 on this device for this format (module docs).
pub fn f16_tile(caps: &Capabilities, format: WeightFormat) -> bool {
    caps.shader_f16 && !matches!(format, WeightFormat::F32 | WeightFormat::BF16)
}

/// Workgroup memory of one tile pair: x in f32, weights in f16 or f32.
pub fn workgroup_bytes(f16_tile: bool) -> u64 {
    let rows = TILE as u64 * PITCH;
    rows * 16 + rows * if f16_tile { 8 } else { 16 }
}

/// Whether `w`'s tile is f16: where its format allows and its precision does not forbid it.
fn weight_tile_f16(caps: &Capabilities, w: &GpuWeight) -> bool {
    f16_tile(caps, w.format) && w.precision == Precision::F16Tile
}

/// Whether the device can run the tile (f16 or f32 weights): workgroup memory and lanes.
pub fn fits(caps: &Capabilities, f16_tile: bool) -> bool {
    workgroup_bytes(f16_tile) <= u64::from(caps.max_workgroup_storage)
        && THREADS <= caps.max_invocations_per_workgroup
        && THREADS <= caps.max_workgroup_size_x
}

/// Whether [`super::matmul::matmul`] should pick the tile for an `m`-row product with `w`.
pub fn chosen(caps: &Capabilities, w: &GpuWeight, m: usize) -> bool {
    caps.kernels.path == KernelPath::Gpu && m >= MIN_ROWS && fits(caps, weight_tile_f16(caps, w))
}

/// The loops of one invocation (mirroring the WGSL): one trip per 32-wide K step, each holding the
/// 8-trip staging and multiply loops (constant, so unrolled, but counted to err on the safe side).
pub fn loops(k: usize) -> Loops {
    Loops::repeat(k.div_ceil(TILE) as u64, Loops::simple(8).times(3))
}

/// The `override` constants besides `WG` (matmul.wgsl's, less the GEMV's uniform x).
pub fn overrides(epilogue: u32, chunks: bool, x_vec4: bool) -> OverrideSet {
    vec![
        ("CHUNKS", f64::from(u8::from(chunks))),
        ("EPILOGUE", f64::from(epilogue)),
        ("X_VEC4", f64::from(u8::from(x_vec4))),
    ]
}

/// Every override set [`record`] can pass (for tests/shaders_naga.rs).
pub fn override_sets(_entry: &str) -> Vec<OverrideSet> {
    let mut sets = Vec::new();
    for epilogue in EPILOGUE_CODES {
        for chunks in [false, true] {
            for x_vec4 in [false, true] {
                sets.push(overrides(epilogue, chunks, x_vec4));
            }
        }
    }
    sets
}

/// Records y[m, n] (then `epilogue`, `gate` bound for it) = x[m, k] W^T with the tile.
/// The caller (`matmul_full`) has checked the shapes.
pub(super) fn record(
    batch: &mut Batch<'_>,
    x: &GpuTensor,
    w: &GpuWeight,
    y: &GpuTensor,
    gate: &GpuTensor,
    epilogue: &Epilogue<'_>,
) -> Result<(), GpuError> {
    let epilogue_code = epilogue.code()?;
    let caps = &batch.ctx().caps;
    let f16 = weight_tile_f16(caps, w);
    if !fits(caps, f16) {
        return Err(GpuError::TooLarge {
            what: format!("the tiled GEMM's {THREADS}-lane workgroup and its tiles"),
            needed: workgroup_bytes(f16),
            limit: u64::from(caps.max_workgroup_storage),
        });
    }
    let m = x.numel() / w.k;
    let k_steps = w.k.div_ceil(TILE);
    super::loop_budget::check(
        ENTRY,
        || format!("rows of {} weights", w.k),
        loops(w.k).run,
        caps.loop_budget,
    )?;
    // As matmul: whole 32-weight chunks whenever the row allows, x as vec4s when rows start on
    // them (else a 16-byte stand-in fills the vec4 binding).
    let chunks = w.k.is_multiple_of(32);
    let x_vec4 = w.k.is_multiple_of(4);
    let stand_in = match x_vec4 {
        true => None,
        false => Some(batch.ctx().tensor(&[4], DType::F32)?),
    };
    let overrides = overrides(epilogue_code, chunks, x_vec4);
    let variant = format!(
        "{}_t{}_e{epilogue_code}_v{}_c{}",
        w.variant.name(),
        if f16 { 16 } else { 32 },
        u8::from(x_vec4),
        u8::from(chunks)
    );
    let key = PipelineKey {
        kernel: ENTRY,
        variant,
        workgroup: THREADS,
    };
    let source = || shaders::with_weights_tiled(shaders::GEMM_GPU, w.variant, f16);
    let pipeline = batch.ctx().pipeline_with(key, ENTRY, &overrides, source)?;
    let m_tiles = m.div_ceil(TILE);
    for part in &w.parts {
        let params = Params::for_part(m, w, part, epilogue)?;
        let workgroups = dim_u32("tiled GEMM workgroups", m_tiles * part.rows.div_ceil(TILE))?;
        let buffers = super::matmul::part_bindings(part, x, y, gate, stand_in.as_ref());
        batch.dispatch_at(&pipeline, bytemuck::bytes_of(&params), &buffers, workgroups)?;
        // Each row of tiles fetches the whole part once; each lane's K loop loads one weight
        // step per trip.
        batch.ctx().stats.read_weights_by(WeightDispatch {
            bytes: part.buffer.size() * m_tiles as u64,
            invocations: u64::from(workgroups) * u64::from(THREADS),
            serial_loads: k_steps as u64,
        });
    }
    Ok(())
}

//! Bad arguments and a lost device come back as typed errors, never panics.

mod common;

use common::gpu;
use webslm::formats::quant::{random_weights, WeightFormat};
use webslm::gpu::{Batch, DType, GpuContext, GpuError, GpuOptions};
use webslm::kernels::{attention::attention, matmul::matmul, topk::top_k, GpuWeight};
use webslm::ops::AttentionParams;

#[test]
fn weight_with_wrong_size_or_block_alignment_is_rejected() {
    let Some(ctx) = gpu() else { return };
    let bytes = random_weights(WeightFormat::Q8_0, 4, 64, 1);
    let short = GpuWeight::upload(ctx, "w", WeightFormat::Q8_0, 4, 64, &bytes[..bytes.len() - 1]);
    assert!(
        matches!(short, Err(GpuError::InvalidArgument(ref m)) if m.contains("bytes")),
        "truncated weight"
    );
    let unaligned = GpuWeight::upload(ctx, "w", WeightFormat::Q4_K, 1, 100, &[0; 100]);
    assert!(
        matches!(unaligned, Err(GpuError::InvalidArgument(_))),
        "k not a multiple of 256"
    );
    let empty = GpuWeight::upload(ctx, "w", WeightFormat::F32, 0, 8, &[]);
    assert!(empty.is_err(), "empty weight");
}

#[test]
fn kernel_shape_mismatches_are_errors() {
    let Some(ctx) = gpu() else { return };
    let w = GpuWeight::upload(
        ctx,
        "w",
        WeightFormat::F32,
        3,
        5,
        &random_weights(WeightFormat::F32, 3, 5, 1),
    )
    .unwrap();
    let x = ctx.upload_f32(&[0.0; 7], &[7]).unwrap();
    let y = ctx.tensor(&[1, 3], DType::F32).unwrap();
    let mut batch = Batch::new(ctx).unwrap();
    assert!(
        matches!(matmul(&mut batch, &x, &w, &y), Err(GpuError::InvalidArgument(_))),
        "x not a multiple of k"
    );
    assert!(matches!(top_k(&mut batch, &x, 0), Err(GpuError::InvalidArgument(_))));
    assert!(matches!(top_k(&mut batch, &x, 65), Err(GpuError::InvalidArgument(_))));
    let p = AttentionParams {
        batch: 1,
        q_len: 1,
        kv_len: 1,
        kv_cap: 1,
        n_head: 1,
        n_kv_head: 1,
        head_dim: 6,
        pos0: 0,
        causal: true,
        window: 0,
        softcap: 0.0,
        scale: 1.0,
    };
    let t = ctx.upload_f32(&[0.0; 6], &[6]).unwrap();
    assert!(
        matches!(
            attention(&mut batch, &t, &t, &t, None, &p),
            Err(GpuError::InvalidArgument(_))
        ),
        "head_dim 6"
    );
    let p = AttentionParams {
        head_dim: 4,
        kv_len: 9,
        kv_cap: 4,
        ..p
    };
    let t = ctx.upload_f32(&[0.0; 16], &[16]).unwrap();
    assert!(
        attention(&mut batch, &t, &t, &t, None, &p).is_err(),
        "9 positions in 4 slots without a window"
    );
    assert!(ctx.upload_f32(&[1.0, 2.0], &[3]).is_err(), "data does not fill shape");
}

#[test]
fn tensor_over_the_binding_limit_is_too_large() {
    let Some(ctx) = gpu() else { return };
    let huge = ctx.caps.max_binding_bytes() as usize;
    assert!(matches!(
        ctx.tensor(&[huge], DType::F32),
        Err(GpuError::TooLarge { .. })
    ));
}

#[test]
fn lost_device_is_a_typed_error() {
    if gpu().is_none() {
        return;
    }
    // A device of its own: destroying it must not disturb the other tests.
    let ctx = GpuContext::new_blocking(GpuOptions::default()).expect("second device");
    ctx.device.destroy();
    let _ = ctx.wait_idle();
    let result = Batch::new(&ctx).map(|_| ());
    match result {
        Err(GpuError::DeviceLost(reason)) => assert!(!reason.is_empty()),
        Err(other) => panic!("expected DeviceLost, got {other}"),
        Ok(()) => panic!("a destroyed device accepted new work"),
    }
}

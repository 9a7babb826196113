//! The GPU path's fused q/k norm + RoPE + KV-cache store (`kernels::rope_kv`) against its CPU
//! twin (the software path's norm, rope and kv append twins composed), on shapes with ragged
//! heads (more units than a workgroup has lanes, partial rotary dims), rings that wrap inside a
//! chunk, both RoPE layouts, both norm kinds and both cache formats.
//! Tolerances: queries f32 1e-4 relative (the project's f32 bound); cached keys one f16 step
//! (2^-10 relative) on top of that, since a value within 1e-4 of the twin's may round to the
//! neighbouring f16, and at least 99% of the key words bit for bit; values are copied, so exact.

mod common;

use common::{assert_close, gpu};
use webslm::cpu;
use webslm::cpu::rope_kv::{Cache, RopeKvShape};
use webslm::formats::quant::f16_to_f32;
use webslm::gpu::Batch;
use webslm::kernels::rope_kv::{rope_kv, QkNorm, RopeKv};
use webslm::ops::{NormKind, RopeLayout};
use webslm::rng::Rng;

const F32_TOL: f32 = 1e-4;
const F16_KEY_TOL: f32 = F32_TOL + 1.0 / 1024.0;

fn unpack(words: &[u32]) -> Vec<f32> {
    words
        .iter()
        .flat_map(|&w| [f16_to_f32(w as u16), f16_to_f32((w >> 16) as u16)])
        .collect()
}

struct Case {
    layout: RopeLayout,
    seq: usize,
    heads: (usize, usize),
    head_dim: usize,
    rot_dims: usize,
    pos0: usize,
    cap: usize,
    norm: Option<NormKind>,
    f16: bool,
}

fn check(c: &Case, rng: &mut Rng) {
    let Some(ctx) = gpu() else { return };
    let (nh, nkv, hd) = (c.heads.0, c.heads.1, c.head_dim);
    let row = nkv * hd;
    let mut q = rng.vec_f32(c.seq * nh * hd, -2.0, 2.0);
    let k = rng.vec_f32(c.seq * row, -2.0, 2.0);
    let v = rng.vec_f32(c.seq * row, -2.0, 2.0);
    let inv_freq = webslm::ops::rope_inv_freq(c.rot_dims, 10000.0);
    let (qw, kw) = (rng.vec_f32(hd, -1.0, 1.0), rng.vec_f32(hd, -1.0, 1.0));
    let start = rng.vec_f32(c.cap * row, -1.0, 1.0);
    let eps = 1e-6;

    let qt = ctx.upload_f32(&q, &[c.seq, nh * hd]).unwrap();
    let kt = ctx.upload_f32(&k, &[c.seq, row]).unwrap();
    let vt = ctx.upload_f32(&v, &[c.seq, row]).unwrap();
    let ft = ctx.upload_f32(&inv_freq, &[c.rot_dims / 2]).unwrap();
    let (qwt, kwt) = (ctx.upload_f32(&qw, &[hd]).unwrap(), ctx.upload_f32(&kw, &[hd]).unwrap());
    let (kc, vc) = match c.f16 {
        true => (
            ctx.upload_f16(&cpu::kv::pack_f16(&start), &[c.cap, row]).unwrap(),
            ctx.upload_f16(&cpu::kv::pack_f16(&start), &[c.cap, row]).unwrap(),
        ),
        false => (
            ctx.upload_f32(&start, &[c.cap, row]).unwrap(),
            ctx.upload_f32(&start, &[c.cap, row]).unwrap(),
        ),
    };
    let mut batch = Batch::new(ctx).unwrap();
    let args = RopeKv {
        q: &qt,
        k: &kt,
        v: &vt,
        n_head: nh,
        n_kv_head: nkv,
        head_dim: hd,
        inv_freq: &ft,
        layout: c.layout,
        qk_norm: c.norm.map(|kind| QkNorm {
            kind,
            q: &qwt,
            k: &kwt,
            eps,
        }),
        kc: &kc,
        vc: &vc,
        cap: c.cap,
        pos0: c.pos0,
    };
    rope_kv(&mut batch, &args).unwrap();
    assert_eq!(batch.dispatch_count(), 1, "one dispatch");
    batch.submit().unwrap();

    let shape = RopeKvShape {
        seq: c.seq,
        n_head: nh,
        n_kv_head: nkv,
        head_dim: hd,
        inv_freq: &inv_freq,
        neox: c.layout == RopeLayout::Neox,
        pos0: c.pos0,
    };
    let norm = c.norm.map(|kind| (&qw[..], &kw[..], eps, kind == NormKind::RmsPlusOne));
    let what = format!(
        "{:?} seq={} heads={nh}/{nkv}x{hd} rot={} pos0={} cap={} norm={:?} f16={}",
        c.layout, c.seq, c.rot_dims, c.pos0, c.cap, c.norm, c.f16
    );
    if c.f16 {
        let (mut wk, mut wv) = (cpu::kv::pack_f16(&start), cpu::kv::pack_f16(&start));
        let cache = Cache::F16 { k: &mut wk, v: &mut wv };
        cpu::rope_kv::rope_kv(&shape, &mut q, &k, &v, norm, cache, c.cap);
        let got_k = ctx.read_u32_blocking(&kc).unwrap();
        assert_close(&unpack(&got_k), &unpack(&wk), F16_KEY_TOL, &format!("{what} keys"));
        let exact = got_k.iter().zip(&wk).filter(|(g, w)| g == w).count();
        assert!(
            exact * 100 >= wk.len() * 99,
            "{what}: {exact} of {} key words exact",
            wk.len()
        );
        assert_eq!(ctx.read_u32_blocking(&vc).unwrap(), wv, "{what} values");
    } else {
        let (mut wk, mut wv) = (start.clone(), start.clone());
        let cache = Cache::F32 { k: &mut wk, v: &mut wv };
        cpu::rope_kv::rope_kv(&shape, &mut q, &k, &v, norm, cache, c.cap);
        assert_close(
            &ctx.read_f32_blocking(&kc).unwrap(),
            &wk,
            F32_TOL,
            &format!("{what} keys"),
        );
        assert_eq!(ctx.read_f32_blocking(&vc).unwrap(), wv, "{what} values");
    }
    assert_close(
        &ctx.read_f32_blocking(&qt).unwrap(),
        &q,
        F32_TOL,
        &format!("{what} queries"),
    );
}

#[test]
fn rope_kv_matches_composed_twins() {
    let mut rng = Rng::new(16);
    let case = |layout, seq, heads, head_dim, rot_dims, pos0, cap, norm, f16| Case {
        layout,
        seq,
        heads,
        head_dim,
        rot_dims,
        pos0,
        cap,
        norm,
        f16,
    };
    use NormKind::{Rms, RmsPlusOne};
    use RopeLayout::{Neox, Normal};
    for c in [
        // SmolLM2's decode step; Gemma 3's (head_dim 256, 1 KV head, q/k norm) far along a ring.
        case(Normal, 1, (9, 3), 64, 64, 41, 100, None, true),
        case(Neox, 1, (4, 1), 256, 256, 700, 520, Some(RmsPlusOne), true),
        // Prefill chunks wrapping the ring, partial rotary, ragged heads.
        case(Normal, 7, (5, 1), 20, 12, 5, 9, Some(Rms), true),
        case(Neox, 13, (14, 2), 80, 32, 250, 13, Some(Rms), false),
        // 129 units per head: more than the 64 lanes, rotary pairs (65) past the lanes too.
        case(Neox, 3, (3, 3), 258, 130, 3, 5, Some(RmsPlusOne), true),
        case(Normal, 2, (2, 1), 258, 130, 3001, 7, None, false),
    ] {
        check(&c, &mut rng);
    }
}

/// Shapes the kernel cannot serve are typed errors, not wrong writes.
#[test]
fn rope_kv_rejects_bad_shapes() {
    let Some(ctx) = gpu() else { return };
    let t = |n: usize| ctx.upload_f32(&vec![0.0; n], &[n]).unwrap();
    // Two tokens of 2 query heads and 1 KV head of 8, into 2 slots.
    let (q, k, f, kc16) = (t(32), t(16), t(2), ctx.upload_f16(&[0; 8], &[16]).unwrap());
    let args = |kc| RopeKv {
        q: &q,
        k: &k,
        v: &k,
        n_head: 2,
        n_kv_head: 1,
        head_dim: 8,
        inv_freq: &f,
        layout: RopeLayout::Normal,
        qk_norm: None,
        kc,
        vc: &kc16,
        cap: 2,
        pos0: 0,
    };
    let mut batch = Batch::new(ctx).unwrap();
    // An f32 key cache beside an f16 value cache.
    let kc32 = t(16);
    assert!(rope_kv(&mut batch, &args(&kc32)).is_err());
    // A LayerNorm is no per-head q/k norm.
    let w = t(8);
    let mut a = args(&kc16);
    a.qk_norm = Some(QkNorm {
        kind: NormKind::Layer,
        q: &w,
        k: &w,
        eps: 1e-6,
    });
    assert!(rope_kv(&mut batch, &a).is_err());
    // Two new rows into one slot.
    let mut a = args(&kc16);
    a.cap = 1;
    assert!(rope_kv(&mut batch, &a).is_err());
    assert_eq!(batch.dispatch_count(), 0);
}

// Prepended to every kernel. `WG` (workgroup size) is a pipeline-overridable constant that the
// host sets from the pipeline key, so one WGSL text serves every workgroup size.
override WG: u32 = 64u;

// Large dispatches are folded into 2D when they exceed maxComputeWorkgroupsPerDimension (see
// gpu/dispatch.rs); this recovers the linear invocation index.
fn linear_id(g: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return g.x + g.y * nwg.x * WG;
}

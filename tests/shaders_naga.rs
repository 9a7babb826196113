//! Every WGSL kernel checked without a GPU, through naga (the compiler wgpu itself runs):
//! - each module the host can assemble (every weight variant) parses and validates;
//! - each entry point with each `override` set and workgroup size the host can pass resolves its
//!   overrides, revalidates, and translates to SPIR-V (what wgpu does on Vulkan);
//! - each WGSL `Params` struct has the size and the field names and offsets of its Rust twin.
//!
//! The pipelines come from `webslm::kernels::layout::FAMILIES` and the host's own enumerations
//! (`WeightVariant::all`, `matmul::override_sets`, `workgroup_size`), not from a copied list.

use std::path::Path;

use naga::back::spv;
use naga::valid::{Capabilities, ModuleInfo, ValidationFlags, Validator};
use naga::{Module, ShaderStage, TypeInner};
use webslm::kernels::layout::{Assembly, KernelFamily, ParamsLayout, FAMILIES};
use webslm::kernels::shaders::WeightVariant;

/// Parses and validates one assembled module with what every WebGPU device offers
/// (`unpack2x16float`: wgpu grants it from the downlevel flags); native-f16 modules and those with
/// f16 workgroup tiles (which open with `enable f16;`) also need the `shader-f16` feature, and
/// subgroup modules the `subgroups` feature (what wgpu grants for it: subgroup operations and
/// builtins in compute shaders).
fn compile(source: &str, variant: Option<WeightVariant>, subgroups: bool) -> Result<(Module, ModuleInfo), String> {
    let module = naga::front::wgsl::parse_str(source).map_err(|e| e.emit_to_string(source))?;
    let mut caps = Capabilities::SHADER_FLOAT16_IN_FLOAT32;
    if variant.is_some_and(|v| v.native_f16) || source.starts_with("enable f16;") {
        caps |= Capabilities::SHADER_FLOAT16;
    }
    let mut validator = Validator::new(ValidationFlags::all(), caps);
    if subgroups {
        validator = Validator::new(ValidationFlags::all(), caps | Capabilities::SUBGROUP);
        validator
            .subgroup_stages(naga::valid::ShaderStages::COMPUTE)
            .subgroup_operations(naga::valid::SubgroupOperationSet::all());
    }
    let info = validator.validate(&module).map_err(|e| e.emit_to_string(source))?;
    Ok((module, info))
}

fn needs_subgroups(family: &KernelFamily) -> bool {
    matches!(family.assembly, Assembly::Cooperative { subgroups: true })
}

/// Resolves the overrides of one pipeline for `entry` and writes its SPIR-V.
fn pipeline(module: &Module, info: &ModuleInfo, entry: &str, constants: &[(&str, f64)]) -> Result<(), String> {
    if !module
        .entry_points
        .iter()
        .any(|e| e.name == entry && e.stage == ShaderStage::Compute)
    {
        return Err(format!("no compute entry point {entry}"));
    }
    let constants: naga::back::PipelineConstants = constants.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    let (module, info) = naga::back::pipeline_constants::process_overrides(
        module,
        info,
        Some((ShaderStage::Compute, entry)),
        &constants,
    )
    .map_err(|e| format!("overrides: {e}"))?;
    let options = spv::PipelineOptions {
        shader_stage: ShaderStage::Compute,
        entry_point: entry.to_string(),
    };
    spv::write_vec(&module, &info, &spv::Options::default(), Some(&options)).map_err(|e| format!("SPIR-V: {e}"))?;
    Ok(())
}

#[test]
fn every_kernel_variant_validates_with_every_override_set() {
    let mut failures = Vec::new();
    let mut pipelines = 0;
    for family in FAMILIES {
        for (variant, source) in family.modules() {
            let what = format!("{} ({})", family.file, variant.map(|v| v.name()).unwrap_or("-".into()));
            let (module, info) = match compile(&source, variant, needs_subgroups(family)) {
                Ok(m) => m,
                Err(e) => {
                    failures.push(format!("{what}: {e}"));
                    continue;
                }
            };
            for entry in family.entries {
                for set in (family.overrides)(entry) {
                    for wg in family.workgroup_sizes() {
                        let mut constants = vec![("WG", f64::from(wg))];
                        constants.extend_from_slice(&set);
                        pipelines += 1;
                        if let Err(e) = pipeline(&module, &info, entry, &constants) {
                            failures.push(format!("{what} {entry} {constants:?}: {e}"));
                        }
                    }
                }
            }
        }
    }
    println!("{pipelines} pipelines checked");
    assert!(
        failures.is_empty(),
        "{} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // matmul alone is 10 weight variants x 60 override sets x 3 workgroup sizes.
    assert!(
        pipelines >= 1800,
        "only {pipelines} pipelines: the enumeration lost some"
    );
}

/// The WGSL struct `Params` of a module, as (size, [(field, offset)]).
fn wgsl_params(module: &Module) -> Option<ParamsLayout> {
    module.types.iter().find_map(|(_, ty)| match (&ty.name, &ty.inner) {
        (Some(name), TypeInner::Struct { members, span }) if name == "Params" => Some(ParamsLayout {
            size: *span as usize,
            fields: members
                .iter()
                .map(|m| (m.name.clone().unwrap_or_default(), m.offset as usize))
                .collect(),
        }),
        _ => None,
    })
}

#[test]
fn every_wgsl_params_struct_matches_its_rust_twin() {
    let mut failures = Vec::new();
    for family in FAMILIES {
        let Some((variant, source)) = family.modules().into_iter().next() else {
            failures.push(format!("{}: no module", family.file));
            continue;
        };
        let module = match compile(&source, variant, needs_subgroups(family)) {
            Ok((m, _)) => m,
            Err(e) => {
                failures.push(format!("{}: {e}", family.file));
                continue;
            }
        };
        let host = (family.params)();
        match wgsl_params(&module) {
            None => failures.push(format!("{}: no struct Params", family.file)),
            Some(wgsl) if wgsl != host => failures.push(format!("{}:\n  WGSL {wgsl:?}\n  Rust {host:?}", family.file)),
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "Params layouts differ:\n{}", failures.join("\n"));
}

/// A new shader file with an entry point must join the table, or none of the above sees it.
#[test]
fn every_shader_with_an_entry_point_is_in_the_table() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("shaders/") {
        let path = entry.expect("shaders/ entry").path();
        let text = std::fs::read_to_string(&path).expect("a WGSL file");
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if text.contains("@compute") && !FAMILIES.iter().any(|f: &KernelFamily| f.file == name) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "not in kernels::layout::FAMILIES: {missing:?}");
}

//! A catalogue id through a local hub mirror (scripts/serve.mjs's /hub/, the hub's
//! `/<repo>/resolve/<commit>/<file>` layout, serving models/all-minilm-l6-v2): `webslm embed
//! --model all-minilm-l6-v2` with `WEBSLM_HUB` and an empty cache downloads every file, checks it
//! against the catalogue, and embeds exactly as the local folder does; a mirror serving corrupted
//! bytes is an IntegrityError that leaves nothing of the file in the cache; a decoder's GGUF
//! variant (`smollm2-135m-instruct:q4_1`, the file scripts/fetch-models.sh fetches) downloads as
//! one file and gives the local file's logits.

#[path = "common_formats/mod.rs"]
mod common_formats;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use sha2::Digest;
use webslm::catalogue::Catalogue;

const ID: &str = "all-minilm-l6-v2";

/// The test server, stopped when dropped (even when an assertion fails).
struct Mirror {
    child: Child,
    origin: String,
}

impl Drop for Mirror {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `node scripts/serve.mjs 0` on a free port; None (with the reason printed) without node,
/// unless CI requires it.
fn start_mirror() -> Option<Mirror> {
    let root = env!("CARGO_MANIFEST_DIR");
    let child = Command::new("node")
        .args(["scripts/serve.mjs", "0"])
        .current_dir(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("node: {e}"),
        Err(e) => {
            eprintln!("SKIPPED hub_mirror: node could not run ({e})");
            return None;
        }
    };
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server prints its address");
    // "webslm demos: http://127.0.0.1:PORT/www/ (...)"
    let start = line.find("http://").unwrap_or_else(|| panic!("no address in {line:?}"));
    let origin = line[start..].split("/www/").next().unwrap_or_default().to_string();
    Some(Mirror { child, origin })
}

fn webslm(args: &[&str], cache: &Path, hub: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_webslm"))
        .args(args)
        .env("WEBSLM_CACHE", cache)
        .env("WEBSLM_HUB", hub)
        .env_remove("HF_TOKEN")
        .output()
        .expect("the webslm binary runs")
}

fn embeddings(out: &Output) -> Vec<Vec<f64>> {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    serde_json::from_value(v["embeddings"].clone()).expect("embeddings")
}

fn sha256_hex(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn catalogue_id_loads_through_a_local_hub_mirror() {
    let Some(models) = common_formats::models_dir("hub_mirror") else {
        return;
    };
    let local = models.join(ID);
    let catalogue = Catalogue::builtin().expect("models.json parses");
    let entry = catalogue.get(ID).expect("MiniLM is in the catalogue");

    // The copy fetched here is the catalogue's, file for file (what the mirror serves).
    for f in &entry.default.files {
        let path = local.join(&f.path);
        assert_eq!(Some(sha256_hex(&path)), f.sha256, "{}", f.path);
        assert_eq!(std::fs::metadata(&path).map(|m| m.len()).ok(), f.size, "{}", f.path);
    }

    let Some(mirror) = start_mirror() else {
        return;
    };
    let cache = std::env::temp_dir().join(format!("webslm-hub-mirror-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let text = ["embed", "--text", "A mirror of the hub, on this machine.", "--model"];
    let hub = format!("{}/hub", mirror.origin);

    // An empty cache: every file comes from the mirror, and embeds as the local folder does.
    let got = embeddings(&webslm(&[&text[..], &[ID]].concat(), &cache, &hub));
    let local_arg = local.to_string_lossy();
    let want = embeddings(&webslm(&[&text[..], &[&local_arg]].concat(), &cache, &hub));
    assert_eq!(
        got, want,
        "the mirrored download embeds differently from the local copy"
    );
    let dir: PathBuf = cache.join(ID).join(&entry.default.id);
    for f in &entry.default.files {
        assert!(dir.join(&f.path).is_file(), "{} was not cached", f.path);
    }

    // The weights again from a mirror that flips one byte: IntegrityError, nothing left behind.
    let weights = dir.join("model.safetensors");
    std::fs::remove_file(&weights).expect("remove the cached weights");
    let out = webslm(
        &[&text[..], &[ID]].concat(),
        &cache,
        &format!("{}/corrupt/hub", mirror.origin),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a corrupted download must fail");
    assert!(stderr.contains("IntegrityError: model.safetensors: sha256"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!weights.exists(), "the corrupted weights were cached");
    assert!(
        !dir.join("model.safetensors.part").exists(),
        "a partial download was left"
    );

    // A mirror without the files (HTTP 404) fails naming the URL it asked for.
    let out = webslm(
        &[&text[..], &[ID]].concat(),
        &cache,
        &format!("{}/nowhere", mirror.origin),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!("could not download {}/nowhere/", mirror.origin)),
        "{stderr}"
    );

    // A decoder's GGUF variant is one file: resolved to it, and its logits are the local file's.
    let (gguf_id, gguf) = ("smollm2-135m-instruct:q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf");
    let (_, variant) = catalogue.lookup(gguf_id).expect("the Q4_1 variant");
    assert_eq!(variant.gguf().map(|f| f.path.as_str()), Some(gguf));
    let logits = [
        "logits",
        "--prompt",
        "The capital of France is",
        "--top",
        "3",
        "--model",
    ];
    let out = webslm(&[&logits[..], &[gguf_id]].concat(), &cache, &hub);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let local_gguf = models.join(gguf);
    let want = webslm(&[&logits[..], &[&local_gguf.to_string_lossy()]].concat(), &cache, &hub);
    assert_eq!(
        out.stdout, want.stdout,
        "the mirrored GGUF scores differently from the local copy"
    );
    assert!(cache.join("smollm2-135m-instruct").join("q4_1").join(gguf).is_file());

    // A gated model refused (HTTP 401, as the hub answers without an accepted licence) names the
    // licence page.
    let gated = catalogue.models.iter().find(|m| m.gated).expect("a gated entry");
    let page = gated
        .license_url
        .as_deref()
        .expect("a gated entry names its licence page");
    let args = ["tokenize", "--text", "hi", "--model", gated.id.as_str()];
    let out = webslm(&args, &cache, &format!("{}/gated", mirror.origin));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(&format!(
            "(HTTP 401): {} is gated: accept its licence at {page}",
            gated.repo
        )),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&cache);
}

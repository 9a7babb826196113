//! A downloaded file checked against its catalogue entry: the exact size first (free), then the
//! sha256 streamed in 1 MiB reads (a GGUF is hundreds of MB; it is never held whole). A file that
//! fails is deleted, so nothing unverified stays in the cache.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{CatalogueError, CatalogueFile};

/// Checks `path` against `want`'s size and sha256 (when the catalogue has one), removing the file
/// on a mismatch.
pub fn verify_file(path: &Path, want: &CatalogueFile) -> Result<(), CatalogueError> {
    let result = check(path, want);
    if matches!(result, Err(CatalogueError::Integrity { .. })) {
        let _ = std::fs::remove_file(path);
    }
    result
}

fn check(path: &Path, want: &CatalogueFile) -> Result<(), CatalogueError> {
    let io = |source| CatalogueError::Io {
        path: path.display().to_string(),
        source,
    };
    let integrity = |what: String| CatalogueError::Integrity {
        path: want.path.clone(),
        what,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if let Some(listed) = want.size.filter(|&listed| listed != size) {
        return Err(integrity(format!("{size} bytes where the catalogue lists {listed}")));
    }
    let Some(expected) = &want.sha256 else {
        return Ok(());
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    let got: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    if !got.eq_ignore_ascii_case(expected) {
        return Err(integrity(format!("sha256 {got} is not the catalogue's {expected}")));
    }
    Ok(())
}

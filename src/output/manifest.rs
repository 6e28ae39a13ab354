//! The manifest: which files an earlier render wrote, and which of its entries can be trusted
//! (plain relative paths that cannot leave the folder).

use super::*;

/// The manifest's entries; no manifest is an empty one.
pub(super) fn read_manifest(out_dir: &Path) -> Result<BTreeSet<String>, WriteError> {
    let bytes = match source::read_bounded(
        &out_dir.join(MANIFEST),
        source::MAX_LAB_BYTES,
        Links::Refuse,
    ) {
        Ok(bytes) => bytes,
        Err(ReadError::NotFound) => return Ok(BTreeSet::new()),
        Err(e) => return Err(WriteError::Manifest(out_dir.to_path_buf(), e)),
    };
    let text = String::from_utf8(bytes).map_err(|e| {
        WriteError::Manifest(
            out_dir.to_path_buf(),
            ReadError::NotUtf8(e.utf8_error().valid_up_to()),
        )
    })?;
    let mut entries = BTreeSet::new();
    for line in text
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if !is_safe_relative(line) {
            return Err(WriteError::ManifestEntry(
                out_dir.to_path_buf(),
                line.to_string(),
            ));
        }
        entries.insert(line.to_string());
    }
    Ok(entries)
}

/// A manifest entry is only trusted when it cannot escape the folder.
pub(super) fn is_safe_relative(path: &str) -> bool {
    // An empty first segment is a leading `/`; `:` would be a Windows drive or stream.
    !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains(['\\', '\0', ':']))
}

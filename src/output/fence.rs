//! The fence: no path wcigen writes, replaces or deletes may pass through a symbolic link, and
//! the output folder itself must be a real folder.

use super::*;

/// The first symbolic link on the way from `out_dir` to `rel` (`rel` itself included), as a
/// path relative to `out_dir`; `None` when every existing component is a real folder or file.
pub(super) fn link_on_path(out_dir: &Path, rel: &str) -> Option<String> {
    let mut prefix = String::new();
    for segment in rel.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(segment);
        match fs::symlink_metadata(out_dir.join(&prefix)) {
            Ok(meta) if meta.file_type().is_symlink() => return Some(prefix),
            Ok(meta) if meta.is_dir() => {}
            // A file (the end, or a file where a folder should be: the move reports it) or nothing.
            _ => return None,
        }
    }
    None
}

/// Refuse an output folder that is a link or not a folder; `true` when it exists.
pub(super) fn check_out_dir(out_dir: &Path) -> Result<bool, WriteError> {
    match fs::symlink_metadata(out_dir) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(WriteError::OutDirLink(out_dir.to_path_buf()))
        }
        Ok(meta) if meta.is_dir() => Ok(true),
        Ok(_) => Err(WriteError::OutDirNotFolder(out_dir.to_path_buf())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(WriteError::Io(out_dir.to_path_buf(), e)),
    }
}

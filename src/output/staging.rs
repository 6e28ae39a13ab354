//! Writing: everything into a staging folder inside the output folder, then each file moved
//! into place with an atomic rename.

use super::*;

/// Prefix of a render's staging folder inside the output folder.
pub(super) const STAGING_PREFIX: &str = ".wcigen-staging-";

/// Write `files` into `out_dir`, replacing wcigen's previous output.
///
/// Everything is written into a staging folder first, so a failure or a kill while writing
/// leaves the previous output untouched; then each file is moved into place with an atomic
/// rename (a file is always either the old or the new version, never half written). Files are
/// not fsynced: rendering is cheap to repeat, and the guarantee is about interrupted processes,
/// not power loss. The folder's lock is held throughout (see the module documentation).
///
/// # Errors
/// [`WriteError::Foreign`] when a file wcigen did not write is in the way and `force` is off;
/// a link, a bad manifest or a held lock ([`WriteError`]) before anything is touched;
/// [`WriteError::Io`] on any I/O failure (nothing is moved into place then).
pub fn write(out_dir: &Path, files: &[RenderedFile], force: bool) -> Result<(), WriteError> {
    if !check_out_dir(out_dir)? {
        fs::create_dir_all(out_dir).map_err(io(out_dir))?;
        // A link or a file may have appeared meanwhile.
        check_out_dir(out_dir)?;
    }
    let _lock = FolderLock::take(out_dir, true)?;
    let previous = read_manifest(out_dir)?;
    let written: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let touched = written
        .iter()
        .copied()
        .chain(previous.iter().map(String::as_str))
        .chain([MANIFEST]);
    for rel in touched {
        if let Some(link) = link_on_path(out_dir, rel) {
            return Err(WriteError::Link(out_dir.to_path_buf(), link));
        }
    }
    let foreign: Vec<String> = files
        .iter()
        .filter(|f| {
            fs::symlink_metadata(out_dir.join(&f.path)).is_ok() && !previous.contains(&f.path)
        })
        .map(|f| f.path.clone())
        .collect();
    if !foreign.is_empty() && !force {
        return Err(WriteError::Foreign(foreign));
    }

    // Only the lock holder writes, so a staging folder here is a killed render's: clear it.
    if let Ok(entries) = fs::read_dir(out_dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(STAGING_PREFIX)
            {
                // Does not follow a link: a link named like a staging folder is just unlinked.
                let path = entry.path();
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = fs::remove_dir_all(&path);
                } else {
                    let _ = fs::remove_file(&path);
                }
            }
        }
    }
    let staging = out_dir.join(format!("{STAGING_PREFIX}{}", std::process::id()));
    let result = stage_and_move(out_dir, &staging, files, &previous);
    if fs::symlink_metadata(&staging).is_ok_and(|m| m.is_dir()) {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

/// Write every file and the manifest under `staging` (a new folder); returns the manifest's path.
pub(super) fn stage(staging: &Path, files: &[RenderedFile]) -> Result<PathBuf, WriteError> {
    // `create_dir`, not `create_dir_all`: the staging folder must be new, never a link's target.
    fs::create_dir(staging).map_err(io(staging))?;
    for file in files {
        let path = staging.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut handle = fs::File::create_new(&path).map_err(io(&path))?;
        handle.write_all(&file.bytes).map_err(io(&path))?;
    }
    let mut manifest = String::from("# files written by wcigen; do not edit\n");
    let written: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for path in &written {
        manifest.push_str(path);
        manifest.push('\n');
    }
    let manifest_path = staging.join(MANIFEST);
    fs::write(&manifest_path, manifest).map_err(io(&manifest_path))?;
    Ok(manifest_path)
}

pub(super) fn stage_and_move(
    out_dir: &Path,
    staging: &Path,
    files: &[RenderedFile],
    previous: &BTreeSet<String>,
) -> Result<(), WriteError> {
    let manifest_path = stage(staging, files)?;
    let written: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();

    // Move into place; if any move fails, put back what was already replaced.
    let backup = staging.join(".previous");
    let mut moved: Vec<(PathBuf, Option<PathBuf>)> = Vec::new();
    for file in files {
        let target = out_dir.join(&file.path);
        if let Err(e) = move_into_place(
            &staging.join(&file.path),
            &target,
            &backup.join(&file.path),
            &mut moved,
        ) {
            for (target, saved) in moved.into_iter().rev() {
                match saved {
                    Some(saved) => {
                        let _ = fs::rename(&saved, &target);
                    }
                    None => {
                        let _ = fs::remove_file(&target);
                    }
                }
            }
            return Err(e);
        }
    }
    // Remove what an earlier render wrote and this one did not (a target dropped from the lab).
    // Entries were checked (plain relative paths, no link on the way); unlinking a name never
    // changes another hard link of the same file.
    for stale in previous.iter().filter(|p| !written.contains(p.as_str())) {
        let path = out_dir.join(stale);
        if fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            let _ = fs::remove_file(path);
        }
    }
    let final_manifest = out_dir.join(MANIFEST);
    fs::rename(&manifest_path, &final_manifest).map_err(io(&final_manifest))?;
    Ok(())
}

/// Rename `staged` to `target`, first keeping any existing `target` at `saved`; records the move.
pub(super) fn move_into_place(
    staged: &Path,
    target: &Path,
    saved: &Path,
    moved: &mut Vec<(PathBuf, Option<PathBuf>)>,
) -> Result<(), WriteError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let kept = if fs::symlink_metadata(target).is_ok_and(|m| m.is_file()) {
        if let Some(parent) = saved.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::rename(target, saved).map_err(io(target))?;
        Some(saved.to_path_buf())
    } else {
        None
    };
    if let Err(e) = fs::rename(staged, target) {
        if let Some(kept) = &kept {
            let _ = fs::rename(kept, target);
        }
        return Err(WriteError::Io(target.to_path_buf(), e));
    }
    moved.push((target.to_path_buf(), kept));
    Ok(())
}

//! Writing rendered files to disk without ever leaving a half-written or foreign-clobbering tree.
//!
//! All files are first written into a staging folder beside the output folder; only when every
//! file is on disk are they moved into place, each with an atomic rename. A manifest
//! (`.wcigen-manifest`) records what wcigen wrote, so a later render replaces only its own files
//! and refuses (without `--force`) to overwrite a file it did not write. `--check` compares the
//! rendered set with the folder instead of writing.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::render::RenderedFile;

/// Name of the manifest file in the output folder.
pub const MANIFEST: &str = ".wcigen-manifest";

/// Why the output could not be written.
#[derive(Debug)]
pub enum WriteError {
    /// Files in the way that wcigen did not write (relative paths).
    Foreign(Vec<String>),
    /// An I/O failure at a path.
    Io(PathBuf, std::io::Error),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Foreign(paths) => write!(
                f,
                "refusing to overwrite files wcigen did not write: {} (use --force to replace them)",
                paths.join(", ")
            ),
            WriteError::Io(path, e) => write!(f, "cannot write {}: {e}", path.display()),
        }
    }
}

impl std::error::Error for WriteError {}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |e| WriteError::Io(path.to_path_buf(), e)
}

fn read_manifest(out_dir: &Path) -> BTreeSet<String> {
    fs::read_to_string(out_dir.join(MANIFEST))
        .map(|t| {
            t.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

/// Write `files` into `out_dir`, replacing wcigen's previous output.
///
/// Everything is written into a staging folder first, so a failure or a kill while writing
/// leaves the previous output untouched; then each file is moved into place with an atomic
/// rename (a file is always either the old or the new version, never half written). Files are
/// not fsynced: rendering is cheap to repeat, and the guarantee is about interrupted processes,
/// not power loss.
///
/// # Errors
/// [`WriteError::Foreign`] when a file wcigen did not write is in the way and `force` is off;
/// [`WriteError::Io`] on any I/O failure (nothing is moved into place then).
pub fn write(out_dir: &Path, files: &[RenderedFile], force: bool) -> Result<(), WriteError> {
    let previous = read_manifest(out_dir);
    let foreign: Vec<String> = files
        .iter()
        .filter(|f| out_dir.join(&f.path).exists() && !previous.contains(&f.path))
        .map(|f| f.path.clone())
        .collect();
    if !foreign.is_empty() && !force {
        return Err(WriteError::Foreign(foreign));
    }

    if !out_dir.exists() {
        return write_fresh(out_dir, files);
    }
    // A render that was killed leaves its staging folder behind; it is wcigen's own, so clear it.
    if let Ok(entries) = fs::read_dir(out_dir) {
        for entry in entries.flatten() {
            if entry
                .file_name()
                .to_string_lossy()
                .starts_with(".wcigen-staging-")
            {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    let staging = out_dir.join(format!(".wcigen-staging-{}", std::process::id()));
    let result = stage_and_move(out_dir, &staging, files, &previous);
    let _ = fs::remove_dir_all(&staging);
    result
}

/// A new output folder is staged beside it and renamed into place in one step.
fn write_fresh(out_dir: &Path, files: &[RenderedFile]) -> Result<(), WriteError> {
    let name = out_dir
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    let parent = match out_dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    fs::create_dir_all(&parent).map_err(io(&parent))?;
    let staging = parent.join(format!(".{name}.wcigen-staging-{}", std::process::id()));
    let _ = fs::remove_dir_all(&staging);
    let result = stage(&staging, files).and_then(|_| {
        fs::rename(&staging, out_dir).map_err(|e| WriteError::Io(out_dir.to_path_buf(), e))
    });
    if result.is_err() {
        let _ = fs::remove_dir_all(&staging);
    }
    result
}

/// Write every file and the manifest under `staging`; returns the manifest's path there.
fn stage(staging: &Path, files: &[RenderedFile]) -> Result<PathBuf, WriteError> {
    fs::create_dir_all(staging).map_err(io(staging))?;
    for file in files {
        let path = staging.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        let mut handle = fs::File::create(&path).map_err(io(&path))?;
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

fn stage_and_move(
    out_dir: &Path,
    staging: &Path,
    files: &[RenderedFile],
    previous: &BTreeSet<String>,
) -> Result<(), WriteError> {
    let _ = fs::remove_dir_all(staging);
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
    for stale in previous.iter().filter(|p| !written.contains(p.as_str())) {
        if is_safe_relative(stale) {
            let _ = fs::remove_file(out_dir.join(stale));
        }
    }
    let final_manifest = out_dir.join(MANIFEST);
    fs::rename(&manifest_path, &final_manifest).map_err(io(&final_manifest))?;
    Ok(())
}

/// Rename `staged` to `target`, first keeping any existing `target` at `saved`; records the move.
fn move_into_place(
    staged: &Path,
    target: &Path,
    saved: &Path,
    moved: &mut Vec<(PathBuf, Option<PathBuf>)>,
) -> Result<(), WriteError> {
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io(parent))?;
    }
    let kept = if target.is_file() {
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

/// A manifest entry is only trusted when it cannot escape the output folder.
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != "..")
}

/// One difference between rendered files and a folder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Drift {
    /// The file is missing on disk.
    Missing(String),
    /// The file differs; the first differing line (1-based).
    Changed(String, usize),
    /// An earlier render wrote the file (it is in the manifest) but this one would not.
    Stale(String),
}

/// Compare rendered files with what is on disk.
#[must_use]
pub fn check(out_dir: &Path, files: &[RenderedFile]) -> Vec<Drift> {
    let mut drift = Vec::new();
    for file in files {
        match fs::read(out_dir.join(&file.path)) {
            Err(_) => drift.push(Drift::Missing(file.path.clone())),
            Ok(bytes) if bytes != file.bytes => {
                let line = first_differing_line(&bytes, &file.bytes);
                drift.push(Drift::Changed(file.path.clone(), line));
            }
            Ok(_) => {}
        }
    }
    let rendered: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for stale in read_manifest(out_dir) {
        if !rendered.contains(stale.as_str())
            && is_safe_relative(&stale)
            && out_dir.join(&stale).is_file()
        {
            drift.push(Drift::Stale(stale));
        }
    }
    drift
}

fn first_differing_line(a: &[u8], b: &[u8]) -> usize {
    let mut line = 1;
    for (x, y) in a.iter().zip(b.iter()) {
        if x != y {
            return line;
        }
        if *x == b'\n' {
            line += 1;
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> RenderedFile {
        RenderedFile {
            path: path.into(),
            bytes: text.as_bytes().to_vec(),
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("wcigen-output-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn failed_staging_leaves_the_previous_output_intact() {
        let out = temp("intact");
        write(
            &out,
            &[file("a/x.txt", "old"), file("b/y.txt", "old")],
            false,
        )
        .unwrap();
        // Staging fails (one rendered path is a folder of another).
        let result = write(
            &out,
            &[file("b/y.txt", "new"), file("b/y.txt/z", "new")],
            true,
        );
        assert!(result.is_err());
        assert_eq!(fs::read_to_string(out.join("a/x.txt")).unwrap(), "old");
        assert_eq!(fs::read_to_string(out.join("b/y.txt")).unwrap(), "old");
        // Moving into place fails half-way (a/x.txt is a file, not a folder): rolled back.
        let result = write(
            &out,
            &[file("b/y.txt", "new"), file("a/x.txt/inner", "new")],
            true,
        );
        assert!(result.is_err());
        assert!(!out.join("a/x.txt/inner").exists());
        assert_eq!(fs::read_to_string(out.join("a/x.txt")).unwrap(), "old");
        assert_eq!(fs::read_to_string(out.join("b/y.txt")).unwrap(), "old");
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn stale_files_of_an_earlier_render_are_removed_and_foreign_ones_kept() {
        let out = temp("stale");
        write(&out, &[file("a/x.txt", "1"), file("b/y.txt", "1")], false).unwrap();
        fs::write(out.join("b/mine.txt"), "user").unwrap();
        fs::create_dir_all(out.join(".wcigen-staging-999999")).unwrap();
        write(&out, &[file("a/x.txt", "2")], false).unwrap();
        assert!(!out.join("b/y.txt").exists());
        assert_eq!(fs::read_to_string(out.join("b/mine.txt")).unwrap(), "user");
        assert!(!out.join(".wcigen-staging-999999").exists());
        assert_eq!(
            read_manifest(&out).into_iter().collect::<Vec<_>>(),
            ["a/x.txt"]
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn check_reports_missing_changed_and_stale_files() {
        let out = temp("check");
        write(
            &out,
            &[file("a.txt", "1\n2\n"), file("old/b.txt", "b")],
            false,
        )
        .unwrap();
        assert!(check(&out, &[file("a.txt", "1\n2\n"), file("old/b.txt", "b")]).is_empty());
        let drift = check(&out, &[file("a.txt", "1\n3\n"), file("new.txt", "n")]);
        assert_eq!(
            drift,
            [
                Drift::Changed("a.txt".into(), 2),
                Drift::Missing("new.txt".into()),
                Drift::Stale("old/b.txt".into())
            ]
        );
        let _ = fs::remove_dir_all(&out);
    }

    #[test]
    fn manifest_entries_cannot_escape_the_folder() {
        assert!(is_safe_relative("a/b.txt"));
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a\\b", "a//b"] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }
}

//! Writing rendered files to disk without ever leaving a half-written or foreign-clobbering tree,
//! and without ever touching anything outside the output folder.
//!
//! All files are first written into a staging folder inside the output folder; only when every
//! file is on disk are they moved into place, each with an atomic rename. A manifest
//! (`.wcigen-manifest`) records what wcigen wrote, so a later render replaces only its own files
//! and refuses (without `--force`) to overwrite a file it did not write. `--check` compares the
//! rendered set with the folder instead of writing.
//!
//! **Nothing outside the output folder is written, replaced or deleted** (a rendered lab is
//! committed to git, and git stores symbolic links). Before anything is touched:
//! * the output folder itself must not be a symbolic link;
//! * no path wcigen would write, replace or delete (every rendered file, every stale manifest
//!   entry, the manifest) may pass through a symbolic link, at any depth — refused even with
//!   `--force`, which replaces only regular files;
//! * every manifest entry must be a plain relative path (no `..`, no absolute path), and the
//!   manifest must be a regular file of at most 1 MiB.
//!
//! Files are never written in place: a file is replaced by renaming a new file over its name and
//! deleted by unlinking its name, so a **hard link** in the folder is safe — the other names of
//! that file keep their content (only this name gets the new file). Hard links are therefore
//! allowed.
//!
//! **One render at a time**: a render holds an exclusive lock on the output folder (`flock(2)` on
//! the folder itself on Unix, so no lock file is left behind) while it stages, moves and deletes;
//! a second render into the same folder finds it taken and fails with exit 1 instead of waiting.
//! Because only the lock holder writes, a staging folder left in the output folder can only be
//! from a killed render, and only the lock holder removes it. `--check` takes a shared lock, so it
//! never compares against a half-moved tree.
//!
//! **What `--check` allows besides wcigen's files**: a file that a target tool would load
//! (`*.tf`, `*.tf.json`, `*.tfvars`, `*.tfvars.json`, `*.auto.tfvars*`, `*.pkr.hcl`, `*.pkr.json`,
//! `*.pkrvars.hcl`, `*.pkrvars.json`, `*.bicep`, `*.bicepparam`, `*.json`, `*.ps1`, `*.psm1`,
//! `*.psd1`) anywhere in the folder is drift unless wcigen wrote it, except the two files the
//! generated README tells the user to create, `terraform/terraform.tfvars` and
//! `packer/lab.pkrvars.hcl`: they hold the user's own values (source address, gallery names) that
//! wcigen leaves out on purpose, and can only set variables that wcigen's files declare. Folders
//! whose names start with `.` are not searched (`.terraform/` holds the providers `terraform init`
//! downloads, `.git/` the repository); `.terraform.lock.hcl`, state files and notes are not
//! loaded as configuration and so are never drift.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub use crate::diag::{Drift, WriteError};
pub use crate::lab::facts::{MANIFEST, USER_FILES};
use crate::lab::source::{self, FileKind, Links, ReadError};
use crate::render::RenderedFile;

/// Prefix of a render's staging folder inside the output folder.
const STAGING_PREFIX: &str = ".wcigen-staging-";

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |e| WriteError::Io(path.to_path_buf(), e)
}

/// The manifest's entries; no manifest is an empty one.
fn read_manifest(out_dir: &Path) -> Result<BTreeSet<String>, WriteError> {
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

/// The first symbolic link on the way from `out_dir` to `rel` (`rel` itself included), as a
/// path relative to `out_dir`; `None` when every existing component is a real folder or file.
fn link_on_path(out_dir: &Path, rel: &str) -> Option<String> {
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
fn check_out_dir(out_dir: &Path) -> Result<bool, WriteError> {
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

/// The output folder's lock, held until dropped.
struct FolderLock {
    /// Closing it releases the lock.
    _handle: Option<fs::File>,
    #[cfg(not(unix))]
    path: PathBuf,
}

impl FolderLock {
    /// Take the folder's lock without waiting: exclusive for a render, shared for `--check`.
    #[cfg(unix)]
    fn take(out_dir: &Path, exclusive: bool) -> Result<Self, WriteError> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let handle = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(out_dir)
            .map_err(io(out_dir))?;
        let operation = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        };
        // SAFETY: flock on a descriptor this function owns; no memory is passed.
        if unsafe { libc::flock(handle.as_raw_fd(), operation | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            return Err(if e.kind() == std::io::ErrorKind::WouldBlock {
                WriteError::Locked(out_dir.to_path_buf())
            } else {
                WriteError::Io(out_dir.to_path_buf(), e)
            });
        }
        Ok(Self {
            _handle: Some(handle),
        })
    }

    /// Elsewhere, a lock file that only one process can create (a killed render leaves it).
    #[cfg(not(unix))]
    fn take(out_dir: &Path, exclusive: bool) -> Result<Self, WriteError> {
        let path = out_dir.join(".wcigen-lock");
        if !exclusive {
            return if path.exists() {
                Err(WriteError::Locked(out_dir.to_path_buf()))
            } else {
                Ok(Self {
                    _handle: None,
                    path: PathBuf::new(),
                })
            };
        }
        let handle = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => WriteError::Locked(out_dir.to_path_buf()),
                _ => WriteError::Io(path.clone(), e),
            })?;
        Ok(Self {
            _handle: Some(handle),
            path,
        })
    }
}

#[cfg(not(unix))]
impl Drop for FolderLock {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

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
fn stage(staging: &Path, files: &[RenderedFile]) -> Result<PathBuf, WriteError> {
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

fn stage_and_move(
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
fn move_into_place(
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

/// A manifest entry is only trusted when it cannot escape the folder.
fn is_safe_relative(path: &str) -> bool {
    // An empty first segment is a leading `/`; `:` would be a Windows drive or stream.
    !path.is_empty()
        && path
            .split('/')
            .all(|s| !s.is_empty() && s != "." && s != ".." && !s.contains(['\\', '\0', ':']))
}

/// Compare rendered files with what is on disk: every rendered file must be there with the same
/// bytes, no file of an earlier render may be left, and no file the tools would load may be
/// there unless wcigen wrote it (see the module documentation for the files allowed besides).
///
/// # Errors
/// The output folder is a link or not a folder, the manifest cannot be used, or a render holds
/// the folder's lock.
pub fn check(out_dir: &Path, files: &[RenderedFile]) -> Result<Vec<Drift>, WriteError> {
    let exists = check_out_dir(out_dir)?;
    let _lock = if exists {
        Some(FolderLock::take(out_dir, false)?)
    } else {
        None
    };
    let manifest = if exists {
        read_manifest(out_dir)?
    } else {
        BTreeSet::new()
    };
    let mut drift = Vec::new();
    let mut links = BTreeSet::new();
    for file in files {
        if let Some(link) = link_on_path(out_dir, &file.path) {
            if links.insert(link.clone()) {
                drift.push(Drift::NotAFile(link, FileKind::Symlink));
            }
            continue;
        }
        let limit = file.bytes.len() as u64 + 1;
        match source::read_prefix(&out_dir.join(&file.path), limit, Links::Refuse) {
            Err(ReadError::NotFound) => drift.push(Drift::Missing(file.path.clone())),
            Err(ReadError::IsDirectory) => {
                drift.push(Drift::NotAFile(file.path.clone(), FileKind::Directory));
            }
            Err(ReadError::NotRegular(kind)) => {
                drift.push(Drift::NotAFile(file.path.clone(), kind));
            }
            Err(ReadError::Io(e)) => drift.push(Drift::Unreadable(file.path.clone(), e.kind())),
            Err(ReadError::TooLarge(_) | ReadError::NotUtf8(_)) => {
                drift.push(Drift::Changed(file.path.clone(), 1));
            }
            Ok(bytes) if bytes != file.bytes => {
                let line = first_differing_line(&bytes, &file.bytes);
                drift.push(Drift::Changed(file.path.clone(), line));
            }
            Ok(_) => {}
        }
    }
    let rendered: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for stale in &manifest {
        if !rendered.contains(stale.as_str()) && fs::symlink_metadata(out_dir.join(stale)).is_ok() {
            drift.push(Drift::Stale(stale.clone()));
        }
    }
    if exists {
        let mut extra = Vec::new();
        let mut budget = MAX_WALK_ENTRIES;
        walk_extra(out_dir, "", 0, &mut budget, &mut |rel| {
            if !rendered.contains(rel) && !manifest.contains(rel) && !USER_FILES.contains(&rel) {
                extra.push(rel.to_string());
            }
        });
        extra.sort();
        drift.extend(extra.into_iter().map(Drift::Extra));
    }
    Ok(drift)
}

/// How many folder entries `--check` looks at, at most, for files the tools would load.
const MAX_WALK_ENTRIES: usize = 100_000;
/// How deep `--check` looks.
const MAX_WALK_DEPTH: usize = 16;

/// Call `found` with every entry (not a folder) under `dir` whose name a target tool would load.
/// Links are not followed; folders whose names start with `.` are skipped.
fn walk_extra(
    dir: &Path,
    rel: &str,
    depth: usize,
    budget: &mut usize,
    found: &mut dyn FnMut(&str),
) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<(String, bool)> = Vec::new();
    for entry in entries.flatten() {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let name = entry.file_name().to_string_lossy().into_owned();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        names.push((name, is_dir));
    }
    for (name, is_dir) in names {
        let path = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        if is_dir {
            if !name.starts_with('.') && depth < MAX_WALK_DEPTH {
                walk_extra(&dir.join(&name), &path, depth + 1, budget, found);
            }
        } else if is_tool_loaded(&name) {
            found(&path);
        }
    }
}

/// Whether a target tool (Terraform, Packer, Bicep, the Azure CLI, PowerShell) would load a file
/// of this name from the folder it runs in.
#[must_use]
pub fn is_tool_loaded(name: &str) -> bool {
    const ENDINGS: [&str; 14] = [
        ".tf",
        ".tf.json",
        ".tfvars",
        ".tfvars.json",
        ".pkr.hcl",
        ".pkr.json",
        ".pkrvars.hcl",
        ".pkrvars.json",
        ".bicep",
        ".bicepparam",
        ".json",
        ".ps1",
        ".psm1",
        ".psd1",
    ];
    let name = name.to_ascii_lowercase();
    ENDINGS.iter().any(|e| name.ends_with(e)) || name.contains(".auto.tfvars")
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
            read_manifest(&out).unwrap().into_iter().collect::<Vec<_>>(),
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
        assert!(
            check(&out, &[file("a.txt", "1\n2\n"), file("old/b.txt", "b")])
                .unwrap()
                .is_empty()
        );
        let drift = check(&out, &[file("a.txt", "1\n3\n"), file("new.txt", "n")]).unwrap();
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
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a\\b",
            "a//b",
            "./a",
            "C:/x",
            "a/\0",
        ] {
            assert!(!is_safe_relative(bad), "{bad}");
        }
    }

    #[cfg(unix)]
    fn tree() -> (PathBuf, PathBuf, PathBuf) {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = temp(&format!("tree-{n}"));
        let out = root.join("out");
        let outside = root.join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("x.txt"), "outside").unwrap();
        (root, out, outside)
    }

    #[cfg(unix)]
    fn outside_untouched(outside: &Path) {
        let names: Vec<String> = fs::read_dir(outside)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["x.txt"], "something was written outside");
        assert_eq!(
            fs::read_to_string(outside.join("x.txt")).unwrap(),
            "outside"
        );
    }

    #[cfg(unix)]
    #[test]
    fn links_on_the_way_are_found_at_any_depth() {
        use std::os::unix::fs::symlink;
        let (root, out, outside) = tree();
        fs::create_dir_all(out.join("a/b")).unwrap();
        fs::write(out.join("a/b/f"), "").unwrap();
        symlink(&outside, out.join("a/l")).unwrap();
        symlink(outside.join("x.txt"), out.join("a/b/g")).unwrap();
        assert_eq!(link_on_path(&out, "a/b/f"), None);
        assert_eq!(link_on_path(&out, "a/b/new/deeper"), None);
        assert_eq!(link_on_path(&out, "a/l/x.txt").as_deref(), Some("a/l"));
        assert_eq!(link_on_path(&out, "a/l/new/y").as_deref(), Some("a/l"));
        assert_eq!(link_on_path(&out, "a/b/g").as_deref(), Some("a/b/g"));
        let _ = fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn nothing_outside_is_written_through_links_or_the_manifest() {
        use std::os::unix::fs::symlink;
        let files = [file("a/x.txt", "new"), file("b/y.txt", "new")];
        // A rendered subfolder that is a link to a folder outside.
        let (root, out, outside) = tree();
        write(&out, &files, false).unwrap();
        fs::remove_dir_all(out.join("a")).unwrap();
        symlink(&outside, out.join("a")).unwrap();
        for force in [false, true] {
            let e = write(&out, &files, force).unwrap_err();
            assert!(matches!(&e, WriteError::Link(_, l) if l == "a"), "{e:?}");
        }
        outside_untouched(&outside);
        // A rendered file that is a link to a file outside (even with --force).
        fs::remove_file(out.join("a")).unwrap();
        fs::create_dir(out.join("a")).unwrap();
        symlink(outside.join("x.txt"), out.join("a/x.txt")).unwrap();
        let e = write(&out, &files, true).unwrap_err();
        assert!(
            matches!(&e, WriteError::Link(_, l) if l == "a/x.txt"),
            "{e:?}"
        );
        outside_untouched(&outside);
        fs::remove_file(out.join("a/x.txt")).unwrap();
        // The manifest as a link, and manifest entries that leave the folder.
        fs::remove_file(out.join(MANIFEST)).unwrap();
        symlink(outside.join("x.txt"), out.join(MANIFEST)).unwrap();
        let e = write(&out, &files, true).unwrap_err();
        assert!(matches!(&e, WriteError::Manifest(..)), "{e:?}");
        fs::remove_file(out.join(MANIFEST)).unwrap();
        for entry in ["../outside/x.txt", "/etc/hostname", "a/../../outside/x.txt"] {
            fs::write(out.join(MANIFEST), format!("a/x.txt\n{entry}\n")).unwrap();
            let e = write(&out, &files, true).unwrap_err();
            assert!(
                matches!(&e, WriteError::ManifestEntry(_, l) if l == entry),
                "{e:?}"
            );
            assert!(matches!(
                check(&out, &files),
                Err(WriteError::ManifestEntry(..))
            ));
        }
        // A stale manifest entry that passes through a link is not deleted.
        fs::create_dir_all(out.join("c")).unwrap();
        symlink(&outside, out.join("c/l")).unwrap();
        fs::write(out.join(MANIFEST), "a/x.txt\nb/y.txt\nc/l/x.txt\n").unwrap();
        let e = write(&out, &files, true).unwrap_err();
        assert!(matches!(&e, WriteError::Link(_, l) if l == "c/l"), "{e:?}");
        outside_untouched(&outside);
        let _ = fs::remove_dir_all(&root);
        // The output folder itself a link.
        let (root, out, outside) = tree();
        symlink(&outside, &out).unwrap();
        assert!(matches!(
            write(&out, &files, true),
            Err(WriteError::OutDirLink(_))
        ));
        assert!(matches!(
            check(&out, &files),
            Err(WriteError::OutDirLink(_))
        ));
        outside_untouched(&outside);
        let _ = fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn hard_links_keep_their_other_names_content() {
        let files = [file("a/x.txt", "new"), file("b/y.txt", "new")];
        let (root, out, outside) = tree();
        write(&out, &files, false).unwrap();
        // A file of wcigen's replaced by a hard link to a file outside: replaced by rename.
        fs::remove_file(out.join("a/x.txt")).unwrap();
        fs::hard_link(outside.join("x.txt"), out.join("a/x.txt")).unwrap();
        write(&out, &files, false).unwrap();
        assert_eq!(fs::read_to_string(out.join("a/x.txt")).unwrap(), "new");
        // A stale file that is a hard link: its name goes, the content outside stays.
        fs::remove_file(out.join("b/y.txt")).unwrap();
        fs::hard_link(outside.join("x.txt"), out.join("b/y.txt")).unwrap();
        write(&out, &files[..1], false).unwrap();
        assert!(!out.join("b/y.txt").exists());
        // A foreign hard link replaced with --force.
        fs::hard_link(outside.join("x.txt"), out.join("b/y.txt")).unwrap();
        write(&out, &files, true).unwrap();
        assert_eq!(fs::read_to_string(out.join("b/y.txt")).unwrap(), "new");
        outside_untouched(&outside);
        let _ = fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn a_held_lock_refuses_a_second_render_and_a_check() {
        let files = [file("a/x.txt", "new")];
        let (root, out, _) = tree();
        write(&out, &files, false).unwrap();
        let held = FolderLock::take(&out, true).unwrap();
        assert!(matches!(
            write(&out, &files, false),
            Err(WriteError::Locked(_))
        ));
        assert!(matches!(check(&out, &files), Err(WriteError::Locked(_))));
        drop(held);
        let shared = FolderLock::take(&out, false).unwrap();
        assert!(check(&out, &files).unwrap().is_empty());
        assert!(matches!(
            write(&out, &files, false),
            Err(WriteError::Locked(_))
        ));
        drop(shared);
        write(&out, &files, false).unwrap();
        let _ = fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn a_staging_folder_link_is_unlinked_not_followed() {
        use std::os::unix::fs::symlink;
        let (root, out, outside) = tree();
        fs::create_dir_all(&out).unwrap();
        symlink(
            &outside,
            out.join(format!("{STAGING_PREFIX}{}", std::process::id())),
        )
        .unwrap();
        symlink(&outside, out.join(format!("{STAGING_PREFIX}1"))).unwrap();
        write(&out, &[file("a/x.txt", "new")], false).unwrap();
        outside_untouched(&outside);
        assert!(!out.join(format!("{STAGING_PREFIX}1")).exists());
        let _ = fs::remove_dir_all(&root);
    }

    #[cfg(unix)]
    #[test]
    fn check_reports_links_special_files_and_extra_tool_files() {
        use std::os::unix::fs::symlink;
        let files = [
            file("terraform/main.tf", "tf"),
            file("bicep/main.bicep", "b"),
            file("README.md", "r"),
        ];
        let (root, out, outside) = tree();
        write(&out, &files, false).unwrap();
        for allowed in [
            "terraform/terraform.tfvars",
            "packer/lab.pkrvars.hcl",
            "terraform/.terraform.lock.hcl",
            "terraform/.terraform/providers/p.json",
            "terraform/terraform.tfstate",
            "notes.txt",
            ".git/config.json",
        ] {
            fs::create_dir_all(out.join(allowed).parent().unwrap()).unwrap();
            fs::write(out.join(allowed), "").unwrap();
        }
        assert_eq!(check(&out, &files).unwrap(), []);
        for extra in [
            "terraform/override.tf",
            "terraform/x.auto.tfvars",
            "terraform/x.auto.tfvars.json",
            "terraform/prod.tfvars",
            "terraform/more.tf.json",
            "bicep/bicepconfig.json",
            "bicep/other.bicepparam",
            "packer/extra.pkr.hcl",
            "sub/deep/main.TF",
        ] {
            fs::create_dir_all(out.join(extra).parent().unwrap()).unwrap();
            fs::write(out.join(extra), "").unwrap();
            assert_eq!(
                check(&out, &files).unwrap(),
                [Drift::Extra(extra.into())],
                "{extra}"
            );
            fs::remove_file(out.join(extra)).unwrap();
        }
        symlink(outside.join("x.txt"), out.join("terraform/link.tf")).unwrap();
        assert_eq!(
            check(&out, &files).unwrap(),
            [Drift::Extra("terraform/link.tf".into())]
        );
        fs::remove_file(out.join("terraform/link.tf")).unwrap();
        // A rendered file replaced by a link (even to identical content) or a FIFO.
        fs::write(outside.join("copy"), "tf").unwrap();
        fs::remove_file(out.join("terraform/main.tf")).unwrap();
        symlink(outside.join("copy"), out.join("terraform/main.tf")).unwrap();
        assert_eq!(
            check(&out, &files).unwrap(),
            [Drift::NotAFile(
                "terraform/main.tf".into(),
                FileKind::Symlink
            )]
        );
        fs::remove_file(out.join("terraform/main.tf")).unwrap();
        fs::remove_file(outside.join("copy")).unwrap();
        let fifo = std::ffi::CString::new(out.join("terraform/main.tf").to_str().unwrap()).unwrap();
        // SAFETY: a valid C string; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(
            check(&out, &files).unwrap(),
            [Drift::NotAFile("terraform/main.tf".into(), FileKind::Fifo)]
        );
        // A rendered folder replaced by a link: reported once.
        fs::remove_dir_all(out.join("bicep")).unwrap();
        symlink(&outside, out.join("bicep")).unwrap();
        assert!(check(&out, &files)
            .unwrap()
            .contains(&Drift::NotAFile("bicep".into(), FileKind::Symlink)));
        outside_untouched(&outside);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn tool_loaded_names() {
        for name in [
            "a.tf",
            "a.tf.json",
            "terraform.tfvars",
            "x.auto.tfvars",
            "x.auto.tfvars.bak",
            "a.pkr.hcl",
            "a.pkrvars.hcl",
            "a.bicep",
            "a.bicepparam",
            "bicepconfig.json",
            "A.PS1",
        ] {
            assert!(is_tool_loaded(name), "{name}");
        }
        for name in [
            "README.md",
            ".terraform.lock.hcl",
            "terraform.tfstate",
            "terraform.tfvars.example",
            "lab.pkrvars.hcl.example",
            "notes.txt",
        ] {
            assert!(!is_tool_loaded(name), "{name}");
        }
    }
}

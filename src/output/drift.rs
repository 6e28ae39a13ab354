//! `--check`: the folder is exactly what the lab renders (missing, changed, stale, extra and
//! non-file entries are drift).

use super::*;

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
pub(super) const MAX_WALK_ENTRIES: usize = 100_000;
/// How deep `--check` looks.
pub(super) const MAX_WALK_DEPTH: usize = 16;

/// Call `found` with every entry (not a folder) under `dir` whose name a target tool would load.
/// Links are not followed; folders whose names start with `.` are skipped.
pub(super) fn walk_extra(
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

pub(super) fn first_differing_line(a: &[u8], b: &[u8]) -> usize {
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

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

mod drift;
mod fence;
mod lock;
mod manifest;
mod staging;

pub use drift::{check, is_tool_loaded};
pub use staging::write;

use fence::{check_out_dir, link_on_path};
use lock::FolderLock;
use manifest::read_manifest;
#[cfg(test)]
use {manifest::is_safe_relative, staging::STAGING_PREFIX};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |e| WriteError::Io(path.to_path_buf(), e)
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

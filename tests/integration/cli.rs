//! Runs the CLI cases in `tests/cmd/cases.yaml` against the real binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::common::repo;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    setup: Vec<Setup>,
    args: Vec<String>,
    status: i32,
    #[serde(default)]
    stdout: Vec<String>,
    #[serde(default)]
    stderr: Vec<String>,
    #[serde(default)]
    stderr_not: Vec<String>,
    #[serde(default)]
    files: Vec<String>,
    #[serde(default)]
    absent: Vec<String>,
    /// `[path, text]`: the file under TMP must contain the text.
    #[serde(default)]
    contains: Vec<(String, String)>,
}

/// One setup step: exactly one of the fields is set.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Setup {
    write: Option<(String, String)>,
    mkdir: Option<String>,
    render: Option<String>,
    /// `[target, link]`: a symbolic link at TMP/link to target (as `ln -s`; `{tmp}` allowed).
    symlink: Option<(String, String)>,
    /// `[existing, new]`: a hard link at TMP/new to TMP/existing.
    hardlink: Option<(String, String)>,
    /// A FIFO (named pipe) at TMP/path.
    fifo: Option<String>,
    /// Remove TMP/path (a file, a link or a folder).
    remove: Option<String>,
}

#[cfg(unix)]
fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

#[cfg(unix)]
pub(crate) fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success());
}

/// Run a command with a time limit: a run that blocks (on a FIFO, a device) is killed and
/// reported instead of stalling the test.
pub(crate) fn output_within(command: &mut Command, limit: Duration) -> Result<Output, String> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            return Ok(child.wait_with_output().unwrap());
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {limit:?}: it blocked"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(not(unix))]
fn symlink(_: &str, _: &Path) {
    panic!("the link cases run on Unix only");
}

#[cfg(not(unix))]
pub(crate) fn mkfifo(_: &Path) {
    panic!("the FIFO cases run on Unix only");
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_wcigen")
}

fn temp_dir(name: &str) -> PathBuf {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let dir = std::env::temp_dir().join(format!("wcigen-cli-{}-{slug}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn setup(tmp: &Path, step: &Setup) {
    if let Some((path, text)) = &step.write {
        {
            let bytes: Vec<u8> = match text.as_str() {
                "__LATIN1__" => b"version: 1\nname: caf\xe9\n".to_vec(),
                "__HUGE__" => {
                    let mut v = b"version: 1\ndescription: |\n".to_vec();
                    while v.len() < 50 * 1024 * 1024 {
                        v.extend_from_slice(
                            b"  lorem ipsum dolor sit amet, consectetur adipiscing elit\n",
                        );
                    }
                    v
                }
                _ => text
                    .replace("{tmp}", &tmp.display().to_string())
                    .into_bytes(),
            };
            std::fs::write(tmp.join(path), bytes).unwrap();
        }
    }
    if let Some(path) = &step.mkdir {
        std::fs::create_dir_all(tmp.join(path)).unwrap();
    }
    if let Some(path) = &step.remove {
        let path = tmp.join(path);
        if std::fs::symlink_metadata(&path).unwrap().is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
    if let Some((target, link)) = &step.symlink {
        symlink(
            &target.replace("{tmp}", &tmp.display().to_string()),
            &tmp.join(link),
        );
    }
    if let Some((existing, new)) = &step.hardlink {
        std::fs::hard_link(tmp.join(existing), tmp.join(new)).unwrap();
    }
    if let Some(path) = &step.fifo {
        mkfifo(&tmp.join(path));
    }
    if let Some(lab) = &step.render {
        {
            let status = Command::new(binary())
                .args([
                    "render",
                    &repo().join(lab).display().to_string(),
                    "-o",
                    &tmp.join("out").display().to_string(),
                ])
                .output()
                .unwrap()
                .status;
            assert!(status.success());
        }
    }
}

#[test]
fn cli_cases() {
    let cases: Vec<Case> = serde_yaml::from_str(
        &std::fs::read_to_string(repo().join("tests/cmd/cases.yaml")).unwrap(),
    )
    .unwrap();
    assert!(cases.len() >= 20);
    let mut failures = Vec::new();
    for case in &cases {
        let tmp = temp_dir(&case.name);
        for step in &case.setup {
            setup(&tmp, step);
        }
        let fill = |s: &str| {
            s.replace("{repo}", &repo().display().to_string())
                .replace("{tmp}", &tmp.display().to_string())
        };
        let args: Vec<String> = case.args.iter().map(|a| fill(a)).collect();
        let output = match output_within(
            Command::new(binary())
                .args(&args)
                .current_dir(&tmp)
                .env("NO_COLOR", "1"),
            Duration::from_secs(60),
        ) {
            Ok(output) => output,
            Err(e) => {
                failures.push(format!("{}: {e}", case.name));
                let _ = std::fs::remove_dir_all(&tmp);
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let mut problems = Vec::new();
        if output.status.code() != Some(case.status) {
            problems.push(format!(
                "exit {:?}, expected {}",
                output.status.code(),
                case.status
            ));
        }
        for want in &case.stdout {
            if !stdout.contains(&fill(want)) {
                problems.push(format!("stdout lacks {want:?}"));
            }
        }
        for want in &case.stderr {
            if !stderr.contains(&fill(want)) {
                problems.push(format!("stderr lacks {want:?}"));
            }
        }
        for unwanted in &case.stderr_not {
            if stderr.contains(unwanted.as_str()) || stdout.contains(unwanted.as_str()) {
                problems.push(format!("output contains {unwanted:?}"));
            }
        }
        if stderr.contains("panicked") {
            problems.push("the process panicked".into());
        }
        for f in &case.files {
            if !tmp.join(f).exists() {
                problems.push(format!("{f} was not written"));
            }
        }
        for (f, text) in &case.contains {
            match std::fs::read_to_string(tmp.join(f)) {
                Ok(content) if content.contains(text.as_str()) => {}
                Ok(_) => problems.push(format!("{f} lacks {text:?}")),
                Err(e) => problems.push(format!("{f} cannot be read: {e}")),
            }
        }
        for f in &case.absent {
            if tmp.join(f).exists() {
                problems.push(format!("{f} exists but must not"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {problems:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
                case.name
            ));
        }
        let _ = std::fs::remove_dir_all(&tmp);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn init_output_validates() {
    let tmp = temp_dir("init-validates");
    let lab = tmp.join("lab.yaml");
    assert!(Command::new(binary())
        .args(["init", &lab.display().to_string()])
        .status()
        .unwrap()
        .success());
    assert_eq!(std::fs::read_to_string(&lab).unwrap(), wcigen::EXAMPLE_LAB);
    assert!(Command::new(binary())
        .args(["validate", &lab.display().to_string()])
        .status()
        .unwrap()
        .success());
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn render_is_deterministic_on_disk() {
    let tmp = temp_dir("deterministic");
    for out in ["a", "b"] {
        let status = Command::new(binary())
            .args([
                "render",
                &repo().join("examples/lab.yaml").display().to_string(),
                "-o",
                &tmp.join(out).display().to_string(),
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
    for entry in walk(&tmp.join("a")) {
        let rel = entry.strip_prefix(tmp.join("a")).unwrap();
        assert_eq!(
            std::fs::read(&entry).unwrap(),
            std::fs::read(tmp.join("b").join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn every_invalid_fixture_fails_cleanly_through_the_cli() {
    let mut dir: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/invalid"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dir.sort();
    let tmp = temp_dir("invalid-fixtures");
    let out = tmp.join("out");
    let mut failures = Vec::new();
    for lab in &dir {
        let output = Command::new(binary())
            .args([
                "render",
                &lab.display().to_string(),
                "-o",
                &out.display().to_string(),
            ])
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        let name = lab.file_name().unwrap().to_string_lossy().into_owned();
        if output.status.code() != Some(1) {
            failures.push(format!("{name}: exit {:?}", output.status.code()));
        }
        if stderr.contains("panicked") || !stderr.contains("error[") || !stderr.contains("help:") {
            failures.push(format!("{name}: no clean diagnostic:\n{stderr}"));
        }
        // Every diagnostic has a position, except for a document that is not a mapping at all.
        let whole_file = stderr.contains("error[yaml-not-mapping]");
        if !whole_file && !stderr.contains(&format!("{name}:")) {
            failures.push(format!("{name}: no file:line:column"));
        }
        if out.exists() {
            failures.push(format!("{name}: wrote into the output folder"));
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(dir.len() >= 60);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Renders of two different labs into one folder at the same time, many times over: after each
/// pair the folder is exactly one of the two renders (`--check` passes for exactly one lab), a
/// run that lost the race says so and exits 1, and no staging folder is left.
#[test]
fn concurrent_renders_leave_exactly_one_complete_render() {
    let tmp = temp_dir("concurrent");
    let out = tmp.join("out");
    let labs = [
        repo().join("examples/lab.yaml"),
        repo().join("examples/bare.yaml"),
    ];
    let run = |lab: &Path, check: bool| {
        let mut command = Command::new(binary());
        command.arg("render").arg(lab).arg("-o").arg(&out);
        if check {
            command.arg("--check");
        }
        command
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    };
    let mut lost = 0;
    for pair in 0..24 {
        if pair % 3 == 0 {
            // Also race on a folder that does not exist yet.
            let _ = std::fs::remove_dir_all(&out);
        }
        let order: Vec<&PathBuf> = if pair % 2 == 0 {
            labs.iter().collect()
        } else {
            labs.iter().rev().collect()
        };
        let children: Vec<_> = order
            .iter()
            .map(|lab| run(lab, false).spawn().unwrap())
            .collect();
        let outputs: Vec<Output> = children
            .into_iter()
            .map(|c| c.wait_with_output().unwrap())
            .collect();
        let mut succeeded = 0;
        for output in &outputs {
            let stderr = String::from_utf8_lossy(&output.stderr);
            match output.status.code() {
                Some(0) => succeeded += 1,
                Some(1) => {
                    lost += 1;
                    assert!(
                        stderr.contains("another wcigen is writing into"),
                        "pair {pair}: {stderr}"
                    );
                }
                other => panic!("pair {pair}: exit {other:?}: {stderr}"),
            }
        }
        assert!(succeeded >= 1, "pair {pair}: neither render succeeded");
        let up_to_date: Vec<bool> = labs
            .iter()
            .map(|lab| run(lab, true).status().unwrap().success())
            .collect();
        assert_eq!(
            up_to_date.iter().filter(|u| **u).count(),
            1,
            "pair {pair}: the folder is not exactly one render ({up_to_date:?})"
        );
        let leftovers: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("staging"))
            .collect();
        assert!(leftovers.is_empty(), "pair {pair}: {leftovers:?}");
    }
    eprintln!("concurrent renders: {lost} of 48 runs found the folder locked");
    // The pairs do overlap (otherwise the refusal above was never exercised).
    assert!(
        lost > 0,
        "no run of 24 concurrent pairs found the folder locked"
    );
    let _ = std::fs::remove_dir_all(&tmp);
}

/// The wording of the output-folder errors, the `--check` report lines and the reader's
/// diagnostics for files that are not regular files (issue 14), pinned by one snapshot.
#[test]
fn output_folder_and_reader_messages() {
    use wcigen::diag::{self, Diagnostic, DiagnosticKind};
    use wcigen::output::{Drift, WriteError};
    use wcigen::source::{FileKind, ReadError};
    let out = PathBuf::from("out");
    let errors = [
        WriteError::Foreign(vec!["powershell/provision.ps1".into()]),
        WriteError::OutDirLink(out.clone()),
        WriteError::OutDirNotFolder(out.clone()),
        WriteError::Link(out.clone(), "bicep".into()),
        WriteError::ManifestEntry(out.clone(), "../x".into()),
        WriteError::Manifest(out.clone(), ReadError::NotRegular(FileKind::Fifo)),
        WriteError::Manifest(out.clone(), ReadError::TooLarge(2_000_000)),
        WriteError::Manifest(out.clone(), ReadError::NotUtf8(7)),
        WriteError::Locked(out.clone()),
    ];
    let mut text = String::new();
    for e in &errors {
        text.push_str(&format!("error: {e}\n"));
    }
    let drift = [
        Drift::Missing("a.tf".into()),
        Drift::Changed("b.tf".into(), 3),
        Drift::Stale("c.tf".into()),
        Drift::Extra("terraform/override.tf".into()),
        Drift::NotAFile("bicep".into(), FileKind::Symlink),
        Drift::NotAFile("arm/azuredeploy.json".into(), FileKind::Fifo),
        Drift::Unreadable("README.md".into(), std::io::ErrorKind::PermissionDenied),
    ];
    for d in &drift {
        text.push_str(&diag::drift_line(d));
    }
    text.push_str(&diag::drift_help(&drift, "lab.yaml", "out"));
    let kinds = [
        FileKind::Fifo,
        FileKind::Socket,
        FileKind::Device,
        FileKind::Symlink,
        FileKind::Other,
    ];
    let mut diagnostics: Vec<Diagnostic> = kinds
        .iter()
        .map(|kind| Diagnostic::file(DiagnosticKind::FileNotRegular { kind: *kind }))
        .collect();
    diagnostics.push(diag::prices_read_error(&ReadError::NotRegular(
        FileKind::Device,
    )));
    let resolved = diag::resolve("lab.yaml", &Default::default(), &diagnostics);
    text.push_str(&diag::render_human(None, &resolved, false));
    insta::assert_snapshot!("output_folder_and_reader_messages", text);
}

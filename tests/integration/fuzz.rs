//! Bad input never crashes, and whatever validates renders to files that parse.
//!
//! A proptest takes a seed lab (every `examples/*.yaml`, every hostile corpus lab, the hostile
//! base lab) and mutates it: structurally (delete a key, change a scalar's type, put a hostile
//! payload or a random string into a random scalar, add keys) and as text (duplicate a line,
//! so keys repeat; re-indent a line; insert control characters, payloads or arbitrary bytes,
//! which may break UTF-8; truncate; cut out a range). Each input then goes through the same
//! path as `wcigen validate` and `wcigen render`: read the bytes, parse, validate, and either
//! print the diagnostics (human, with and without colour, and JSON) or render every target.
//!
//! * nothing may panic;
//! * a rejected input has at least one error diagnostic, and printing it works;
//! * an accepted input renders without a template error, and every rendered file reads back
//!   with the real parsers of `hostile.rs`, its values round-trip, and its code skeleton is its
//!   benign twin's (`hostile::check_rendered`).
//!
//! Cases: `WCIGEN_FUZZ_CASES` (default 64, so `cargo test` stays quick; CI runs more). A failure
//! is shrunk, its seed appended to `tests/fixtures/fuzz-regressions/proptest-regressions.txt`
//! (replayed first by every later run), and the shrunk input itself written to
//! `tests/fixtures/fuzz-regressions/` as a lab file, which [`fuzz_regressions_replay`] runs on
//! every `cargo test`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestError, TestRunner};
use wcigen::diag;
use wcigen::render::{self, Target};
use wcigen::source::{SourceFile, SpanIndex};

use crate::common::{examples, repo};
use crate::hostile;

fn regressions_dir() -> PathBuf {
    repo().join("tests/fixtures/fuzz-regressions")
}

/// What one input did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Not a readable lab file (not UTF-8, too large): a file diagnostic.
    Unreadable,
    /// Rejected with diagnostics.
    Rejected,
    /// Valid; every target rendered and read back.
    Rendered,
}

/// The whole pipeline on one input. `Err` is a finding (a panic is caught by the caller).
fn run_pipeline(bytes: &[u8]) -> Result<Verdict, String> {
    let source = match SourceFile::from_bytes(Path::new("fuzz.yaml"), bytes.to_vec()) {
        Ok(s) => s,
        Err(_) => return Ok(Verdict::Unreadable),
    };
    match wcigen::check(&source) {
        Err(diagnostics) => {
            if !diagnostics
                .iter()
                .any(|d| d.severity() == diag::Severity::Error)
            {
                return Err(format!("rejected without an error: {diagnostics:?}"));
            }
            let spans = SpanIndex::build(&source.text);
            let resolved = diag::resolve("fuzz.yaml", &spans, &diagnostics);
            for color in [false, true] {
                let human = diag::render_human(Some(&source), &resolved, color);
                if !human.contains("error[") {
                    return Err(format!("the human report names no error:\n{human}"));
                }
            }
            let json = diag::render_json(&resolved);
            serde_json::from_str::<serde_json::Value>(&json)
                .map_err(|e| format!("the JSON report does not parse: {e}\n{json}"))?;
            Ok(Verdict::Rejected)
        }
        Ok(lab) => {
            let files = render::render(&lab, Target::ALL)
                .map_err(|e| format!("a valid lab failed to render: {e}"))?;
            let spec = lab.spec().clone();
            let twin = wcigen::validate::validate(hostile::benign_twin(&spec))
                .map_err(|d| format!("the benign twin is invalid: {d:?}"))?;
            let twin_files = render::render(&twin, Target::ALL)
                .map_err(|e| format!("the benign twin failed to render: {e}"))?;
            let outcome = hostile::check_rendered("fuzz", &spec, &files, &twin_files);
            if !outcome.problems.is_empty() {
                return Err(outcome.problems.join("\n"));
            }
            Ok(Verdict::Rendered)
        }
    }
}

/// `run_pipeline`, with a panic turned into a finding.
fn run_guarded(bytes: &[u8]) -> Result<Verdict, String> {
    match catch_unwind(AssertUnwindSafe(|| run_pipeline(bytes))) {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_string()))
                .unwrap_or_else(|| "(no message)".into());
            Err(format!("panic: {message}"))
        }
    }
}

// --- Inputs ----------------------------------------------------------------------------------

/// The labs mutations start from: valid ones (every example, the hostile corpus and its base
/// lab) first, then the invalid-lab corpus (`tests/fixtures/invalid/`).
fn seeds() -> (Vec<String>, usize) {
    let mut out: Vec<String> = examples()
        .iter()
        .chain(hostile::corpus_labs().iter())
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    out.push(hostile::BASE_LAB.to_string());
    let valid = out.len();
    let mut invalid: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/invalid"))
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    invalid.retain(|p| p.extension().is_some_and(|e| e == "yaml"));
    invalid.sort();
    out.extend(
        invalid
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok()),
    );
    (out, valid)
}

/// A scalar (or empty collection) put in place of a node.
#[derive(Clone, Debug)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    EmptySeq,
    EmptyMap,
}

impl Scalar {
    fn yaml(&self) -> serde_yaml::Value {
        use serde_yaml::Value as Y;
        match self {
            Scalar::Null => Y::Null,
            Scalar::Bool(b) => Y::Bool(*b),
            Scalar::Int(i) => Y::Number((*i).into()),
            Scalar::Float(f) => Y::Number((*f).into()),
            Scalar::Str(s) => Y::String(s.clone()),
            Scalar::EmptySeq => Y::Sequence(Vec::new()),
            Scalar::EmptyMap => Y::Mapping(serde_yaml::Mapping::new()),
        }
    }
}

/// One change to a lab. Node selectors pick a node of the current tree (modulo its size);
/// positions pick a byte (modulo the length).
#[derive(Clone, Debug)]
enum Mutation {
    DeleteNode(usize),
    SetNode(usize, Scalar),
    AddKey(usize, String, Scalar),
    DuplicateLine(usize),
    Reindent(usize, u8),
    InsertText(usize, String),
    InsertBytes(usize, Vec<u8>),
    Truncate(usize),
    DeleteRange(usize, usize),
}

/// A case: a seed and the mutations applied to it, in order.
#[derive(Clone, Debug)]
struct Case {
    seed: usize,
    mutations: Vec<Mutation>,
}

fn text_strategy() -> BoxedStrategy<String> {
    let payloads: Vec<String> = hostile::payloads().into_iter().map(|(_, p)| p).collect();
    prop_oneof![
        4 => proptest::sample::select(payloads),
        2 => any::<String>(),
        2 => "[a-zA-Z0-9 ._:/\\\\'\"`$%{}()\\[\\]@#&*?<>|=,+~^!;-]{0,24}",
        1 => proptest::collection::vec(
            proptest::sample::select(vec![
                "'", "\u{2019}", "\"", "`", "${", "%{", "$(", "[", "]", "\\", "\n", "\r", "\t",
                "\u{0}", "\u{85}", "\u{2028}", "\u{feff}", "\u{202e}", "😀", "Ñ", "#", "<#", "*/",
                "{{", "}}", "{%", "%}", ":", "- ", "&a", "*a", "!!str ", "? ", "|", ">",
            ]),
            0..12,
        )
        .prop_map(|parts| parts.concat()),
    ]
    .boxed()
}

fn scalar_strategy() -> BoxedStrategy<Scalar> {
    prop_oneof![
        1 => Just(Scalar::Null),
        1 => any::<bool>().prop_map(Scalar::Bool),
        1 => prop_oneof![any::<i64>(), -2i64..5000].prop_map(Scalar::Int),
        1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(1.5e300), -1.0e3..1.0e3f64]
            .prop_map(Scalar::Float),
        6 => text_strategy().prop_map(Scalar::Str),
        1 => (text_strategy(), 1usize..400).prop_map(|(t, n)| Scalar::Str(t.repeat(n))),
        1 => Just(Scalar::EmptySeq),
        1 => Just(Scalar::EmptyMap),
    ]
    .boxed()
}

fn mutation_strategy() -> BoxedStrategy<Mutation> {
    let key = prop_oneof![
        3 => proptest::sample::select(vec![
            "version", "name", "description", "azure", "location", "resourceGroup", "tags",
            "vm", "computerName", "size", "securityType", "image", "adminUsername", "osDisk",
            "network", "inboundPorts", "allowFrom", "autoShutdown", "time", "timeZone",
            "notificationEmail", "provisioning", "windowsFeatures", "docker", "toolsDir", "tools",
            "url", "dir", "kind", "sha256", "verify", "addToPath", "adminPassword", "<<",
        ])
        .prop_map(String::from),
        1 => text_strategy(),
    ];
    prop_oneof![
        3 => any::<usize>().prop_map(Mutation::DeleteNode),
        6 => (any::<usize>(), scalar_strategy()).prop_map(|(n, s)| Mutation::SetNode(n, s)),
        2 => (any::<usize>(), key, scalar_strategy()).prop_map(|(n, k, s)| Mutation::AddKey(n, k, s)),
        2 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => (any::<usize>(), 0u8..9).prop_map(|(l, i)| Mutation::Reindent(l, i)),
        2 => (any::<usize>(), text_strategy()).prop_map(|(p, t)| Mutation::InsertText(p, t)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..6))
            .prop_map(|(p, b)| Mutation::InsertBytes(p, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), 1usize..40).prop_map(|(p, n)| Mutation::DeleteRange(p, n)),
    ]
    .boxed()
}

/// Mostly valid seeds (so that most mutants still validate and render), some invalid ones.
fn case_strategy(valid: usize, seed_count: usize) -> BoxedStrategy<Case> {
    let seed = prop_oneof![4 => 0..valid, 1 => valid..seed_count];
    (seed, proptest::collection::vec(mutation_strategy(), 0..6))
        .prop_map(|(seed, mutations)| Case { seed, mutations })
        .boxed()
}

/// Paths (key/index chains) of every node of a YAML tree, root first.
fn node_paths(value: &serde_yaml::Value) -> Vec<Vec<serde_yaml::Value>> {
    let mut out = vec![Vec::new()];
    let mut i = 0;
    while i < out.len() {
        let path = out[i].clone();
        if let Some(node) = node_at(value, &path) {
            match node {
                serde_yaml::Value::Mapping(m) => {
                    for k in m.keys() {
                        let mut p = path.clone();
                        p.push(k.clone());
                        out.push(p);
                    }
                }
                serde_yaml::Value::Sequence(s) => {
                    for j in 0..s.len() {
                        let mut p = path.clone();
                        p.push(serde_yaml::Value::Number(j.into()));
                        out.push(p);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    out
}

fn node_at<'a>(
    value: &'a serde_yaml::Value,
    path: &[serde_yaml::Value],
) -> Option<&'a serde_yaml::Value> {
    let mut node = value;
    for seg in path {
        node = match (node, seg) {
            (serde_yaml::Value::Sequence(s), serde_yaml::Value::Number(n)) => {
                s.get(usize::try_from(n.as_u64()?).ok()?)?
            }
            (serde_yaml::Value::Mapping(m), k) => m.get(k)?,
            _ => return None,
        };
    }
    Some(node)
}

fn node_at_mut<'a>(
    value: &'a mut serde_yaml::Value,
    path: &[serde_yaml::Value],
) -> Option<&'a mut serde_yaml::Value> {
    let mut node = value;
    for seg in path {
        node = match (node, seg) {
            (serde_yaml::Value::Sequence(s), serde_yaml::Value::Number(n)) => {
                s.get_mut(usize::try_from(n.as_u64()?).ok()?)?
            }
            (serde_yaml::Value::Mapping(m), k) => m.get_mut(k)?,
            _ => return None,
        };
    }
    Some(node)
}

/// Apply a tree mutation; false when the document is not a YAML tree (then text ones apply).
fn mutate_tree(doc: &mut serde_yaml::Value, m: &Mutation) {
    let paths = node_paths(doc);
    let pick = |n: usize| paths[n % paths.len()].clone();
    match m {
        Mutation::DeleteNode(n) => {
            let path = pick(*n);
            if let Some((last, parent)) = path.split_last() {
                match node_at_mut(doc, parent) {
                    Some(serde_yaml::Value::Mapping(map)) => {
                        map.remove(last);
                    }
                    Some(serde_yaml::Value::Sequence(seq)) => {
                        if let Some(i) = last.as_u64().and_then(|i| usize::try_from(i).ok()) {
                            if i < seq.len() {
                                seq.remove(i);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
        Mutation::SetNode(n, scalar) => {
            if let Some(node) = node_at_mut(doc, &pick(*n)) {
                *node = scalar.yaml();
            }
        }
        Mutation::AddKey(n, key, scalar) => {
            if let Some(node) = node_at_mut(doc, &pick(*n)) {
                match node {
                    serde_yaml::Value::Mapping(map) => {
                        map.insert(serde_yaml::Value::String(key.clone()), scalar.yaml());
                    }
                    serde_yaml::Value::Sequence(seq) => seq.push(scalar.yaml()),
                    _ => {}
                }
            }
        }
        _ => {}
    }
}

fn mutate_text(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
    match m {
        Mutation::DuplicateLine(n) | Mutation::Reindent(n, _) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let mut lines: Vec<String> = text.split('\n').map(String::from).collect();
            let i = n % lines.len();
            match m {
                Mutation::DuplicateLine(_) => {
                    let line = lines[i].clone();
                    lines.insert(i, line);
                }
                Mutation::Reindent(_, indent) => {
                    let trimmed = lines[i].trim_start().to_string();
                    lines[i] = format!("{}{trimmed}", " ".repeat(usize::from(*indent)));
                }
                _ => unreachable!(),
            }
            *bytes = lines.join("\n").into_bytes();
        }
        Mutation::InsertText(p, t) => {
            let i = at(*p, bytes.len());
            bytes.splice(i..i, t.bytes());
        }
        Mutation::InsertBytes(p, b) => {
            let i = at(*p, bytes.len());
            bytes.splice(i..i, b.iter().copied());
        }
        Mutation::Truncate(p) => {
            let i = at(*p, bytes.len());
            bytes.truncate(i);
        }
        Mutation::DeleteRange(p, n) => {
            let i = at(*p, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        _ => {}
    }
}

/// The bytes of a case: tree mutations on the parsed seed (re-serialized), then text ones.
fn case_bytes(case: &Case, seeds: &[String]) -> Vec<u8> {
    let seed = &seeds[case.seed % seeds.len()];
    let tree_mutations = case.mutations.iter().any(|m| {
        matches!(
            m,
            Mutation::DeleteNode(_) | Mutation::SetNode(..) | Mutation::AddKey(..)
        )
    });
    let tree = if tree_mutations {
        serde_yaml::from_str::<serde_yaml::Value>(seed).ok()
    } else {
        None
    };
    let mut bytes = match tree {
        Some(mut doc) => {
            for m in &case.mutations {
                mutate_tree(&mut doc, m);
            }
            serde_yaml::to_string(&doc)
                .map_or_else(|_| seed.clone().into_bytes(), String::into_bytes)
        }
        None => seed.clone().into_bytes(),
    };
    for m in &case.mutations {
        mutate_text(&mut bytes, m);
    }
    bytes
}

/// Where a failing input is kept: named by the SHA-256 of its bytes.
fn save_regression(bytes: &[u8]) -> PathBuf {
    use sha2::Digest as _;
    let hash: String = sha2::Sha256::digest(bytes)
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    let path = regressions_dir().join(format!("crash-{hash}.yaml"));
    std::fs::create_dir_all(regressions_dir()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn fuzz_cases() -> u32 {
    std::env::var("WCIGEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(64)
}

/// Mutated labs never crash; whatever validates renders to files that parse and round-trip.
#[test]
fn mutated_labs_never_crash_and_valid_ones_render_cleanly() {
    let (seeds, valid) = seeds();
    // Every seed itself passes: the valid ones render, the invalid ones are rejected.
    for (i, seed) in seeds.iter().enumerate() {
        let expected = if i < valid {
            Verdict::Rendered
        } else {
            Verdict::Rejected
        };
        let verdict = run_guarded(seed.as_bytes());
        assert!(
            verdict == Ok(expected) || (i >= valid && verdict == Ok(Verdict::Unreadable)),
            "seed {i}: {verdict:?}"
        );
    }
    let persistence: &'static str = Box::leak(
        regressions_dir()
            .join("proptest-regressions.txt")
            .to_string_lossy()
            .into_owned()
            .into_boxed_str(),
    );
    let config = Config {
        cases: fuzz_cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(persistence))),
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let executions = AtomicUsize::new(0);
    let verdicts = [
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    ];
    let started = Instant::now();
    let result = runner.run(&case_strategy(valid, seeds.len()), |case| {
        executions.fetch_add(1, Ordering::Relaxed);
        let bytes = case_bytes(&case, &seeds);
        match run_guarded(&bytes) {
            Ok(verdict) => {
                verdicts[verdict as usize].fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(finding) => Err(TestCaseError::fail(finding)),
        }
    });
    let elapsed = started.elapsed();
    let n = executions.load(Ordering::Relaxed);
    println!(
        "fuzz: {n} executions ({} cases asked; shrinking adds executions): {} unreadable, {} rejected, {} rendered and read back; {:.1} s, {:.0} ms per 100",
        fuzz_cases(),
        verdicts[Verdict::Unreadable as usize].load(Ordering::Relaxed),
        verdicts[Verdict::Rejected as usize].load(Ordering::Relaxed),
        verdicts[Verdict::Rendered as usize].load(Ordering::Relaxed),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 * 100.0 / n.max(1) as f64,
    );
    match result {
        Ok(()) => {}
        Err(TestError::Fail(reason, case)) => {
            let bytes = case_bytes(&case, &seeds);
            let saved = save_regression(&bytes);
            panic!(
                "fuzz finding: {reason}\nshrunk case: {case:?}\ninput saved to {} (replayed by fuzz_regressions_replay)",
                saved.display()
            );
        }
        Err(TestError::Abort(reason)) => panic!("fuzz aborted: {reason}"),
    }
}

/// Every input kept in `tests/fixtures/fuzz-regressions/` either validates and renders to
/// files that read back, or is rejected with diagnostics; never a panic.
#[test]
fn fuzz_regressions_replay() {
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(regressions_dir())
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    inputs.retain(|p| {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        p.is_file() && name != "proptest-regressions.txt" && !name.ends_with(".md")
    });
    inputs.sort();
    let mut failures = Vec::new();
    for path in &inputs {
        let bytes = std::fs::read(path).unwrap();
        match run_guarded(&bytes) {
            Ok(verdict) => println!("{}: {verdict:?}", path.display()),
            Err(finding) => failures.push(format!("{}: {finding}", path.display())),
        }
    }
    println!("replayed {} kept fuzz inputs", inputs.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// --- The output folder and the readers ----------------------------------------------------------
//
// A second proptest builds random output-folder states (the previous render of one of two labs,
// or none; links of rendered folders and files to a folder outside, dangling links, FIFOs, hard
// links to files outside, hand-written manifests with entries that leave the folder, extra files
// the tools would load, a staging folder that is a link, the output folder itself a link), then
// renders into it (with or without `--force`) and checks it, in-process and (one case in eight)
// through the binary. It also points the lab and price-file readers at FIFOs, devices, links,
// folders and oversized files.
//
// * nothing outside the output folder changes (files, links and FIFOs there are compared byte by
//   byte before and after);
// * nothing blocks (every step has a time limit) or panics; the binary exits 0 or 1;
// * a render that fails leaves the folder's files as they were; one that succeeds leaves a
//   folder whose `--check` finds nothing but extra files the case put there.

#[cfg(unix)]
/// A step that shapes the output folder before the render.
#[derive(Clone, Debug)]
enum FolderOp {
    /// A rendered folder (or a new one) becomes a link to the folder outside.
    LinkDir(usize),
    /// A rendered file becomes a link to a file outside (or a dangling link).
    LinkFile(usize, bool),
    /// A FIFO at a rendered file, the manifest, or an extra tool-loaded name.
    Fifo(usize),
    /// A rendered file becomes a hard link to a file outside.
    HardLink(usize),
    /// The manifest is rewritten with these entries.
    Manifest(Vec<usize>),
    /// An extra file (tool-loaded or allowed) in a rendered folder.
    Extra(usize),
    /// A rendered file is edited.
    Edit(usize),
    /// A rendered file is removed.
    Remove(usize),
    /// A folder named like a staging folder that is a link to the folder outside.
    StagingLink,
}

#[cfg(unix)]
#[derive(Clone, Debug)]
struct FolderCase {
    /// 0: no folder; 1, 2: the previous render of lab 0 or 1.
    previous: usize,
    /// The output folder itself is a link to the folder outside.
    out_is_link: bool,
    ops: Vec<FolderOp>,
    lab: usize,
    force: bool,
    /// What the lab and price readers are pointed at.
    reader: usize,
}

#[cfg(unix)]
const SUBFOLDERS: [&str; 6] = ["powershell", "bicep", "arm", "terraform", "packer", "new"];
#[cfg(unix)]
const EXTRA_NAMES: [&str; 8] = [
    "terraform/override.tf",
    "terraform/x.auto.tfvars",
    "terraform/terraform.tfvars",
    "packer/lab.pkrvars.hcl",
    "bicep/bicepconfig.json",
    "terraform/.terraform.lock.hcl",
    "notes.txt",
    "packer/more.pkr.hcl",
];

#[cfg(unix)]
fn folder_op_strategy() -> BoxedStrategy<FolderOp> {
    prop_oneof![
        (0..SUBFOLDERS.len()).prop_map(FolderOp::LinkDir),
        (0..64usize, any::<bool>()).prop_map(|(i, d)| FolderOp::LinkFile(i, d)),
        (0..64usize).prop_map(FolderOp::Fifo),
        (0..64usize).prop_map(FolderOp::HardLink),
        proptest::collection::vec(0..64usize, 0..6).prop_map(FolderOp::Manifest),
        (0..EXTRA_NAMES.len()).prop_map(FolderOp::Extra),
        (0..64usize).prop_map(FolderOp::Edit),
        (0..64usize).prop_map(FolderOp::Remove),
        Just(FolderOp::StagingLink),
    ]
    .boxed()
}

#[cfg(unix)]
fn folder_case_strategy() -> BoxedStrategy<FolderCase> {
    (
        0..3usize,
        proptest::bool::weighted(0.05),
        proptest::collection::vec(folder_op_strategy(), 0..5),
        0..2usize,
        any::<bool>(),
        0..8usize,
    )
        .prop_map(
            |(previous, out_is_link, ops, lab, force, reader)| FolderCase {
                previous,
                out_is_link,
                ops,
                lab,
                force,
                reader,
            },
        )
        .boxed()
}

#[cfg(unix)]
/// Every non-folder entry under `dir` (links not followed): path → what it is and holds.
fn tree_state(dir: &Path) -> std::collections::BTreeMap<String, String> {
    fn walk(dir: &Path, rel: &str, out: &mut std::collections::BTreeMap<String, String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".wcigen-staging-") {
                continue;
            }
            let path = format!("{rel}/{name}");
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            let t = meta.file_type();
            if t.is_symlink() {
                let target = std::fs::read_link(entry.path()).unwrap();
                out.insert(path, format!("link to {}", target.display()));
            } else if t.is_dir() {
                walk(&entry.path(), &path, out);
            } else if t.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                out.insert(path, String::from_utf8_lossy(&bytes).into_owned());
            } else {
                out.insert(path, "special".into());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(dir, "", &mut out);
    out
}

#[cfg(unix)]
/// Run `f` on another thread; a run that takes longer than the limit is a finding (it blocked).
fn within<T: Send + 'static>(
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = catch_unwind(AssertUnwindSafe(f));
        let _ = send.send(result);
    });
    match receive.recv_timeout(std::time::Duration::from_secs(30)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(_)) => Err(format!("{what} panicked")),
        Err(_) => Err(format!("{what} blocked for 30 s")),
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    crate::cli::mkfifo(path);
}

#[cfg(unix)]
/// Build the case's folder under `root`; returns the output folder and the outside folder.
fn build_folder(
    root: &Path,
    case: &FolderCase,
    renders: &[Vec<wcigen::render::RenderedFile>; 2],
) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::symlink;
    let out = root.join("out");
    let outside = root.join("outside");
    std::fs::create_dir_all(outside.join("sub")).unwrap();
    std::fs::write(outside.join("x.txt"), "outside").unwrap();
    std::fs::write(outside.join("sub/y.tf"), "outside tf").unwrap();
    if case.out_is_link {
        symlink(&outside, &out).unwrap();
    } else if case.previous > 0 {
        wcigen::output::write(&out, &renders[case.previous - 1], false).unwrap();
    }
    let _ = std::fs::create_dir_all(&out);
    let rendered = &renders[case.previous.saturating_sub(1)];
    let pick = |i: usize| rendered[i % rendered.len()].path.clone();
    let replace = |rel: &str| {
        let path = out.join(rel);
        if let Some(parent) = path.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {
                let _ = std::fs::remove_dir_all(&path);
            }
            Ok(_) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(_) => {}
        }
        path
    };
    for op in &case.ops {
        match op {
            FolderOp::LinkDir(i) => {
                let _ = symlink(&outside, replace(SUBFOLDERS[*i]));
            }
            FolderOp::LinkFile(i, dangling) => {
                let target = outside.join(if *dangling { "missing.txt" } else { "x.txt" });
                let _ = symlink(target, replace(&pick(*i)));
            }
            FolderOp::Fifo(i) => {
                let rel = match i % 3 {
                    0 => pick(*i),
                    1 => wcigen::output::MANIFEST.to_string(),
                    _ => EXTRA_NAMES[i % EXTRA_NAMES.len()].to_string(),
                };
                let path = replace(&rel);
                if path.parent().is_some_and(Path::is_dir) {
                    mkfifo(&path);
                }
            }
            FolderOp::HardLink(i) => {
                let _ = std::fs::hard_link(outside.join("x.txt"), replace(&pick(*i)));
            }
            FolderOp::Manifest(entries) => {
                let mut text = String::from("# hand-written\n");
                for e in entries {
                    let line = match e % 8 {
                        0 | 1 => pick(*e),
                        2 => "../outside/x.txt".to_string(),
                        3 => outside.join("x.txt").display().to_string(),
                        4 => "powershell/../../outside/x.txt".to_string(),
                        5 => "new/x.txt".to_string(),
                        6 => "new/sub/y.tf".to_string(),
                        _ => "./README.md".to_string(),
                    };
                    text.push_str(&line);
                    text.push('\n');
                }
                let _ = std::fs::write(replace(wcigen::output::MANIFEST), text);
            }
            FolderOp::Extra(i) => {
                let _ = std::fs::write(replace(EXTRA_NAMES[*i]), "extra");
            }
            FolderOp::Edit(i) => {
                let _ = std::fs::write(replace(&pick(*i)), "edited\n");
            }
            FolderOp::Remove(i) => {
                replace(&pick(*i));
            }
            FolderOp::StagingLink => {
                let _ = symlink(&outside, out.join(".wcigen-staging-1"));
            }
        }
    }
    (out, outside)
}

#[cfg(unix)]
/// Point the lab and price readers at a file of the case's kind; they must answer at once.
fn check_readers(root: &Path, reader: usize) -> Result<(), String> {
    use std::os::unix::fs::symlink;
    let path = root.join("input");
    let regular = match reader {
        0 => {
            std::fs::write(&path, wcigen::EXAMPLE_LAB).unwrap();
            true
        }
        1 => {
            mkfifo(&path);
            false
        }
        2 => {
            symlink("/dev/zero", &path).unwrap();
            false
        }
        3 => {
            symlink("/dev/urandom", &path).unwrap();
            false
        }
        4 => {
            std::fs::create_dir(&path).unwrap();
            false
        }
        5 => {
            symlink(root.join("nothing"), &path).unwrap();
            false
        }
        6 => {
            let file = std::fs::File::create(&path).unwrap();
            file.set_len(wcigen::source::MAX_LAB_BYTES + 1).unwrap();
            false
        }
        _ => {
            let fifo = root.join("fifo");
            mkfifo(&fifo);
            symlink(&fifo, &path).unwrap();
            false
        }
    };
    let lab_path = path.clone();
    let lab = within("reading a lab", move || wcigen::read_lab(&lab_path).is_ok())?;
    let price_path = path.clone();
    let prices = within("reading a price file", move || {
        wcigen::read_prices(&price_path).is_ok()
    })?;
    if lab != regular || prices != regular {
        return Err(format!(
            "reader {reader}: lab read {lab}, price file read {prices}, regular {regular}"
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn run_folder_case(
    root: &Path,
    case: &FolderCase,
    renders: &[Vec<wcigen::render::RenderedFile>; 2],
    through_binary: bool,
) -> Result<(), String> {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).unwrap();
    check_readers(root, case.reader)?;
    let (out, outside) = build_folder(root, case, renders);
    let outside_before = tree_state(&outside);
    let out_before = tree_state(&out);
    let files = renders[case.lab].clone();
    let written = if through_binary {
        let lab = repo().join(["examples/lab.yaml", "examples/bare.yaml"][case.lab]);
        let mut render = std::process::Command::new(env!("CARGO_BIN_EXE_wcigen"));
        render.arg("render").arg(&lab).arg("-o").arg(&out);
        if case.force {
            render.arg("--force");
        }
        let output = crate::cli::output_within(&mut render, std::time::Duration::from_secs(30))?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("panicked") || !matches!(output.status.code(), Some(0 | 1)) {
            return Err(format!("render exit {:?}: {stderr}", output.status.code()));
        }
        render.arg("--check");
        let check = crate::cli::output_within(&mut render, std::time::Duration::from_secs(30))?;
        let check_err = String::from_utf8_lossy(&check.stderr);
        if check_err.contains("panicked") || !matches!(check.status.code(), Some(0 | 1)) {
            return Err(format!("check exit {:?}: {check_err}", check.status.code()));
        }
        output.status.success()
    } else {
        let (o, f, force) = (out.clone(), files.clone(), case.force);
        let result = within("writing", move || {
            wcigen::output::write(&o, &f, force).map_err(|e| e.to_string())
        })?;
        let (o, f) = (out.clone(), files.clone());
        let drift = within("checking", move || {
            wcigen::output::check(&o, &f).map_err(|e| e.to_string())
        })?;
        if result.is_ok() {
            let drift = drift.map_err(|e| format!("written, but check fails: {e}"))?;
            if let Some(d) = drift
                .iter()
                .find(|d| !matches!(d, wcigen::output::Drift::Extra(_)))
            {
                return Err(format!("written, but check finds {d:?}"));
            }
        }
        result.is_ok()
    };
    if tree_state(&outside) != outside_before {
        return Err("something outside the output folder changed".into());
    }
    if !written && !case.out_is_link && tree_state(&out) != out_before {
        return Err("a failed render changed the output folder".into());
    }
    Ok(())
}

/// Random output-folder states: nothing outside changes, nothing blocks or panics, a failed
/// render changes nothing, a successful one checks clean.
#[cfg(unix)]
#[test]
fn output_folder_states_never_reach_outside_and_never_block() {
    let renders = [
        crate::common::render_file(&repo().join("examples/lab.yaml")),
        crate::common::render_file(&repo().join("examples/bare.yaml")),
    ];
    let root = std::env::temp_dir().join(format!("wcigen-fuzz-folder-{}", std::process::id()));
    let config = Config {
        cases: fuzz_cases(),
        failure_persistence: None,
        max_shrink_iters: 500,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let counter = AtomicUsize::new(0);
    let started = Instant::now();
    let result = runner.run(&folder_case_strategy(), |case| {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        run_folder_case(&root, &case, &renders, n % 8 == 7).map_err(TestCaseError::fail)
    });
    println!(
        "fuzz (output folder): {} executions in {:.1} s",
        counter.load(Ordering::Relaxed),
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&root);
    if let Err(e) = result {
        panic!("output-folder fuzz finding: {e}");
    }
}

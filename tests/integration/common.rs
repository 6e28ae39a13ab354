//! Helpers shared by the integration tests: examples, rendering, and the conformance switch.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use wcigen::render::{self, RenderedFile, Target};
use wcigen::source::SourceFile;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `examples/*.yaml`, sorted.
pub fn examples() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(repo().join("examples"))
        .expect("examples/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

/// A short name for an example (`lab`, `bare`, ...), used in snapshot names.
pub fn example_name(path: &Path) -> String {
    path.file_stem().unwrap().to_string_lossy().into_owned()
}

/// Validate a lab text, panicking with the diagnostics when it is invalid.
pub fn valid_lab_from_text(label: &str, text: &str) -> wcigen::validate::ValidLab {
    let source = SourceFile {
        path: label.into(),
        text: text.into(),
    };
    match wcigen::check(&source) {
        Ok(lab) => lab,
        Err(d) => panic!("{label} is invalid: {d:#?}"),
    }
}

/// Render every target of a lab file.
pub fn render_file(path: &Path) -> Vec<RenderedFile> {
    let text = std::fs::read_to_string(path).expect("readable lab");
    render_text(&path.display().to_string(), &text)
}

/// Render every target of a lab text.
pub fn render_text(label: &str, text: &str) -> Vec<RenderedFile> {
    let lab = valid_lab_from_text(label, text);
    render::render(&lab, Target::ALL).unwrap_or_else(|e| panic!("{label}: {e}"))
}

/// The rendered file at `path` (panics when missing).
pub fn file<'a>(files: &'a [RenderedFile], path: &str) -> &'a RenderedFile {
    files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} was not rendered"))
}

/// `../shared/reference` when conformance tests are switched on (`WCIGEN_CONFORMANCE=1`).
/// Returns `None` when they are off; panics loudly when they are on but the data is missing.
pub fn conformance_reference() -> Option<PathBuf> {
    if std::env::var("WCIGEN_CONFORMANCE").map_or(true, |v| v.is_empty() || v == "0") {
        return None;
    }
    let dir = std::env::var_os("WCIGEN_SHARED")
        .map_or_else(|| repo().join("../shared"), PathBuf::from)
        .join("reference");
    assert!(
        dir.join("README.md").is_file(),
        "WCIGEN_CONFORMANCE is set but {} is missing: put ../shared beside the repository or set WCIGEN_SHARED",
        dir.display()
    );
    Some(dir)
}

/// Labs beyond `examples/` that take the templates' other branches (`tests/fixtures/extra-labs/`):
/// (name, text), sorted by name.
pub fn extra_labs() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        std::fs::read_dir(repo().join("tests/fixtures/extra-labs"))
            .expect("tests/fixtures/extra-labs exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .map(|p| (example_name(&p), std::fs::read_to_string(&p).unwrap()))
            .collect();
    out.sort();
    out
}

/// One extra lab by name.
pub fn extra_lab(name: &str) -> (String, String) {
    extra_labs()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no extra lab {name}"))
}

/// One rendered lab: its name, its view and every file rendered from it.
pub struct Rendered {
    /// The example's or extra lab's name.
    pub label: String,
    /// What the templates saw.
    pub view: wcigen::view::LabView,
    /// Every target's files.
    pub files: Vec<RenderedFile>,
}

impl Rendered {
    /// The text of one rendered file.
    pub fn text(&self, path: &str) -> &str {
        file(&self.files, path).text()
    }

    /// One rendered file parsed as JSON.
    pub fn json(&self, path: &str) -> serde_json::Value {
        serde_json::from_str(self.text(path))
            .unwrap_or_else(|e| panic!("{}: {path} is not JSON: {e}", self.label))
    }

    /// The bytes of `powershell/provision.ps1`.
    pub fn script(&self) -> &[u8] {
        &file(&self.files, "powershell/provision.ps1").bytes
    }
}

/// Every example, then every extra lab, rendered for every target.
pub fn all_labs() -> Vec<Rendered> {
    let mut labs: Vec<(String, String)> = examples()
        .into_iter()
        .map(|p| (example_name(&p), std::fs::read_to_string(&p).unwrap()))
        .collect();
    labs.extend(extra_labs());
    labs.into_iter()
        .map(|(label, text)| {
            let view = wcigen::view::LabView::new(&valid_lab_from_text(&label, &text));
            let files = render_text(&label, &text);
            Rendered { label, view, files }
        })
        .collect()
}

/// [`all_labs`] without the classes: the labs whose checks read one VM's resources. A class is
/// checked by its own tests (one copy per student), and by the real compiler in engine_bicep.rs.
pub fn one_vm_labs() -> Vec<Rendered> {
    all_labs()
        .into_iter()
        .filter(|l| l.view.class.is_none())
        .collect()
}

/// The value of a single-quoted Bicep string body, by Bicep's escapes only
/// (`\\ \' \n \r \t \$ \u{X}`); a raw line break cannot be in a one-line string.
pub fn bicep_unescape(body: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('\'') => out.push('\''),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('$') => out.push('$'),
                Some('u') => {
                    if chars.next() != Some('{') {
                        return Err("`\\u` without `{`".into());
                    }
                    let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .filter(|_| (1..=6).contains(&hex.len()))
                        .and_then(char::from_u32)
                        .ok_or_else(|| format!("bad `\\u{{{hex}}}`"))?;
                    out.push(code);
                }
                other => return Err(format!("Bicep has no escape `\\{}`", other.unwrap_or(' '))),
            },
            '\n' | '\r' => return Err("a raw line break in a one-line string".into()),
            '\'' => return Err("an unescaped `'` inside a string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `.ci/run` switches the conformance checks on for `cargo test --test integration
/// conformance`, a filter on the test's path: a test outside `conformance::` that reads the
/// reference data must carry the word in its name, or CI never runs its checks.
#[test]
fn every_test_reading_the_reference_data_is_selected_by_the_conformance_filter() {
    let dir = repo().join("tests/integration");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let mut current: Option<&str> = None;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("fn ") {
                current = rest.split('(').next();
            }
            if line.contains("conformance_reference()") && !line.contains("pub fn") {
                let name = current.unwrap_or("?");
                assert!(
                    name.contains("conformance"),
                    "{}: {name} reads the reference data but the CI filter `conformance` does not select it",
                    path.display()
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 3,
        "found {checked} tests reading the reference data"
    );
}

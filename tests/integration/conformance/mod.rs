//! Offline conformance checkers for the generated Azure templates.
//!
//! No Azure tooling (Bicep CLI, arm-ttk, `az deployment validate`) can run on the
//! build machines, so the tests check generated ARM JSON and Bicep files against
//! the machine-readable data in the shared reference directory
//! (`shared/reference/`, see its `README.md` sections 1 and 2):
//!
//! * [`arm`] validates ARM JSON templates with the official ARM JSON schemas
//!   (draft-04, via the `jsonschema` crate), made expression-aware and "strict"
//!   (misspelled property names are errors);
//! * [`bicep`] parses Bicep with tree-sitter-bicep and checks every resource body
//!   against the Bicep type definitions (`types.json` of bicep-types-az);
//! * [`terraform`] and [`packer`] check HCL (parsed with hcl-rs) against the azurerm argument
//!   schema and the azure-arm builder / provisioner field lists.
//!
//! Both return a sorted list of [`Finding`]s; a template conforms when no finding
//! has [`Severity::Error`].

// Test-support API: not every helper is used by every test of the binary.
#![allow(dead_code)]

pub mod arm;
pub mod bicep;
pub mod packer;
pub mod terraform;

#[cfg(test)]
mod rendered;

#[cfg(test)]
mod arm_tests;
#[cfg(test)]
mod bicep_tests;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// How serious a [`Finding`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The template does not conform (a test should fail).
    Error,
    /// Worth a look, but the reference data is known to be stricter than Azure here
    /// (e.g. a value outside a stale, closed enum list of the ARM JSON schemas).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem found by a checker.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Finding {
    pub severity: Severity,
    /// Where: a JSON pointer into the template (ARM, `""` = the root), or
    /// `line:column` (1-based) in the source (Bicep).
    pub path: String,
    pub message: String,
}

impl Finding {
    pub fn error(path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Error,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn warning(path: impl Into<String>, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            path: path.into(),
            message: message.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "{} {}: {}", self.severity, path, self.message)
    }
}

impl Ord for Finding {
    /// Natural order of the path (numbers compare as numbers, so `/resources/2`
    /// sorts before `/resources/10` and `9:1` before `12:1`), then severity, then message.
    fn cmp(&self, other: &Self) -> Ordering {
        natural_cmp(&self.path, &other.path)
            .then(self.severity.cmp(&other.severity))
            .then_with(|| self.message.cmp(&other.message))
            .then_with(|| self.path.cmp(&other.path))
    }
}

impl PartialOrd for Finding {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Sorts findings deterministically and removes exact duplicates.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort();
    findings.dedup();
}

/// Only the findings with [`Severity::Error`].
pub fn errors(findings: &[Finding]) -> Vec<&Finding> {
    findings.iter().filter(|f| f.is_error()).collect()
}

/// One finding per line, for assertion messages.
pub fn render(findings: &[Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("  {f}\n"))
        .collect::<String>()
}

/// A process-wide cache of loaded reference data, one entry per directory: checkers are
/// loaded once and shared by all tests of the binary.
pub(crate) type LoadCache<T> = OnceLock<Mutex<HashMap<PathBuf, Arc<T>>>>;

/// The entry of `cache` for `dir`, loading it with `load` on first use.
pub(crate) fn load_cached<T>(
    cache: &LoadCache<T>,
    dir: &Path,
    load: impl FnOnce(&Path) -> Result<T, String>,
) -> Result<Arc<T>, String> {
    let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut entries = cache
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(entry) = entries.get(&key) {
        return Ok(Arc::clone(entry));
    }
    let entry = Arc::new(load(dir)?);
    entries.insert(key, Arc::clone(&entry));
    Ok(entry)
}

/// Reads and parses a JSON file of the reference data.
pub(crate) fn read_json(path: &Path) -> Result<serde_json::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    serde_json::from_str(&text).map_err(|err| format!("cannot parse {}: {err}", path.display()))
}

/// `unknown property 'x' (did you mean 'y'?); allowed: ...` for misspelled names.
pub(crate) fn unknown_property_message<S: AsRef<str>>(name: &str, allowed: &[S]) -> String {
    let mut message = format!("unknown property '{name}'");
    if let Some(close) = closest(name, allowed) {
        if close.eq_ignore_ascii_case(name) {
            message.push_str(&format!(" (the schema spells it '{close}')"));
        } else {
            message.push_str(&format!(" (did you mean '{close}'?)"));
        }
    }
    if !allowed.is_empty() {
        let names: Vec<&str> = allowed.iter().map(AsRef::as_ref).collect();
        message.push_str(&format!("; allowed: {}", names.join(", ")));
    }
    message
}

/// The allowed name closest to `name` (case-insensitive edit distance of at most 3).
fn closest<'a, S: AsRef<str>>(name: &str, allowed: &'a [S]) -> Option<&'a str> {
    let name = name.to_ascii_lowercase();
    allowed
        .iter()
        .map(|candidate| {
            let candidate = candidate.as_ref();
            (
                levenshtein(&name, &candidate.to_ascii_lowercase()),
                candidate,
            )
        })
        .filter(|(distance, _)| *distance <= 3)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// Compares strings so that runs of ASCII digits compare by numeric value.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let la = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let lb = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let (na, nb) = (trim_zeros(&a[..la]), trim_zeros(&b[..lb]));
                let ord = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if ord != Ordering::Equal {
                    return ord;
                }
                a = &a[la..];
                b = &b[lb..];
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(digits: &[u8]) -> &[u8] {
    let zeros = digits.iter().take_while(|&&c| c == b'0').count();
    &digits[zeros.min(digits.len().saturating_sub(1))..]
}

//! wcigen: one declarative lab file → PowerShell, Bicep, ARM, Terraform and Packer.
//!
//! The data flows one way, one module per arrow:
//!
//! ```text
//! lab.yaml ─source─▶ SourceFile ─load─▶ LabSpec ─validate─▶ ValidLab ─view─▶ LabView ─render─▶ files ─output─▶ disk
//! ```
//!
//! The folders are the stages: `lab/` (source, load, model, facts, validate), `render/` (view,
//! prices, templates and escapers), `output/` (the folder on disk); the binary's `cli/` sits on
//! top. Diagnostics are values ([`diag::Diagnostic`]) collected along the way; the library never
//! prints (the `wcigen` binary does). Renderers accept only [`validate::ValidLab`].
#![warn(missing_docs, clippy::print_stdout, clippy::print_stderr)]

pub mod diag;
pub mod lab;
pub mod output;
pub mod render;

// The stages' modules under their short names, for the binary, the tests and the benchmarks.
pub use lab::{facts, load, model, secret, source, validate};
pub use render::{prices, view};

use std::path::Path;

use diag::{Diagnostic, DiagnosticKind};
use source::{ReadError, SourceFile};
use validate::ValidLab;

/// The example lab that `wcigen init` writes (`examples/lab.yaml`).
pub const EXAMPLE_LAB: &str = include_str!("../examples/lab.yaml");

/// Read a lab file, turning every way it can be unusable into a diagnostic.
///
/// # Errors
/// A diagnostic about the file (missing, a directory, too large, not UTF-8, unreadable).
pub fn read_lab(path: &Path) -> Result<SourceFile, Box<Diagnostic>> {
    SourceFile::read(path).map_err(|e| {
        Box::new(Diagnostic::file(match e {
            ReadError::NotFound => DiagnosticKind::FileNotFound,
            ReadError::IsDirectory => DiagnosticKind::FileIsDirectory,
            ReadError::NotRegular(kind) => DiagnosticKind::FileNotRegular { kind },
            ReadError::TooLarge(bytes) => DiagnosticKind::FileTooLarge {
                bytes,
                limit: source::MAX_LAB_BYTES,
            },
            ReadError::NotUtf8(offset) => DiagnosticKind::FileNotUtf8 { offset },
            ReadError::Io(e) => DiagnosticKind::FileUnreadable {
                reason: e.kind().to_string(),
            },
        }))
    })
}

/// Read the price file of `render --prices` (a saved Azure Retail Prices API answer).
///
/// # Errors
/// A diagnostic saying why the file cannot be used.
pub fn read_prices(path: &Path) -> Result<SourceFile, Box<Diagnostic>> {
    SourceFile::read(path).map_err(|e| Box::new(diag::prices_read_error(&e)))
}

/// Parse and validate a lab's text.
///
/// # Errors
/// Every diagnostic (errors, plus any warnings) when the lab is not valid.
pub fn check(source: &SourceFile) -> Result<ValidLab, Vec<Diagnostic>> {
    let spec = load::parse(source)?;
    render::check_user_data(validate::validate(spec)?)
}

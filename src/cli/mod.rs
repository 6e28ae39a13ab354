//! The command line: clap definitions, and the only code that prints or chooses exit codes.
//!
//! Exit codes: 0 success (warnings allowed), 1 invalid lab or price file / drift / cannot write,
//! 2 usage error (clap), 3 internal error (a defect in wcigen; please report it).

mod man;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use wcigen::diag::{self, Diagnostic, ResolvedDiagnostic};
use wcigen::render::{self, Target};
use wcigen::source::{SourceFile, SpanIndex};
use wcigen::{load, output};

const AFTER_HELP: &str = "\
Examples:
  wcigen init lab.yaml                      write the example lab
  wcigen validate lab.yaml                  check it (exit 1 when invalid)
  wcigen render lab.yaml -o out             render every target into out/
  wcigen render lab.yaml --target powershell
  wcigen schema > lab.schema.json           the lab file's JSON Schema
  wcigen completions bash                   shell completions
  wcigen man | man -l -                     this manual (also: wcigen man render)

Exit codes: 0 ok (warnings allowed), 1 invalid lab or price file, drift or write failure, 2 usage,
3 internal error.";

/// Render one declarative Windows-internals lab file into deployable forms.
#[derive(Debug, Parser)]
#[command(name = "wcigen", version, about, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate a lab and write every target (or the chosen ones) into a folder.
    #[command(
        after_help = "Examples:\n  wcigen render examples/lab.yaml\n  wcigen render lab.yaml -o out --target powershell\n  wcigen render lab.yaml -o out --check   # exit 1 when out/ differs\n  wcigen render lab.yaml -o out --prices prices.json   # README states the hourly cost"
    )]
    Render {
        /// The lab file.
        lab: PathBuf,
        /// Output folder.
        #[arg(short, long, default_value = "out")]
        out: PathBuf,
        /// Render only these targets (repeatable); default: all.
        #[arg(short, long = "target", value_name = "TARGET")]
        targets: Vec<Target>,
        /// Replace files in the output folder that wcigen did not write (never a symbolic link:
        /// nothing outside the output folder is ever touched).
        #[arg(long)]
        force: bool,
        /// Compare with the output folder instead of writing; exit 1 when they differ, or when
        /// the folder holds files the tools would load that wcigen did not write.
        #[arg(long)]
        check: bool,
        /// Diagnostics format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// A price list saved from the Azure Retail Prices API (the URL is in the generated
        /// README); puts the lab's hourly cost, with its date, into the README.
        #[arg(long, value_name = "FILE")]
        prices: Option<PathBuf>,
    },
    /// Check a lab file and report every problem (exit 0 when valid, 1 when not).
    #[command(
        after_help = "Examples:\n  wcigen validate examples/lab.yaml\n  wcigen validate lab.yaml --format json"
    )]
    Validate {
        /// The lab file.
        lab: PathBuf,
        /// Diagnostics format.
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Print the JSON Schema of the lab file.
    #[command(after_help = "Example:\n  wcigen schema > schemas/lab.schema.json")]
    Schema,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    #[command(
        after_help = "Examples:\n  wcigen completions bash > /etc/bash_completion.d/wcigen\n  wcigen completions zsh > \"${fpath[1]}/_wcigen\"\n  wcigen completions powershell >> $PROFILE"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print a manual page (roff) for wcigen or one of its commands.
    #[command(
        after_help = "Examples:\n  wcigen man | man -l -\n  wcigen man render > wcigen-render.1\n  for c in '' render validate schema completions init man; do wcigen man $c > \"wcigen${c:+-$c}.1\"; done"
    )]
    Man {
        /// The command whose page to print; default: the page of wcigen itself.
        #[arg(value_name = "COMMAND", value_parser = MAN_PAGES)]
        command: Option<String>,
    },
    /// Write the example lab (the Windows Containers Internals lab) to PATH.
    #[command(after_help = "Example:\n  wcigen init my-lab.yaml && wcigen validate my-lab.yaml")]
    Init {
        /// Where to write it.
        #[arg(default_value = "lab.yaml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// The commands that have a manual page of their own (a unit test keeps this in step).
const MAN_PAGES: [&str; 6] = ["render", "validate", "schema", "completions", "man", "init"];

/// Output format of diagnostics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// For people: the line with a caret under the value, and the fix.
    Human,
    /// A JSON array of {code, severity, file, path, line, column, message, help}.
    Json,
}

pub(crate) fn run() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Render {
            lab,
            out,
            targets,
            force,
            check,
            format,
            prices,
        } => render_cmd(
            &lab,
            &out,
            &RenderFlags {
                targets,
                force,
                check,
                format,
                prices,
            },
        ),
        Command::Validate { lab, format } => validate_cmd(&lab, format),
        Command::Schema => {
            print_stdout(&load::lab_schema_text());
            ExitCode::SUCCESS
        }
        Command::Init { path, force } => init_cmd(&path, force),
        Command::Man { command } => {
            let root = <Cli as clap::CommandFactory>::command();
            print_stdout(&man::page(root, command.as_deref()));
            ExitCode::SUCCESS
        }
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "wcigen", &mut script);
            print_stdout(&String::from_utf8_lossy(&script));
            ExitCode::SUCCESS
        }
    }
}

fn print_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn print_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn use_color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn report(source: Option<&SourceFile>, label: &str, diagnostics: &[Diagnostic], format: Format) {
    emit(format, &[(source, resolve(source, label, diagnostics))]);
}

fn resolve(
    source: Option<&SourceFile>,
    label: &str,
    diagnostics: &[Diagnostic],
) -> Vec<ResolvedDiagnostic> {
    let spans = source
        .map(|s| SpanIndex::build(&s.text))
        .unwrap_or_default();
    diag::resolve(label, &spans, diagnostics)
}

/// Print diagnostics about one or more files: for people, file by file (each shows its lines)
/// with one summary; as JSON, one array.
fn emit(format: Format, groups: &[(Option<&SourceFile>, Vec<ResolvedDiagnostic>)]) {
    match format {
        Format::Human => {
            let files: Vec<(Option<&SourceFile>, &[ResolvedDiagnostic])> = groups
                .iter()
                .map(|(source, resolved)| (*source, resolved.as_slice()))
                .collect();
            print_stderr(&diag::render_human_files(&files, use_color()));
        }
        Format::Json => {
            let all: Vec<ResolvedDiagnostic> =
                groups.iter().flat_map(|(_, r)| r.iter().cloned()).collect();
            print_stdout(&diag::render_json(&all));
        }
    }
}

/// Read, parse and validate; on failure print the diagnostics and return the exit code.
fn load_valid(
    lab: &Path,
    format: Format,
) -> Result<(SourceFile, wcigen::validate::ValidLab), ExitCode> {
    let label = lab.display().to_string();
    let source = match wcigen::read_lab(lab) {
        Ok(s) => s,
        Err(d) => {
            report(None, &label, &[*d], format);
            return Err(ExitCode::from(1));
        }
    };
    match wcigen::check(&source) {
        Ok(valid) => Ok((source, valid)),
        Err(diagnostics) => {
            report(Some(&source), &label, &diagnostics, format);
            Err(ExitCode::from(1))
        }
    }
}

fn validate_cmd(lab: &Path, format: Format) -> ExitCode {
    match load_valid(lab, format) {
        Ok((source, valid)) => {
            report(
                Some(&source),
                &lab.display().to_string(),
                valid.warnings(),
                format,
            );
            if format == Format::Human {
                print_stderr(&format!(
                    "{}: valid lab `{}`\n",
                    lab.display(),
                    valid.spec().name
                ));
            }
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// The options of `wcigen render`.
struct RenderFlags {
    targets: Vec<Target>,
    force: bool,
    check: bool,
    format: Format,
    prices: Option<PathBuf>,
}

/// The lab's hourly price from the `--prices` file, or the file and the diagnostics saying why not.
fn load_price(
    path: &Path,
    valid: &wcigen::validate::ValidLab,
) -> Result<wcigen::prices::HourlyPrice, (Option<SourceFile>, Vec<Diagnostic>)> {
    let source = wcigen::read_prices(path).map_err(|d| (None, vec![*d]))?;
    wcigen::prices::estimate(&source, valid).map_err(|diagnostics| (Some(source), diagnostics))
}

fn render_cmd(lab: &Path, out: &Path, flags: &RenderFlags) -> ExitCode {
    let RenderFlags {
        targets,
        force,
        check,
        format,
        prices,
    } = flags;
    let (force, check, format) = (*force, *check, *format);
    let (source, valid) = match load_valid(lab, format) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let lab_notes = resolve(Some(&source), &lab.display().to_string(), valid.warnings());
    let price = match prices.as_deref().map(|p| (p, load_price(p, &valid))) {
        None => None,
        Some((_, Ok(price))) => Some(price),
        Some((path, Err((price_source, diagnostics)))) => {
            let price_notes = resolve(
                price_source.as_ref(),
                &path.display().to_string(),
                &diagnostics,
            );
            emit(
                format,
                &[
                    (Some(&source), lab_notes),
                    (price_source.as_ref(), price_notes),
                ],
            );
            return ExitCode::from(1);
        }
    };
    if !lab_notes.is_empty() {
        emit(format, &[(Some(&source), lab_notes)]);
    }
    let targets = if targets.is_empty() {
        Target::ALL.to_vec()
    } else {
        targets.clone()
    };
    let files = match render::render_with_price(&valid, &targets, price.as_ref()) {
        Ok(files) => files,
        Err(e) => {
            print_stderr(&format!("error: {e}\n"));
            return ExitCode::from(3);
        }
    };
    if check {
        let drift = match output::check(out, &files) {
            Ok(drift) => drift,
            Err(e) => {
                print_stderr(&format!("error: {e}\n"));
                return ExitCode::from(1);
            }
        };
        if drift.is_empty() {
            print_stderr(&format!(
                "{}: {} file(s) up to date\n",
                out.display(),
                files.len()
            ));
            return ExitCode::SUCCESS;
        }
        let mut text = format!(
            "{}: {} file(s) differ from {}:\n",
            out.display(),
            drift.len(),
            lab.display()
        );
        for d in &drift {
            text.push_str(&diag::drift_line(d));
        }
        text.push_str(&diag::drift_help(
            &drift,
            &lab.display().to_string(),
            &out.display().to_string(),
        ));
        print_stderr(&text);
        return ExitCode::from(1);
    }
    if let Err(e) = output::write(out, &files, force) {
        print_stderr(&format!("error: {e}\n"));
        return ExitCode::from(1);
    }
    let mut summary = format!("rendered `{}` into {}:\n", valid.spec().name, out.display());
    for file in &files {
        summary.push_str(&format!("  {}\n", file.path));
    }
    print_stderr(&summary);
    ExitCode::SUCCESS
}

fn init_cmd(path: &Path, force: bool) -> ExitCode {
    // `symlink_metadata`: a dangling link "does not exist" for `exists()`, but writing to it
    // would create the file it points to, wherever that is.
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !force {
            let what = if meta.file_type().is_symlink() {
                match std::fs::read_link(path) {
                    Ok(target) => format!(" (a symbolic link to {})", target.display()),
                    Err(_) => " (a symbolic link)".into(),
                }
            } else {
                String::new()
            };
            print_stderr(&format!(
                "error: {} already exists{what}\n   = help: pass --force to overwrite it\n",
                path.display()
            ));
            return ExitCode::from(1);
        }
        // Even with --force, only a regular file (or a link to one) is overwritten: writing to a
        // FIFO would block, to a device would be harmful.
        if let Some(kind) = std::fs::metadata(path)
            .ok()
            .and_then(|m| wcigen::source::FileKind::of(&m))
        {
            print_stderr(&format!(
                "error: {} is {}, not a regular file; not overwritten\n",
                path.display(),
                diag::file_kind(kind)
            ));
            return ExitCode::from(1);
        }
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if let Err(e) = std::fs::create_dir_all(parent) {
            print_stderr(&format!("error: cannot create {}: {e}\n", parent.display()));
            return ExitCode::from(1);
        }
    }
    match std::fs::write(path, wcigen::EXAMPLE_LAB) {
        Ok(()) => {
            print_stderr(&format!(
                "wrote {}; next: wcigen render {}\n",
                path.display(),
                path.display()
            ));
            ExitCode::SUCCESS
        }
        Err(e) => {
            print_stderr(&format!("error: cannot write {}: {e}\n", path.display()));
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_a_man_page() {
        let names: Vec<String> = super::Cli::command()
            .get_subcommands()
            .map(|c| c.get_name().to_owned())
            .collect();
        assert_eq!(names, super::MAN_PAGES);
    }
}

//! The real engines (Bicep CLI, PowerShell, Pester), found once per test process and shared by
//! every engine test.
//!
//! Where an engine comes from, first match wins:
//! 1. `WCIGEN_BICEP` / `WCIGEN_PWSH` / `WCIGEN_PESTER` when set (a set variable that names no
//!    file is a mistake and fails the test);
//! 2. `<repo>/../shared/tools/install.sh`, run once (its stdout is `KEY=value` lines; it unpacks
//!    the bundles on the first run only);
//! 3. none: with `WCIGEN_REQUIRE_ENGINES=1` (set by `.ci/run`) the test fails; otherwise one line
//!    on stderr per missing engine says which engine tests did not run, and the test passes
//!    without checking anything (a clone without `../shared` still passes `cargo test`).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use crate::common::repo;

/// The Bicep CLI wrapper (`bicep`), or `None` after saying that the Bicep tests did not run.
pub fn bicep() -> Option<PathBuf> {
    engine(
        "WCIGEN_BICEP",
        "the Bicep CLI",
        "the Bicep compiler tests (engine_bicep)",
    )
}

/// The PowerShell wrapper (`pwsh`), or `None` after saying that the PowerShell tests did not run.
pub fn pwsh() -> Option<PathBuf> {
    engine(
        "WCIGEN_PWSH",
        "PowerShell (pwsh)",
        "the PowerShell engine tests (engine_pwsh)",
    )
}

/// `Pester.psd1`, or `None` after saying that the Pester suite did not run.
pub fn pester() -> Option<PathBuf> {
    engine(
        "WCIGEN_PESTER",
        "Pester",
        "the Pester suite (tests/powershell)",
    )
}

/// Whether a missing engine is a failure (`WCIGEN_REQUIRE_ENGINES=1`, as in CI).
pub fn required() -> bool {
    std::env::var("WCIGEN_REQUIRE_ENGINES").is_ok_and(|v| !v.is_empty() && v != "0")
}

fn engine(key: &str, name: &str, tests: &str) -> Option<PathBuf> {
    if let Some(value) = std::env::var_os(key).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(value);
        assert!(
            path.is_file(),
            "{key} is set to {} but no such file exists",
            path.display()
        );
        return Some(path);
    }
    let reason = match installed() {
        Installed::Paths(paths) => match paths.get(key).map(PathBuf::from) {
            Some(path) if path.is_file() => return Some(path),
            Some(path) => format!("install.sh named {}, which does not exist", path.display()),
            None => format!("install.sh printed no {key}"),
        },
        Installed::Absent(why) | Installed::Failed(why) => why.clone(),
    };
    assert!(
        !required(),
        "{name} is required (WCIGEN_REQUIRE_ENGINES=1) but was not found: {reason}. \
         Run `eval \"$(bash ../shared/tools/install.sh)\"` or set {key}."
    );
    static SAID: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    if SAID
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .insert(key.to_string())
    {
        // Straight to the process's stderr: the test harness captures `eprintln!` of a passing
        // test, and this line must be seen in a plain `cargo test`.
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "wcigen: {tests} did not run: {name} not found ({reason}; set {key} or put ../shared beside the repository)"
        );
    }
    None
}

/// What `install.sh` gave, once per process.
enum Installed {
    /// `KEY=value` lines of its stdout.
    Paths(BTreeMap<String, String>),
    /// No `../shared/tools/install.sh`.
    Absent(String),
    /// It ran and failed (message with its stderr).
    Failed(String),
}

fn installed() -> &'static Installed {
    static INSTALLED: OnceLock<Installed> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let script = std::env::var_os("WCIGEN_SHARED")
            .map_or_else(|| repo().join("../shared"), PathBuf::from)
            .join("tools/install.sh");
        if !script.is_file() {
            return Installed::Absent(format!("no {}", script.display()));
        }
        let out = match Command::new("bash").arg(&script).output() {
            Ok(out) => out,
            Err(e) => {
                return Installed::Failed(format!("cannot run bash {}: {e}", script.display()))
            }
        };
        if !out.status.success() {
            return Installed::Failed(format!(
                "bash {} failed ({}): {}",
                script.display(),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Installed::Paths(parse_key_values(&String::from_utf8_lossy(&out.stdout)))
    })
}

/// `KEY=value` lines (other lines are ignored).
pub fn parse_key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .filter(|(k, _)| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Run a command and capture its output; a command that cannot start fails the test, naming it.
pub fn run(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", describe(command)))
}

/// Run a command that must exit 0; otherwise fail with its exit status, stdout and stderr.
pub fn run_ok(command: &mut Command) -> Output {
    let out = run(command);
    assert!(
        out.status.success(),
        "{} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        describe(command),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A command as a shell-like line, for messages.
pub fn describe(command: &Command) -> String {
    std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A fresh, empty folder under the target directory for one test's files (kept after the run
/// so a failure can be inspected; replaced by the next run).
pub fn work_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir)
            .unwrap_or_else(|e| panic!("cannot empty {}: {e}", dir.display()));
    }
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

#[test]
fn install_sh_lines_are_parsed_as_key_values() {
    let parsed = parse_key_values(
        "WCIGEN_TOOLS_BIN=/c/bin\nWCIGEN_BICEP=/c/bin/bicep\nnoise line\nlower=x\nWCIGEN_PWSH=/c/a=b\n",
    );
    assert_eq!(
        parsed.into_iter().collect::<Vec<_>>(),
        vec![
            ("WCIGEN_BICEP".to_string(), "/c/bin/bicep".to_string()),
            ("WCIGEN_PWSH".to_string(), "/c/a=b".to_string()),
            ("WCIGEN_TOOLS_BIN".to_string(), "/c/bin".to_string()),
        ]
    );
}

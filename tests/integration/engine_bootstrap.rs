//! The bootstrap commands under the real PowerShell (7.6, from `../shared/tools`, see
//! [`crate::engines`]): the CustomScriptExtension's `commandToExecute` as each engine sees it
//! (Bicep: from the real compiler's JSON; ARM: from `azuredeploy.json`; Terraform: out of
//! `protected_settings = jsonencode({...})`, read with hcl-rs) and Packer's inline `provision`
//! command (its heredoc evaluated by hcl-rs with the `local` values substituted).
//!
//! Every command runs, unchanged, in one `pwsh` process (`engine_bootstrap.ps1`) against a
//! stand-in instance metadata service on 127.0.0.1 that serves the case's `userData` as IMDS does
//! (the base64 text; only with `Metadata: true`). provision.ps1 is stopped at its first command
//! by a stand-in that records the run and exits with 42, which the bootstrap must pass on.
//!
//! - the intact `userData` (each target's own): the file written under
//!   `$env:ProgramData/wcigen/provision.ps1` is `powershell/provision.ps1` byte for byte, it ran
//!   once (in `Unattended` mode; Packer: `Orchestrated`, from `WCIGEN_MODE`) and its exit code
//!   came back;
//! - a corrupted one (empty, whitespace only, truncated mid-quantum, truncated at a 4-character
//!   boundary, one base64 character changed, another lab's intact `userData`): a non-zero exit
//!   with a message that names the problem, no file written (no `wcigen` folder at all) and
//!   nothing run. Packer embeds its payload: the corrupted cases replace
//!   `${local.script_base64_gzip}`; Packer writes the file before it checks the hash, so a
//!   corrupted file may be left behind, but it never runs.
//!
//! What the command before the SHA-256 check (`[IO.File]::Create($p)`, then gunzip into it, then
//! run) did with these cases, observed with this harness on `examples/lab.yaml` (ARM):
//! - empty and whitespace only: wrote an empty provision.ps1, ran it, **exit 0** (the extension
//!   would have reported success with nothing provisioned);
//! - truncated at a 4-character boundary: .NET decoded and decompressed without an error, wrote
//!   the first half of the script (27,183 of 57,902 bytes) and **ran it** (it failed to parse:
//!   exit 1 by luck of where the cut fell);
//! - one changed character: exit 1 from gunzip's CRC check, after **creating an empty
//!   provision.ps1**;
//! - truncated mid-quantum: exit 1 from `FromBase64String`, nothing written (the only case it got
//!   right), with a message that did not say which input was wrong;
//! - another lab's intact `userData`: would have written and run the other lab's script.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use hcl::eval::{Context, Evaluate as _};
use serde_json::{json, Value};
use wcigen::view::{LabView, ScriptView};

use crate::common::{render_text, repo, valid_lab_from_text, Rendered};
use crate::engines::{self, run_ok};
use crate::hcl_targets;

/// The labs whose commands run (examples; `minimal` renders byte-identically to `lab`, `bare`
/// has another script, so each is the other's "another lab").
const LABS: [&str; 2] = ["lab", "bare"];
/// What `cmd.exe` receives around the PowerShell text.
const WRAPPER: &str =
    "powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -Command \"";
/// The exit code of the stand-in that stops provision.ps1 at its first command.
const RAN: i64 = 42;
/// The one request a CustomScriptExtension command makes, as the stand-in IMDS logs it.
const IMDS_REQUEST: &str =
    "GET /metadata/instance/compute/userData?api-version=2021-01-01&format=text Metadata=true";
const SCRIPT: &str = "powershell/provision.ps1";

fn rendered(label: &str) -> Rendered {
    let path = repo().join("examples").join(format!("{label}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    Rendered {
        label: label.to_string(),
        view: LabView::new(&valid_lab_from_text(label, &text)),
        files: render_text(label, &text),
    }
}

/// The PowerShell text of a CustomScriptExtension command: the wrapper's exact shape is asserted,
/// and so is what `cmd.exe` would act on inside it.
fn powershell_text(what: &str, command: &str) -> String {
    let text = command
        .strip_prefix(WRAPPER)
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("{what}: not `{WRAPPER}...\"`: {command}"));
    assert!(
        command.chars().count() <= 8_191,
        "{what}: {} characters, over cmd.exe's line limit",
        command.chars().count()
    );
    assert!(text.is_ascii(), "{what}: non-ASCII text in the command");
    for c in ['"', '%', '|', '<', '>', '^', '\n', '\r'] {
        assert!(
            !text.contains(c),
            "{what}: {c:?} inside the PowerShell text (cmd.exe acts on it)"
        );
    }
    // Windows PowerShell 5.1 runs it: none of 7's operators (null-coalescing, null-conditional
    // member access, pipeline chains, which the `&` and `|` checks cover).
    for op in ["??", "?.", "?["] {
        assert!(!text.contains(op), "{what}: {op} is PowerShell 7 only");
    }
    // Inside the quotes `cmd.exe` takes `&` literally; still, only the IMDS query string and the
    // call operator have one.
    assert_eq!(
        text.replace("?api-version=2021-01-01&format=text'", "")
            .matches('&')
            .count(),
        1,
        "{what}: `&` only in the IMDS address and to run the script"
    );
    assert!(
        text.ends_with("& $p -Mode Unattended; exit $LASTEXITCODE"),
        "{what}: runs the script last and passes its exit code on"
    );
    text.to_string()
}

#[test]
fn command_to_execute_is_cmd_safe_and_carries_the_script_hash() {
    for label in LABS {
        let lab = rendered(label);
        let view = ScriptView::new(lab.script());
        let text = powershell_text(label, &view.command_to_execute);
        assert!(
            text.contains(&format!("$h = '{}';", view.sha256)),
            "{label}: the command carries the script's SHA-256"
        );
        // Written only after the check, and only from memory.
        let check = text.find("throw (").expect("the command throws");
        let write = text
            .find("[IO.File]::WriteAllBytes($p, $b)")
            .expect("the command writes the checked bytes");
        assert!(check < write, "{label}: the check comes before the write");
        assert!(!text.contains("IO.File]::Create"), "{label}");
    }
}

// ---------------------------------------------------------------------------------------------
// The commands as each engine sees them

/// One lab's commands.
struct Bootstrap {
    lab: Rendered,
    /// (target, PowerShell text, the target's own userData) of the CustomScriptExtension.
    extension: Vec<(&'static str, String, String)>,
    /// Packer's `provision` heredoc (evaluated per case).
    packer_provision: hcl::Expression,
    packer_payload: String,
    packer_sha256: String,
}

fn resources(template: &Value) -> Vec<&Value> {
    match &template["resources"] {
        Value::Array(items) => items.iter().collect(),
        // languageVersion 2.0: symbolic names.
        Value::Object(map) => map.values().collect(),
        other => panic!("resources: {other}"),
    }
}

fn one_resource<'a>(template: &'a Value, ty: &str) -> &'a Value {
    let found: Vec<&Value> = resources(template)
        .into_iter()
        .filter(|r| r["type"] == ty)
        .collect();
    assert_eq!(found.len(), 1, "one {ty}");
    found[0]
}

/// `commandToExecute` and `userData` of an ARM template (ours or the compiler's), as literals.
fn arm_command(what: &str, template: &Value) -> (String, String) {
    let literal = |v: &Value, name: &str| {
        let s = v
            .as_str()
            .unwrap_or_else(|| panic!("{what}: {name} is not a string: {v}"));
        assert!(!s.starts_with('['), "{what}: {name} is an expression");
        s.to_string()
    };
    let extension = one_resource(template, "Microsoft.Compute/virtualMachines/extensions");
    let command = literal(
        &extension["properties"]["protectedSettings"]["commandToExecute"],
        "commandToExecute",
    );
    let vm = one_resource(template, "Microsoft.Compute/virtualMachines");
    let user_data = literal(&vm["properties"]["userData"], "userData");
    (command, user_data)
}

/// Every lab's commands; `bicep` compiles each `main.bicep` (one process for all), or the Bicep
/// target is left out (after the engine line) when the compiler is missing.
fn bootstraps(root: &Path, bicep: Option<&Path>) -> Vec<Bootstrap> {
    let labs: Vec<Rendered> = LABS.iter().map(|l| rendered(l)).collect();
    let mut compiled = BTreeMap::new();
    if let Some(bicep) = bicep {
        for lab in &labs {
            let path = root.join(&lab.label).join("bicep/main.bicep");
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, lab.text("bicep/main.bicep")).unwrap();
        }
        run_ok(Command::new(bicep).current_dir(root).args([
            "build",
            "--pattern",
            "*/bicep/main.bicep",
        ]));
        for lab in &labs {
            let path = root.join(&lab.label).join("bicep/main.json");
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            compiled.insert(
                lab.label.clone(),
                serde_json::from_str::<Value>(&text).unwrap(),
            );
        }
    }
    labs.into_iter()
        .map(|lab| {
            let label = lab.label.clone();
            let mut extension = Vec::new();
            if let Some(template) = compiled.get(&label) {
                let (command, user_data) = arm_command(&format!("{label} bicep"), template);
                extension.push((
                    "bicep",
                    powershell_text(&format!("{label} bicep"), &command),
                    user_data,
                ));
            }
            let (command, user_data) =
                arm_command(&format!("{label} arm"), &lab.json("arm/azuredeploy.json"));
            extension.push((
                "arm",
                powershell_text(&format!("{label} arm"), &command),
                user_data,
            ));
            let module = hcl_targets::terraform(&lab);
            extension.push((
                "terraform",
                powershell_text(
                    &format!("{label} terraform"),
                    &hcl_targets::terraform_command(&module),
                ),
                hcl_targets::terraform_user_data(&module),
            ));
            // Every engine hands the VM the same command.
            let expected = ScriptView::new(lab.script()).command_to_execute;
            for (target, text, _) in &extension {
                assert_eq!(
                    format!("{WRAPPER}{text}\""),
                    expected,
                    "{label} {target}: the command as the engine sees it"
                );
            }

            let packer = hcl_targets::packer(&lab);
            let locals = packer.locals();
            let local = |name: &str| {
                locals
                    .get(name)
                    .unwrap_or_else(|| panic!("{label}: packer local.{name} is missing"))
                    .clone()
            };
            let packer_payload =
                hcl_targets::eval_string(&local("script_base64_gzip"), &Context::new());
            let packer_sha256 = hcl_targets::eval_string(&local("script_sha256"), &Context::new());
            Bootstrap {
                packer_provision: local("provision"),
                packer_payload,
                packer_sha256,
                extension,
                lab,
            }
        })
        .collect()
}

/// Packer's `provision` with `${local.script_base64_gzip}` and `${local.script_sha256}` as given.
fn packer_text(b: &Bootstrap, payload: &str) -> String {
    let mut local = hcl::Map::new();
    local.insert("script_base64_gzip".into(), payload.into());
    local.insert("script_sha256".into(), b.packer_sha256.as_str().into());
    let mut ctx = Context::new();
    ctx.declare_var("local", hcl::Value::Object(local));
    match b.packer_provision.evaluate(&ctx) {
        Ok(hcl::Value::String(text)) => text,
        other => panic!("{}: packer local.provision: {other:?}", b.lab.label),
    }
}

// ---------------------------------------------------------------------------------------------
// The cases

/// The corruptions of a base64 payload: (case, corrupted text). `other` is another lab's intact
/// payload (CustomScriptExtension targets only).
fn corruptions(payload: &str, other: Option<&str>) -> Vec<(&'static str, String)> {
    let half = payload.len() / 2 / 4 * 4;
    let mut flipped = payload.as_bytes().to_vec();
    flipped[half + 1] = if flipped[half + 1] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let flipped = String::from_utf8(flipped).unwrap();
    let standard = base64::engine::general_purpose::STANDARD;
    assert!(
        standard.decode(&flipped).is_ok() && standard.decode(&payload[..half]).is_ok(),
        "the flipped and the 4-aligned cut payloads are valid base64"
    );
    let mut cases = vec![
        ("empty", String::new()),
        ("truncated mid-quantum", payload[..=half].to_string()),
        (
            "truncated at a 4-character boundary",
            payload[..half].to_string(),
        ),
        ("one changed character", flipped),
    ];
    if let Some(other) = other {
        cases.insert(1, ("whitespace only", " \r\n\t ".to_string()));
        cases.push(("another lab's userData", other.to_string()));
    }
    cases
}

struct Case {
    id: String,
    dir: PathBuf,
    target: &'static str,
    intact: bool,
    /// The bytes the intact case must write.
    script: Vec<u8>,
}

#[test]
fn every_bootstrap_command_runs_the_intact_script_and_refuses_a_corrupted_one() {
    let Some(pwsh) = engines::pwsh() else {
        return;
    };
    let bicep = engines::bicep();
    let root = engines::work_dir("engine-bootstrap");
    let all = bootstraps(&root, bicep.as_deref());

    let mut cases = Vec::new();
    let mut input = Vec::new();
    let mut add =
        |b: &Bootstrap, target: &'static str, name: &str, text: &str, user_data: Option<&str>| {
            let dir = root
                .join(&b.lab.label)
                .join(target)
                .join(name.replace(['\'', ' '], "-"));
            std::fs::create_dir_all(&dir).unwrap();
            let command = dir.join("command.ps1");
            std::fs::write(&command, text).unwrap();
            let id = format!("{} {target}: {name}", b.lab.label);
            let env = if target == "packer" {
                // As the Packer provisioners set it.
                json!({ "WCIGEN_MODE": "Orchestrated" })
            } else {
                json!({})
            };
            input.push(json!({
                "id": id,
                "command": command,
                "dir": dir,
                "userData": user_data,
                "env": env,
            }));
            cases.push(Case {
                id,
                dir,
                target,
                intact: name == "intact",
                script: b.lab.script().to_vec(),
            });
        };
    for (i, b) in all.iter().enumerate() {
        let other = &all[(i + 1) % all.len()];
        for (target, text, user_data) in &b.extension {
            add(b, target, "intact", text, Some(user_data));
            let other_user_data = &other.extension[0].2;
            assert!(other_user_data != user_data, "two labs with one script");
            for (name, corrupted) in corruptions(user_data, Some(other_user_data)) {
                add(b, target, name, text, Some(&corrupted));
            }
        }
        add(
            b,
            "packer",
            "intact",
            &packer_text(b, &b.packer_payload),
            None,
        );
        for (name, corrupted) in corruptions(&b.packer_payload, None) {
            add(b, "packer", name, &packer_text(b, &corrupted), None);
        }
    }

    let cases_file = root.join("cases.json");
    let results_file = root.join("results.json");
    std::fs::write(&cases_file, serde_json::to_string_pretty(&input).unwrap()).unwrap();
    run_ok(
        Command::new(&pwsh)
            .args(["-NoProfile", "-NonInteractive", "-File"])
            .arg(repo().join("tests/integration/engine_bootstrap.ps1"))
            .arg("-Cases")
            .arg(&cases_file)
            .arg("-Results")
            .arg(&results_file),
    );
    let results: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&results_file).unwrap()).unwrap();
    let results: BTreeMap<&str, &Value> = results
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r))
        .collect();
    assert_eq!(results.len(), cases.len(), "one result per case");

    let mut table = String::new();
    let mut failures = Vec::new();
    for case in &cases {
        let r = results[case.id.as_str()];
        let code = r["exitCode"].as_i64();
        let runs = r["runs"].as_array().map_or(0, Vec::len);
        let written = case.dir.join("ProgramData/wcigen/provision.ps1");
        let bytes = std::fs::read(&written).ok();
        let error = r["error"].as_str().unwrap_or("");
        // The first line is enough to tell (a parse error of a partial script runs to pages).
        let line = error.lines().next().unwrap_or("");
        let _ = writeln!(
            table,
            "{:<58} exit {:>4}  ran {runs}  wrote {:<5}  {}",
            case.id,
            code.map_or("none".into(), |c| c.to_string()),
            bytes.as_ref().map_or("no".into(), |b| b.len().to_string()),
            line.chars().take(110).collect::<String>()
        );
        let mut fail = |what: String| failures.push(format!("{}: {what}", case.id));
        let requests = r["requests"].as_array().cloned().unwrap_or_default();
        let expected_requests: Vec<Value> = if case.target == "packer" {
            vec![]
        } else {
            vec![IMDS_REQUEST.into()]
        };
        if requests != expected_requests {
            fail(format!("IMDS requests {requests:?}"));
        }
        if case.intact {
            let mode = if case.target == "packer" {
                "Orchestrated"
            } else {
                "Unattended"
            };
            let expected_runs = json!([{ "script": written, "mode": mode }]);
            if code != Some(RAN) || r["runs"] != expected_runs || !error.is_empty() {
                fail(format!(
                    "the script did not run once in {mode} mode with its exit code passed on: {r}"
                ));
            }
            if bytes.as_deref() != Some(case.script.as_slice()) {
                fail(format!(
                    "{} is not {SCRIPT} byte for byte ({:?} bytes, expected {})",
                    written.display(),
                    bytes.as_ref().map(Vec::len),
                    case.script.len()
                ));
            }
        } else {
            if code == Some(0) || code == Some(RAN) || code.is_none() {
                fail(format!("exit code {code:?}, expected a failure"));
            }
            if runs != 0 {
                fail("a script ran".into());
            }
            // Packer's own check names the file when the payload decodes; one that does not
            // (not base64, or gunzip's CRC check) fails earlier with .NET's own message, whose
            // wording differs between .NET Framework and .NET.
            if case.target == "packer" {
                if error.is_empty() {
                    fail("no error message".into());
                }
            } else if !error.contains("does not hold this lab's provision.ps1") {
                fail(format!("the error does not name the problem: {line}"));
            }
            if case.target != "packer" && case.dir.join("ProgramData/wcigen").exists() {
                fail("something was written under ProgramData/wcigen".into());
            }
        }
    }
    eprintln!("{table}");
    assert!(
        failures.is_empty(),
        "{} of {} bootstrap cases failed:\n{}\n\nall cases:\n{table}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

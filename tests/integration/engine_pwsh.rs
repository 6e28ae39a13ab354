//! PowerShell in the loop: the Pester suite (`tests/powershell` and its folders; the layout, one
//! test file per template partial, is in `tests/powershell/README.md`) runs the rendered
//! `provision.ps1` against the stand-in Windows, and the real PowerShell evaluates every lab's
//! data section to the lab file's exact text.
//!
//! Both need the engines from `../shared/tools` (see `engines.rs`); each starts one `pwsh`.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::{self, repo};
use crate::engines;
use serde_json::Value;

/// Far above the suite's ~30 s on 2 cores; only a hang reaches it.
const PESTER_LIMIT_SECONDS: u64 = 600;

/// The whole Pester suite passes, and it ran (a suite that finds no tests would pass vacuously).
#[test]
fn pester_suite_passes_against_the_stand_in_windows() {
    let Some(pwsh) = engines::pwsh() else { return };
    let script = "$c = New-PesterConfiguration; \
        $c.Run.Path = 'tests/powershell'; $c.Run.PassThru = $true; \
        $c.Output.Verbosity = 'Normal'; \
        $r = Invoke-Pester -Configuration $c; \
        'WCIGEN-PESTER passed={0} failed={1} total={2} notrun={3}' -f $r.PassedCount, $r.FailedCount, $r.TotalCount, $r.NotRunCount; \
        exit ([int]($r.FailedCount -gt 0 -or $r.Result -ne 'Passed'))";
    // .NET keeps named mutexes (the script's run lock) under TMPDIR on Linux: a folder of this
    // run's own keeps another Pester run on the machine from holding "the same" lock.
    let tmp = engines::work_dir("engine-pwsh-pester");
    // Output goes to files (a pipe nobody reads would block a long run), and the run has a
    // limit: a stand-in that hangs fails the test instead of stalling CI.
    let (out_path, err_path) = (tmp.join("stdout.txt"), tmp.join("stderr.txt"));
    let mut child = Command::new(pwsh)
        .args(["-NoProfile", "-NonInteractive", "-Command", script])
        .current_dir(repo())
        .env("TMPDIR", &tmp)
        .env("WCIGEN_BIN", env!("CARGO_BIN_EXE_wcigen"))
        .env("NO_COLOR", "1")
        .stdout(std::fs::File::create(&out_path).expect("writable work dir"))
        .stderr(std::fs::File::create(&err_path).expect("writable work dir"))
        .spawn()
        .expect("pwsh starts");
    let limit = Instant::now() + Duration::from_secs(PESTER_LIMIT_SECONDS);
    let status = loop {
        if let Some(status) = child.try_wait().expect("pwsh can be waited for") {
            break Some(status);
        }
        if Instant::now() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    let Some(status) = status else {
        panic!(
            "Pester ran longer than {PESTER_LIMIT_SECONDS} s and was stopped:\n{stdout}\n{stderr}"
        );
    };
    let summary = stdout
        .lines()
        .find(|l| l.starts_with("WCIGEN-PESTER "))
        .unwrap_or_else(|| panic!("Pester did not finish:\n{stdout}\n{stderr}"));
    assert!(
        status.success(),
        "Pester failed: {summary}\n{stdout}\n{stderr}"
    );
    let passed: usize = summary
        .split_whitespace()
        .find_map(|w| w.strip_prefix("passed="))
        .and_then(|n| n.parse().ok())
        .expect("a passed count");
    // Every scenario file contributes; far fewer means files were not discovered.
    assert!(passed >= 100, "only {passed} Pester tests ran: {summary}");
    eprintln!("{summary}");
}

/// For every hostile lab and every example, the real PowerShell evaluates the script's data
/// section (`$Lab = @{...}`) to the lab file's values, byte for byte, for every free-text field.
#[test]
fn lab_values_evaluate_exactly_under_powershell() {
    let Some(pwsh) = engines::pwsh() else { return };
    let work = engines::work_dir("engine-pwsh-lab-values");
    let mut labs = crate::hostile::corpus_labs();
    labs.extend(common::examples());
    let mut cases = Vec::new();
    for (i, lab) in labs.iter().enumerate() {
        let files = common::render_file(lab);
        let script = common::file(&files, "powershell/provision.ps1");
        let path = work.join(format!("{i}.ps1"));
        std::fs::write(&path, &script.bytes).expect("writable work dir");
        cases.push((lab.clone(), path));
    }
    let evaluator = "$ErrorActionPreference = 'Stop'; $results = [ordered]@{}; \
        foreach ($path in $args) { \
          $tokens = $null; $errors = $null; \
          $ast = [System.Management.Automation.Language.Parser]::ParseFile($path, [ref]$tokens, [ref]$errors); \
          if ($errors.Count -gt 0) { throw ('{0}: {1}' -f $path, $errors[0].Message) }; \
          $assignments = @($ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.AssignmentStatementAst] -and $n.Left.Extent.Text -eq '$Lab' }, $false)); \
          if ($assignments.Count -ne 1) { throw ('{0}: {1} assignments to $Lab' -f $path, $assignments.Count) }; \
          $results[$path] = [scriptblock]::Create($assignments[0].Right.Extent.Text).InvokeReturnAsIs() \
        }; \
        ConvertTo-Json -InputObject $results -Depth 6 -Compress -EscapeHandling EscapeNonAscii";
    let evaluator_path = work.join("evaluate.ps1");
    std::fs::write(&evaluator_path, evaluator).expect("writable work dir");
    let mut command = Command::new(pwsh);
    command.args(["-NoProfile", "-NonInteractive", "-File"]);
    command.arg(&evaluator_path);
    command.args(cases.iter().map(|(_, p)| p.as_os_str()));
    let out = engines::run_ok(&mut command);
    let results: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "pwsh printed no JSON ({e}):\n{}",
            String::from_utf8_lossy(&out.stdout)
        )
    });

    let mut checked = 0;
    for (lab, path) in &cases {
        let text = std::fs::read_to_string(lab).unwrap();
        let valid = common::valid_lab_from_text(&lab.display().to_string(), &text);
        let spec = valid.spec();
        let data = &results[path.to_str().unwrap()];
        let label = lab.display();
        let mut expect = |what: &str, got: &Value, want: &str| {
            assert_eq!(
                got.as_str(),
                Some(want),
                "{label}: {what} as PowerShell evaluates it"
            );
            checked += 1;
        };
        expect("Name", &data["Name"], &spec.name);
        match &spec.description {
            Some(d) => expect("Description", &data["Description"], d),
            None => assert!(data["Description"].is_null(), "{label}: Description"),
        }
        expect("VmName", &data["VmName"], &spec.vm.name);
        let computer = spec.vm.computer_name.as_deref().unwrap_or(&spec.vm.name);
        expect("ComputerName", &data["ComputerName"], computer);
        expect(
            "AdminUsername",
            &data["AdminUsername"],
            &spec.vm.admin_username,
        );
        let root = crate::hostile::tools_root(&spec.provisioning.tools_dir);
        expect("ToolsDir", &data["ToolsDir"], &root);
        let docker = &spec.provisioning.docker;
        expect(
            "Docker.InstallScriptUrl",
            &data["Docker"]["InstallScriptUrl"],
            &docker.install_script.url,
        );
        expect(
            "Docker.SmokeTestImage",
            &data["Docker"]["SmokeTestImage"],
            &docker.smoke_test_image,
        );
        let tools = data["Tools"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        // A one-element @(...) array comes back as an array too (ConvertTo-Json keeps it).
        assert_eq!(
            tools.len(),
            spec.provisioning.tools.len(),
            "{label}: number of tools"
        );
        for (tool, got) in spec.provisioning.tools.iter().zip(tools) {
            expect("Tools.Name", &got["Name"], &tool.name);
            expect("Tools.Url", &got["Url"], &tool.url);
            if tool.kind == wcigen::model::ToolKind::Zip {
                expect(
                    "Tools.Dir",
                    &got["Dir"],
                    &crate::hostile::tool_dir(&root, tool),
                );
            }
        }
    }
    assert!(checked > 50, "only {checked} values compared");
    eprintln!(
        "lab values: {checked} free-text values of {} labs evaluated by pwsh equal the lab files",
        cases.len()
    );
}

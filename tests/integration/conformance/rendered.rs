//! The conformance checks applied to what wcigen actually renders: every example, every target.
//!
//! Switched on with `WCIGEN_CONFORMANCE=1` (as `.ci/run` does); they then need `../shared` and,
//! for the real-tool check, Debian's Packer 1.6.6 on PATH (`.ci/tools.sh`), and fail loudly when
//! either is missing.

use std::path::Path;
use std::process::Command;

use super::{arm, bicep, packer, terraform};
use crate::common::{conformance_reference, example_name, examples, file, render_file};

fn report_errors(label: &str, messages: &[String]) {
    assert!(messages.is_empty(), "{label}:\n{}", messages.join("\n"));
}

#[test]
fn rendered_arm_templates_conform_to_the_official_schemas() {
    let Some(reference) = conformance_reference() else {
        return;
    };
    for example in examples() {
        let files = render_file(&example);
        for path in ["arm/azuredeploy.json"] {
            let template: serde_json::Value =
                serde_json::from_str(file(&files, path).text()).unwrap();
            let findings = arm::check_arm_template(&reference, &template);
            let errors: Vec<String> = findings
                .iter()
                .filter(|f| f.is_error())
                .map(|f| format!("{f:?}"))
                .collect();
            for warning in findings.iter().filter(|f| !f.is_error()) {
                // Enum misses are warnings only where the schema's closed list is stale.
                eprintln!("{} {path}: warning {warning:?}", example_name(&example));
            }
            report_errors(&format!("{} {path}", example.display()), &errors);
        }
        let parameters: serde_json::Value =
            serde_json::from_str(file(&files, "arm/azuredeploy.parameters.json").text()).unwrap();
        assert_eq!(
            parameters["$schema"],
            "https://schema.management.azure.com/schemas/2019-04-01/deploymentParameters.json#"
        );
    }
}

#[test]
fn rendered_bicep_conforms_to_the_type_definitions() {
    let Some(reference) = conformance_reference() else {
        return;
    };
    for example in examples() {
        let files = render_file(&example);
        let findings = bicep::check_bicep(&reference, file(&files, "bicep/main.bicep").text());
        let errors: Vec<String> = findings
            .iter()
            .filter(|f| f.is_error())
            .map(|f| format!("{f:?}"))
            .collect();
        report_errors(&format!("{} bicep/main.bicep", example.display()), &errors);
    }
}

#[test]
fn rendered_terraform_uses_only_known_azurerm_arguments() {
    let Some(reference) = conformance_reference() else {
        return;
    };
    for example in examples() {
        let files = render_file(&example);
        let tf: Vec<(String, String)> = files
            .iter()
            .filter(|f| f.path.starts_with("terraform/") && f.path.ends_with(".tf"))
            .map(|f| (f.path.clone(), f.text().to_string()))
            .collect();
        assert!(tf.len() >= 4);
        let findings: Vec<String> = terraform::check_terraform(&reference, &tf)
            .iter()
            .map(ToString::to_string)
            .collect();
        report_errors(&format!("{} terraform", example.display()), &findings);
    }
}

/// The Packer files of a rendered example, as one source (variables are declared in one file
/// and used in the other).
fn packer_source(files: &[wcigen::render::RenderedFile]) -> String {
    let mut source = String::new();
    for f in files
        .iter()
        .filter(|f| f.path.starts_with("packer/") && f.path.ends_with(".pkr.hcl"))
    {
        source.push_str(f.text());
        source.push('\n');
    }
    source
}

#[test]
fn rendered_packer_uses_only_known_azure_arm_fields() {
    let Some(reference) = conformance_reference() else {
        return;
    };
    for example in examples() {
        let files = render_file(&example);
        let findings: Vec<String> = packer::check_packer(&reference, &packer_source(&files))
            .iter()
            .map(ToString::to_string)
            .collect();
        report_errors(&format!("{} packer", example.display()), &findings);
    }
}

/// `-var` arguments giving a dummy value to each variable without a default.
fn dummy_vars(source: &str) -> Vec<String> {
    let body: hcl::Body = hcl::from_str(source).expect("packer HCL parses");
    let mut args = Vec::new();
    for block in body.blocks().filter(|b| b.identifier() == "variable") {
        if block.body().attributes().any(|a| a.key() == "default") {
            continue;
        }
        let name = block
            .labels()
            .first()
            .map(|l| l.as_str().to_string())
            .unwrap_or_default();
        let kind = block
            .body()
            .attributes()
            .find(|a| a.key() == "type")
            .map(|a| a.expr().to_string())
            .unwrap_or_else(|| "string".into());
        // A list of strings gets one documentation address, so that address validations pass.
        let value = if kind == "list(string)" {
            "[\"192.0.2.1/32\"]"
        } else if kind.starts_with("list") || kind.starts_with("set") {
            "[]"
        } else if kind.starts_with("map") {
            "{}"
        } else if kind == "number" {
            "1"
        } else if kind == "bool" {
            "false"
        } else {
            "dummy"
        };
        args.push(format!("-var={name}={value}"));
    }
    args
}

#[test]
fn packer_1_6_6_validates_every_rendered_example() {
    if conformance_reference().is_none() {
        return;
    }
    let version = Command::new("packer").arg("version").output();
    let Ok(version) = version else {
        panic!("WCIGEN_CONFORMANCE is set but `packer` is not on PATH: run `source .ci/tools.sh`");
    };
    assert!(
        String::from_utf8_lossy(&version.stdout).contains("Packer v"),
        "unexpected `packer version` output"
    );
    for example in examples() {
        let files = render_file(&example);
        let dir = std::env::temp_dir().join(format!(
            "wcigen-packer-{}-{}",
            std::process::id(),
            example_name(&example)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let blanked = dir.join("packer");
        std::fs::create_dir_all(&blanked).unwrap();
        for f in files
            .iter()
            .filter(|f| f.path.starts_with("packer/") && f.path.ends_with(".pkr.hcl"))
        {
            let name = Path::new(&f.path).file_name().unwrap();
            let text =
                packer::add_managed_image_for_packer_166(&packer::blank_for_packer_166(f.text()));
            std::fs::write(blanked.join(name), text).unwrap();
        }
        let vars = dummy_vars(&packer_source(&files));
        let output = Command::new("packer")
            .arg("validate")
            .args(&vars)
            .arg(".")
            .current_dir(&blanked)
            .output()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            output.status.success(),
            "{}: packer validate failed:\n{}{}",
            example.display(),
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

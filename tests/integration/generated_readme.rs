//! The README written beside the rendered files explains that lab's deployment, for every example.

use crate::common::{example_name, examples, file, render_file, render_text, repo};

#[test]
fn generated_readme_snapshots() {
    for example in examples() {
        let files = render_file(&example);
        insta::assert_snapshot!(
            format!("readme__{}", example_name(&example)),
            file(&files, "README.md").text()
        );
    }
}

#[test]
fn generated_readme_gives_the_labs_own_commands() {
    for example in examples() {
        let text = std::fs::read_to_string(&example).unwrap();
        let lab = crate::common::valid_lab_from_text("lab", &text);
        let spec = lab.spec();
        let files = render_file(&example);
        let readme = file(&files, "README.md").text();
        let rg = &spec.azure.resource_group;
        for needle in [
            format!(
                "az group create --name {rg} --location {}",
                spec.azure.location
            ),
            format!(
                "az vm deallocate --resource-group {rg} --name {}",
                spec.vm.name
            ),
            format!("az group delete --name {rg} --yes"),
            "TF_VAR_admin_password=\"$ADMIN_PASSWORD\"".to_string(),
            "packer build -var-file=lab.pkrvars.hcl .".to_string(),
            "C:\\ProgramData\\wcigen\\provision.log".to_string(),
            "Microsoft.DevTestLab".to_string(),
        ] {
            assert!(
                readme.contains(&needle),
                "{}: README lacks {needle:?}",
                example.display()
            );
        }
        // The password is only ever a shell variable.
        assert!(
            readme.contains("adminPassword=\"$ADMIN_PASSWORD\""),
            "{}",
            example.display()
        );
        assert_eq!(
            readme.contains("allowedSourceAddresses="),
            spec.network.allow_from.is_empty()
                && !spec.network.inbound_ports.is_empty()
                && spec.network.access == wcigen::model::Access::PublicIp,
            "{}: the source-address parameter is asked for exactly when the lab lists none (and the VM has a public IP)",
            example.display()
        );
        // The security type: how each target expresses it, and what to check where a target
        // cannot say Standard.
        let standard = spec.vm.security_type == wcigen::model::SecurityType::Standard;
        for needle in [
            "securityType: Standard",
            "Microsoft.Compute/TrustedLaunchByDefaultPreview",
            "--query securityProfile",
        ] {
            assert_eq!(
                readme.contains(needle),
                standard,
                "{}: {needle:?} is said exactly for a Standard lab",
                example.display()
            );
        }
        assert_eq!(
            readme.contains("`securityType: TrustedLaunch` with both UEFI settings"),
            !standard,
            "{}",
            example.display()
        );
        // What `*` means at deploy time, said where the sources are asked for.
        assert_eq!(
            readme.contains("`[\"*\"]` alone opens the ports to the whole internet"),
            spec.network.allow_from.is_empty()
                && !spec.network.inbound_ports.is_empty()
                && spec.network.access == wcigen::model::Access::PublicIp,
            "{}: the README says what `*` means exactly when the sources are asked for",
            example.display()
        );
    }
}

#[test]
fn generated_readme_quotes_values_for_the_shell() {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .replace(
            "resourceGroup: krnl-yourname-wci",
            "resourceGroup: \"krnl-(x)\"",
        );
    let files = render_text("rg.yaml", &text);
    let readme = file(&files, "README.md").text();
    assert!(
        readme.contains("az group create --name 'krnl-(x)' --location eastus"),
        "{readme}"
    );
}

#[test]
fn readme_lists_only_the_rendered_targets() {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml")).unwrap();
    let lab = crate::common::valid_lab_from_text("lab", &text);
    let files = wcigen::render::render(&lab, &[wcigen::render::Target::Terraform]).unwrap();
    let readme = file(&files, "README.md").text();
    assert!(readme.contains("## Deploy with Terraform"));
    assert!(!readme.contains("## Deploy with Bicep"));
    assert!(!readme.contains("bicep/main.bicep"));
}

#[test]
fn ci_workflow_example_checks_drift_and_runs_the_real_validators() {
    let text = std::fs::read_to_string(repo().join("examples/ci/lab-templates.yml")).unwrap();
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).expect("the workflow is YAML");
    let steps = workflow["jobs"]["check"]["steps"]
        .as_sequence()
        .expect("steps");
    let runs: String = steps
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [
        "--check",
        "az bicep build",
        "az bicep lint",
        "init -backend=false",
        "terraform -chdir",
        "packer init",
        "packer validate",
    ] {
        assert!(runs.contains(needle), "the workflow lacks {needle:?}");
    }
    // Packer's only variable without a default is given.
    let files = render_file(&repo().join("examples/lab.yaml"));
    let variables = file(&files, "packer/variables.pkr.hcl").text();
    let body: hcl::Body = hcl::from_str(variables).unwrap();
    let required: Vec<String> = body
        .blocks()
        .filter(|b| {
            b.identifier() == "variable" && !b.body().attributes().any(|a| a.key() == "default")
        })
        .map(|b| b.labels()[0].as_str().to_string())
        .collect();
    for name in required {
        assert!(
            runs.contains(&format!("-var {name}=")),
            "the workflow does not set Packer variable {name}"
        );
    }
}

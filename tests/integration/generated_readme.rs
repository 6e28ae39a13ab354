//! The README written beside the rendered files explains that lab's deployment, for every example.

use crate::common::{example_name, examples, file, render_file, render_text, repo};

#[test]
fn generated_readme_snapshots() {
    for example in examples() {
        let files = render_file(&example);
        insta::assert_snapshot!(format!("readme__{}", example_name(&example)), file(&files, "README.md").text());
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
            format!("az group create --name {rg} --location {}", spec.azure.location),
            format!("az vm deallocate --resource-group {rg} --name {}", spec.vm.name),
            format!("az group delete --name {rg} --yes"),
            "TF_VAR_admin_password=\"$ADMIN_PASSWORD\"".to_string(),
            "packer build -var-file=lab.pkrvars.hcl .".to_string(),
            "C:\\ProgramData\\wcigen\\provision.log".to_string(),
            "Microsoft.DevTestLab".to_string(),
        ] {
            assert!(readme.contains(&needle), "{}: README lacks {needle:?}", example.display());
        }
        // The password is only ever a shell variable.
        assert!(!readme.contains("adminPassword=P"), "{}", example.display());
        assert_eq!(
            readme.contains("allowedSourceAddresses="),
            spec.network.allow_from.is_empty() && !spec.network.inbound_ports.is_empty(),
            "{}: the source-address parameter is asked for exactly when the lab lists none",
            example.display()
        );
    }
}

#[test]
fn generated_readme_quotes_values_for_the_shell() {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .replace("resourceGroup: krnl-yourname-wci", "resourceGroup: \"krnl-(ñandú)\"");
    let files = render_text("rg.yaml", &text);
    let readme = file(&files, "README.md").text();
    assert!(readme.contains("az group create --name 'krnl-(ñandú)' --location eastus"), "{readme}");
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

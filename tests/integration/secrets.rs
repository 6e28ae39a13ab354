//! No rendered file of any example or hostile lab holds a password, and every password input is
//! a secure parameter or a sensitive variable.

use std::path::PathBuf;

use crate::common::{examples, file, render_file, repo};

fn labs() -> Vec<PathBuf> {
    let mut labs = examples();
    let mut hostile: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/hostile"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("lab-"))
        })
        .collect();
    hostile.sort();
    labs.extend(hostile);
    labs
}

/// A line that gives a password a literal value: `password = "x"`, `"adminPassword": "x"`,
/// `adminPassword: 'x'`, `-Password 'x'` (an expression or variable reference is fine).
fn literal_password_assignment(line: &str) -> bool {
    let lower = line.to_lowercase();
    let Some(at) = lower.find("password") else {
        return false;
    };
    let rest = lower[at + "password".len()..]
        .trim_start_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '"');
    // A PowerShell parameter (`-Password 'x'`, `-AdminPassword "x"`) takes its value after a
    // space; everything else after `=` or `:`.
    let parameter = lower[..at]
        .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_')
        .ends_with('-');
    let rest = match rest.trim_start().strip_prefix(['=', ':']) {
        Some(rest) => rest,
        None if parameter && rest.starts_with([' ', '\t']) => rest,
        None => return false,
    };
    let value = rest.trim_start();
    (value.starts_with('"') || value.starts_with('\''))
        && !value.starts_with("\"[")
        && !value.starts_with("\"\"")
        && !value.starts_with("''")
        && !value.starts_with("\"${")
        && !value.starts_with("\"$")
}

#[test]
fn the_password_detector_works() {
    assert!(literal_password_assignment(
        "  admin_password = \"Hunter2hunter2!\""
    ));
    assert!(literal_password_assignment(
        "\"adminPassword\": \"Secret-123456\","
    ));
    assert!(literal_password_assignment(
        "adminPassword: 'Secret-123456'"
    ));
    assert!(literal_password_assignment(
        "New-LocalUser -Name lab -Password 'Hunter2hunter2!'"
    ));
    assert!(literal_password_assignment(
        "-AdminPassword \"Secret-123456\""
    ));
    assert!(!literal_password_assignment(
        "-Password (ConvertTo-SecureString $env:P -AsPlainText -Force)"
    ));
    assert!(!literal_password_assignment(
        "the password is never written"
    ));
    assert!(!literal_password_assignment(
        "  admin_password             = var.admin_password"
    ));
    assert!(!literal_password_assignment(
        "\"adminPassword\": \"[parameters('adminPassword')]\","
    ));
    assert!(!literal_password_assignment(
        "      adminPassword: adminPassword"
    ));
    assert!(!literal_password_assignment(
        "  --parameters adminPassword=\"$ADMIN_PASSWORD\""
    ));
}

#[test]
fn no_rendered_file_holds_a_password() {
    let mut checked = 0;
    for lab in labs() {
        let files = render_file(&lab);
        for f in &files {
            for (n, line) in f.text().lines().enumerate() {
                assert!(
                    !literal_password_assignment(line),
                    "{} {}:{}: a literal password: {line}",
                    lab.display(),
                    f.path,
                    n + 1
                );
            }
            checked += 1;
        }
        // Parameter files and variable examples never mention the password at all.
        for path in [
            "bicep/main.parameters.json",
            "arm/azuredeploy.parameters.json",
            "terraform/terraform.tfvars.example",
        ] {
            let text = file(&files, path).text().to_lowercase();
            assert!(
                !text.contains("\"adminpassword\"") && !text.contains("admin_password ="),
                "{} {path}",
                lab.display()
            );
        }
        // The Bicep parameters file must assign the password (a .bicepparam file assigns every
        // required parameter): it names the environment variable, never a value.
        let password_lines: Vec<&str> = file(&files, "bicep/main.bicepparam")
            .text()
            .lines()
            .filter(|l| l.to_lowercase().contains("password ="))
            .collect();
        assert_eq!(
            password_lines,
            ["param adminPassword = readEnvironmentVariable('ADMIN_PASSWORD')"],
            "{}",
            lab.display()
        );
        // The password inputs are secret by type.
        let arm: serde_json::Value =
            serde_json::from_str(file(&files, "arm/azuredeploy.json").text()).unwrap();
        assert_eq!(
            arm["parameters"]["adminPassword"]["type"],
            "securestring",
            "{}",
            lab.display()
        );
        assert!(arm["parameters"]["adminPassword"]
            .get("defaultValue")
            .is_none());
        let bicep = file(&files, "bicep/main.bicep").text();
        assert!(
            bicep.contains(
                "@secure()\n@minLength(12)\n@maxLength(123)\nparam adminPassword string\n"
            ),
            "{}",
            lab.display()
        );
        let variables: hcl::Body =
            hcl::from_str(file(&files, "terraform/variables.tf").text()).unwrap();
        let password = variables
            .blocks()
            .find(|b| b.identifier() == "variable" && b.labels()[0].as_str() == "admin_password")
            .expect("admin_password variable");
        assert!(password
            .body()
            .attributes()
            .any(|a| a.key() == "sensitive" && *a.expr() == hcl::Expression::Bool(true)));
        assert!(!password.body().attributes().any(|a| a.key() == "default"));
        let packer: hcl::Body =
            hcl::from_str(file(&files, "packer/variables.pkr.hcl").text()).unwrap();
        let secrets: Vec<&hcl::Block> = packer
            .blocks()
            .filter(|b| b.identifier() == "variable")
            .filter(|b| {
                let name = b.labels()[0].as_str();
                name.contains("secret") || name.contains("password")
            })
            .collect();
        assert!(
            !secrets.is_empty(),
            "{}: the Packer client secret variable exists",
            lab.display()
        );
        for secret in secrets {
            assert!(
                secret
                    .body()
                    .attributes()
                    .any(|a| a.key() == "sensitive" && *a.expr() == hcl::Expression::Bool(true)),
                "{}: Packer variable {} is not sensitive",
                lab.display(),
                secret.labels()[0].as_str()
            );
        }
    }
    assert!(checked > 50);
}

/// The human and JSON reports of a lab text.
fn reports(text: &str) -> String {
    let source = wcigen::source::SourceFile {
        path: "s.yaml".into(),
        text: text.into(),
    };
    let diagnostics = match wcigen::check(&source) {
        Ok(lab) => lab.warnings().to_vec(),
        Err(d) => d,
    };
    let resolved = wcigen::diag::resolve(
        "s.yaml",
        &wcigen::source::SpanIndex::build(text),
        &diagnostics,
    );
    wcigen::diag::render_human(Some(&source), &resolved, false)
        + &wcigen::diag::render_json(&resolved)
}

/// A line that names a secret is never printed, whatever diagnostic points at it, in any
/// spelling of the key (case, separators, fullwidth letters, Cyrillic look-alikes, zero-width
/// characters); near-miss password keys are refused like `adminPassword`.
#[test]
fn no_report_shows_a_secret() {
    let example = std::fs::read_to_string(repo().join("examples/lab.yaml")).unwrap();
    const SECRET: &str = "S3cr3t-Value-42";
    for key in [
        "adminPassword",
        "adminPasswd",
        "admin_password",
        "AdminPassWord",
        "rootPwd",
        "passw0rd",
        "ａｄｍｉｎＰａｓｓｗｏｒｄ",
        "аdminРаssword",
        "admin\u{200B}Password",
        "apiToken",
        "clientSecret",
        "sshKey",
        "ｔｏｋｅｎ",
        "ѕecret",
        "x-api-key",
    ] {
        // Under `vm` (an unknown key or a password), as a tag (a secret name, or a wrong
        // type), and at the top level in a flow mapping.
        for text in [
            example.replace(
                "  adminUsername: wci",
                &format!("  adminUsername: wci\n  {key}: {SECRET}"),
            ),
            example.replace(
                "    series: windows-containers-internals",
                &format!(
                    "    series: windows-containers-internals\n    \"{key}\": \"{SECRET}\\u0301\""
                ),
            ),
            example.replace(
                "    series: windows-containers-internals",
                &format!("    \"{key}\": [{SECRET}]"),
            ),
            example.replace(
                "version: 1\n",
                &format!("version: 1\nextra: {{{key}: {SECRET}}}\n"),
            ),
            // A YAML explicit key: the name and its value on two lines.
            example.replace(
                "    series: windows-containers-internals",
                &format!("    series: windows-containers-internals\n    ? {key}\n    : {SECRET}"),
            ),
        ] {
            let report = reports(&text);
            assert!(report.contains("error["), "{key}: not refused\n{report}");
            assert!(
                !report.contains(SECRET),
                "{key}: the secret is shown\n{report}"
            );
        }
        if wcigen::secret::is_password_key(key) {
            let text = example.replace(
                "  adminUsername: wci",
                &format!("  adminUsername: wci\n  {key}: {SECRET}"),
            );
            assert!(reports(&text).contains("password-in-lab"), "{key}");
        }
    }
}

/// A download URL carrying a credential (a SAS or presigned signature, a token, an OAuth code)
/// is refused, and the credential is never printed.
#[test]
fn token_urls_are_refused_and_redacted() {
    let example = std::fs::read_to_string(repo().join("examples/lab.yaml")).unwrap();
    const TOKEN: &str = "tok3nVALUE";
    for query in [
        "sv=2022-11-02&se=2030-01-01&sp=r&sig=",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=",
        "X-Goog-Signature=",
        "token=",
        "access_token=",
        "code=",
        "api_key=",
        "Signature=",
    ] {
        for url in [
            format!("https://files.example.com/SysinternalsSuite.zip?{query}{TOKEN}"),
            format!("http://files.example.com/SysinternalsSuite.zip?{query}{TOKEN}"),
            format!("https://files.example.com/SysinternalsSuite.zip#{query}{TOKEN}"),
        ] {
            let text = example.replace(
                "https://download.sysinternals.com/files/SysinternalsSuite.zip",
                &url,
            );
            let report = reports(&text);
            assert!(report.contains("url-secret-query"), "{url}\n{report}");
            assert!(
                !report.contains(TOKEN),
                "{url}: the token is shown\n{report}"
            );
        }
    }
    // An ordinary query is fine.
    let text = example.replace(
        "https://download.sysinternals.com/files/SysinternalsSuite.zip",
        "https://files.example.com/SysinternalsSuite.zip?download=1",
    );
    assert!(!reports(&text).contains("url-secret-query"));
}

//! Templates cannot bypass the formatter: no hand-quoting, no `safe`, no `autoescape`, and the
//! embedded registry lists exactly the files in `templates/`.

use std::path::Path;

use crate::common::repo;

fn template_files(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            template_files(&path, out);
        } else {
            out.push(
                path.strip_prefix(repo().join("templates"))
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/"),
            );
        }
    }
}

#[test]
fn registry_lists_every_template() {
    let mut on_disk = Vec::new();
    template_files(&repo().join("templates"), &mut on_disk);
    on_disk.sort();
    let mut embedded: Vec<String> = wcigen::render::TEMPLATES
        .iter()
        .map(|(n, _)| (*n).to_string())
        .collect();
    embedded.sort();
    assert_eq!(on_disk, embedded);
    for (name, source) in wcigen::render::TEMPLATES {
        assert_eq!(
            std::fs::read_to_string(repo().join("templates").join(name)).unwrap(),
            *source,
            "{name}"
        );
    }
}

/// Finds the ways a template could print a value without the formatter's quoting.
fn hand_quoting(name: &str, source: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for (i, line) in source.lines().enumerate() {
        let n = i + 1;
        for bad in ["'{{", "\"{{", "}}'", "}}\"", "`{{", "}}`"] {
            if line.contains(bad) {
                problems.push(format!("line {n}: hand-quoted value `{bad}`"));
            }
        }
        for bad in [
            "|safe",
            "| safe",
            "autoescape",
            "|tojson",
            "| tojson",
            "|e)",
            "|escape",
            "from_safe",
        ] {
            if line.contains(bad) {
                problems.push(format!("line {n}: `{bad}` bypasses the formatter"));
            }
        }
        // A value inside a PowerShell double-quoted string or here-string would be interpolated.
        if name.starts_with("powershell/")
            && (line.contains("@\"") || line.contains("@'"))
            && line.contains("{{")
        {
            problems.push(format!("line {n}: value inside a here-string"));
        }
    }
    problems
}

#[test]
fn no_template_quotes_a_value_itself() {
    let mut problems = Vec::new();
    for (name, source) in wcigen::render::TEMPLATES {
        problems.extend(
            hand_quoting(name, source)
                .into_iter()
                .map(|p| format!("{name}: {p}")),
        );
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_lint_catches_hand_quoting() {
    assert_eq!(
        hand_quoting("terraform/main.tf.j2", "name = \"{{ vm.name }}\"").len(),
        2
    );
    assert_eq!(
        hand_quoting("bicep/main.bicep.j2", "x = {{ v|safe }}").len(),
        1
    );
    assert_eq!(
        hand_quoting("arm/azuredeploy.json.j2", "{% autoescape false %}").len(),
        1
    );
    assert_eq!(
        hand_quoting("powershell/provision.ps1.j2", "$x = @\" {{ v }}").len(),
        1
    );
    assert!(hand_quoting("terraform/main.tf.j2", "name = {{ vm.name }}").is_empty());
}

#[test]
fn formatter_refuses_values_it_cannot_quote() {
    // A template outside the known folders has no escaper, and a list is never guessed at.
    let env = wcigen::render::environment().unwrap();
    let err = env.render_str("{{ 'x' }}", ()).unwrap_err();
    assert!(err.to_string().contains("no escaper"), "{err}");
    let mut env = wcigen::render::environment().unwrap();
    env.add_template_owned("bicep/t.bicep.j2", "{{ [1, 2] }}")
        .unwrap();
    let err = env
        .get_template("bicep/t.bicep.j2")
        .unwrap()
        .render(())
        .unwrap_err();
    assert!(err.to_string().contains("cannot print"), "{err}");
}

/// No template is much over 300 lines (issue 17): a long one is a short main template that
/// includes its parts (`bicep/parts/`, `arm/parts/`, `terraform/parts/`, `readme/parts/`,
/// `powershell/steps/` and `powershell/helpers/`).
#[test]
fn no_template_is_over_320_lines() {
    let long: Vec<String> = wcigen::render::TEMPLATES
        .iter()
        .filter(|(_, source)| source.lines().count() > 320)
        .map(|(name, source)| format!("{name}: {} lines", source.lines().count()))
        .collect();
    assert!(long.is_empty(), "split into partials: {long:#?}");
}

/// What a template named `name` prints for one string (its escaper, chosen from the name).
fn printed_by(name: &str) -> String {
    let mut env = wcigen::render::environment().unwrap();
    env.add_template_owned(name.to_string(), "{{ x }}").unwrap();
    env.get_template(name)
        .unwrap()
        .render(minijinja::context! { x => "[it's \"q\" ${a} $b `c` \\]" })
        .unwrap()
}

/// A partial prints with the escaper of the template that includes it. The escaper is chosen
/// from the name, so a partial named like another kind of file (`arm/parts/parameters.json.j2`
/// would get the JSON escaper, not the ARM one) would quote differently from its parent.
#[test]
fn partials_print_with_their_parents_escaper() {
    let parents = [
        ("bicep/parts/", "bicep/main.bicep.j2"),
        ("arm/parts/", "arm/azuredeploy.json.j2"),
        ("terraform/parts/", "terraform/main.tf.j2"),
        ("readme/parts/", "readme/README.md.j2"),
        ("powershell/steps/", "powershell/provision.ps1.j2"),
        ("powershell/helpers/", "powershell/provision.ps1.j2"),
    ];
    // The probe tells the escapers apart (ARM from JSON: an expression's `[` and `]`).
    assert_ne!(
        printed_by("arm/azuredeploy.json.j2"),
        printed_by("arm/azuredeploy.parameters.json.j2")
    );
    let mut checked = 0;
    for (name, _) in wcigen::render::TEMPLATES {
        let Some((_, parent)) = parents.iter().find(|(dir, _)| name.starts_with(dir)) else {
            assert!(
                !name.contains("/parts/"),
                "{name}: a partial without a parent here"
            );
            continue;
        };
        assert_eq!(printed_by(name), printed_by(parent), "{name} and {parent}");
        checked += 1;
    }
    assert!(checked >= 33, "only {checked} partials");
}

/// The arguments a POSIX shell makes of `command` (run as `printf '%s\n' ARGS`).
fn sh_words(args: &str) -> Vec<String> {
    let script = format!("printf '%s\\n' {args}");
    let check = std::process::Command::new("bash")
        .args(["-n", "-c", &script])
        .status()
        .expect("bash runs");
    assert!(check.success(), "bash -n refuses: {script}");
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh runs");
    assert!(out.status.success(), "{script}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// The `replace(var.admin_username, "FROM", "TO")` of a Terraform output, applied to `user`.
fn terraform_replace(outputs: &str, name: &str, user: &str) -> String {
    let block = outputs.split(&format!("output \"{name}\"")).nth(1).unwrap();
    let value = block
        .lines()
        .find(|l| l.trim_start().starts_with("value"))
        .unwrap();
    let call = value
        .split("${replace(var.admin_username, ")
        .nth(1)
        .unwrap();
    let args = call.split(")}").next().unwrap();
    let strings: Vec<String> = hcl::from_str::<hcl::Body>(&format!("a = [{args}]"))
        .unwrap()
        .attributes()
        .next()
        .and_then(|a| match a.expr() {
            hcl::Expression::Array(items) => Some(
                items
                    .iter()
                    .map(|e| match e {
                        hcl::Expression::String(s) => s.clone(),
                        other => panic!("{other:?}"),
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap();
    assert!(!strings[0].starts_with('/'), "a plain (not regex) replace");
    user.replace(&strings[0], &strings[1])
}

/// The commands wcigen writes for people to paste give a real shell the lab's user name as one
/// word, after `-l` (so it is never read as an option), however hostile the name.
#[test]
fn connect_commands_give_the_shell_the_user_name_as_one_word() {
    let example = std::fs::read_to_string(repo().join("examples/lab.yaml")).unwrap();
    for user in [
        "wci", "it's", "$(id)", "`id`", "a;b", "x'\"y", "${HOME}", "u!x", "-o", "a&b",
    ] {
        let yaml_user = user.replace('\\', "\\\\").replace('"', "\\\"");
        let text = example.replace(
            "  adminUsername: wci",
            &format!("  adminUsername: \"{yaml_user}\""),
        );
        let source = wcigen::source::SourceFile {
            path: "u.yaml".into(),
            text: text.clone(),
        };
        let Ok(_) = wcigen::check(&source) else {
            // Refused by validation (`-o` starts with a hyphen, `a;b` has a character Windows
            // names cannot have): nothing is written for it.
            assert!(
                user.starts_with('-') || user.contains(';') || user.contains('"'),
                "{user}"
            );
            continue;
        };
        let files = crate::common::render_text("u.yaml", &text);
        let readme = crate::common::file(&files, "README.md").text();
        let line = readme
            .lines()
            .find(|l| l.starts_with("ssh -l "))
            .expect("the README's ssh command");
        assert_eq!(
            sh_words(line.strip_prefix("ssh ").unwrap()),
            ["-l", user, "203.0.113.10"],
            "README: {line}"
        );
        // Terraform's output, as Terraform would interpolate it for this user.
        let outputs = crate::common::file(&files, "terraform/outputs.tf").text();
        let quoted = terraform_replace(outputs, "ssh_command", user);
        let command = format!("-l '{quoted}' 203.0.113.10");
        assert_eq!(
            sh_words(&command),
            ["-l", user, "203.0.113.10"],
            "Terraform: {command}"
        );
    }
}

/// Every connect command in every example's outputs (a class's per-student list included)
/// quotes the admin user name: the name only ever reaches an output through the quoting
/// `replace(...)` that `connect_commands_give_the_shell_the_user_name_as_one_word` proves.
#[test]
fn every_output_quotes_the_user_name() {
    let mut checked = 0;
    for example in crate::common::examples() {
        let files = crate::common::render_file(&example);
        let outputs: Vec<(&str, String, &str)> = vec![
            (
                "terraform/outputs.tf",
                crate::common::file(&files, "terraform/outputs.tf")
                    .text()
                    .to_string(),
                "var.admin_username",
            ),
            (
                "bicep/main.bicep",
                crate::common::file(&files, "bicep/main.bicep")
                    .text()
                    .lines()
                    .skip_while(|l| {
                        !l.starts_with("output ") && !l.contains("@description('Each student")
                    })
                    .collect::<Vec<_>>()
                    .join("\n"),
                "adminUsername",
            ),
            (
                "arm/azuredeploy.json",
                {
                    let arm: serde_json::Value = serde_json::from_str(
                        crate::common::file(&files, "arm/azuredeploy.json").text(),
                    )
                    .unwrap();
                    arm["outputs"].to_string()
                },
                "parameters('adminUsername')",
            ),
        ];
        for (file, text, user) in outputs {
            for (at, _) in text.match_indices(user) {
                let before = &text[..at];
                assert!(
                    before.ends_with("replace(")
                        || before.ends_with("replace(replace(replace(replace(replace("),
                    "{}: {file}: the user name reaches an output unquoted: …{}",
                    example.display(),
                    &text[at.saturating_sub(60)..(at + user.len() + 20).min(text.len())]
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 10, "{checked} user names in outputs");
}

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

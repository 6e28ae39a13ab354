//! `provision.ps1`: parses with a real PowerShell grammar, is UTF-8 with BOM, is pinned by
//! snapshots, and carries lab values only as escaped literals.

use tree_sitter::{Node, Parser};

use crate::common::{example_name, examples, file, render_file, render_text, repo};

/// Every ERROR or MISSING node of a PowerShell parse, as `line:column kind`.
pub fn powershell_syntax_problems(text: &str) -> Vec<String> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_powershell::LANGUAGE.into())
        .expect("grammar loads");
    let tree = parser.parse(text, None).expect("parser returns a tree");
    let mut problems = Vec::new();
    collect(tree.root_node(), &mut problems);
    problems
}

fn collect(node: Node<'_>, out: &mut Vec<String>) {
    if node.is_error() || node.is_missing() {
        let p = node.start_position();
        out.push(format!(
            "{}:{} {}",
            p.row + 1,
            p.column + 1,
            if node.is_missing() {
                "MISSING"
            } else {
                "ERROR"
            }
        ));
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        collect(child, out);
    }
}

#[test]
fn the_grammar_catches_broken_scripts() {
    assert!(!powershell_syntax_problems("function f { if ($x) { 'a' }\n").is_empty());
    assert!(!powershell_syntax_problems("$x = 'unclosed\n").is_empty());
    assert!(powershell_syntax_problems("$x = @{ a = 1 }\nWrite-Output $x\n").is_empty());
}

#[test]
fn provision_script_parses_for_every_example() {
    for example in examples() {
        let files = render_file(&example);
        let script = file(&files, "powershell/provision.ps1");
        let problems = powershell_syntax_problems(script.text());
        assert!(problems.is_empty(), "{}: {problems:?}", example.display());
    }
}

#[test]
fn provision_script_is_utf8_with_bom() {
    let files = render_file(&repo().join("examples/lab.yaml"));
    let script = file(&files, "powershell/provision.ps1");
    assert!(script.bytes.starts_with(b"\xEF\xBB\xBF"));
    assert!(std::str::from_utf8(&script.bytes).is_ok());
}

#[test]
fn provision_script_snapshots() {
    for example in examples() {
        let files = render_file(&example);
        let name = example_name(&example);
        insta::assert_snapshot!(
            format!("provision_ps1__{name}"),
            file(&files, "powershell/provision.ps1").text()
        );
    }
}

#[test]
fn lab_values_stay_data_in_the_script() {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .replace("- name: windbg", "- name: evil\n      kind: zip\n      url: \"https://example.com/a?b='c'&d=$(x)\"\n      dir: \"it's ‘x’ $(y)\"\n    - name: windbg");
    let files = render_text("hostile.yaml", &text);
    let script = file(&files, "powershell/provision.ps1").text();
    assert!(powershell_syntax_problems(script).is_empty());
    assert!(
        script.contains("'https://example.com/a?b=''c''&d=$(x)'"),
        "url literal not escaped as expected"
    );
    assert!(
        script.contains("it''s ‘‘x’’ $(y)"),
        "dir literal not escaped as expected"
    );
}

/// The script's main template and every partial it includes (`powershell/steps/`,
/// `powershell/helpers/`) are ASCII: Windows PowerShell 5.1 reads a script in the ANSI code page
/// when its BOM is lost.
#[test]
fn template_text_is_ascii() {
    let mut checked = 0;
    let mut bad = Vec::new();
    for (name, _) in wcigen::render::TEMPLATES {
        if !name.starts_with("powershell/") {
            continue;
        }
        let template = std::fs::read_to_string(repo().join("templates").join(name)).unwrap();
        checked += 1;
        bad.extend(
            template
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.is_ascii())
                .map(|(i, _)| format!("{name}:{}", i + 1)),
        );
    }
    assert!(checked > 2, "only {checked} PowerShell templates found");
    assert!(bad.is_empty(), "non-ASCII template lines: {bad:?}");
}

#[test]
fn downloads_are_https_only_tls12_and_verified() {
    let files = render_file(&repo().join("examples/trusted-launch.yaml"));
    let script = file(&files, "powershell/provision.ps1").text();
    for needle in [
        "[Net.SecurityProtocolType]::Tls12",
        "$parsed.Scheme -ne 'https'",
        "Get-FileHash -LiteralPath $Path -Algorithm SHA256",
        "Get-AuthenticodeSignature",
        "VerifyAuthenticode = $true",
        "Add-AppxProvisionedPackage",
        "SkipLicense = $true",
        "docker run --rm",
    ] {
        assert!(script.contains(needle), "provision.ps1 lacks {needle:?}");
    }
    assert!(
        !script.contains("docker run -it"),
        "the smoke test must not need a TTY"
    );
    assert!(
        !script.contains("Add-AppxPackage -AppInstaller"),
        "WinDbg is provisioned for all users"
    );
}

//! Every validation rule has a fixture whose diagnostic is pinned by a snapshot, and every
//! example validates.

use std::path::Path;

use wcigen::diag::{self, Severity};
use wcigen::source::{SourceFile, SpanIndex};

use crate::common::{examples, file, render_file, repo};

fn invalid_fixtures() -> Vec<std::path::PathBuf> {
    let mut out: Vec<_> = std::fs::read_dir(repo().join("tests/fixtures/invalid"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

/// The code a fixture expects, from its first line (`# expect: CODE`); an empty file expects
/// `yaml-not-mapping`.
fn expected_code(text: &str) -> String {
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .map_or_else(|| "yaml-not-mapping".to_string(), |c| c.trim().to_string())
}

/// The human report of a lab text, uncoloured, with a stable file label.
fn report(label: &str, text: &str) -> (Vec<diag::ResolvedDiagnostic>, String) {
    let source = SourceFile {
        path: label.into(),
        text: text.into(),
    };
    let diagnostics = match wcigen::check(&source) {
        Ok(lab) => lab.warnings().to_vec(),
        Err(d) => d,
    };
    let resolved = diag::resolve(label, &SpanIndex::build(text), &diagnostics);
    let human = diag::render_human(Some(&source), &resolved, false);
    (resolved, human)
}

#[test]
fn there_are_many_invalid_fixtures() {
    assert!(
        invalid_fixtures().len() >= 60,
        "only {} invalid fixtures",
        invalid_fixtures().len()
    );
}

#[test]
fn each_invalid_fixture_reports_exactly_its_problem() {
    let mut failures = Vec::new();
    for path in invalid_fixtures() {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let label = format!("tests/fixtures/invalid/{name}.yaml");
        let (resolved, human) = report(&label, &text);
        let errors: Vec<_> = resolved
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .collect();
        let expected = expected_code(&text);
        if errors.len() != 1 || errors[0].code != expected {
            failures.push(format!(
                "{name}: expected one `{expected}`, got {:?}",
                errors.iter().map(|e| e.code).collect::<Vec<_>>()
            ));
        }
        // Every error names a location and a fix.
        for e in &errors {
            if e.help.is_none()
                || (e.line.is_none() && text.trim().lines().any(|l| !l.starts_with('#')))
            {
                failures.push(format!("{name}: `{}` has no position or no help", e.code));
            }
        }
        insta::with_settings!({snapshot_suffix => name.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("diagnostic", human);
        });
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn examples_are_valid() {
    for example in examples() {
        let text = std::fs::read_to_string(&example).unwrap();
        let (resolved, _) = report(&example.display().to_string(), &text);
        assert!(
            resolved.iter().all(|d| d.severity == Severity::Warning),
            "{}: {resolved:#?}",
            example.display()
        );
    }
}

#[test]
fn latest_image_and_open_sources_warn_but_validate() {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .replace("allowFrom: []", "allowFrom: [\"*\"]")
        .replace("size: Standard_E2s_v3", "size: Standard_E2s_v9");
    let (resolved, human) = report("open.yaml", &text);
    let codes: Vec<_> = resolved.iter().map(|d| (d.code, d.severity)).collect();
    assert!(
        codes.contains(&("image-version-latest", Severity::Warning)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("allow-from-any", Severity::Warning)),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("vm-size-unknown", Severity::Warning)),
        "{codes:?}"
    );
    assert!(
        human.contains("`rdp`, `ssh` are open to any source"),
        "{human}"
    );
    assert!(human.contains("0 error(s), 3 warning(s)"), "{human}");
}

#[test]
fn minimal_lab_renders_byte_identically_to_the_full_example() {
    let full = render_file(&repo().join("examples/lab.yaml"));
    let minimal = render_file(&repo().join("examples/minimal.yaml"));
    assert_eq!(full.len(), minimal.len());
    for f in &full {
        assert!(
            file(&minimal, &f.path).bytes == f.bytes,
            "{} differs",
            f.path
        );
    }
}

#[test]
fn diagnostics_point_at_the_offending_value() {
    let text = "version: 1\nname: wci\nazure:\n  location: estus\n  resourceGroup: rg\nvm:\n  name: v\n  adminUsername: admin\n";
    let (resolved, human) = report("t.yaml", text);
    let region = resolved
        .iter()
        .find(|d| d.code == "region-unknown")
        .unwrap();
    assert_eq!((region.line, region.column), (Some(4), Some(13)));
    assert!(
        human.contains("4 |   location: estus\n  |             ^^^^^"),
        "{human}"
    );
    assert!(human.contains("did you mean `eastus`?"), "{human}");
    let user = resolved
        .iter()
        .find(|d| d.code == "admin-username-reserved")
        .unwrap();
    assert_eq!(user.path, "vm.adminUsername");
    assert!(user.help.as_deref().unwrap().contains("`administrator`"));
}

#[test]
fn all_problems_are_reported_at_once() {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .replace("location: eastus", "location: estus")
        .replace("adminUsername: wci", "adminUsername: root")
        .replace("time: \"19:00\"", "time: \"25:00\"");
    let (resolved, _) = report("many.yaml", &text);
    let errors = resolved
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(errors, 3, "{resolved:#?}");
}

#[test]
fn json_report_carries_the_same_fields() {
    let text =
        std::fs::read_to_string(Path::new(&repo()).join("tests/fixtures/invalid/region.yaml"))
            .unwrap();
    let (resolved, _) = report("region.yaml", &text);
    let json: serde_json::Value = serde_json::from_str(&diag::render_json(&resolved)).unwrap();
    let first = &json.as_array().unwrap()[0];
    for key in [
        "code", "severity", "file", "path", "line", "column", "message", "help",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    assert_eq!(first["code"], "region-unknown");
    assert_eq!(first["path"], "azure.location");
}

/// A value can carry terminal escape sequences and direction marks (YAML's `\e`, `\u202e`):
/// the human report shows them as `\u{X}`, never raw, in the message and the source line alike;
/// the JSON report keeps the exact value (JSON escapes it).
#[test]
fn terminal_controls_in_values_are_never_printed_raw() {
    let text = std::fs::read_to_string(crate::common::repo().join("examples/lab.yaml"))
        .unwrap()
        .replace(
            "size: Standard_E2s_v3",
            "size: \"Standard_\\e]0;pwned\\a\\u202eX\"",
        );
    let (resolved, human) = report("lab.yaml", &text);
    assert_eq!(resolved[0].code, "vm-size-invalid", "{human}");
    assert!(
        resolved[0].message.contains('\u{1b}'),
        "the resolved message keeps the value for JSON"
    );
    assert!(
        human.contains(r"Standard_\u{1b}]0;pwned\u{7}\u{202e}X"),
        "{human}"
    );
    let raw: Vec<char> = human
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
        .collect();
    assert!(raw.is_empty(), "raw controls {raw:?} in:\n{human}");
}

#[test]
fn a_hash_is_refused_only_for_urls_whose_content_moves() {
    let base =
        std::fs::read_to_string(repo().join("tests/fixtures/invalid/sha256-moving-url.yaml"))
            .unwrap();
    let branch = "https://github.com/zodiacon/AllTools/archive/refs/heads/master.zip";
    let cases = [
        ("https://github.com/zodiacon/AllTools/archive/refs/tags/v1.0.zip", false),
        ("https://github.com/zodiacon/AllTools/archive/0123456789abcdef0123456789abcdef01234567.zip", false),
        ("https://example.com/tools/tool-1.2.3.zip", false),
        ("https://github.com/zodiacon/AllTools/archive/main.zip", true),
        ("https://github.com/o/r/releases/latest/download/tool.zip", true),
        ("https://aka.ms/some-tool", true),
        ("https://download.sysinternals.com/files/SysinternalsSuite.zip", true),
    ];
    for (url, refused) in cases {
        let (resolved, human) = report("moving.yaml", &base.replace(branch, url));
        let found = resolved.iter().any(|d| d.code == "sha256-moving-url");
        assert_eq!(found, refused, "{url}:\n{human}");
    }
}

/// A lab with more mistakes than the printer shows: the first `MAX_PRINTED` are printed, the
/// rest counted, and the summary still counts them all.
#[test]
fn printed_diagnostics_are_capped_and_the_rest_counted() {
    let mut text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .split("  tools:\n")
        .next()
        .unwrap()
        .to_string()
        + "  tools:\n";
    for _ in 0..120 {
        text.push_str("    - {name: same, kind: zip, url: https://example.com/t.zip}\n");
    }
    let (resolved, human) = report("many.yaml", &text);
    let errors = resolved
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(errors, 119, "one duplicate name per repeated tool");
    let printed = human.matches("\nerror[").count() + usize::from(human.starts_with("error["));
    let printed = printed + human.matches("warning[").count();
    assert_eq!(printed, diag::MAX_PRINTED, "{human}");
    let suppressed = resolved.len() - diag::MAX_PRINTED;
    assert!(
        human.contains(&format!("{suppressed} more diagnostic(s) were suppressed")),
        "{human}"
    );
    assert!(human.ends_with("119 error(s), 1 warning(s)\n"), "{human}");
    // A report within the cap says nothing about suppression.
    let (_, small) = report(
        "one.yaml",
        &text
            .replace("name: same", "name: x")
            .lines()
            .take(60)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(!small.contains("suppressed"), "{small}");
}

/// The IaC targets send provision.ps1 as userData (gzip, base64), which Azure caps at 64 KB:
/// a lab whose script does not fit is refused with the size, before anything renders.
#[test]
fn user_data_over_64_kb_is_refused_with_its_size() {
    let head = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .split("  tools:\n")
        .next()
        .unwrap()
        .to_string()
        + "  tools:\n";
    // Digests do not compress: each tool adds about 40 bytes of gzip.
    let lab = |count: u64| {
        let mut text = head.clone();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..count {
            let mut digest = String::new();
            for _ in 0..4 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                digest.push_str(&format!("{x:016x}"));
            }
            text.push_str(&format!(
                "    - {{name: t{i}, kind: zip, url: https://example.com/{x:x}.zip, sha256: {digest}}}\n"
            ));
        }
        text
    };
    let (resolved, _) = report("small.yaml", &lab(50));
    assert!(resolved.iter().all(|d| d.severity == Severity::Warning));
    let (resolved, human) = report("big.yaml", &lab(1500));
    let too_large: Vec<_> = resolved
        .iter()
        .filter(|d| d.code == "user-data-too-large")
        .collect();
    assert_eq!(too_large.len(), 1, "{human}");
    assert_eq!(too_large[0].severity, Severity::Error);
    let bytes: usize = too_large[0]
        .message
        .split(" is ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("the message states the size");
    assert!(bytes > wcigen::render::USER_DATA_LIMIT, "{human}");
    assert!(human.contains("Azure accepts at most 65536"), "{human}");
}

/// `0.0.0.0/0`, or sources that together cover every IPv4 address, open the ports like `"*"`.
#[test]
fn sources_covering_every_address_warn_like_star() {
    let example = std::fs::read_to_string(repo().join("examples/lab.yaml")).unwrap();
    for sources in ["[0.0.0.0/0]", "[0.0.0.0/1, 128.0.0.0/2, 192.0.0.0/2]"] {
        let text = example.replace("allowFrom: []", &format!("allowFrom: {sources}"));
        let (resolved, _) = report("open.yaml", &text);
        let codes: Vec<_> = resolved.iter().map(|d| (d.code, d.severity)).collect();
        assert!(
            codes.contains(&("allow-from-any", Severity::Warning)),
            "{sources}: {codes:?}"
        );
        assert!(
            codes.iter().all(|(_, s)| *s == Severity::Warning),
            "{codes:?}"
        );
    }
    let text = example.replace("allowFrom: []", "allowFrom: [203.0.113.7, 203.0.113.0/24]");
    let (resolved, _) = report("overlap.yaml", &text);
    assert!(resolved
        .iter()
        .any(|d| d.code == "cidr-overlap" && d.severity == Severity::Warning));
}

/// Bastion Developer outside Microsoft's published region list: a warning (the list is from 2023,
/// today's docs say "select regions"), and the lab still renders.
#[test]
fn bastion_developer_outside_the_listed_regions_warns_but_validates() {
    let text = std::fs::read_to_string(repo().join("examples/bastion.yaml"))
        .unwrap()
        .replace("location: northeurope", "location: eastus");
    let (resolved, human) = report("bastion-eastus.yaml", &text);
    let codes: Vec<_> = resolved.iter().map(|d| (d.code, d.severity)).collect();
    assert!(
        codes.contains(&("access-bastion-developer-region", Severity::Warning)),
        "{codes:?}"
    );
    assert!(human.contains("0 error(s)"), "{human}");
    insta::assert_snapshot!("bastion_developer_region_warning", human);
}

/// A student's own sources get the same checks as `network.allowFrom`, at the student's path:
/// the same address twice in two spellings is a duplicate, a set covering every IPv4 address
/// warns like `"*"`, and `"*"` itself is not an address.
#[test]
fn student_sources_are_checked_like_the_labs_sources() {
    let class = std::fs::read_to_string(repo().join("examples/class.yaml")).unwrap();
    let with = |sources: &str| {
        let text = class.replace(
            "allowFrom: [203.0.113.7/32]",
            &format!("allowFrom: {sources}"),
        );
        let (resolved, human) = report("class.yaml", &text);
        let found: Vec<(&str, Severity, String)> = resolved
            .iter()
            .filter(|d| d.path.starts_with("class."))
            .map(|d| (d.code, d.severity, d.path.clone()))
            .collect();
        (found, human)
    };
    let (found, human) = with("[203.0.113.7, 203.0.113.7/32]");
    assert_eq!(
        found,
        [(
            "cidr-duplicate",
            Severity::Error,
            "class.students[1].allowFrom[1]".to_string()
        )],
        "{human}"
    );
    let (found, human) = with("[0.0.0.0/1, 128.0.0.0/1]");
    assert_eq!(
        found,
        [(
            "allow-from-any",
            Severity::Warning,
            "class.students[1].allowFrom".to_string()
        )],
        "{human}"
    );
    let (found, human) = with("[\"*\"]");
    assert_eq!(found.len(), 1, "{human}");
    assert_eq!(
        (found[0].0, found[0].1),
        ("cidr-invalid", Severity::Error),
        "{human}"
    );
}

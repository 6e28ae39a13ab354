//! `render --prices`: the lab's hourly cost from a saved Azure Retail Prices API answer.
//!
//! The fixtures in `tests/fixtures/prices/` are synthetic (see its README): they test which meter
//! is picked and how a bad file is reported, not Azure's prices.

use std::path::{Path, PathBuf};
use std::process::Command;

use wcigen::diag;
use wcigen::prices::{self, HourlyPrice};
use wcigen::render::{self, Target};
use wcigen::source::{SourceFile, SpanIndex};

use crate::common::{file, repo, valid_lab_from_text};

fn example_lab() -> wcigen::validate::ValidLab {
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml")).unwrap();
    valid_lab_from_text("lab.yaml", &text)
}

fn price_source(label: &str, text: &str) -> SourceFile {
    SourceFile::from_bytes(Path::new(label), text.as_bytes().to_vec()).unwrap()
}

fn synthetic() -> String {
    std::fs::read_to_string(repo().join("tests/fixtures/prices/synthetic-e2s-v3-eastus.json"))
        .unwrap()
}

fn estimate_text(text: &str) -> Result<HourlyPrice, String> {
    let source = price_source("prices.json", text);
    prices::estimate(&source, &example_lab()).map_err(|d| {
        let resolved = diag::resolve("prices.json", &SpanIndex::build(text), &d);
        resolved
            .iter()
            .map(|r| r.code)
            .collect::<Vec<_>>()
            .join(",")
    })
}

fn invalid_fixtures() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("tests/fixtures/prices/invalid"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    files
}

/// The Windows pay-as-you-go meter is chosen among Linux, Spot, Low Priority, Dev/Test,
/// reservation and older meters of the same size and region.
#[test]
fn the_newest_windows_pay_as_you_go_price_is_chosen() {
    let price = estimate_text(&synthetic()).unwrap();
    assert_eq!(price.micros_per_hour(), 500_000);
    assert_eq!(price.currency(), "USD");
    assert_eq!(price.effective(), "2024-05-01");
    assert_eq!(
        (price.size(), price.region()),
        ("Standard_E2s_v3", "eastus")
    );

    // Without the current meter, the older one is what is left in force.
    let mut page: serde_json::Value = serde_json::from_str(&synthetic()).unwrap();
    page["Items"]
        .as_array_mut()
        .unwrap()
        .retain(|i| !(i["retailPrice"] == 0.5 && i["type"] == "Consumption"));
    let older = estimate_text(&page.to_string()).unwrap();
    assert_eq!(
        (older.micros_per_hour(), older.effective()),
        (450_000, "2020-01-01")
    );

    // A newer placeholder meter priced 0 (a size not yet generally available) is passed over.
    let mut placeholder = page["Items"][0].clone();
    placeholder["productName"] = "Virtual Machines Esv3 Series Windows".into();
    placeholder["retailPrice"] = 0.0.into();
    placeholder["effectiveStartDate"] = "2025-01-01T00:00:00Z".into();
    let mut with_placeholder = page.clone();
    with_placeholder["Items"]
        .as_array_mut()
        .unwrap()
        .push(placeholder);
    assert_eq!(
        estimate_text(&with_placeholder.to_string())
            .unwrap()
            .micros_per_hour(),
        450_000
    );

    // Only meters that are not Windows pay-as-you-go: no match.
    page["Items"]
        .as_array_mut()
        .unwrap()
        .retain(|i| i["retailPrice"] != 0.45);
    assert_eq!(
        estimate_text(&page.to_string()).unwrap_err(),
        "prices-no-match"
    );
}

#[test]
fn the_readme_states_the_estimate_with_its_date_and_source() {
    let lab = example_lab();
    let source = price_source("prices.json", &synthetic());
    let price = prices::estimate(&source, &lab).unwrap();
    let files = render::render_with_price(&lab, Target::ALL, Some(&price)).unwrap();
    let readme = file(&files, "README.md").text();
    let section =
        &readme[readme.find("## What it costs").unwrap()..readme.find("## Stop paying").unwrap()];
    insta::assert_snapshot!("readme_cost_with_prices", section);
    for line in [
        "per hour               0.5 USD",
        "8 hours (a lab day)    4.00 USD",
        "730 hours (a month)    365.00 USD, if never shut down",
        "effective since        2024-05-01",
        "source                 Azure Retail Prices API",
    ] {
        assert!(section.contains(line), "{line:?} missing:\n{section}");
    }

    // Without prices: no figure, but the URL that lists them, for sh and PowerShell.
    let plain = render::render(&lab, Target::ALL).unwrap();
    let plain = file(&plain, "README.md").text();
    assert!(!plain.contains("per hour"));
    let url = prices::price_list_url("Standard_E2s_v3", "eastus");
    assert!(plain.contains(&format!("curl -sS -o prices.json '{url}'")));
    assert!(plain.contains(&format!(
        "Invoke-WebRequest -UseBasicParsing -OutFile prices.json -Uri '{url}'"
    )));

    // Only the README changes.
    let mut other = files.clone();
    other.retain(|f| f.path != "README.md");
    let mut plain_files = render::render(&lab, Target::ALL).unwrap();
    plain_files.retain(|f| f.path != "README.md");
    assert_eq!(
        other.iter().map(|f| &f.bytes).collect::<Vec<_>>(),
        plain_files.iter().map(|f| &f.bytes).collect::<Vec<_>>()
    );
}

/// A price for another lab is refused by the renderer rather than printed.
#[test]
fn a_price_for_another_lab_is_refused() {
    let lab = example_lab();
    let price = prices::estimate(&price_source("p.json", &synthetic()), &lab).unwrap();
    let text = std::fs::read_to_string(repo().join("examples/lab.yaml"))
        .unwrap()
        .replace("location: eastus", "location: westeurope");
    let other = valid_lab_from_text("other.yaml", &text);
    assert_eq!(other.spec().azure.location, "westeurope");
    let err = render::render_with_price(&other, Target::ALL, Some(&price)).unwrap_err();
    assert!(err.detail.contains("eastus"), "{err}");
}

/// Every invalid price file: exactly its diagnostic (code from the file name), located in the
/// price file, pinned by a snapshot; through the CLI: exit 1, file:line:column, a fix, nothing
/// written.
#[test]
fn each_invalid_price_file_reports_its_problem() {
    let fixtures = invalid_fixtures();
    assert!(fixtures.len() >= 6);
    let tmp = std::env::temp_dir().join(format!("wcigen-prices-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let out = tmp.join("out");
    for path in &fixtures {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let code = name.split("--").next().unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let label = format!("{name}.json");
        let source = price_source(&label, &text);
        let diagnostics = prices::estimate(&source, &example_lab()).unwrap_err();
        let resolved = diag::resolve(&label, &SpanIndex::build(&text), &diagnostics);
        assert_eq!(
            resolved.iter().map(|r| r.code).collect::<Vec<_>>(),
            [code],
            "{name}"
        );
        assert!(resolved[0].line.is_some(), "{name}: no line");
        let human = diag::render_human(Some(&source), &resolved, false);
        insta::with_settings!({snapshot_suffix => name.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("price_diagnostic", human);
        });

        let output = Command::new(env!("CARGO_BIN_EXE_wcigen"))
            .args(["render", "examples/lab.yaml", "-o"])
            .arg(&out)
            .arg("--prices")
            .arg(path)
            .current_dir(repo())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{name}: {stderr}");
        assert!(
            stderr.contains(&format!("error[{code}]")),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains(&format!("{name}.json:{}:", resolved[0].line.unwrap())),
            "{name}: {stderr}"
        );
        assert!(
            stderr.contains("help:") && !stderr.contains("panicked"),
            "{name}: {stderr}"
        );
        assert!(!out.exists(), "{name}: wrote into the output folder");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

//! Validation of 1 MiB labs (the largest file wcigen reads) must be linear: each case below is
//! about 1 MiB of the worst shape found for one part of the pipeline, and is timed through what
//! `wcigen validate` does: parse, validate, resolve every diagnostic against the file and print
//! the (capped) human report.
//!
//! Cases: tens of thousands of valid tools (userData-size check included); the same tool
//! repeated (duplicate names and folders, one diagnostic each); tools with a misspelt key
//! (a did-you-mean per tool); tools with double-quoted values on one line (caret measurement);
//! a YAML anchor expanded by aliases.
//!
//! Run with `cargo bench --bench validate`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use wcigen::diag;
use wcigen::source::{SourceFile, SpanIndex, MAX_LAB_BYTES};

const HEAD: &str = "version: 1\nname: wci\nazure:\n  location: eastus\n  resourceGroup: rg\nvm:\n  name: v\n  adminUsername: labadmin\nnetwork:\n  allowFrom: [203.0.113.7]\nprovisioning:\n  tools:\n";

/// Repeat `item(i)` after the head until the text is just under 1 MiB.
fn fill(tail: &str, mut item: impl FnMut(usize) -> String) -> String {
    let mut text = HEAD.to_string();
    let limit = usize::try_from(MAX_LAB_BYTES).unwrap() - tail.len();
    for i in 0.. {
        let next = item(i);
        if text.len() + next.len() > limit {
            break;
        }
        text.push_str(&next);
    }
    text.push_str(tail);
    text
}

fn cases() -> Vec<(&'static str, String)> {
    let valid = fill("", |i| {
        format!("  - {{name: t{i}, kind: zip, url: https://example.com/t{i}.zip}}\n")
    });
    let duplicates = fill("", |_| {
        "  - {name: same, kind: zip, url: https://example.com/t.zip, dir: same}\n".to_string()
    });
    let misspelt = fill("", |i| {
        format!(
            "  - {{name: t{i}, kind: zip, url: https://example.com/t{i}.zip, addToPth: true}}\n"
        )
    });
    let mut one_line = HEAD.trim_end_matches("  tools:\n").to_string() + "  tools: [";
    let limit = usize::try_from(MAX_LAB_BYTES).unwrap() - 4;
    for i in 0.. {
        let mut item = String::new();
        let _ = write!(
            item,
            "{{\"name\": \"t{i}\", \"kind\": \"zip\", \"url\": \"http://example.com/t{i}.zip\"}}, "
        );
        if one_line.len() + item.len() > limit {
            break;
        }
        one_line.push_str(&item);
    }
    one_line.push_str("]\n");
    let aliased = {
        let mut text = HEAD.to_string();
        text.push_str("  - &t {name: same, kind: zip, url: \"http://example.com/t.zip\"}\n");
        let item = "  - *t\n";
        while text.len() + item.len() < usize::try_from(MAX_LAB_BYTES).unwrap() {
            text.push_str(item);
        }
        text
    };
    vec![
        ("valid tools", valid),
        ("duplicate tools", duplicates),
        ("misspelt key per tool", misspelt),
        ("quoted values on one line", one_line),
        ("aliased tool", aliased),
    ]
}

/// What `wcigen validate` does with a lab's text; returns the report's length.
fn validate_and_report(text: &str) -> usize {
    let source = SourceFile {
        path: "lab.yaml".into(),
        text: text.to_string(),
    };
    let diagnostics = match wcigen::check(&source) {
        Ok(lab) => lab.warnings().to_vec(),
        Err(d) => d,
    };
    let resolved = diag::resolve("lab.yaml", &SpanIndex::build(text), &diagnostics);
    diag::render_human(Some(&source), &resolved, false).len()
}

fn bench(c: &mut Criterion) {
    // `WCIGEN_BENCH_PHASES=1 cargo bench --bench validate` times each phase of one run per
    // case instead (parse + validate, span index, resolve, human report), to find which one
    // grows when a case gets slow.
    if std::env::var_os("WCIGEN_BENCH_PHASES").is_some() {
        for (name, text) in cases() {
            let t = std::time::Instant::now();
            let source = SourceFile {
                path: "lab.yaml".into(),
                text: text.clone(),
            };
            let parsed = wcigen::load::parse(&source);
            let t0 = t.elapsed();
            let diagnostics = match parsed.map(wcigen::validate::validate) {
                Ok(Ok(lab)) => lab.warnings().to_vec(),
                Ok(Err(d)) | Err(d) => d,
            };
            let t1 = t.elapsed();
            let spans = SpanIndex::build(&text);
            let t2 = t.elapsed();
            let resolved = diag::resolve("lab.yaml", &spans, &diagnostics);
            let t3 = t.elapsed();
            let n = diag::render_human(Some(&source), &resolved, false).len();
            let t4 = t.elapsed();
            eprintln!(
                "{name}: {} diagnostics; parse {t0:?}, validate {:?}, span index {:?}, resolve {:?}, human report {:?} ({n} bytes)",
                diagnostics.len(),
                t1 - t0,
                t2 - t1,
                t3 - t2,
                t4 - t3
            );
        }
        return;
    }
    let mut group = c.benchmark_group("validate 1 MiB lab");
    group.sample_size(10);
    for (name, text) in cases() {
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_function(name, |b| b.iter(|| validate_and_report(black_box(&text))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

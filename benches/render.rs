//! Throughput of the whole pipeline (parse → validate → render every target) on the example lab,
//! and how rendering scales with the number of tools (it should be linear).

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use wcigen::render::{self, Target};
use wcigen::source::SourceFile;

fn pipeline(text: &str) -> usize {
    let source = SourceFile {
        path: "lab.yaml".into(),
        text: text.to_string(),
    };
    let lab = wcigen::check(&source).expect("valid lab");
    let files = render::render(&lab, Target::ALL).expect("renders");
    files.iter().map(|f| f.bytes.len()).sum()
}

fn lab_with_tools(count: usize) -> String {
    let base =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab.yaml")).unwrap();
    let head = base.split("  tools:\n").next().unwrap().to_string();
    let mut text = head + "  tools:\n";
    for i in 0..count {
        let _ = write!(
            text,
            "    - name: tool{i}\n      kind: zip\n      url: https://example.com/tools/tool{i}.zip\n      sha256: {:064x}\n      addToPath: true\n",
            i
        );
    }
    text
}

fn bench(c: &mut Criterion) {
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/lab.yaml")).unwrap();
    c.bench_function("example lab: parse + validate + render all targets", |b| {
        b.iter(|| pipeline(black_box(&example)))
    });

    let mut group = c.benchmark_group("tools");
    for count in [10, 50, 200] {
        let text = lab_with_tools(count);
        group.throughput(Throughput::Elements(count as u64));
        group.bench_with_input(BenchmarkId::from_parameter(count), &text, |b, text| {
            b.iter(|| pipeline(black_box(text)))
        });
    }
    group.finish();

    // A class renders one copy loop per resource plus one line per student in the students
    // variable: a class of 30 should cost at most 3× the one-VM lab of the same file (issue 16).
    let class =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/class.yaml"))
            .unwrap();
    let head = class.split("\nclass:").next().unwrap().to_string();
    let mut group = c.benchmark_group("class");
    group.bench_function("one VM (class.yaml without its class)", |b| {
        b.iter(|| pipeline(black_box(&head)))
    });
    let thirty = format!("{head}\nclass:\n  students: 30\n");
    group.bench_function("30 students", |b| b.iter(|| pipeline(black_box(&thirty))));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

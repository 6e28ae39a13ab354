//! The library's modules depend on each other one way: no import circle.
//!
//! The module graph is read from the sources: every `crate::` path outside comments is an edge
//! from the module whose file holds it to the module the path names (the longest module prefix
//! of the path). A module's references to its own ancestors are not edges (a submodule is part of
//! its parent), and neither are its references to itself.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::common::repo;

/// Module path (`render::escape`) → the text of its file, for every `.rs` file under `src/`.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            // The binary crate (`main.rs` and its `cli/`) is not the library's module tree:
            // `main.rs` would otherwise take the root's place and hide `lib.rs`'s re-exports.
            let rel_top = path.strip_prefix(src).unwrap().components().next();
            if rel_top.is_some_and(|c| c.as_os_str() == "main.rs" || c.as_os_str() == "cli") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).unwrap();
            out.insert(parts.join("::"), text);
        }
    }
    out
}

/// The text without `//` comments (doc links are not dependencies) and string literals.
fn code_only(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut in_string = false;
        let mut prev = ' ';
        let mut kept = String::new();
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if !in_string && c == '/' && chars.get(i + 1) == Some(&'/') {
                break;
            }
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            }
            if !in_string {
                kept.push(c);
            }
            prev = c;
            i += 1;
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// Every path that a `crate::` reference names, with `{a, b::c}` groups expanded.
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    fn group(rest: &str, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
        // `rest` starts right after a `::`: segments, then maybe a `{...}` group.
        let mut path = prefix.to_vec();
        let bytes = rest.as_bytes();
        let mut i = 0;
        loop {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            if i > start {
                path.push(rest[start..i].to_string());
            }
            if rest[i..].starts_with("::") {
                i += 2;
                continue;
            }
            break;
        }
        if rest[i..].starts_with('{') {
            i += 1;
            loop {
                while i < bytes.len() && (bytes[i] as char).is_whitespace() {
                    i += 1;
                }
                if i >= bytes.len() || bytes[i] == b'}' {
                    return i + 1;
                }
                i += group(&rest[i..], &path, out);
                while i < bytes.len() && ((bytes[i] as char).is_whitespace() || bytes[i] == b',') {
                    i += 1;
                }
            }
        }
        out.push(path);
        i
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("crate::") {
        let start = from + at + "crate::".len();
        let used = group(&code[start..], &[], &mut out);
        from = start + used.max(1);
    }
    out
}

/// The module a path names: its longest prefix that is a module.
fn module_of(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}

/// The crate root's `pub use stage::{module, ...}` re-exports: short name → module path.
fn root_aliases(root: &str, names: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut aliases = BTreeMap::new();
    for line in code_only(root).lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        for path in crate_paths(&format!("crate::{rest}")) {
            let full = path.join("::");
            if names.contains(&full) {
                aliases.insert(path.last().unwrap().clone(), full);
            }
        }
    }
    aliases
}

fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let files = modules(src);
    let names: BTreeSet<String> = files.keys().cloned().collect();
    let aliases = root_aliases(files.get("").map_or("", String::as_str), &names);
    let mut edges = BTreeMap::new();
    for (module, text) in &files {
        let targets: &mut BTreeSet<String> = edges.entry(module.clone()).or_default();
        for mut path in crate_paths(&code_only(text)) {
            // `crate::model` through the root's re-export is `crate::lab::model`.
            if let Some(full) = path.first().and_then(|first| aliases.get(first)) {
                let mut resolved: Vec<String> = full.split("::").map(str::to_string).collect();
                resolved.extend(path.drain(1..));
                path = resolved;
            }
            let Some(target) = module_of(&path, &names) else {
                continue;
            };
            let ancestor = module.starts_with(&format!("{target}::"));
            if target != *module && !ancestor && !target.is_empty() {
                targets.insert(target);
            }
        }
    }
    edges
}

/// A cycle in the graph, as the modules along it, or `None`.
fn find_cycle(edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_string(), 1);
        stack.push(node.to_string());
        for next in edges.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|m| m == next).unwrap();
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(cycle) = visit(next, edges, state, stack) {
                        return Some(cycle);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in edges.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(node, edges, &mut state, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

#[test]
fn library_modules_import_one_way() {
    let edges = graph(&repo().join("src"));
    assert!(edges.len() > 5, "modules found: {:?}", edges.keys());
    assert!(
        !edges.keys().any(|m| m == "cli" || m.starts_with("cli::")),
        "the binary's modules are not the library's"
    );
    if let Some(cycle) = find_cycle(&edges) {
        panic!("import circle: {}", cycle.join(" → "));
    }
    for (module, deps) in &edges {
        let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
        println!("{module:>14} → {}", deps.join(", "));
    }
    // Diagnostics are the wording of every stage, so they sit below all of them.
    let diag_deps: BTreeSet<&str> = edges
        .iter()
        .find(|(m, _)| m.rsplit("::").next() == Some("diag"))
        .map(|(_, deps)| deps.iter().map(String::as_str).collect())
        .expect("a diag module");
    for above in ["prices", "validate", "view", "render", "output", "cli"] {
        assert!(
            !diag_deps
                .iter()
                .any(|d| d.rsplit("::").next() == Some(above)),
            "diag imports {above}: {diag_deps:?}"
        );
    }
}

/// The reader finds the edges and the circles it must (a checker that sees nothing proves nothing).
#[test]
fn the_import_graph_reader_sees_groups_and_circles() {
    let dir = crate::engines::work_dir("architecture-probe");
    std::fs::create_dir_all(dir.join("lab")).unwrap();
    std::fs::write(
        dir.join("lib.rs"),
        "pub mod a;\npub mod lab;\npub use lab::{b, c};\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("a.rs"),
        "use crate::{lab::{b::X, c}, a::Y};\n// crate::d::Z is a comment\nlet s = \"crate::d\";\n",
    )
    .unwrap();
    std::fs::write(dir.join("lab").join("mod.rs"), "pub mod b;\npub mod c;\n").unwrap();
    std::fs::write(dir.join("lab").join("b.rs"), "use crate::lab::c;\n").unwrap();
    std::fs::write(dir.join("lab").join("c.rs"), "fn f() { crate::a::g() }\n").unwrap();
    std::fs::write(dir.join("d.rs"), "fn f() { crate::b::h() }\n").unwrap();
    // The binary's root beside the library's must not take its place.
    std::fs::write(dir.join("main.rs"), "mod cli;\nfn main() {}\n").unwrap();
    let edges = graph(&dir);
    assert_eq!(
        edges["d"].iter().map(String::as_str).collect::<Vec<_>>(),
        ["lab::b"],
        "a root re-export resolves to its module"
    );
    let of = |m: &str| edges[m].iter().map(String::as_str).collect::<Vec<_>>();
    assert_eq!(of("a"), ["lab::b", "lab::c"]);
    assert_eq!(of("lab::b"), ["lab::c"]);
    assert_eq!(of("lab::c"), ["a"]);
    let cycle = find_cycle(&edges).expect("a → lab::c → a is a circle");
    assert!(cycle.contains(&"a".to_string()) && cycle.contains(&"lab::c".to_string()));
    std::fs::write(dir.join("lab").join("c.rs"), "fn f() {}\n").unwrap();
    assert_eq!(find_cycle(&graph(&dir)), None);
}

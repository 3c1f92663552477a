//! The tree reads like the architecture: no module imports another that imports it back, neither
//! file by file (a folder's `mod.rs` is one file like the others) nor folder by folder (the
//! stages of the data path depend one way), and `unsafe` is written only at the C boundary
//! (`capi/`) and where the hit path meets memory (`answers/memory.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const SRC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src");

/// Every source file, by module path (`state::snapshot`, `state` for `state/mod.rs`, `` for lib.rs).
fn modules() -> BTreeMap<String, PathBuf> {
    fn walk(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                walk(&path, &[prefix, &[name]].concat(), out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let module = match name.as_str() {
                    "mod" | "lib" => prefix.to_vec(),
                    _ => [prefix, &[name]].concat(),
                };
                out.insert(module.join("::"), path);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(Path::new(SRC), &[], &mut out);
    out
}

/// The code of a file without its comments and its `#[cfg(test)]` module (tests may reach
/// anywhere).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("\n#[cfg(test)]\nmod tests").next().unwrap();
    text.lines().map(|l| l.split("//").next().unwrap()).collect::<Vec<_>>().join("\n")
}

/// The modules a file names by path (`crate::a::b`, `super::x`, `use` groups included), each
/// resolved to the longest module path that is a file.
fn imports(module: &str, code: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let own: Vec<&str> = if module.is_empty() { vec![] } else { module.split("::").collect() };
    let is_folder = known[module].ends_with("mod.rs");
    let parent = if is_folder { &own[..] } else { &own[..own.len().saturating_sub(1)] };
    let mut out = BTreeSet::new();
    let mut resolve = |path: Vec<String>| {
        for n in (1..=path.len()).rev() {
            let candidate = path[..n].join("::");
            if known.contains_key(&candidate) {
                if candidate != module {
                    out.insert(candidate);
                }
                return;
            }
        }
    };
    for (anchor, base) in [("crate::", Vec::new()), ("super::", parent[..parent.len().saturating_sub(1)].to_vec())] {
        for (at, _) in code.match_indices(anchor) {
            if anchor == "super::" && code[..at].ends_with("::") {
                continue;
            }
            let rest = &code[at + anchor.len()..];
            let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
            let mut parts: Vec<String> = base.iter().map(|s| s.to_string()).collect();
            parts.extend(path.split("::").filter(|p| !p.is_empty()).map(str::to_string));
            // `use crate::a::{b, c::d}`: each member names a module too.
            if rest[path.len()..].starts_with('{') {
                let group: String = rest[path.len() + 1..].chars().take_while(|c| *c != '}').collect();
                for member in group.split(',') {
                    let mut p = parts.clone();
                    p.extend(member.trim().split("::").map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
                    resolve(p);
                }
            }
            resolve(parts);
        }
    }
    out
}

/// The cycles of a directed graph, each as a path `a -> b -> a`.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        on_path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        cycles: &mut Vec<String>,
    ) {
        if let Some(i) = on_path.iter().position(|p| p == m) {
            cycles.push([&on_path[i..], &[m.to_string()]].concat().join(" -> "));
            return;
        }
        if !done.insert(m.to_string()) {
            return;
        }
        on_path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            visit(next, graph, on_path, done, cycles);
        }
        on_path.pop();
    }
    let mut cycles = Vec::new();
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, graph, &mut Vec::new(), &mut done, &mut cycles);
    }
    cycles
}

fn file_graph() -> BTreeMap<String, BTreeSet<String>> {
    let known = modules();
    known.iter().map(|(m, path)| (m.clone(), imports(m, &code(path), &known))).collect()
}

#[test]
fn no_file_imports_one_that_imports_it_back() {
    let found = cycles(&file_graph());
    assert!(found.is_empty(), "import cycles between files:\n{}", found.join("\n"));
}

#[test]
fn no_folder_imports_one_that_imports_it_back() {
    let top = |m: &str| m.split("::").next().unwrap().to_string();
    let mut folders: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, imported) in file_graph() {
        let edges = folders.entry(top(&m)).or_default();
        edges.extend(imported.iter().map(|i| top(i)).filter(|i| *i != top(&m)));
    }
    folders.remove(""); // lib.rs declares every module
    let found = cycles(&folders);
    assert!(found.is_empty(), "import cycles between top-level modules:\n{}", found.join("\n"));
}

#[test]
fn unsafe_is_written_only_at_the_c_boundary_and_in_memory() {
    let allowed = |m: &str| m == "capi" || m.starts_with("capi::") || m == "answers::memory";
    let offenders: Vec<String> = modules()
        .iter()
        .filter(|(m, path)| {
            !allowed(m) && {
                let c = code(path);
                c.contains("unsafe ") || c.contains("unsafe{")
            }
        })
        .map(|(m, _)| m.clone())
        .collect();
    assert!(offenders.is_empty(), "unsafe outside capi and answers::memory: {offenders:?}");
}

/// Every file or folder of this repository that the docs name in backticks exists, so that the
/// README's Architecture follows the tree as it moves.
#[test]
fn the_docs_name_only_paths_that_exist() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let docs = ["README.md", "BENCHMARKS.md", "include/WIRE.md", "go-processor/resourceequalityprocessor/README.md"];
    let roots = ["rust/", "go-processor/", "tests/", "include/", "examples/"];
    let mut missing = Vec::new();
    for doc in docs {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        for (n, quoted) in text.split('`').enumerate() {
            let path = quoted.trim_end_matches(['/', ',', '.']);
            let looks_like_path =
                n % 2 == 1 && roots.iter().any(|r| path.starts_with(r)) && !path.contains([' ', '*', '<', '{', '$']);
            if looks_like_path && !root.join(path).exists() {
                missing.push(format!("{doc}: {path}"));
            }
        }
    }
    assert!(missing.is_empty(), "the docs name paths that do not exist:\n{}", missing.join("\n"));
}

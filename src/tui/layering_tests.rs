//! The TUI's modules form layers: no module reaches, through its imports,
//! back to itself. A circle is how a codebase knots: every change to one
//! module then risks all the others in it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The `src/tui` modules each non-test module of it names (`super::x`,
/// `crate::tui::x`, `use super::{x, y}` and `crate::tui::{x, y}`).
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut files = Vec::new();
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "snapshots") {
                    dirs.push(path);
                }
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let top_level = |path: &Path| -> String {
        let rel = path.strip_prefix(&root).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        first.trim_end_matches(".rs").to_string()
    };
    let known: BTreeSet<String> = files.iter().map(|f| top_level(f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let module = top_level(file);
        if name.ends_with("_tests.rs") || name == "tests.rs" || module == "mod" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // A file's own tests may use anything.
        let text = text.split("#[cfg(test)]").next().unwrap();
        let in_subdir = file.parent() != Some(root.as_path());
        let mut named = BTreeSet::new();
        for (prefix, only_from_top) in [("crate::tui::", false), ("super::", true)] {
            if only_from_top && in_subdir {
                // `super::` in a sub-module is its own directory's module.
                continue;
            }
            for (at, _) in text.match_indices(prefix) {
                let rest = &text[at + prefix.len()..];
                let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                    let end = group.find('}').unwrap_or(0);
                    group[..end].split(',').map(str::trim).collect()
                } else {
                    vec![rest]
                };
                for n in names {
                    let ident: String = n
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if known.contains(&ident) && ident != module {
                        named.insert(ident);
                    }
                }
            }
        }
        graph.entry(module).or_default().extend(named);
    }
    graph
}

/// A circle through `from`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == from {
                let mut found = path.clone();
                found.push(next.clone());
                return Some(found);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push((next.clone(), longer));
            }
        }
    }
    None
}

#[test]
fn no_module_of_the_tui_imports_itself_in_a_circle() {
    let graph = imports();
    // Positive control: the reading finds the imports there are.
    assert!(
        graph["update"].contains("state") && graph["render"].contains("state"),
        "{graph:#?}"
    );
    for module in graph.keys() {
        assert_eq!(circle(&graph, module), None, "{module} is in a circle");
    }
}

#[test]
fn the_circle_finder_finds_a_circle() {
    let mut graph = BTreeMap::new();
    graph.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
    graph.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
    assert_eq!(
        circle(&graph, "a"),
        Some(vec!["a".into(), "b".into(), "a".into()])
    );
}

#[test]
fn update_neither_draws_nor_lays_out() {
    let graph = imports();
    let update = &graph["update"];
    for drawing in ["render", "popup_frame", "render_util", "output", "terminal"] {
        assert!(!update.contains(drawing), "update imports {drawing}");
    }
}

#[test]
fn no_key_code_outside_the_keymap() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![root.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                if !path.ends_with("keymap") {
                    dirs.push(path);
                }
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !name.ends_with(".rs") || name.ends_with("_tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap();
            assert!(
                !text.contains("KeyCode"),
                "{} decides keys outside the keymap",
                path.display()
            );
        }
    }
}

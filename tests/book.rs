//! The book cannot silently rot: every include names a file and an anchor
//! that exist, every step binary has a chapter, and the step diffs the
//! chapters show are the real ones.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn chapters() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("book/src"))
        .expect("book/src exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    files.sort();
    files
}

/// Every `{{#include path[:anchor|:lines]}}` (and `#rustdoc_include`) in a chapter.
fn includes(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for directive in ["{{#include ", "{{#rustdoc_include "] {
        let mut rest = text;
        while let Some(at) = rest.find(directive) {
            rest = &rest[at + directive.len()..];
            let end = rest
                .find("}}")
                .expect("an include directive is closed with }}");
            out.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    out
}

#[test]
fn every_include_resolves() {
    let mut problems = Vec::new();
    let mut count = 0;
    for chapter in chapters() {
        let text = fs::read_to_string(&chapter).expect("read chapter");
        let dir = chapter.parent().expect("chapter has a folder");
        for inc in includes(&text) {
            count += 1;
            let (path, selector) = match inc.split_once(':') {
                Some((p, s)) => (p, Some(s)),
                None => (inc.as_str(), None),
            };
            let file = dir.join(path);
            let name = chapter
                .file_name()
                .map(|n| n.to_string_lossy().into_owned());
            let Ok(source) = fs::read_to_string(&file) else {
                problems.push(format!("{name:?}: {path} does not exist"));
                continue;
            };
            match selector {
                None => {}
                // Line ranges are only used to skip the 4-line insta header of a
                // snapshot; check that the line before the start really ends it.
                Some(sel) if sel.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                    let start: usize = sel
                        .split(':')
                        .next()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    let lines: Vec<&str> = source.lines().collect();
                    let before = start.checked_sub(2).and_then(|i| lines.get(i));
                    if before != Some(&"---") || lines.len() < start {
                        problems.push(format!(
                            "{name:?}: {inc}: line {start} is not the first line after the header"
                        ));
                    }
                }
                Some(anchor) => {
                    let has = |tag: &str| {
                        source.lines().any(|l| {
                            l.trim_start()
                                .strip_prefix("//")
                                .map(str::trim_start)
                                .and_then(|l| l.strip_prefix(tag))
                                .is_some_and(|l| l.trim() == anchor)
                        })
                    };
                    if !has("ANCHOR:") || !has("ANCHOR_END:") {
                        problems.push(format!("{name:?}: anchor {anchor:?} missing in {path}"));
                    }
                }
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken includes:\n{}",
        problems.join("\n")
    );
    assert!(count > 0, "no includes found at all");
}

#[test]
fn every_step_has_a_chapter_in_the_summary() {
    let summary = fs::read_to_string(root().join("book/src/SUMMARY.md")).expect("SUMMARY.md");
    let steps: BTreeSet<String> = fs::read_dir(root().join("steps"))
        .expect("steps/")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_prefix("step").map(|n| n[..2].to_string())
        })
        .collect();
    assert!(!steps.is_empty());
    for n in steps {
        let chapter = format!("(ch{n}-");
        assert!(
            summary.contains(&chapter),
            "step{n} has no chapter chNN-….md in SUMMARY.md"
        );
        let file = summary
            .split(&chapter)
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .map(|rest| format!("ch{n}-{rest}"))
            .expect("chapter link");
        let path = root().join("book/src").join(&file);
        let text = fs::read_to_string(&path).unwrap_or_default();
        assert!(text.len() > 2000, "{file} is missing or a stub");
    }
}

#[test]
fn step_diffs_are_up_to_date() {
    let mut steps: Vec<PathBuf> = fs::read_dir(root().join("steps"))
        .expect("steps/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    steps.sort();
    let rel = |p: &Path| {
        p.strip_prefix(root())
            .expect("under the root")
            .to_string_lossy()
            .into_owned()
    };
    for pair in steps.windows(2) {
        let (old, new) = (rel(&pair[0]), rel(&pair[1]));
        let out = Command::new("diff")
            .args(["-u", "--label", &old, "--label", &new, &old, &new])
            .current_dir(root())
            .output()
            .expect("run diff");
        let n = &new["steps/step".len()..][..2];
        let file = root().join(format!("book/src/diffs/step{n}.diff"));
        let stored = fs::read(&file).unwrap_or_default();
        assert!(
            stored == out.stdout,
            "{} is stale: run `bash book/diffs.sh`",
            file.display()
        );
    }
}

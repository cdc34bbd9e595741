//! The book cannot silently rot: every include names a file and an anchor
//! that exist, every listing fits the page and is shown once, every step
//! binary has a chapter, and the step diffs the chapters show are the real
//! ones.

use std::collections::{BTreeMap, BTreeSet};
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
                        problems.push(format!(
                            "{name:?}: anchor {anchor:?} missing in {path}"
                        ));
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

/// The longest listing a chapter may include, in lines.
const MAX_LISTING_LINES: usize = 60;
/// The widest line a listing may have, in characters: mdBook shows source
/// lines as they are (it does not dedent), and wider lines scroll.
const MAX_LISTING_COLUMNS: usize = 90;

/// Whether `line` holds `tag` followed by optional whitespace and a name,
/// as mdBook's `ANCHOR:\s*([\w_-]+)` (and `ANCHOR_END:`) match; the name.
fn anchor_tag<'l>(line: &'l str, tag: &str) -> Option<&'l str> {
    let (_, rest) = line.split_once(tag)?;
    let rest = rest.trim_start();
    let len = rest
        .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(rest.len());
    (len > 0).then(|| &rest[..len])
}

/// The lines mdBook includes for `anchor`: those after its `ANCHOR:` line
/// up to its `ANCHOR_END:` line, without any other anchor lines (mdBook
/// drops nested ones). `None` if the anchor does not open and close.
fn anchored<'s>(source: &'s str, anchor: &str) -> Option<Vec<&'s str>> {
    let mut lines = source.lines();
    lines.find(|l| anchor_tag(l, "ANCHOR:") == Some(anchor))?;
    let mut region = Vec::new();
    for line in lines {
        match anchor_tag(line, "ANCHOR_END:") {
            Some(name) if name == anchor => return Some(region),
            Some(_) => {}
            None if anchor_tag(line, "ANCHOR:").is_some() => {}
            None => region.push(line),
        }
    }
    None
}

/// Every `(chapter, file, anchor)` included from a source file: not the
/// snapshots (transcripts), not the step diffs.
fn source_includes() -> Vec<(String, PathBuf, String)> {
    let mut out = Vec::new();
    for chapter in chapters() {
        let text = fs::read_to_string(&chapter).expect("read chapter");
        let dir = chapter.parent().expect("chapter has a folder");
        let name = chapter
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for inc in includes(&text) {
            let Some((path, anchor)) = inc.split_once(':') else {
                continue;
            };
            let is_source = !path.ends_with(".snap") && !path.ends_with(".diff");
            let is_anchor = !anchor.starts_with(|c: char| c.is_ascii_digit());
            if is_source && is_anchor {
                let file = dir.join(path);
                let file = file.canonicalize().unwrap_or(file);
                out.push((name.clone(), file, anchor.to_string()));
            }
        }
    }
    out
}

#[test]
fn every_listing_fits_the_page() {
    let mut problems = Vec::new();
    let includes = source_includes();
    for (chapter, file, anchor) in &includes {
        let shown = file.strip_prefix(root()).unwrap_or(file).display();
        let Ok(source) = fs::read_to_string(file) else {
            continue; // every_include_resolves reports it
        };
        let Some(region) = anchored(&source, anchor) else {
            continue; // likewise
        };
        if region.len() > MAX_LISTING_LINES {
            problems.push(format!(
                "{chapter}: {shown}:{anchor} has {} lines (at most {MAX_LISTING_LINES})",
                region.len()
            ));
        }
        for line in region {
            let width = line.chars().count();
            if width > MAX_LISTING_COLUMNS {
                problems.push(format!(
                    "{chapter}: {shown}:{anchor}: {width} columns \
                     (at most {MAX_LISTING_COLUMNS}): {line}"
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "listings too long or too wide:\n{}",
        problems.join("\n")
    );
    assert!(!includes.is_empty(), "no source listings found at all");
}

#[test]
fn no_listing_is_shown_twice() {
    let mut seen: BTreeMap<(PathBuf, String), Vec<String>> = BTreeMap::new();
    for (chapter, file, anchor) in source_includes() {
        seen.entry((file, anchor)).or_default().push(chapter);
    }
    let problems: Vec<String> = seen
        .into_iter()
        .filter(|(_, chapters)| chapters.len() > 1)
        .map(|((file, anchor), chapters)| {
            let shown = file.strip_prefix(root()).unwrap_or(&file).display();
            format!("{shown}:{anchor} is included by {}", chapters.join(", "))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "listings included more than once:\n{}",
        problems.join("\n")
    );
}

/// The diagram of the connection core is drawn once, in the `//!` docs of
/// `src/http1/mod.rs`; chapter 4 shows the same one, and it has a box for
/// every variant of the code's `State` enum.
#[test]
fn the_core_diagram_matches_the_code() {
    let source = fs::read_to_string(root().join("src/http1/mod.rs")).expect("mod.rs");
    let docs: Vec<&str> = source
        .lines()
        .filter_map(|l| l.strip_prefix("//!"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect();
    let start = 1 + docs
        .iter()
        .position(|l| *l == "```text")
        .expect("a text diagram in the docs of src/http1/mod.rs");
    let len = docs[start..]
        .iter()
        .position(|l| *l == "```")
        .expect("the diagram's block is closed");
    let diagram = docs[start..start + len].join("\n");
    let chapter = root().join("book/src/ch04-keep-alive.md");
    let chapter = fs::read_to_string(chapter).expect("ch04");
    assert!(
        chapter.contains(&format!("```text\n{diagram}\n```")),
        "ch04-keep-alive.md does not show the diagram of src/http1/mod.rs"
    );
    let states = source
        .split_once("\nenum State {\n")
        .and_then(|(_, rest)| rest.split_once("\n}\n"))
        .expect("enum State in src/http1/mod.rs")
        .0;
    let variants: Vec<&str> = states
        .lines()
        .filter_map(|l| l.strip_prefix("    "))
        .filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase()))
        .filter_map(|l| l.split(|c: char| !c.is_alphanumeric()).next())
        .collect();
    assert!(
        variants.len() >= 5,
        "State variants not found: {variants:?}"
    );
    for variant in variants {
        assert!(
            diagram.contains(&format!("│ {variant} │")),
            "the core diagram has no box for State::{variant}"
        );
    }
}

#[test]
fn every_step_has_a_chapter_in_the_summary() {
    let summary =
        fs::read_to_string(root().join("book/src/SUMMARY.md")).expect("SUMMARY.md");
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

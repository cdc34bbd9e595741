//! A directory listing (ch08; RFC 3986 §3.3, §4.2; HTML5).
//!
//! When a directory has no `index.html`, the step can answer with a page
//! listing what is in it. The page is a few lines of HTML, but every name on
//! it comes from the disk, so it goes through two encodings, in this order:
//!
//! 1. into a URL: [`encode_segment`] percent-encodes the name as one path
//!    segment, so `a b#1.txt` links to `a%20b%231.txt`, not to `a b` with a
//!    fragment;
//! 2. into HTML: [`escape_html`] escapes the link and the visible name, so a
//!    file called `<script>alert(1)</script>` is shown, not run.
//!
//! The page is as small as valid HTML5 allows: a doctype, the charset and a
//! title, then the body; the `<head>` and `<body>` tags are optional, so
//! they are left out.
//!
//! The links are relative (`b.txt`, `sub/`), so the page must be served at
//! a URL ending in `/`: that is why [`Resolved::Dir`] says when to redirect
//! first.
//!
//! **Order.** Directories first (the way down is what people look for
//! first), then files; each group by name compared without ASCII case (`b`
//! before `C`), then exactly as a tie-break, so the order is total and does
//! not depend on the OS. Sorting by a language's collation rules would need
//! tables std does not have.
//!
//! [`Resolved::Dir`]: crate::files::path::Resolved::Dir

use std::fs;
use std::io;
use std::path::Path;

use crate::files::path::{PathPolicy, check_name};
use crate::router::percent_decode;

/// One directory entry, as the listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The file name (one segment, not percent-encoded).
    pub name: String,
    /// A directory: linked and shown with a trailing `/`.
    pub is_dir: bool,
    /// Size in bytes; not shown for directories (their size is the file
    /// system's bookkeeping, not their content).
    pub len: u64,
}

// ANCHOR: listing
/// An HTML5 page listing `entries`, for the directory at `url_path`.
///
/// `url_path` is the request path as sent (still percent-encoded, ending in
/// `/`); it is decoded for the title. Entries named `""`, `.` or `..` are
/// left out: they would link somewhere else than they say. Entries are
/// sorted here (see the module docs), so their order does not matter.
pub fn listing(url_path: &str, entries: &[Entry]) -> String {
    let shown = percent_decode(url_path, false).unwrap_or(url_path.into());
    let title = escape_html(&format!("Index of {shown}"));
    let mut page = format!(
        "<!doctype html>\n<html lang=en>\n<meta charset=utf-8>\n\
         <title>{title}</title>\n<h1>{title}</h1>\n<table>\n\
         <tr><th>Name</th><th>Size</th></tr>\n"
    );
    if url_path != "/" {
        page += "<tr><td><a href=\"../\">../</a></td><td>-</td></tr>\n";
    }
    let mut sorted: Vec<&Entry> = entries
        .iter()
        .filter(|e| !matches!(e.name.as_str(), "" | "." | ".."))
        .collect();
    sorted.sort_by(|a, b| {
        b.is_dir
            .cmp(&a.is_dir)
            .then_with(|| by_name(&a.name, &b.name))
    });
    for entry in sorted {
        let (slash, size) = if entry.is_dir {
            ("/", "-".to_string())
        } else {
            ("", human_size(entry.len))
        };
        // URL first, then HTML: `a&amp;b` must link to itself, not to `a&b`.
        let href = escape_html(&encode_segment(&entry.name));
        let name = escape_html(&entry.name);
        page += &format!(
            "<tr><td><a href=\"{href}{slash}\">{name}{slash}</a></td>\
             <td>{size}</td></tr>\n"
        );
    }
    page + "</table>\n"
}
// ANCHOR_END: listing

/// ASCII case folded first, then exact, so that the order is total.
fn by_name(a: &str, b: &str) -> std::cmp::Ordering {
    let (fa, fb) = (a.bytes(), b.bytes());
    let lower = |b: u8| b.to_ascii_lowercase();
    fa.map(lower).cmp(fb.map(lower)).then_with(|| a.cmp(b))
}

// ANCHOR: encode_segment
/// Percent-encode `name` as one path segment (RFC 3986 §3.3), usable as the
/// first segment of a relative link.
///
/// ```text
/// segment-nz-nc = 1*( unreserved / pct-encoded / sub-delims / "@" )
///               ; non-zero-length segment without any colon ":"
/// unreserved    = ALPHA / DIGIT / "-" / "." / "_" / "~"
/// sub-delims    = "!" / "$" / "&" / "'" / "(" / ")"
///               / "*" / "+" / "," / ";" / "="
/// ```
///
/// Everything else is encoded, as `%XX` of each UTF-8 byte with uppercase
/// hex (RFC 3986 §2.1): `%` itself, spaces, `/`, `?`, `#`, non-ASCII.
/// Deviation (RFC 3986 §3.3: a `pchar` may be a `:`): we encode `:` too,
/// because in a relative link `a:b` reads as scheme `a` (RFC 3986 §4.2),
/// and a file named `javascript:alert(1)` would be a script.
pub fn encode_segment(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=@".contains(&b) {
            out.push(char::from(b));
        } else {
            out += &format!("%{b:02X}");
        }
    }
    out
}
// ANCHOR_END: encode_segment

/// Escape text for HTML, in element content or a quoted attribute: `&`,
/// `<`, `>`, `"` and `'`.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out += "&amp;",
            '<' => out += "&lt;",
            '>' => out += "&gt;",
            '"' => out += "&quot;",
            '\'' => out += "&#39;",
            c => out.push(c),
        }
    }
    out
}

/// A size for people: `512 B`, `1.2 KiB`, `3.0 MiB`, with binary units
/// (IEC 80000-13) and one decimal, rounded to nearest.
pub fn human_size(len: u64) -> String {
    // u128: `len * 10` and the unit (at most 2^60) cannot overflow.
    let len = u128::from(len);
    let mut unit = 1u128;
    let mut name = "B";
    let mut tenths = len * 10;
    for next in ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"] {
        // 10240 tenths would print as "1024.0": move up a unit instead.
        if tenths < 10240 {
            break;
        }
        unit *= 1024;
        name = next;
        tenths = (len * 10 + unit / 2) / unit;
    }
    match name {
        "B" => format!("{len} B"),
        _ => format!("{}.{} {name}", tenths / 10, tenths % 10),
    }
}

/// The entries of `dir` worth listing, in the order the OS gives them.
///
/// Left out, so that every link on the page works:
/// - names `files::path` would refuse: hidden ones (unless `hidden`),
///   trailing dots, control characters and the rest of `check_name`;
/// - names that are not valid UTF-8 (Unix allows any bytes but `/` and NUL):
///   the page is UTF-8, and the resolver refuses a path that does not
///   decode to UTF-8, so such a file could be neither shown nor fetched;
/// - what is neither a file nor a directory once symlinks are followed
///   (FIFOs, sockets, broken links).
///
/// A symlink to outside the root is listed, but resolving it is refused
/// unless the policy allows it: this function does not know the root.
pub fn read_entries(dir: &Path, hidden: bool) -> io::Result<Vec<Entry>> {
    let policy = PathPolicy {
        hidden,
        follow_symlinks_outside: false,
    };
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if check_name(&name, &policy).is_err() {
            continue;
        }
        // fs::metadata follows symlinks, as resolve does.
        let Ok(metadata) = fs::metadata(entry.path()) else {
            continue;
        };
        if metadata.is_dir() {
            entries.push(Entry {
                name,
                is_dir: true,
                len: 0,
            });
        } else if metadata.is_file() {
            entries.push(Entry {
                name,
                is_dir: false,
                len: metadata.len(),
            });
        }
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::path::segments;

    fn file(name: &str, len: u64) -> Entry {
        Entry {
            name: name.into(),
            is_dir: false,
            len,
        }
    }

    fn dir(name: &str) -> Entry {
        Entry {
            name: name.into(),
            is_dir: true,
            len: 0,
        }
    }

    #[rustfmt::skip]
    const ESCAPES: &[(&str, &str, &str)] = &[
        ("plain",           "notes.txt",                   "notes.txt"),
        ("ampersand",       "a&b",                         "a&amp;b"),
        ("tags",            "<script>alert(1)</script>",   "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("double_quote",    "say \"hi\"",                  "say &quot;hi&quot;"),
        ("single_quote",    "it's",                        "it&#39;s"),
        ("already_escaped", "&amp;",                       "&amp;amp;"),
        ("non_ascii",       "café ☕",                      "café ☕"),
        ("empty",           "",                            ""),
    ];

    #[test]
    fn html_escaping() {
        for &(name, input, want) in ESCAPES {
            assert_eq!(escape_html(input), want, "case {name}");
        }
    }

    #[rustfmt::skip]
    const ENCODINGS: &[(&str, &str, &str)] = &[
        ("space",          "a b",                 "a%20b"),
        ("percent",        "100%",                "100%25"),
        ("non_ascii",      "é",                   "%C3%A9"),
        ("emoji",          "🦀.rs",               "%F0%9F%A6%80.rs"),
        ("hash",           "#1",                  "%231"),
        ("question_mark",  "why?",                "why%3F"),
        ("semicolon",      "a;b",                 "a;b"),
        ("slash",          "a/b",                 "a%2Fb"),
        ("backslash",      "a\\b",                "a%5Cb"),
        ("colon",          "a:b",                 "a%3Ab"),
        ("javascript",     "javascript:alert(1)", "javascript%3Aalert(1)"),
        ("at",             "user@host",           "user@host"),
        ("unreserved",     "AZaz09-._~",          "AZaz09-._~"),
        ("sub_delims",     "!$&'()*+,;=",         "!$&'()*+,;="),
        ("quote_and_tags", "\"<>",                "%22%3C%3E"),
        ("brackets",       "[x]{y}",              "%5Bx%5D%7By%7D"),
        ("controls",       "a\tb\nc\u{7f}",       "a%09b%0Ac%7F"),
    ];

    #[test]
    fn percent_encoding() {
        for &(name, input, want) in ENCODINGS {
            let got = encode_segment(input);
            assert_eq!(got, want, "case {name}");
            // It round-trips through the decoder the server uses.
            assert_eq!(
                percent_decode(&got, false).as_deref(),
                Ok(input),
                "case {name}"
            );
        }
    }

    /// A link on the page leads back to the entry: what `encode_segment`
    /// writes, `segments` reads as the same name.
    #[test]
    fn links_resolve_to_their_names() {
        let policy = PathPolicy::default();
        for name in [
            "a b", "100%.txt", "é", "#1", "a;b", "x+y", "it's", "a&amp;b",
        ] {
            let link = format!("/{}", encode_segment(name));
            assert_eq!(
                segments(&link, &policy),
                Ok(vec![name.to_string()]),
                "{name}"
            );
        }
    }

    #[test]
    fn sort_order() {
        let entries = [
            file("b.txt", 1),
            dir("zeta"),
            file("C.txt", 1),
            file("a.txt", 1),
            dir("Alpha"),
            file("A.txt", 1),
        ];
        let page = listing("/", &entries);
        let order: Vec<&str> = page
            .lines()
            .filter_map(|l| l.split_once("<a href=\"")?.1.split_once('"'))
            .map(|(href, _)| href)
            .collect();
        assert_eq!(
            order,
            ["Alpha/", "zeta/", "A.txt", "a.txt", "b.txt", "C.txt"]
        );
    }

    #[rustfmt::skip]
    const SIZES: &[(&str, u64, &str)] = &[
        ("zero",             0,                     "0 B"),
        ("bytes",            512,                   "512 B"),
        ("below_kib",        1023,                  "1023 B"),
        ("one_kib",          1024,                  "1.0 KiB"),
        ("rounds_down",      1234,                  "1.2 KiB"),
        ("rounds_up",        1997,                  "2.0 KiB"),
        ("not_1024_kib",     1024 * 1024 - 1,       "1.0 MiB"),
        ("mib",              5 * 1024 * 1024 / 2,   "2.5 MiB"),
        ("gib",              3 << 30,               "3.0 GiB"),
        ("largest",          u64::MAX,              "16.0 EiB"),
    ];

    #[test]
    fn human_sizes() {
        for &(name, len, want) in SIZES {
            assert_eq!(human_size(len), want, "case {name}");
        }
    }

    #[test]
    fn full_page() {
        let entries = [
            file("notes & <todo>.txt", 1234),
            dir("img"),
            file("a b.txt", 12),
            file("a&amp;b", 0),
            file("..", 0),
        ];
        let want = r#"<!doctype html>
<html lang=en>
<meta charset=utf-8>
<title>Index of /docs/café &amp; co/</title>
<h1>Index of /docs/café &amp; co/</h1>
<table>
<tr><th>Name</th><th>Size</th></tr>
<tr><td><a href="../">../</a></td><td>-</td></tr>
<tr><td><a href="img/">img/</a></td><td>-</td></tr>
<tr><td><a href="a%20b.txt">a b.txt</a></td><td>12 B</td></tr>
<tr><td><a href="a&amp;amp;b">a&amp;amp;b</a></td><td>0 B</td></tr>
<tr><td><a href="notes%20&amp;%20%3Ctodo%3E.txt">notes &amp; &lt;todo&gt;.txt</a></td><td>1.2 KiB</td></tr>
</table>
"#;
        assert_eq!(listing("/docs/caf%C3%A9%20&%20co/", &entries), want);
    }

    #[test]
    fn root_has_no_parent_link() {
        let page = listing("/", &[]);
        assert!(!page.contains("../"), "{page}");
        assert!(page.contains("<title>Index of /</title>"), "{page}");
    }

    #[test]
    fn title_of_a_badly_encoded_path_is_shown_as_sent() {
        let page = listing("/%ff<x>/", &[]);
        assert!(
            page.contains("<title>Index of /%ff&lt;x&gt;/</title>"),
            "{page}"
        );
    }

    /// A temporary directory, removed on drop.
    struct TempDir(std::path::PathBuf);

    impl TempDir {
        fn new(tag: &str) -> TempDir {
            let path = std::env::temp_dir()
                .join(format!("rawhttp-listing-{tag}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&path);
            fs::create_dir_all(&path).expect("create temp dir");
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn reads_entries() {
        let tmp = TempDir::new("read");
        let d = &tmp.0;
        fs::create_dir(d.join("sub")).expect("sub");
        fs::write(d.join("a.txt"), "hello").expect("a.txt");
        fs::write(d.join(".env"), "SECRET=1").expect(".env");
        fs::write(d.join("trailing."), "").expect("trailing.");
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let not_utf8 = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
            fs::write(d.join(not_utf8), "latin-1 name").expect("non-UTF-8 name");
            std::os::unix::fs::symlink("missing", d.join("broken")).expect("broken link");
            std::os::unix::fs::symlink("a.txt", d.join("link")).expect("link");
        }
        let sorted = |hidden| {
            let mut got = read_entries(d, hidden).expect("read_entries");
            got.sort_by(|a, b| a.name.cmp(&b.name));
            got
        };
        let mut want = vec![file("a.txt", 5), dir("sub")];
        if cfg!(unix) {
            want.insert(1, file("link", 5));
        }
        assert_eq!(sorted(false), want);
        want.insert(0, file(".env", 8));
        assert_eq!(sorted(true), want);
    }
}

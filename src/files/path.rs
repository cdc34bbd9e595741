//! A path that cannot escape the root (ch08; RFC 3986 §3.3, §2.1).
//!
//! A static-file server turns the path of a URL into a path on disk. Done
//! naively, `root.join(request_path)`, that is one of the oldest bugs on the
//! web: `GET /../../etc/passwd`. Here it takes two steps:
//!
//! 1. [`segments`] is pure (no file system): it splits the still-encoded path
//!    on `/`, *then* percent-decodes each piece (so `%2F` cannot make a
//!    separator), and refuses every name that could mean anything other than
//!    "the entry of this name in this directory", on any OS we run on.
//! 2. [`resolve`] pushes those names onto the root, asks the file system what
//!    is there (`canonicalize`, then `metadata`), and refuses whatever a
//!    symlink took outside the root.
//!
//! # The rules, and the status each refusal gets
//!
//! | request path | rule | [`PathError`] | status |
//! |---|---|---|---|
//! | `*`, `a/b` | must start with `/` | `NotAbsolute` | 400 |
//! | `/%zz`, `/%ff`, `/%c0%ae` | bad `%XX`, or not UTF-8 once decoded (overlong forms too) | `BadEncoding` | 400 |
//! | `/a//b`, `//evil.example` | empty segment (a final `/` is not one: it asks for a directory) | `EmptySegment` | 404 |
//! | `/..`, `/%2e%2e/`, `/a/./b` | `.` and `..` are refused, not interpreted | `DotSegment` | 404 |
//! | `/..%2f`, `/..%5c`, `/%2fetc` | a decoded `/` or `\` | `Separator` | 404 |
//! | `/a%00`, `/a%0a`, `/a%7f` | control characters (C0, DEL, C1) | `Control` | 404 |
//! | `/.git/config`, `/%2eenv` | hidden names, unless [`PathPolicy::hidden`] | `Hidden` | 404 |
//! | `/file.txt.`, `/file.txt%20`, `/C:`, `/con` | names Windows reads as another name or a device | `NotPortable` | 404 |
//! | a 256-byte name | longer than any file system stores | `TooLong` | 404 |
//! | a symlink to `/etc` | canonical path not under the canonical root | `OutsideRoot` | 404 |
//! | (missing root, I/O error) | the server's problem, not the client's | `Io` | 500 |
//!
//! Names that pass are looked up; what is not there, or is not a regular
//! file or a directory, is [`Resolved::NotFound`] (404).
//!
//! **Why 404 and not 403.** A 403 says "there is something here, and you may
//! not have it": it confirms that `/.git/` exists. Every well-formed path
//! that does not name a servable file gets the same 404, whether it is
//! missing, hidden or an attempt to climb out, so a scanner learns nothing
//! from the difference. Go's `http.ServeFile` answers 400 to any `..` ("invalid
//! URL path"), and nginx answers 400 when `..` would climb above `/`; we do
//! not, because a distinct answer tells a scanner which of its encodings we
//! understood as traversal. 400 is kept for what is not a URL path at all: a
//! broken `%XX` or bytes that are not UTF-8, which the router answers with
//! 400 too (`router::percent_decode` is the decoder here as well).
//!
//! **`.` is refused, not skipped.** Clients remove dot segments before they
//! send a request (RFC 3986 §5.2.4; curl needs `--path-as-is` to keep them),
//! so a `.` that reaches us was put there on purpose. Skipping it would give
//! one file two URLs (`/a/./b` and `/a/b`), the confusion the router's
//! strict paths avoid for the same reason.
//!
//! **Empty segments are refused** for the same reason (`/a//b` is not
//! `/a/b`), and because a server redirects `/dir` to `/dir/` by echoing the
//! path: `//evil.example` echoed into `Location` is a protocol-relative URL,
//! an open redirect.
//!
//! **A `%` in a decoded name is allowed.** We decode exactly once, so
//! `%252e%252e` is the literal name `%2e%2e`. The file system does not decode
//! names, so that one cannot climb; refusing `%` would only make files such
//! as `100%.txt` unservable (the listing links to it as `100%25.txt`).
//!
//! **Windows aliases are refused on every OS.** On Windows `file.txt.` and
//! `file.txt ` open `file.txt`, `C:x` is relative to a drive,
//! `file.txt::$DATA` is the file's data stream (an old IIS source-disclosure
//! bug), and `con` or `nul.txt` are devices (reading `con` waits for a
//! console forever). On Linux they are ordinary names. Refusing them
//! everywhere means a site behaves the same on every OS, and a rule cannot be
//! tested on one OS and bypassed on another. The price: a Linux file named
//! `a:b` or `notes.` cannot be served.
//!
//! **Hidden names** (`.git`, `.env`, `.htpasswd`) are where secrets get left,
//! so they are refused unless the policy says otherwise. That includes
//! `/.well-known/` (RFC 8615): serve it with `hidden: true` or its own route.
//! The rule looks at the names in the URL, not at symlink targets: a link an
//! operator made is the operator's decision.
//!
//! **Check, then use.** [`resolve`] returns the canonical path (no symlinks
//! left in it); open that one, right away. Someone who can write under the
//! root could still swap a directory for a symlink between the check and the
//! open: defending against local writers needs `openat2(RESOLVE_BENEATH)`,
//! which std does not offer, and is beyond this chapter.
//!
//! # Using it
//!
//! ```rust,ignore
//! match resolve(root, request.path(), &PathPolicy::default()) {
//!     Ok(Resolved::File { path, metadata }) => { /* 200, mime::content_type(&path) */ }
//!     Ok(Resolved::Dir { needs_slash: true, .. }) => { /* 308 to request.path() + "/" */ }
//!     Ok(Resolved::Dir { path, .. }) => { /* index.html, or a listing */ }
//!     Ok(Resolved::NotFound) => { /* 404 */ }
//!     Err(e) => { /* e.status(); log e, do not send it */ }
//! }
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, Metadata};
use std::io::{self, ErrorKind};
use std::path::{Component, Path, PathBuf};

use crate::router::percent_decode;
use crate::status::StatusCode;

/// Longest name, in bytes, that we look up.
///
/// Not a tunable limit (those live in `limits.rs`): it is what file systems
/// store. ext4, XFS and APFS keep at most 255 bytes per name, NTFS 255 UTF-16
/// units. A longer name cannot exist, and asking for one makes the OS fail
/// with `ENAMETOOLONG`, an error we would otherwise have to tell apart from
/// real I/O trouble.
pub const MAX_NAME_BYTES: usize = 255;

/// Characters Windows refuses in names (besides `/`, `\` and controls,
/// refused for their own reasons). `:` is the dangerous one: drive letters
/// and data streams.
const NOT_PORTABLE: [char; 7] = [':', '*', '?', '"', '<', '>', '|'];

/// What [`resolve`] may do beyond the rules that always hold.
///
/// `PathPolicy::default()` is the safe choice: no hidden names, no symlinks
/// that leave the root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathPolicy {
    /// Serve names starting with `.` (but never `.` or `..`). Off by default:
    /// `.git`, `.env` and `.htpasswd` are where secrets get left.
    pub hidden: bool,
    /// Follow symlinks whose target is outside the root. Off by default: a
    /// link to `/etc` would put `/etc` on the web.
    pub follow_symlinks_outside: bool,
}

/// Why a request path was refused. Every variant answers with exactly one
/// status ([`PathError::status`]); see the module docs for the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathError {
    /// The path does not start with `/` (`*`, or a CONNECT authority): 400.
    NotAbsolute,
    /// A `%` without two hex digits, or bytes that are not UTF-8 once decoded,
    /// including overlong forms such as `%c0%ae` for `.` (RFC 3986 §2.1,
    /// RFC 3629 §3): 400.
    BadEncoding,
    /// An empty segment: `/a//b`, `//host`: 404.
    EmptySegment,
    /// A `.` or `..` segment, however it was encoded: 404.
    DotSegment,
    /// A segment that decodes to contain `/` or `\` (`%2F`, `%5C`): 404.
    Separator,
    /// A control character (C0, DEL or C1; `%00` included): 404.
    Control,
    /// A name starting with `.`, while [`PathPolicy::hidden`] is off: 404.
    Hidden,
    /// A name that Windows reads as another name or a device: a trailing `.`
    /// or space, one of `: * ? " < > |`, or `con`, `nul.txt`, `com1`…: 404.
    NotPortable,
    /// A name longer than [`MAX_NAME_BYTES`]: 404.
    TooLong,
    /// A symlink led outside the root, and the policy does not allow it: 404.
    OutsideRoot,
    /// The root could not be canonicalized, or looking the path up failed
    /// for a reason other than "not there": 500. Log it; never send it.
    Io(ErrorKind),
}

impl PathError {
    /// The status this refusal answers with (see the module docs for why
    /// 404 and not 403).
    pub const fn status(self) -> StatusCode {
        use PathError::*;
        match self {
            NotAbsolute | BadEncoding => StatusCode::BAD_REQUEST,
            EmptySegment | DotSegment | Separator | Control | Hidden | NotPortable
            | TooLong | OutsideRoot => StatusCode::NOT_FOUND,
            Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::NotAbsolute => f.write_str("path does not start with '/'"),
            PathError::BadEncoding => f.write_str("bad percent-encoding or not UTF-8"),
            PathError::EmptySegment => f.write_str("empty path segment"),
            PathError::DotSegment => f.write_str("'.' or '..' segment"),
            PathError::Separator => f.write_str("encoded '/' or '\\' in a segment"),
            PathError::Control => f.write_str("control character in a segment"),
            PathError::Hidden => f.write_str("hidden name"),
            PathError::NotPortable => f.write_str("name Windows would alias"),
            PathError::TooLong => f.write_str("name too long"),
            PathError::OutsideRoot => f.write_str("symlink leads outside the root"),
            PathError::Io(kind) => write!(f, "file system error: {kind}"),
        }
    }
}

impl std::error::Error for PathError {}

/// What a request path names under the root.
#[derive(Debug)]
pub enum Resolved {
    /// A regular file.
    File {
        /// Its canonical path (symlinks resolved): open this one.
        path: PathBuf,
        /// Its metadata, for `Content-Length` and `Last-Modified`.
        metadata: Metadata,
    },
    /// A directory.
    Dir {
        /// Its canonical path.
        path: PathBuf,
        /// The request path did not end with `/` (`/docs`): redirect to
        /// `/docs/` first, or the relative links of its page and its
        /// `index.html` would resolve against the parent.
        needs_slash: bool,
    },
    /// Nothing servable: missing, a file asked for with a trailing `/`,
    /// below a file, unreadable, or not a regular file or a directory (a
    /// FIFO would block the thread that reads it).
    NotFound,
}

// ANCHOR: check_name
/// Whether one decoded name may be looked up (the rules in the module docs,
/// in order). [`segments`] checks every name with it; the listing uses it to
/// leave out entries it could not link to.
pub fn check_name(name: &str, policy: &PathPolicy) -> Result<(), PathError> {
    if name.is_empty() {
        return Err(PathError::EmptySegment);
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(PathError::TooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(PathError::Control);
    }
    if name.contains(['/', '\\']) {
        return Err(PathError::Separator);
    }
    if name == "." || name == ".." {
        return Err(PathError::DotSegment);
    }
    if name.starts_with('.') && !policy.hidden {
        return Err(PathError::Hidden);
    }
    if name.ends_with(['.', ' ']) || name.contains(NOT_PORTABLE) || is_device(name) {
        return Err(PathError::NotPortable);
    }
    Ok(())
}
// ANCHOR_END: check_name

/// Windows device names: `con`, `nul.txt` and `COM1 .log` all open a device
/// (the part before the first dot counts, trailing spaces cut).
fn is_device(name: &str) -> bool {
    let stem = name.split_once('.').map_or(name, |(stem, _)| stem);
    let stem = stem.trim_end_matches(' ').to_ascii_uppercase();
    // COM0–COM9 and LPT0–LPT9, and with a superscript digit (COM¹).
    let numbered = |prefix: &str| {
        let mut digit = stem.strip_prefix(prefix).unwrap_or("").chars();
        matches!(
            (digit.next(), digit.next()),
            (Some('0'..='9' | '¹' | '²' | '³'), None)
        )
    };
    matches!(
        stem.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || numbered("COM")
        || numbered("LPT")
}

// ANCHOR: segments
/// Split `path`, a request path (still percent-encoded, as [`Request::path`]
/// gives it), into decoded names, refusing any name [`check_name`] refuses.
///
/// `/` gives no names; a final `/` (`/docs/`) is dropped: [`resolve`] reads
/// it from the path to tell `/docs` from `/docs/`.
///
/// [`Request::path`]: crate::request::Request::path
pub fn segments(path: &str, policy: &PathPolicy) -> Result<Vec<String>, PathError> {
    let rest = path.strip_prefix('/').ok_or(PathError::NotAbsolute)?;
    if rest.is_empty() {
        return Ok(Vec::new());
    }
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    // Split first, then decode each piece: a `%2F` stays inside its name,
    // where check_name refuses it. Decode once: `%252e` is the name `%2e`.
    rest.split('/')
        .map(|raw| {
            let name = percent_decode(raw, false).map_err(|_| PathError::BadEncoding)?;
            check_name(&name, policy)?;
            Ok(name.into_owned())
        })
        .collect()
}
// ANCHOR_END: segments

// ANCHOR: resolve
/// What `request_path` names under `root`, or why it was refused.
///
/// This touches the file system: it canonicalizes `root` and the joined
/// path (resolving every symlink) and reads the metadata. A canonical path
/// outside the canonical root is refused unless `policy` allows it. The root
/// is canonicalized on every call: a few system calls, and a root that is
/// re-linked while the server runs (a deploy) is followed.
pub fn resolve(
    root: &Path,
    request_path: &str,
    policy: &PathPolicy,
) -> Result<Resolved, PathError> {
    let names = segments(request_path, policy)?;
    let root = fs::canonicalize(root).map_err(|e| PathError::Io(e.kind()))?;
    let mut joined = root.clone();
    for name in &names {
        // Belt and braces: after check_name, each name is one plain
        // component on every OS. Pushing `/etc` or `C:\` would replace
        // the root instead of going below it.
        if !is_one_component(name) {
            return Err(PathError::Separator);
        }
        joined.push(name);
    }
    let real = match fs::canonicalize(&joined) {
        Ok(real) => real,
        Err(e) => return not_found(e),
    };
    // Path::starts_with compares whole components: /srv/www-old is not
    // under /srv/www.
    if !real.starts_with(&root) && !policy.follow_symlinks_outside {
        return Err(PathError::OutsideRoot);
    }
    let metadata = match fs::metadata(&real) {
        Ok(metadata) => metadata,
        Err(e) => return not_found(e),
    };
    let slash = request_path.ends_with('/');
    Ok(if metadata.is_dir() {
        Resolved::Dir {
            path: real,
            needs_slash: !slash,
        }
    } else if metadata.is_file() && !slash {
        Resolved::File {
            path: real,
            metadata,
        }
    } else {
        Resolved::NotFound
    })
}
// ANCHOR_END: resolve

fn is_one_component(name: &str) -> bool {
    let mut parts = Path::new(name).components();
    matches!(
        (parts.next(), parts.next()),
        (Some(Component::Normal(part)), None) if part == OsStr::new(name)
    )
}

/// A failed lookup: "not there" (missing, below a file, not ours to read)
/// is a 404; anything else is the server's trouble.
fn not_found(e: io::Error) -> Result<Resolved, PathError> {
    match e.kind() {
        ErrorKind::NotFound | ErrorKind::NotADirectory | ErrorKind::PermissionDenied => {
            Ok(Resolved::NotFound)
        }
        kind => Err(PathError::Io(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use PathError::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A temporary directory, removed on drop:
    ///
    /// ```text
    /// base/outside.txt            must never be served
    /// base/root/file.txt
    /// base/root/a/b.txt
    /// base/root/.hidden
    /// base/root/%2e%2e            a file with that literal name
    /// ```
    struct Fixture {
        base: PathBuf,
    }

    impl Fixture {
        fn new(tag: &str) -> Fixture {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            let n = NEXT.fetch_add(1, Ordering::Relaxed);
            let base = std::env::temp_dir()
                .join(format!("rawhttp-{tag}-{}-{n}", std::process::id()));
            let _ = fs::remove_dir_all(&base);
            fs::create_dir_all(base.join("root/a")).expect("create fixture dirs");
            let fixture = Fixture { base };
            fixture.write("outside.txt", "secret");
            fixture.write("root/file.txt", "hello");
            fixture.write("root/a/b.txt", "b");
            fixture.write("root/.hidden", "h");
            fixture.write("root/%2e%2e", "literal");
            fixture
        }

        fn root(&self) -> PathBuf {
            self.base.join("root")
        }

        fn write(&self, rel: &str, text: &str) {
            fs::write(self.base.join(rel), text).expect("write fixture file");
        }

        /// `rel` canonicalized, to compare with what resolve returns.
        fn real(&self, rel: &str) -> PathBuf {
            fs::canonicalize(self.base.join(rel)).expect("canonicalize fixture path")
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.base);
        }
    }

    /// The status step07 is expected to send for a resolve result (it
    /// redirects a directory asked for without its `/`).
    fn status(got: &Result<Resolved, PathError>) -> u16 {
        match got {
            Ok(Resolved::File { .. })
            | Ok(Resolved::Dir {
                needs_slash: false, ..
            }) => 200,
            Ok(Resolved::Dir {
                needs_slash: true, ..
            }) => 301,
            Ok(Resolved::NotFound) => 404,
            Err(e) => e.status().as_u16(),
        }
    }

    type Names = Result<&'static [&'static str], PathError>;

    /// (name, request path, what `segments` returns, status against
    /// [`Fixture`] with the default policy).
    #[rustfmt::skip]
    const TRAVERSAL: &[(&str, &str, Names, u16)] = &[
        // What works.
        ("root",                     "/",                          Ok(&[]), 200),
        ("file",                     "/file.txt",                  Ok(&["file.txt"]), 200),
        ("nested_file",              "/a/b.txt",                   Ok(&["a", "b.txt"]), 200),
        ("dir_with_slash",           "/a/",                        Ok(&["a"]), 200),
        ("dir_without_slash",        "/a",                         Ok(&["a"]), 301),
        ("missing",                  "/nope.txt",                  Ok(&["nope.txt"]), 404),
        ("file_with_slash",          "/file.txt/",                 Ok(&["file.txt"]), 404),
        ("below_a_file",             "/file.txt/x",                Ok(&["file.txt", "x"]), 404),
        ("encoded_space",            "/a%20b",                     Ok(&["a b"]), 404),
        ("utf8_name",                "/caf%C3%A9",                 Ok(&["café"]), 404),
        ("percent_in_name",          "/100%25.txt",                Ok(&["100%.txt"]), 404),
        ("etc_passwd_is_under_root", "/etc/passwd",                Ok(&["etc", "passwd"]), 404),
        // `..` in every spelling.
        ("dotdot",                   "/../outside.txt",            Err(DotSegment), 404),
        ("dotdot_slash",             "/../",                       Err(DotSegment), 404),
        ("dotdot_last",              "/..",                        Err(DotSegment), 404),
        ("dotdot_deep",              "/a/../../outside.txt",       Err(DotSegment), 404),
        ("dotdot_staying_inside",    "/a/../file.txt",             Err(DotSegment), 404),
        ("dotdot_encoded_slash",     "/..%2foutside.txt",          Err(Separator), 404),
        ("dotdot_encoded_slash_uc",  "/..%2Foutside.txt",          Err(Separator), 404),
        ("dots_encoded",             "/%2e%2e/outside.txt",        Err(DotSegment), 404),
        ("dots_encoded_uc",          "/%2E%2E/outside.txt",        Err(DotSegment), 404),
        ("dots_half_encoded",        "/.%2e/outside.txt",          Err(DotSegment), 404),
        ("dots_and_slash_encoded",   "/%2e%2e%2foutside.txt",      Err(Separator), 404),
        ("double_encoded",           "/%252e%252e%252foutside.txt",
                                     Ok(&["%2e%2e%2foutside.txt"]), 404),
        // Decoded once, `%252e%252e` is the literal name `%2e%2e`, which the
        // fixture has: served as a file, nothing climbs.
        ("double_encoded_is_a_name", "/%252e%252e",                Ok(&["%2e%2e"]), 200),
        // The request parser refuses a raw `\` (400) before we see it.
        ("backslash",                "/..\\outside.txt",           Err(Separator), 404),
        ("backslash_encoded",        "/..%5coutside.txt",          Err(Separator), 404),
        ("backslash_encoded_uc",     "/..%5Coutside.txt",          Err(Separator), 404),
        ("overlong_dot_2_bytes",     "/%c0%ae%c0%ae/outside.txt",  Err(BadEncoding), 400),
        ("overlong_dot_3_bytes",     "/%e0%80%ae%e0%80%ae/x",      Err(BadEncoding), 400),
        ("overlong_slash",           "/..%c0%afoutside.txt",       Err(BadEncoding), 400),
        // U+FF0E FULLWIDTH FULL STOP is not `.` to any file system we use.
        ("fullwidth_dots",           "/%ef%bc%8e%ef%bc%8e/outside.txt",
                                     Ok(&["\u{ff0e}\u{ff0e}", "outside.txt"]), 404),
        ("nul_after_dots",           "/..%00/outside.txt",         Err(Control), 404),
        ("nul_truncation",           "/file.txt%00.png",           Err(Control), 404),
        ("newline",                  "/a%0ab",                     Err(Control), 404),
        ("del",                      "/a%7f",                      Err(Control), 404),
        ("c1_control",               "/a%c2%85",                   Err(Control), 404),
        ("absolute_after_decoding",  "/%2fetc%2fpasswd",           Err(Separator), 404),
        // Windows spellings.
        ("drive_backslash",          "/C:%5cwindows",              Err(Separator), 404),
        ("drive_letter",             "/C:/windows/win.ini",        Err(NotPortable), 404),
        ("drive_relative",           "/c:win.ini",                 Err(NotPortable), 404),
        ("data_stream",              "/file.txt::$DATA",           Err(NotPortable), 404),
        ("trailing_dot",             "/file.txt.",                 Err(NotPortable), 404),
        ("trailing_space",           "/file.txt%20",               Err(NotPortable), 404),
        ("trailing_dot_dir",         "/a./b.txt",                  Err(NotPortable), 404),
        ("device",                   "/con",                       Err(NotPortable), 404),
        ("device_with_extension",    "/NUL.txt",                   Err(NotPortable), 404),
        ("device_numbered",          "/com1",                      Err(NotPortable), 404),
        ("device_superscript",       "/lpt%c2%b9",                 Err(NotPortable), 404),
        ("not_a_device",             "/console",                   Ok(&["console"]), 404),
        ("wildcard",                 "/%2a",                       Err(NotPortable), 404),
        ("question_mark",            "/a%3fb",                     Err(NotPortable), 404),
        // Hidden names, `.`, empty segments.
        ("hidden",                   "/.hidden",                   Err(Hidden), 404),
        ("hidden_encoded",           "/%2ehidden",                 Err(Hidden), 404),
        ("hidden_dir",               "/.git/config",               Err(Hidden), 404),
        ("well_known",               "/.well-known/security.txt",  Err(Hidden), 404),
        ("dot",                      "/a/./b.txt",                 Err(DotSegment), 404),
        ("dot_encoded",              "/a/%2e/b.txt",               Err(DotSegment), 404),
        ("empty_segment",            "/a//b.txt",                  Err(EmptySegment), 404),
        ("leading_empty",            "//file.txt",                 Err(EmptySegment), 404),
        ("protocol_relative",        "//evil.example/",            Err(EmptySegment), 404),
        ("only_slashes",             "//",                         Err(EmptySegment), 404),
        ("double_trailing_slash",    "/a//",                       Err(EmptySegment), 404),
        // Not a path at all.
        ("bad_hex",                  "/%zz",                       Err(BadEncoding), 400),
        ("truncated_escape",         "/a%2",                       Err(BadEncoding), 400),
        ("lone_percent",             "/100%",                      Err(BadEncoding), 400),
        ("not_utf8",                 "/%ff",                       Err(BadEncoding), 400),
        ("asterisk",                 "*",                          Err(NotAbsolute), 400),
        ("empty",                    "",                           Err(NotAbsolute), 400),
        ("relative",                 "file.txt",                   Err(NotAbsolute), 400),
    ];

    #[test]
    fn traversal_table() {
        let fixture = Fixture::new("traversal");
        let policy = PathPolicy::default();
        for &(name, path, want, want_status) in TRAVERSAL {
            let got = segments(path, &policy);
            let got = match &got {
                Ok(names) => Ok(names.iter().map(String::as_str).collect::<Vec<_>>()),
                Err(e) => Err(*e),
            };
            assert_eq!(got, want.map(<[&str]>::to_vec), "case {name}: segments");
            let resolved = resolve(&fixture.root(), path, &policy);
            assert_eq!(status(&resolved), want_status, "case {name}: {resolved:?}");
        }
    }

    #[test]
    fn never_serves_the_outside_file() {
        let fixture = Fixture::new("outside");
        let outside = fixture.real("outside.txt");
        for &(name, path, _, _) in TRAVERSAL {
            if let Ok(Resolved::File { path: got, .. }) =
                resolve(&fixture.root(), path, &PathPolicy::default())
            {
                assert_ne!(got, outside, "case {name}");
            }
        }
    }

    #[test]
    fn hidden_policy() {
        let fixture = Fixture::new("hidden");
        let open = PathPolicy {
            hidden: true,
            ..PathPolicy::default()
        };
        let cases: &[(&str, &str, u16)] = &[
            ("hidden_served", "/.hidden", 200),
            ("hidden_missing", "/.env", 404),
            ("dot_still_refused", "/a/./b.txt", 404),
            ("dotdot_still_refused", "/../outside.txt", 404),
            ("dots_encoded_still_refused", "/%2e%2e/outside.txt", 404),
            ("three_dots_not_portable", "/...", 404),
        ];
        for &(name, path, want) in cases {
            assert_eq!(
                status(&resolve(&fixture.root(), path, &open)),
                want,
                "case {name}"
            );
        }
        assert_eq!(segments("/...", &open), Err(NotPortable));
        assert_eq!(segments("/..", &open), Err(DotSegment));
    }

    #[test]
    fn very_long_paths() {
        let fixture = Fixture::new("long");
        let policy = PathPolicy::default();
        let at_limit = format!("/{}", "a".repeat(MAX_NAME_BYTES));
        assert!(segments(&at_limit, &policy).is_ok(), "255 bytes");
        assert!(matches!(
            resolve(&fixture.root(), &at_limit, &policy),
            Ok(Resolved::NotFound)
        ));
        let over = format!("/{}", "a".repeat(MAX_NAME_BYTES + 1));
        assert_eq!(segments(&over, &policy), Err(TooLong), "256 bytes");
        // The limit counts decoded bytes: 256 × `%61` is 256 × `a`.
        let encoded = format!("/{}", "%61".repeat(MAX_NAME_BYTES + 1));
        assert_eq!(segments(&encoded, &policy), Err(TooLong), "256 encoded");
        let two_byte = format!("/{}", "%c3%a9".repeat(128)); // 256 bytes, 128 chars
        assert_eq!(segments(&two_byte, &policy), Err(TooLong), "é × 128");
        // As many segments as a request line holds (MAX_REQUEST_LINE, 8 KiB):
        // the first `a` exists, the second does not.
        let deep = "/a".repeat(4000);
        assert_eq!(segments(&deep, &policy).map(|v| v.len()), Ok(4000));
        assert!(matches!(
            resolve(&fixture.root(), &deep, &policy),
            Ok(Resolved::NotFound)
        ));
    }

    #[test]
    fn file_dir_and_missing() {
        let fixture = Fixture::new("kinds");
        let policy = PathPolicy::default();
        let root = fixture.root();
        match resolve(&root, "/file.txt", &policy) {
            Ok(Resolved::File { path, metadata }) => {
                assert_eq!(path, fixture.real("root/file.txt"));
                assert_eq!(metadata.len(), 5);
            }
            other => panic!("file: {other:?}"),
        }
        match resolve(&root, "/a", &policy) {
            Ok(Resolved::Dir { path, needs_slash }) => {
                assert_eq!(path, fixture.real("root/a"));
                assert!(needs_slash, "/a");
            }
            other => panic!("dir without slash: {other:?}"),
        }
        assert!(matches!(
            resolve(&root, "/a/", &policy),
            Ok(Resolved::Dir {
                needs_slash: false,
                ..
            })
        ));
        assert!(matches!(
            resolve(&root, "/", &policy),
            Ok(Resolved::Dir {
                needs_slash: false,
                ..
            })
        ));
        assert!(matches!(
            resolve(&root, "/a/nope", &policy),
            Ok(Resolved::NotFound)
        ));
        // The root is canonicalized too: `root/a/..` is the root.
        let indirect = root.join("a").join("..");
        assert!(matches!(
            resolve(&indirect, "/file.txt", &policy),
            Ok(Resolved::File { .. })
        ));
    }

    #[test]
    fn missing_root_is_a_server_error() {
        let fixture = Fixture::new("noroot");
        let got = resolve(&fixture.base.join("nope"), "/", &PathPolicy::default());
        assert_eq!(got.as_ref().err(), Some(&Io(ErrorKind::NotFound)));
        assert_eq!(status(&got), 500);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks() {
        use std::os::unix::fs::symlink;
        let fixture = Fixture::new("symlinks");
        let root = fixture.root();
        fs::create_dir(fixture.base.join("root-old")).expect("sibling dir");
        fixture.write("root-old/x.txt", "old");
        symlink("a/b.txt", root.join("link-in")).expect("link-in");
        symlink("../outside.txt", root.join("link-out")).expect("link-out");
        symlink("..", root.join("dir-out")).expect("dir-out");
        symlink("../root-old/x.txt", root.join("sibling")).expect("sibling");
        symlink("missing", root.join("broken")).expect("broken");
        symlink("loop", root.join("loop")).expect("loop");
        let strict = PathPolicy::default();
        let open = PathPolicy {
            follow_symlinks_outside: true,
            ..strict
        };
        // Ok(Some(file)): served, from this canonical path; Ok(None): 404.
        type Want = Result<Option<&'static str>, PathError>;
        let cases: &[(&str, &str, &PathPolicy, Want)] = &[
            ("inside", "/link-in", &strict, Ok(Some("root/a/b.txt"))),
            ("outside", "/link-out", &strict, Err(OutsideRoot)),
            (
                "outside_allowed",
                "/link-out",
                &open,
                Ok(Some("outside.txt")),
            ),
            (
                "through_dir_out",
                "/dir-out/outside.txt",
                &strict,
                Err(OutsideRoot),
            ),
            // Out and back in: the destination is judged, not the route.
            (
                "out_and_back",
                "/dir-out/root/file.txt",
                &strict,
                Ok(Some("root/file.txt")),
            ),
            // Not fooled by a common prefix: root-old is not under root.
            ("sibling_prefix", "/sibling", &strict, Err(OutsideRoot)),
            ("broken", "/broken", &strict, Ok(None)),
            // ELOOP is not "not there": the operator made a loop (500, any
            // kind: ErrorKind::FilesystemLoop is not stable yet).
            ("loop", "/loop", &strict, Err(Io(ErrorKind::Other))),
        ];
        for &(name, path, policy, ref want) in cases {
            let got = resolve(&root, path, policy);
            match (want, &got) {
                (Ok(Some(rel)), Ok(Resolved::File { path, .. })) => {
                    assert_eq!(path, &fixture.real(rel), "case {name}")
                }
                (Ok(None), Ok(Resolved::NotFound)) => {}
                (Err(Io(_)), Err(Io(_))) => assert_eq!(status(&got), 500, "case {name}"),
                (Err(e), Err(g)) => assert_eq!(e, g, "case {name}"),
                _ => panic!("case {name}: want {want:?}, got {got:?}"),
            }
        }
        // A root that is itself a symlink works: both sides are canonical.
        symlink("root", fixture.base.join("root-link")).expect("root-link");
        assert!(matches!(
            resolve(&fixture.base.join("root-link"), "/file.txt", &strict),
            Ok(Resolved::File { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn special_files_are_not_found() {
        let fixture = Fixture::new("special");
        let sock = fixture.root().join("sock");
        let _listener =
            std::os::unix::net::UnixListener::bind(&sock).expect("bind socket");
        assert!(matches!(
            resolve(&fixture.root(), "/sock", &PathPolicy::default()),
            Ok(Resolved::NotFound)
        ));
    }

    #[test]
    fn error_statuses() {
        let cases: &[(PathError, u16)] = &[
            (NotAbsolute, 400),
            (BadEncoding, 400),
            (EmptySegment, 404),
            (DotSegment, 404),
            (Separator, 404),
            (Control, 404),
            (Hidden, 404),
            (NotPortable, 404),
            (TooLong, 404),
            (OutsideRoot, 404),
            (Io(ErrorKind::Other), 500),
        ];
        for &(e, want) in cases {
            assert_eq!(e.status().as_u16(), want, "{e:?}");
        }
    }
}

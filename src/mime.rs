//! The MIME table, written by hand (ch08; RFC 9110 §8.3, RFC 6838).
//!
//! A file on disk has no media type, only a name. Servers guess it from the
//! extension, with a table like the one below (nginx ships `mime.types`,
//! Apache the same file from `/etc`). The names come from the IANA media
//! types registry (<https://www.iana.org/assignments/media-types/>); the
//! registration of each is cited where it is not obvious.
//!
//! **Charsets.** For the text types we serve (HTML, CSS, JavaScript, plain
//! text, Markdown, CSV) we add `; charset=utf-8`: without it a browser
//! guesses (windows-1252 for HTML, in most locales), and `é` comes out as
//! `Ã©`. That is a promise the site's files must keep: they are UTF-8. Types
//! whose content names its own encoding get no parameter:
//!
//! - `application/json`: RFC 8259 §11, "No 'charset' parameter is defined
//!   for this registration"; JSON exchanged between systems is UTF-8
//!   (RFC 8259 §8.1).
//! - `image/svg+xml`, `application/xml`: an XML document says its encoding in
//!   its declaration or byte-order mark, and a charset parameter would
//!   compete with it (RFC 7303 §3). The file knows better than we do.
//!
//! `text/javascript`, not `application/javascript`: RFC 9239 §6.1.1 makes it
//! the one registered name (the others are "deprecated aliases"), for both
//! `.js` and `.mjs`.
//!
//! Two names are the common ones rather than IANA's: `audio/wav` (the
//! registered name is `audio/vnd.wave`, RFC 2361) and `application/x-tar`
//! (never registered). For `.ico` we send the registered
//! `image/vnd.microsoft.icon`, which browsers take as well as the common
//! `image/x-icon`.
//!
//! A `.gz` file is `application/gzip`: the client gets the archive. Sending
//! it as `Content-Encoding: gzip` instead (RFC 9110 §8.4) would tell the
//! client to unpack it on the way, so what it saves is not the file on disk.
//!
//! Anything else is `application/octet-stream` (RFC 2046 §4.5.1, "arbitrary
//! binary data"): a browser downloads it instead of rendering it. With
//! `X-Content-Type-Options: nosniff` it will not sniff HTML out of it either,
//! which matters for a directory where users upload files.

use std::path::Path;

/// What a file whose type we do not know is served as.
pub const OCTET_STREAM: &str = "application/octet-stream";

// ANCHOR: types
/// Extension (lowercase, without the dot) → `Content-Type` value.
#[rustfmt::skip]
const TYPES: &[(&str, &str)] = &[
    // Text we promise is UTF-8.
    ("html",  "text/html; charset=utf-8"),
    ("htm",   "text/html; charset=utf-8"),
    ("css",   "text/css; charset=utf-8"),
    ("js",    "text/javascript; charset=utf-8"),   // RFC 9239 §6.1.1
    ("mjs",   "text/javascript; charset=utf-8"),   // a module: same type
    ("txt",   "text/plain; charset=utf-8"),
    ("md",    "text/markdown; charset=utf-8"),     // RFC 7763: charset required
    ("csv",   "text/csv; charset=utf-8"),          // RFC 4180
    // Structured text that names its own encoding.
    ("json",  "application/json"),                 // RFC 8259 §11: no charset
    ("map",   "application/json"),                 // source maps are JSON
    ("webmanifest", "application/manifest+json"),  // W3C
    ("xml",   "application/xml"),                  // RFC 7303
    ("svg",   "image/svg+xml"),
    // Images.
    ("png",   "image/png"),
    ("jpg",   "image/jpeg"),
    ("jpeg",  "image/jpeg"),
    ("gif",   "image/gif"),
    ("webp",  "image/webp"),                       // RFC 9649
    ("avif",  "image/avif"),
    ("ico",   "image/vnd.microsoft.icon"),         // browsers also take image/x-icon
    // Fonts (RFC 8081).
    ("woff",  "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf",   "font/ttf"),
    ("otf",   "font/otf"),
    // Audio and video.
    ("mp4",   "video/mp4"),                        // RFC 4337
    ("webm",  "video/webm"),
    ("mp3",   "audio/mpeg"),                       // RFC 3003
    ("ogg",   "audio/ogg"),                        // RFC 5334
    ("wav",   "audio/wav"),                        // IANA: audio/vnd.wave
    // Documents, programs, archives.
    ("pdf",   "application/pdf"),                  // RFC 8118
    ("wasm",  "application/wasm"),                 // required for streaming compilation
    ("zip",   "application/zip"),
    ("gz",    "application/gzip"),                 // RFC 6713
    ("tar",   "application/x-tar"),                // never registered; the common name
];
// ANCHOR_END: types

// ANCHOR: content_type
/// The `Content-Type` for `path`, from its extension, case-insensitively:
/// `INDEX.HTML` is HTML. No extension, an unknown one, or one that is not
/// UTF-8 gives [`OCTET_STREAM`]. A dotfile has no extension (`.html` is a
/// name, as [`Path::extension`] says), and only the last extension counts:
/// `a.tar.gz` is gzip.
pub fn content_type(path: &Path) -> &'static str {
    let Some(ext) = path.extension().and_then(|e| e.to_str()) else {
        return OCTET_STREAM;
    };
    // A linear scan: a few dozen short comparisons cost less than hashing.
    TYPES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(ext))
        .map_or(OCTET_STREAM, |&(_, media_type)| media_type)
}
// ANCHOR_END: content_type

#[cfg(test)]
mod tests {
    use super::*;

    #[rustfmt::skip]
    const CASES: &[(&str, &str, &str)] = &[
        ("html",              "index.html",        "text/html; charset=utf-8"),
        ("htm",               "old.htm",           "text/html; charset=utf-8"),
        ("uppercase",         "INDEX.HTML",        "text/html; charset=utf-8"),
        ("mixed_case",        "Photo.JpG",         "image/jpeg"),
        ("css",               "site.css",          "text/css; charset=utf-8"),
        ("js_rfc_9239",       "app.js",            "text/javascript; charset=utf-8"),
        ("mjs",               "mod.mjs",           "text/javascript; charset=utf-8"),
        ("json_no_charset",   "data.json",         "application/json"),
        ("source_map",        "app.js.map",        "application/json"),
        ("svg_no_charset",    "logo.svg",          "image/svg+xml"),
        ("xml_no_charset",    "feed.xml",          "application/xml"),
        ("txt",               "notes.txt",         "text/plain; charset=utf-8"),
        ("markdown",          "README.md",         "text/markdown; charset=utf-8"),
        ("csv",               "table.csv",         "text/csv; charset=utf-8"),
        ("png",               "a.png",             "image/png"),
        ("jpeg",              "a.jpeg",            "image/jpeg"),
        ("gif",               "a.gif",             "image/gif"),
        ("webp",              "a.webp",            "image/webp"),
        ("avif",              "a.avif",            "image/avif"),
        ("ico",               "favicon.ico",       "image/vnd.microsoft.icon"),
        ("woff2",             "f.woff2",           "font/woff2"),
        ("woff",              "f.woff",            "font/woff"),
        ("ttf",               "f.ttf",             "font/ttf"),
        ("otf",               "f.otf",             "font/otf"),
        ("pdf",               "paper.pdf",         "application/pdf"),
        ("wasm",              "app.wasm",          "application/wasm"),
        ("mp4",               "clip.mp4",          "video/mp4"),
        ("webm",              "clip.webm",         "video/webm"),
        ("mp3",               "song.mp3",          "audio/mpeg"),
        ("ogg",               "song.ogg",          "audio/ogg"),
        ("wav",               "beep.wav",          "audio/wav"),
        ("zip",               "all.zip",           "application/zip"),
        ("tar_gz_last_wins",  "src.tar.gz",        "application/gzip"),
        ("tar",               "src.tar",           "application/x-tar"),
        ("manifest",          "app.webmanifest",   "application/manifest+json"),
        ("in_a_directory",    "docs/v1/index.html", "text/html; charset=utf-8"),
        ("no_extension",      "Makefile",          OCTET_STREAM),
        ("unknown",           "data.bin",          OCTET_STREAM),
        ("dotfile",           ".html",             OCTET_STREAM),
        ("trailing_dot",      "file.",             OCTET_STREAM),
        ("near_miss",         "page.html5",        OCTET_STREAM),
        ("empty",             "",                  OCTET_STREAM),
    ];

    #[test]
    fn content_types() {
        for &(name, path, want) in CASES {
            assert_eq!(content_type(Path::new(path)), want, "case {name}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn extension_not_utf8() {
        use std::os::unix::ffi::OsStrExt;
        let path = Path::new(std::ffi::OsStr::from_bytes(b"a.\xff"));
        assert_eq!(content_type(path), OCTET_STREAM);
    }

    /// The table's own rules: lowercase unique keys, UTF-8 promised for the
    /// `text/` types only, never a charset on JSON or XML.
    #[test]
    fn table_is_consistent() {
        for (i, &(ext, media_type)) in TYPES.iter().enumerate() {
            assert_eq!(ext, ext.to_ascii_lowercase(), "{ext}: keys are lowercase");
            assert!(
                TYPES.iter().skip(i + 1).all(|&(other, _)| other != ext),
                "{ext}: listed twice"
            );
            let is_text = media_type.starts_with("text/");
            assert_eq!(
                media_type.ends_with("; charset=utf-8"),
                is_text,
                "{ext}: charset exactly on text/ types"
            );
        }
    }
}

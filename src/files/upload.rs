//! `POST /upload`: the files of a browser form (ch08; RFC 7578).
//!
//! The body is read by the streaming parser of [`crate::multipart`]; each
//! file part goes to the upload directory under a sanitized name that never
//! replaces an existing file.

use std::fmt::Write as _;
use std::path::Path;

use log::{error, warn};

use super::path::{PathPolicy, check_name};
use super::site::{HTML, Stored, created, store};
use crate::limits::Limits;
use crate::listing::{encode_segment, escape_html};
use crate::multipart::{self, Event, MultipartError, Parser};
use crate::request::Request;
use crate::response::Response;
use crate::status::StatusCode;

/// The most names tried for one file when the name is taken (`a.txt`,
/// `a-2.txt`, … `a-16.txt`); past that the upload is refused (409).
const NAME_TRIES: usize = 16;

/// One file of the form, as it arrives.
struct Incoming {
    /// The sanitized name it will get, if any.
    name: Option<String>,
    bytes: Vec<u8>,
}

// ANCHOR: form
/// Store every file of a `multipart/form-data` body, and answer 201 with
/// the first one's `Location` and a page linking each; fields that are not
/// files are read and ignored. A malformed body stores nothing.
pub(super) fn form(request: &Request<'_>, dir: &Path, limits: &Limits) -> Response {
    let content_type = request.header("content-type").unwrap_or_default();
    let files = match multipart::boundary(content_type)
        .and_then(|b| files(&b, request.body, limits))
    {
        Ok(files) => files,
        Err(e) => {
            warn!("POST /upload: {e}");
            return Response::error(e.status());
        }
    };
    let mut stored = Vec::new();
    for (name, bytes) in files {
        match store_new(dir, &name, &bytes) {
            Some(name) => stored.push(name),
            None => return Response::error(StatusCode::CONFLICT),
        }
    }
    let Some(first) = stored.first() else {
        let none = "400 Bad Request: the form has no file\n";
        return Response::text(StatusCode::BAD_REQUEST, none);
    };
    let location = created(first).headers;
    let mut page =
        String::from("<!doctype html>\n<meta charset=utf-8>\n<title>Uploaded</title>\n");
    for name in &stored {
        let (href, text) = (encode_segment(name), escape_html(name));
        let _ = writeln!(page, "<p><a href=\"/files/{href}\">{text}</a></p>");
    }
    Response {
        headers: location,
        ..Response::bytes(StatusCode::CREATED, HTML, page.into_bytes())
    }
}
// ANCHOR_END: form

/// The files of the body, `(sanitized name, bytes)`, in order. A file input
/// left empty (no file name) and text fields are skipped.
fn files(
    boundary: &[u8],
    body: &[u8],
    limits: &Limits,
) -> Result<Vec<(String, Vec<u8>)>, MultipartError> {
    let mut parser = Parser::new(boundary, limits);
    let (mut rest, mut out, mut current) = (body, Vec::new(), None::<Incoming>);
    loop {
        let (event, used) = parser.next(rest)?;
        match event {
            Event::PartStart(part) => {
                let name = part.filename.as_deref().and_then(safe_name);
                current = part.filename.map(|_| Incoming {
                    name,
                    bytes: Vec::new(),
                });
            }
            Event::Data(bytes) => {
                if let Some(file) = &mut current {
                    file.bytes.extend_from_slice(bytes);
                }
            }
            Event::PartEnd => {
                if let Some(Incoming {
                    name: Some(name),
                    bytes,
                }) = current.take()
                {
                    out.push((name, bytes));
                }
            }
            Event::End => break,
            // The whole body is here: needing more means it was cut short.
            Event::NeedMore => return parser.finish().map(|()| out),
        }
        rest = rest.get(used..).unwrap_or_default();
    }
    parser.finish().map(|()| out)
}

/// A file name from a form, as we will store it: the last component only
/// (`multipart::sanitize_filename`), and one `files::path` would serve.
fn safe_name(raw: &str) -> Option<String> {
    let name = multipart::sanitize_filename(raw)?;
    check_name(&name, &PathPolicy::default()).ok()?;
    Some(name)
}

/// Store under `name`, or `stem-2.ext`, … if taken; the name used.
fn store_new(dir: &Path, name: &str, bytes: &[u8]) -> Option<String> {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, Some(ext)),
        _ => (name, None),
    };
    for n in 1..=NAME_TRIES {
        let candidate = match (n, ext) {
            (1, _) => name.to_string(),
            (n, Some(ext)) => format!("{stem}-{n}.{ext}"),
            (n, None) => format!("{stem}-{n}"),
        };
        match store(dir, &candidate, bytes, true) {
            Ok(Stored::Exists) => continue,
            Ok(_) => return Some(candidate),
            Err(e) => {
                error!("storing {candidate} in {}: {e}", dir.display());
                return None;
            }
        }
    }
    None
}

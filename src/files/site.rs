//! The static-file handler of step07 (ch08): a directory served over HTTP,
//! with validators, conditional and range requests, bodies sent by the
//! kernel, and uploads.
//!
//! ```text
//!  GET/HEAD path ──▶ resolve under the root ──▶ 400 / 404 (never outside it)
//!                         │ a directory: /dir → 308 /dir/; index.html, or a listing
//!                         ▼ a file
//!                  preconditions (RFC 9110 §13.2.2) ──▶ 304 Not Modified / 412
//!                         │ none fails
//!                         ▼
//!                  Range on a GET (and If-Range holds) ──▶ 206 one range
//!                         │ no Range, or ignored            206 multipart/byteranges
//!                         ▼                                 416 none satisfiable
//!                        200 the whole file
//! ```

use std::fs::{self, File, Metadata};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

use log::error;

use super::cache::{self, Cached, FileCache};
use super::path::{self, PathError, PathPolicy, Resolved};
use crate::conditional::{self, Validators};
use crate::http1::Handler;
use crate::limits::Limits;
use crate::listing;
use crate::mime;
use crate::range::{self, ByteRanges, Part, RangeAnswer};
use crate::request::Request;
use crate::response::{FileBody, FilePart, Response, TEXT_HTML};
use crate::status::StatusCode;

/// The URL prefix under which uploads are served and `PUT` writes.
pub const UPLOADS_URL: &str = "/files/";

/// A directory served over HTTP. See the module docs for what it answers.
#[derive(Debug, Clone)]
pub struct Site {
    /// Small files served lately (see [`super::cache`]); shared by clones.
    cache: Arc<FileCache>,
    root: PathBuf,
    policy: PathPolicy,
    /// Answer a directory without `index.html` with a listing (else 404).
    listing: bool,
    /// `Cache-Control: max-age` for everything but HTML, in seconds.
    max_age: u64,
    /// Where uploads go (`PUT /files/{name}`, `POST /upload`), if anywhere.
    uploads: Option<PathBuf>,
    /// For `max_ranges` and `max_body_bytes`.
    limits: Limits,
}

impl Site {
    /// Serve the files under `root`, with listings on, one hour of
    /// `max-age`, no hidden files, no symlinks out of the root, no uploads.
    pub fn new(root: impl Into<PathBuf>, limits: Limits) -> Site {
        let cache = FileCache::new(limits.file_cache_bytes, limits.file_cache_max_file);
        Site {
            cache: Arc::new(cache),
            root: root.into(),
            policy: PathPolicy::default(),
            listing: true,
            max_age: 3600,
            uploads: None,
            limits,
        }
    }

    /// Answer directories without an `index.html` with a listing, or 404.
    pub fn listing(self, on: bool) -> Site {
        Site {
            listing: on,
            ..self
        }
    }

    /// The `max-age` sent with files other than HTML.
    pub fn max_age(self, secs: u64) -> Site {
        Site {
            max_age: secs,
            ..self
        }
    }

    /// What names and symlinks may be served.
    pub fn policy(self, policy: PathPolicy) -> Site {
        Site { policy, ..self }
    }

    /// Accept uploads into `dir`, and serve them under [`UPLOADS_URL`].
    pub fn uploads(self, dir: impl Into<PathBuf>) -> Site {
        Site {
            uploads: Some(dir.into()),
            ..self
        }
    }

    /// Which directory, and which path under it, a request path names.
    fn mount<'p>(&self, path: &'p str) -> (&Path, &'p str) {
        match (
            &self.uploads,
            path.strip_prefix(UPLOADS_URL.trim_end_matches('/')),
        ) {
            (Some(dir), Some(rest)) if rest.is_empty() || rest.starts_with('/') => {
                (dir, if rest.is_empty() { "/" } else { rest })
            }
            _ => (&self.root, path),
        }
    }
}

impl Handler for Site {
    fn handle(&self, request: &Request<'_>) -> Response {
        self.serve(request)
            .unwrap_or_else(|| Response::error(StatusCode::NOT_FOUND))
    }

    /// Refuse before the body is sent (`Expect: 100-continue`, ch06): a
    /// method this path does not take, or a `PUT` whose precondition
    /// already fails.
    fn preflight(&self, request: &Request<'_>) -> Option<Response> {
        match request.method {
            "PUT" if self.takes_put(request) => self.put_precondition(request),
            "POST" if self.takes_post(request) => None,
            "GET" | "HEAD" => None,
            _ if self.claims(request) => Some(self.method_not_allowed(request)),
            _ => Some(Response::error(StatusCode::NOT_FOUND)),
        }
    }
}

impl Site {
    // ANCHOR: serve
    /// The answer for a request about a file or directory under the root
    /// (or an upload), or `None` when nothing there has that name: then
    /// another handler may answer (see [`Overlay`]). Only GET and HEAD read
    /// files; other methods on a name that exists get 405 with `Allow`.
    pub fn serve(&self, request: &Request<'_>) -> Option<Response> {
        match request.method {
            "PUT" if self.takes_put(request) => return Some(self.put(request)),
            "POST" if self.takes_post(request) => return Some(self.post(request)),
            _ => {}
        }
        if !request.path().starts_with('/') {
            return None; // `OPTIONS *`, CONNECT: about no file
        }
        if let Some(hit) = self.cached(request) {
            return Some(hit);
        }
        let (dir, path) = self.mount(request.path());
        let found = match path::resolve(dir, path, &self.policy) {
            Ok(Resolved::NotFound) => return None,
            Err(e) if e.status() == StatusCode::NOT_FOUND => return None,
            Err(e) => return Some(refused(request, e)),
            Ok(found) => found,
        };
        if !matches!(request.method, "GET" | "HEAD") {
            return Some(self.method_not_allowed(request));
        }
        Some(match found {
            Resolved::File { path, metadata } => self.file(request, &path, &metadata),
            Resolved::Dir {
                needs_slash: true, ..
            } => slash_redirect(request),
            Resolved::Dir { path, .. } => self.directory(request, &path),
            Resolved::NotFound => Response::error(StatusCode::NOT_FOUND),
        })
    }
    // ANCHOR_END: serve

    /// A directory: its `index.html`, else a listing (if on), else 404.
    fn directory(&self, request: &Request<'_>, dir: &Path) -> Response {
        let index = dir.join("index.html");
        if let Ok(metadata) = fs::metadata(&index) {
            if metadata.is_file() {
                return self.file(request, &index, &metadata);
            }
        }
        if !self.listing {
            return Response::error(StatusCode::NOT_FOUND);
        }
        match listing::read_entries(dir, self.policy.hidden) {
            Ok(entries) => Response::html(listing::listing(request.path(), &entries))
                .with_header("Cache-Control", "no-cache")
                .with_header("X-Content-Type-Options", "nosniff"),
            Err(e) => {
                error!("listing {}: {e}", dir.display());
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }

    // ANCHOR: file
    /// A file: 304 or 412 if a precondition says so, else 206 or 416 for a
    /// range request, else 200; the body is sent from the file by the
    /// driver (`FileBody`), never read into memory here.
    fn file(&self, request: &Request<'_>, path: &Path, metadata: &Metadata) -> Response {
        let now = unix_now();
        let (secs, nanos) = mtime(metadata);
        let len = metadata.len();
        let validators = Validators::for_file(len, secs, nanos, now);
        let cache = self.cache_control(path);
        let precondition = conditional::evaluate(request, &validators, now);
        if let Some(answer) = precondition.response(&validators, Some(&cache)) {
            return answer;
        }
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) => return open_failed(path, &e),
        };
        let content_type = mime::content_type(path);
        let response = match self.range(request, len, &validators, now) {
            RangeAnswer::Ignore if self.cache.fits(len) => {
                self.remember(request, path, metadata, &file);
                Response::file(StatusCode::OK, content_type, FileBody::whole(file, len))
            }
            RangeAnswer::Ignore => {
                Response::file(StatusCode::OK, content_type, FileBody::whole(file, len))
            }
            RangeAnswer::Satisfiable(ranges) => partial(file, len, content_type, ranges),
            // No validators and no freshness: a 416 is about the request,
            // and a cache must not keep it for the URL (RFC 9111 §3).
            RangeAnswer::Unsatisfiable => {
                let unsatisfied = range::unsatisfied_range(len);
                return Response::error(StatusCode::RANGE_NOT_SATISFIABLE)
                    .with_header("Content-Range", unsatisfied)
                    .with_header("Accept-Ranges", "bytes");
            }
        };
        file_fields(response, &validators, cache)
    }
    // ANCHOR_END: file

    // ANCHOR: cached
    /// A GET or HEAD without `Range` for a small file served lately, and
    /// unchanged since (same length and mtime: one `stat`), answered from
    /// memory: 304 or 412 as for any file, else 200 with the bytes.
    fn cached(&self, request: &Request<'_>) -> Option<Response> {
        let get = matches!(request.method, "GET" | "HEAD");
        if !get || request.header("range").is_some() {
            return None;
        }
        let hit = self.cache.get(request.path())?;
        let Some(metadata) = cache::unchanged(&hit, &hit.path) else {
            self.cache.remove(request.path());
            return None;
        };
        let now = unix_now();
        let (secs, nanos) = hit.mtime;
        let validators = Validators::for_file(metadata.len(), secs, nanos, now);
        let cache = self.cache_control(&hit.path);
        let precondition = conditional::evaluate(request, &validators, now);
        if let Some(answer) = precondition.response(&validators, Some(&cache)) {
            return Some(answer);
        }
        let content_type = mime::content_type(&hit.path);
        let response = Response::bytes(StatusCode::OK, content_type, hit.bytes.to_vec());
        Some(file_fields(response, &validators, cache))
    }

    /// Keep a small file's bytes for the next request for `request`'s path.
    fn remember(
        &self,
        request: &Request<'_>,
        path: &Path,
        metadata: &Metadata,
        file: &File,
    ) {
        let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
        let mut reader = file;
        if reader.read_to_end(&mut bytes).is_err() || bytes.len() as u64 != metadata.len()
        {
            return; // changing under us: not worth keeping
        }
        let _ = reader.seek(io::SeekFrom::Start(0));
        let entry = Cached {
            path: path.to_path_buf(),
            len: metadata.len(),
            mtime: mtime(metadata),
            bytes: bytes.into(),
        };
        // Only the plain spelling of a name: `%`-encoded ones of the same
        // file would each take another entry.
        if !request.path().contains('%') {
            self.cache.insert(request.path(), entry);
        }
    }
    // ANCHOR_END: cached

    // ANCHOR: range
    /// What the request's `Range` asks for. Only a GET has ranges (RFC 9110
    /// §14.2: a server MUST ignore `Range` for a method whose range
    /// handling is not defined), and only while `If-Range`, if sent, still
    /// names this representation (§13.1.5); two `Range` or `If-Range`
    /// lines make the field invalid: ignored too.
    fn range(
        &self,
        request: &Request<'_>,
        len: u64,
        v: &Validators,
        now: u64,
    ) -> RangeAnswer {
        if request.method != "GET" {
            return RangeAnswer::Ignore;
        }
        let Some(value) = single(request, "range") else {
            return RangeAnswer::Ignore;
        };
        if request.header("if-range").is_some() {
            match single(request, "if-range") {
                Some(tag) if conditional::if_range_holds(tag, v, now) => {}
                _ => return RangeAnswer::Ignore,
            }
        }
        range::parse_range(value, len, &self.limits)
    }
    // ANCHOR_END: range

    // ANCHOR: cache_control
    /// HTML pages are revalidated on every use (`no-cache`: a cache may keep
    /// them, but must ask with their validators first, and mostly gets a
    /// 304), so a new version shows at once; what they link to (CSS, JS,
    /// images) may be used for `max_age` without asking (RFC 9111 §5.2.2).
    fn cache_control(&self, path: &Path) -> String {
        if mime::content_type(path).starts_with("text/html") {
            "no-cache".into()
        } else {
            format!("max-age={}", self.max_age)
        }
    }
    // ANCHOR_END: cache_control

    /// 405 with the methods this path takes (RFC 9110 §15.5.6).
    fn method_not_allowed(&self, request: &Request<'_>) -> Response {
        let allow = match (self.takes_put(request), self.takes_post(request)) {
            (true, _) => "GET, HEAD, PUT",
            (_, true) => "POST",
            _ => "GET, HEAD",
        };
        Response::error(StatusCode::METHOD_NOT_ALLOWED).with_header("Allow", allow)
    }

    /// `PUT /files/{name}`: uploads on, and exactly one name after the prefix.
    fn takes_put(&self, request: &Request<'_>) -> bool {
        self.uploads.is_some()
            && request
                .path()
                .strip_prefix(UPLOADS_URL)
                .is_some_and(|name| !name.is_empty() && !name.contains('/'))
    }

    /// `POST /upload`: uploads on.
    fn takes_post(&self, request: &Request<'_>) -> bool {
        self.uploads.is_some() && request.path() == "/upload"
    }

    // ANCHOR: put
    /// `PUT /files/{name}`: the body becomes the file, whole or not at all
    /// (written to a temporary file, then renamed over the name). 201 when
    /// it is new, 204 when it replaced one (RFC 9110 §9.3.4); 412 if the
    /// client said `If-None-Match: *` and the name exists.
    fn put(&self, request: &Request<'_>) -> Response {
        let (Some(dir), Some(name)) = (&self.uploads, upload_name(request)) else {
            return Response::error(StatusCode::NOT_FOUND);
        };
        let only_new = creates_only(request);
        match store(dir, &name, request.body, only_new) {
            Ok(Stored::Created) => created(&name),
            Ok(Stored::Replaced) => Response::new(StatusCode::NO_CONTENT),
            Ok(Stored::Exists) => Response::error(StatusCode::PRECONDITION_FAILED),
            Err(e) => {
                error!("storing {name} in {}: {e}", dir.display());
                Response::error(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
    }
    // ANCHOR_END: put

    /// Before a PUT's body: 412 now if `If-None-Match: *` already fails.
    fn put_precondition(&self, request: &Request<'_>) -> Option<Response> {
        let (dir, name) = (self.uploads.as_ref()?, upload_name(request)?);
        (creates_only(request) && dir.join(&name).exists())
            .then(|| Response::error(StatusCode::PRECONDITION_FAILED))
    }

    /// `POST /upload`: a `multipart/form-data` form (RFC 7578); every file
    /// in it is stored under its sanitized name. 201 with the first file's
    /// `Location` and a page linking each.
    fn post(&self, request: &Request<'_>) -> Response {
        let Some(dir) = &self.uploads else {
            return Response::error(StatusCode::NOT_FOUND);
        };
        super::upload::form(request, dir, &self.limits)
    }
}

// ANCHOR: overlay
/// The site first, then an application for what the site has no file for:
/// step07 serves `public/` at `/` and keeps the demo's routes (`/hello/…`,
/// `/echo`, …) where no file of that name exists.
pub struct Overlay<A> {
    /// The files.
    pub site: Site,
    /// What answers everything else.
    pub app: A,
}

impl<A: Handler> Handler for Overlay<A> {
    fn handle(&self, request: &Request<'_>) -> Response {
        match self.site.serve(request) {
            Some(response) => response,
            None => self.app.handle(request),
        }
    }

    fn preflight(&self, request: &Request<'_>) -> Option<Response> {
        if self.site.claims(request) {
            self.site.preflight(request)
        } else {
            self.app.preflight(request)
        }
    }
}
// ANCHOR_END: overlay

impl Site {
    /// Whether [`Site::serve`] would answer (and not fall through): an
    /// upload, or a name that exists under the root.
    fn claims(&self, request: &Request<'_>) -> bool {
        if self.takes_put(request) || self.takes_post(request) {
            return true;
        }
        if !request.path().starts_with('/') {
            return false;
        }
        let (dir, path) = self.mount(request.path());
        match path::resolve(dir, path, &self.policy) {
            Ok(Resolved::NotFound) => false,
            Err(e) => e.status() != StatusCode::NOT_FOUND,
            Ok(_) => true,
        }
    }
}

/// The fields every 200 or 206 of a file carries: its validators, how long
/// it may be cached, that ranges are welcome, and no type sniffing.
fn file_fields(response: Response, validators: &Validators, cache: String) -> Response {
    validators
        .add_fields(response)
        .with_header("Cache-Control", cache)
        .with_header("Accept-Ranges", "bytes")
        .with_header("X-Content-Type-Options", "nosniff")
}

/// The value of the only field line named `name`; `None` if there is none
/// or more than one.
fn single<'b>(request: &Request<'b>, name: &str) -> Option<&'b [u8]> {
    let mut lines = request.headers_named(name);
    let first = lines.next()?;
    lines.next().is_none().then_some(first)
}

/// 206 Partial Content: one range as itself, several as
/// `multipart/byteranges` (RFC 9110 §14.6, §15.3.7).
fn partial(
    file: File,
    len: u64,
    content_type: &'static str,
    ranges: Vec<(u64, u64)>,
) -> Response {
    if let [(first, last)] = ranges[..] {
        let part = FilePart::Range {
            start: first,
            len: last - first + 1,
        };
        let body = FileBody::parts(file, vec![part]);
        return Response::file(StatusCode::PARTIAL_CONTENT, content_type, body)
            .with_header("Content-Range", range::content_range(first, last, len));
    }
    let multipart =
        match ByteRanges::new(ranges, len, Some(content_type), range::new_boundary()) {
            Ok(multipart) => multipart,
            Err(why) => {
                error!("multipart/byteranges: {why}");
                return Response::error(StatusCode::INTERNAL_SERVER_ERROR);
            }
        };
    let parts = multipart
        .parts()
        .map(|part| match part {
            Part::Bytes(bytes) => FilePart::Bytes(bytes),
            Part::File { first, last } => FilePart::Range {
                start: first,
                len: last - first + 1,
            },
        })
        .collect();
    let body = FileBody::parts(file, parts);
    Response::file(StatusCode::PARTIAL_CONTENT, multipart.content_type(), body)
}

/// `/dir` names a directory: send the client to `/dir/` (the query kept), or
/// the relative links of its page would resolve against the parent.
fn slash_redirect(request: &Request<'_>) -> Response {
    let location = match request.query() {
        Some(query) => format!("{}/?{query}", request.path()),
        None => format!("{}/", request.path()),
    };
    Response::text(StatusCode::PERMANENT_REDIRECT, "308 Permanent Redirect\n")
        .with_header("Location", location)
}

/// A path refused by `files::path`: its status, and a log line for a 500.
fn refused(request: &Request<'_>, e: PathError) -> Response {
    if matches!(e, PathError::Io(_)) {
        error!("{} {}: {e}", request.method, request.path());
    }
    Response::error(e.status())
}

/// A file that resolved but did not open: gone meanwhile (404), or worse.
fn open_failed(path: &Path, e: &io::Error) -> Response {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::PermissionDenied => {
            Response::error(StatusCode::NOT_FOUND)
        }
        _ => {
            error!("opening {}: {e}", path.display());
            Response::error(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A file's modification time: seconds and nanoseconds since the epoch (a
/// time before it, or none, counts as the epoch itself).
pub(super) fn mtime(metadata: &Metadata) -> (u64, u32) {
    metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or((0, 0), |d| (d.as_secs(), d.subsec_nanos()))
}

/// The name a `PUT /files/{name}` writes: one segment, decoded, and a
/// name `files::path` would serve (no dot-files, no separators, …).
fn upload_name(request: &Request<'_>) -> Option<String> {
    let encoded = request.path().strip_prefix(UPLOADS_URL)?;
    let mut names =
        path::segments(&format!("/{encoded}"), &PathPolicy::default()).ok()?;
    match (names.pop(), names.is_empty()) {
        (Some(name), true) => Some(name),
        _ => None,
    }
}

/// Whether the request says `If-None-Match: *`: create, never replace
/// (RFC 9110 §13.1.2).
fn creates_only(request: &Request<'_>) -> bool {
    request
        .headers_named("if-none-match")
        .any(|v| crate::request::trim_ows(v) == b"*")
}

/// 201 Created, with the new file's URL (RFC 9110 §15.3.2).
pub(super) fn created(name: &str) -> Response {
    let location = format!("{UPLOADS_URL}{}", listing::encode_segment(name));
    let body = format!("201 Created: {location}\n");
    Response::text(StatusCode::CREATED, body).with_header("Location", location)
}

/// What [`store`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    Created,
    Replaced,
    /// `only_new` and the name existed: nothing written.
    Exists,
}

// ANCHOR: store
/// Write `bytes` as `dir/name`, atomically: into a temporary file in the
/// same directory (a rename never crosses file systems), flushed to disk,
/// then renamed over the name, so a reader sees the old file or the new one
/// and never half of one. With `only_new`, a hard link takes the name
/// instead: it fails if the name exists, where checking first and renaming
/// after would race with another upload.
pub(super) fn store(
    dir: &Path,
    name: &str,
    bytes: &[u8],
    only_new: bool,
) -> io::Result<Stored> {
    static UPLOADS: AtomicU64 = AtomicU64::new(0);
    let n = UPLOADS.fetch_add(1, Relaxed);
    let temp = dir.join(format!(".upload-{}-{n}", std::process::id()));
    let target = dir.join(name);
    let result = (|| {
        let mut file = File::create_new(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        if only_new {
            return match fs::hard_link(&temp, &target) {
                Ok(()) => Ok(Stored::Created),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(Stored::Exists),
                Err(e) => Err(e),
            };
        }
        // Two PUTs racing may both see "new" here; the rename itself is
        // atomic, the 201-or-204 is only our best knowledge.
        let existed = target.exists();
        fs::rename(&temp, &target)?;
        // The rename is an update of the directory: flush that too, or a
        // crash could lose the new name though the bytes are on disk.
        File::open(dir)?.sync_all()?;
        Ok(if existed {
            Stored::Replaced
        } else {
            Stored::Created
        })
    })();
    let _ = fs::remove_file(&temp); // after a rename, already gone
    result
}
// ANCHOR_END: store

/// The `Content-Type` of an HTML page (for the upload form's answer).
pub(super) const HTML: &str = TEXT_HTML;

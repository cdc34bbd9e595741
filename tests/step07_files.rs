//! step07: static files and uploads, against the real binary serving a copy
//! of the demo site (`public/`) whose files all have one fixed modification
//! time, so that `ETag` and `Last-Modified` are the same on every machine.
//!
//! The copy's folder is not noted in the snapshots: its files are the demo
//! site's, so `compare` may replay these cases against a step07 serving
//! `public/` itself (validators then differ, which compare allows). Cases
//! that send a validator back (304, 412, `If-Range`) or that write
//! uploads note it, and compare skips them.
mod common;

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, SystemTime};

use common::{Exchange, Server, note_for_replay, response_len, spawn_step_quietly};

/// The note for cases whose answer depends on the copy's validators
/// (`compare` skips them: a server with the defaults has other mtimes).
const ROOT_NOTE: &str = "env: ROOT=(a copy of public/, every mtime 2025-01-01)";

/// The note for cases that write uploads (`compare` skips them: a replay
/// must not write into someone's upload folder).
const UPLOADS_NOTE: &str = "env: UPLOADS=(an empty folder)";

/// 2025-01-01T00:00:00Z, the modification time of every file of the copy.
const MTIME: u64 = 1_735_689_600;

/// A copy of `public/` in a fresh temporary folder, every file's mtime
/// [`MTIME`], and an empty upload folder beside it. Removed when dropped.
struct Fixture {
    dir: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Relaxed);
        let dir =
            std::env::temp_dir().join(format!("rawhttp-site-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let public = Path::new(env!("CARGO_MANIFEST_DIR")).join("public");
        copy_tree(&public, &dir.join("root"));
        fs::create_dir_all(dir.join("uploads")).expect("the upload folder");
        Fixture { dir }
    }

    fn root(&self) -> String {
        self.dir.join("root").display().to_string()
    }

    fn uploads(&self) -> PathBuf {
        self.dir.join("uploads")
    }

    /// step07 serving the copy.
    fn spawn(&self) -> Server {
        let uploads = self.uploads().display().to_string();
        spawn_step_quietly("step07", &[("ROOT", &self.root()), ("UPLOADS", &uploads)])
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("a folder of the copy");
    for entry in fs::read_dir(from).expect("public/") {
        let entry = entry.expect("an entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), &target).expect("a file of the copy");
            let when = SystemTime::UNIX_EPOCH + Duration::from_secs(MTIME);
            fs::File::options()
                .write(true)
                .open(&target)
                .and_then(|f| f.set_modified(when))
                .expect("set the mtime");
        }
    }
}

/// One snapshot per case: a fresh copy, the request on a fresh connection,
/// read until the server closes (every request says `Connection: close`).
macro_rules! site_cases {
    ($($name:ident: $bytes:expr;)*) => {$(
        #[test]
        fn $name() {
            let site = Fixture::new();
            let srv = site.spawn();
            snap!(stringify!($name), srv.exchange($bytes));
        }
    )*};
}

site_cases! {
    // Files, with their type, validators and caching policy.
    index_page: b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    stylesheet: b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    head_of_a_file: b"HEAD /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    an_image: b"GET /img/pattern.png HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // Directories.
    directory_without_slash_redirects: b"GET /notes?sort=name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    directory_listing: b"GET /notes/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // What is not served: 404 (it does not say whether it exists), 400 for
    // what is not a path, 405 for a method files do not take.
    dot_file_not_served: b"GET /notes/.secret HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    traversal_encoded: b"GET /..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    traversal_dot_segments: b"GET /notes/%2e%2e/%2e%2e/Cargo.toml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    traversal_overlong_utf8: b"GET /%c0%ae%c0%ae/Cargo.toml HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    post_to_a_file: b"POST /style.css HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    // Ranges (RFC 9110 §14).
    range_first_bytes: b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n";
    range_suffix: b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=-6\r\nConnection: close\r\n\r\n";
    range_open_ended: b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=420-\r\nConnection: close\r\n\r\n";
    range_not_satisfiable: b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=9999-\r\nConnection: close\r\n\r\n";
    range_invalid_is_ignored: b"GET /app.js HTTP/1.1\r\nHost: x\r\nRange: bytes=5-3\r\nConnection: close\r\n\r\n";
    range_on_head_is_ignored: b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nConnection: close\r\n\r\n";
    // The demo's routes still answer where no file has the name.
    demo_route_under_the_site: b"GET /hello/ada HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

/// The `ETag` of a response head.
fn etag(transcript: &str) -> String {
    transcript
        .lines()
        .find_map(|l| l.strip_prefix("ETag: "))
        .and_then(|v| v.strip_suffix("\\r\\n"))
        .expect("an ETag")
        .to_string()
}

/// A GET of `/style.css`, then the same with `field: value` (the value may
/// say `{etag}`), on one connection; the second response is the case.
/// Noted for `compare` when it depends on the copy's validators (a tag
/// that matches no file's, as in the 412 case, holds against any server).
fn conditional(name: &str, field: &str, value: &str) {
    let site = Fixture::new();
    if value.contains("{etag}") || field == "If-Modified-Since" {
        note_for_replay(ROOT_NOTE); // the validators it sends back are the copy's
    }
    let srv = site.spawn();
    let mut x = Exchange::new(&srv);
    x.send(b"GET /style.css HTTP/1.1\r\nHost: x\r\n\r\n").recv();
    let value = value.replace("{etag}", &etag(&x.transcript()));
    let request = format!(
        "GET /style.css HTTP/1.1\r\nHost: x\r\n{field}: {value}\r\nConnection: close\r\n\r\n"
    );
    x.send(request.as_bytes()).recv_until_close();
    snap!(name, x.transcript());
}

#[test]
fn if_none_match_gets_304() {
    conditional(
        "if_none_match_gets_304",
        "If-None-Match",
        "\"other\", {etag}",
    );
}

#[test]
fn if_modified_since_in_the_rfc_850_format_gets_304() {
    let date = "Wednesday, 01-Jan-25 00:00:00 GMT";
    conditional("if_modified_since_gets_304", "If-Modified-Since", date);
}

#[test]
fn if_match_another_tag_gets_412() {
    conditional("if_match_another_tag_gets_412", "If-Match", "\"not-it\"");
}

#[test]
fn if_range_with_an_old_tag_gets_the_whole_file() {
    let site = Fixture::new();
    note_for_replay(ROOT_NOTE);
    let srv = site.spawn();
    let t = srv.exchange(
        b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nIf-Range: \"old\"\r\nConnection: close\r\n\r\n",
    );
    assert!(
        t.contains("HTTP/1.1 200 OK") && t.contains("Content-Length: 430"),
        "{t}"
    );
    let mut x = Exchange::new(&srv);
    x.send(b"HEAD /style.css HTTP/1.1\r\nHost: x\r\n\r\n")
        .recv_head();
    let tag = etag(&x.transcript());
    let request = format!(
        "GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-9\r\nIf-Range: {tag}\r\nConnection: close\r\n\r\n"
    );
    x.send(request.as_bytes()).recv_until_close();
    let t = x.transcript();
    assert!(t.contains("HTTP/1.1 206 Partial Content"), "{t}");
}

/// Several ranges: `multipart/byteranges`, each part with its own
/// `Content-Range`, overlapping ones merged, the length announced exactly.
/// Not a snapshot: the boundary is new every time.
#[test]
fn several_ranges_come_as_multipart_byteranges() {
    let site = Fixture::new();
    let srv = site.spawn();
    let mut s = srv.connect();
    s.write_all(b"GET /style.css HTTP/1.1\r\nHost: x\r\nRange: bytes=0-4,2-9,100-104\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut got = Vec::new();
    s.read_to_end(&mut got).expect("read to the close");
    let text = String::from_utf8_lossy(&got).into_owned();
    let len = response_len(&got, false).expect("a framed response");
    assert_eq!(len, got.len(), "Content-Length is exact:\n{text}");
    let boundary = text
        .split("multipart/byteranges; boundary=")
        .nth(1)
        .and_then(|rest| rest.split("\r\n").next())
        .expect("a boundary");
    let css = fs::read(Path::new(&site.root()).join("style.css")).expect("the file");
    let part = |a: usize, b: usize| {
        format!(
            "--{boundary}\r\nContent-Type: text/css; charset=utf-8\r\nContent-Range: bytes {a}-{b}/{}\r\n\r\n{}\r\n",
            css.len(),
            String::from_utf8_lossy(&css[a..=b])
        )
    };
    let body = format!("{}{}--{boundary}--\r\n", part(0, 9), part(100, 104));
    assert!(
        text.starts_with("HTTP/1.1 206 Partial Content\r\n"),
        "{text}"
    );
    assert!(
        text.ends_with(&body),
        "two parts, 0-4 and 2-9 merged:\n{text}"
    );
}

#[test]
fn put_creates_then_if_none_match_star_refuses() {
    let site = Fixture::new();
    note_for_replay(UPLOADS_NOTE);
    let srv = site.spawn();
    let mut x = Exchange::new(&srv);
    x.send(b"PUT /files/notes.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nhello\n")
        .recv()
        .send(b"PUT /files/notes.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: *\r\nConnection: close\r\nContent-Length: 4\r\n\r\nnope")
        .recv_until_close();
    let stored = fs::read(site.uploads().join("notes.txt")).expect("the upload");
    assert_eq!(stored, b"hello\n", "written once, not replaced");
    // Served back under /files/ (its mtime is now: a weak ETag, so not
    // in the snapshot).
    let t = srv.exchange(
        b"GET /files/notes.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        t.contains("HTTP/1.1 200 OK") && t.ends_with("hello\\n\n"),
        "{t}"
    );
    snap!(
        "put_creates_then_if_none_match_star_refuses",
        x.transcript()
    );
}

#[test]
fn a_form_upload_is_stored_under_a_safe_name() {
    let site = Fixture::new();
    note_for_replay(UPLOADS_NOTE);
    let srv = site.spawn();
    let body = "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../evil.txt\"\r\n\
Content-Type: text/plain\r\n\r\nthe file\r\n--XyZ--\r\n";
    let request = format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n\
Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let t = srv.exchange(request.as_bytes());
    let stored =
        fs::read(site.uploads().join("evil.txt")).expect("stored inside the folder");
    assert_eq!(stored, b"the file");
    snap!("a_form_upload_is_stored_under_a_safe_name", t);
}

#[test]
fn an_upload_over_the_limit_is_refused_before_its_body() {
    let site = Fixture::new();
    let uploads = site.uploads().display().to_string();
    let env = [("ROOT", site.root()), ("UPLOADS", uploads)];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut env = env;
    env.push(("RAWHTTP_MAX_BODY_BYTES", "1024"));
    note_for_replay("env: RAWHTTP_MAX_BODY_BYTES=1024");
    let srv = spawn_step_quietly("step07", &env);
    let t = srv.exchange(
        b"PUT /files/big.bin HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1025\r\n\r\n",
    );
    assert!(t.contains("HTTP/1.1 413 Content Too Large"), "{t}");
    assert!(!t.contains("100 Continue"), "refused before the body:\n{t}");
}

/// A 1 GiB file goes out without the server's memory growing: its body is
/// sent from the file (`sendfile`), never read into the process. The file
/// is sparse, so making it costs no disk.
#[test]
fn a_large_file_keeps_memory_flat() {
    let site = Fixture::new();
    let big = Path::new(&site.root()).join("big.bin");
    let file = fs::File::create(&big).expect("the big file");
    file.set_len(1 << 30).expect("1 GiB, sparse");
    drop(file);
    let srv = site.spawn();
    let rss = |srv: &Server| -> u64 {
        let status =
            fs::read_to_string(format!("/proc/{}/status", srv.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            .unwrap_or(0)
    };
    let before = rss(&srv);
    let mut s = srv.connect();
    s.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("send");
    let (mut total, mut buf) = (0u64, vec![0u8; 256 * 1024]);
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n as u64,
            Err(e) => panic!("read failed after {total} bytes: {e}"),
        }
    }
    let after = rss(&srv);
    assert!(total > 1 << 30, "the whole file and its head came: {total}");
    assert!(
        after < before + 16 * 1024,
        "RSS grew from {before} kB to {after} kB while sending 1 GiB"
    );
    eprintln!("RSS {before} kB before, {after} kB after sending 1 GiB");
}

/// Small files are kept in memory after their first GET; a file that
/// changes (another length or mtime) is read again, never served stale.
#[test]
fn a_cached_file_that_changes_is_served_new() {
    let site = Fixture::new();
    let srv = site.spawn();
    let get =
        || srv.exchange(b"GET /app.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let first = get();
    assert_eq!(get(), first, "the second answer (from memory) is the same");
    fs::write(Path::new(&site.root()).join("app.js"), "// changed\n")
        .expect("edit the file");
    let third = get();
    assert!(
        third.ends_with("// changed\\n\n"),
        "the new content:\n{third}"
    );
    assert!(third.contains("Content-Length: 11\\r\\n"), "{third}");
}

/// A file's access-log line is written once its last byte is sent (by
/// `sendfile`, not through the output buffer), with the bytes of its body.
#[test]
fn the_access_log_counts_a_file_body() {
    let site = Fixture::new();
    let srv = site.spawn();
    srv.exchange(b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    srv.wait_for_log("\"GET /style.css\" 200 430B ");
    assert!(!srv.log().contains("not all sent"), "{}", srv.log());
}

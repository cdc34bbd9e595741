//! The step02 handler: answers with a report of what the parser saw (ch02).

use std::fmt::Write as _;

use crate::demo::shown;
use crate::request::{Request, TargetForm};
use crate::response::Response;
use crate::status::StatusCode;

// ANCHOR: report
/// A `200 text/plain` report of the parsed request: method, target and its
/// parts, version, every field in order (shown as sent, see
/// `demo::shown`), and the body's length. It repeats what the client sent,
/// cookies included, so no cache may keep it (`Cache-Control: no-store`,
/// RFC 9111 §5.2.2.5; ch03 says more about caching).
pub fn report(request: &Request<'_>) -> Response {
    let form = match request.form {
        TargetForm::Origin => "origin-form",
        TargetForm::Absolute => "absolute-form",
        TargetForm::Authority => "authority-form",
        TargetForm::Asterisk => "asterisk-form",
    };
    let mut text = String::new();
    // Writing to a String cannot fail; `let _` says we know.
    let _ = writeln!(text, "method:  {}", request.method);
    let _ = writeln!(text, "target:  {} ({form})", request.target);
    let _ = writeln!(text, "path:    {}", request.path());
    let _ = writeln!(text, "query:   {}", request.query().unwrap_or("(none)"));
    let _ = writeln!(text, "version: {}", request.version.as_str());
    let _ = writeln!(text, "fields:  {}", request.headers.len());
    for field in &request.headers {
        let _ = writeln!(text, "  {}: {}", field.name, shown(field.value));
    }
    let _ = writeln!(text, "body:    {} bytes", request.body.len());
    Response::text(StatusCode::OK, text).with_header("Cache-Control", "no-store")
}
// ANCHOR_END: report

//! The step02 handler: answers with a report of what the parser saw (ch02).

use std::fmt::Write as _;

use crate::request::{Request, TargetForm};
use crate::response::Response;
use crate::status::StatusCode;

// ANCHOR: report
/// A `200 text/plain` report of the parsed request: method, target and its
/// parts, version, every field in order, and the body's length.
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
        let _ = writeln!(text, "  {}: {}", field.name, field.value.escape_ascii());
    }
    let _ = writeln!(text, "body:    {} bytes", request.body.len());
    Response::text(StatusCode::OK, text)
}
// ANCHOR_END: report

//! Static files (ch08): serving what is under a root directory, and nothing
//! else.
//!
//! [`path`] turns a request path into a file under the root, or refuses it.
//! The media type comes from [`crate::mime`], directory pages from
//! [`crate::listing`]. [`site`] is the handler that puts it all together:
//! validators and conditional requests ([`crate::conditional`]), ranges
//! ([`crate::range`]), bodies sent from the file, and uploads ([`upload`],
//! [`crate::multipart`]).

pub mod cache;
pub mod path;
pub mod site;
mod upload;

pub use site::{Overlay, Site};

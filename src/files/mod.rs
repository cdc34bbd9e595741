//! Static files (ch08): serving what is under a root directory, and nothing
//! else.
//!
//! [`path`] turns a request path into a file under the root, or refuses it.
//! The media type comes from [`crate::mime`], directory pages from
//! [`crate::listing`].

pub mod path;

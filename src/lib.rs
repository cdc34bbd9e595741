//! # rawhttp: an HTTP/1.1 server from raw TCP, one step at a time
//!
//! The library grows chapter by chapter; each step binary in `steps/` wires
//! together what the chapters so far have built. Read the book (`book/`)
//! alongside.
//!
//! # Layout
//!
//! | module | chapter | what it does |
//! |---|---|---|
//! | [`server`] | 1 (5) | accept loop, a thread per connection, the connection cap (draining) |
//! | [`echo`] | 1 | the echo service |
//! | [`limits`] | 2 | every limit, with its default |
//! | [`request`] | 2 | sans-I/O request-head parser |
//! | [`error`] | 2 | why a request was rejected, and its status |
//! | [`status`], [`date`], [`response`] | 2 | writing responses |
//! | [`http1`] | 2 (4–7) | the connection core, sans-I/O: one connection's states, persistence, pipelining, deadlines |
//! | [`conn`] | 2 (4, 5) | the thread-per-connection driver that runs the core on a socket |
//! | [`inspect`] | 2 | step02's handler: a report of the parsed request |
//! | [`trace`] | 2 | the wire trace (`RAWHTTP_TRACE=1`): every read and write, on stderr |
//! | [`router`], [`demo`] | 3 | routing, and the demo application |
//! | [`shutdown`] | 5 | graceful shutdown |
//! | [`transcript`] | appendix | the snapshot transcript format, shared by the tests, the book and `compare` |
//! | [`chunked`] | 6 | the chunked transfer coding |
//! | [`files`] | 8 (step07) | static files: a request path resolved under a root, never outside it |
//! | [`mime`] | 8 | a file's `Content-Type`, from a hand-written table |
//! | [`listing`] | 8 | the HTML page listing a directory |
//! | [`conditional`], [`date`] | 8 | validators (ETag, Last-Modified) and conditional requests (304, 412) |
//! | [`range`] | 8 | byte ranges: `Range`, `Content-Range`, `multipart/byteranges` |
//! | [`multipart`] | 8 | `multipart/form-data` uploads: a streaming parser, file-name sanitizing |
//!
//! Parsing and encoding never touch a socket; only `server` and `conn` do.

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::panic))]

pub mod chunked;
pub mod conditional;
pub mod conn;
pub mod date;
pub mod demo;
pub mod echo;
pub mod error;
pub mod files;
pub mod http1;
pub mod inspect;
pub mod limits;
pub mod listing;
pub mod mime;
pub mod multipart;
pub mod range;
pub mod request;
pub mod response;
pub mod router;
pub mod server;
pub mod shutdown;
pub mod status;
pub mod trace;
pub mod transcript;

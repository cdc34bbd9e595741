//! The core alone, in-process, without sockets (filled in below).

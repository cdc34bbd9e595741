//! Bodies from files (ch08): the head goes out as any other, then each part
//! of the body, our own bytes through the output and ranges of the file by
//! the driver, which can hand them to the kernel (`sendfile`) without
//! copying them through user space.

use std::fs::File;
use std::time::Instant;

use super::{Connection, State, Want, rate_deadline};
use crate::response::{FileBody, FilePart};

/// A file body in flight: the state `Sending` holds it.
pub(super) struct Sending {
    body: Box<FileBody>,
    /// The part being sent, and how many of its bytes have gone out.
    part: usize,
    done: u64,
    /// When the current range must have been taken (set when it starts).
    deadline: Option<Option<Instant>>,
    /// The response said `Connection: close`.
    close: bool,
    /// The client said this was its last request.
    client_done: bool,
}

impl Connection {
    /// The head of a file response is queued: its body follows.
    pub(super) fn start_file(
        &mut self,
        body: Box<FileBody>,
        close: bool,
        client_done: bool,
    ) {
        self.state = State::Sending(Sending {
            body,
            part: 0,
            done: 0,
            deadline: None,
            close,
            client_done,
        });
    }

    // ANCHOR: sending
    /// While sending a file body: write what is queued, then queue our own
    /// bytes or ask the driver to send the next range of the file. `None`:
    /// the body is all sent and the state has moved on.
    pub(super) fn sending(&mut self, now: Instant) -> Option<Want> {
        if !self.out.is_empty() {
            return Some(self.write(now, false));
        }
        let State::Sending(sending) = &mut self.state else {
            return None;
        };
        while let Some(part) = sending.body.parts_list().get(sending.part) {
            match part {
                FilePart::Bytes(bytes) => {
                    self.out.extend_from_slice(bytes);
                    if let Some(log) = self.logs.last_mut() {
                        log.body_bytes = log.body_bytes.saturating_add(bytes.len());
                    }
                    sending.part += 1;
                    return Some(self.write(now, false));
                }
                FilePart::Range { len, .. } if sending.done < *len => {
                    let (limits, left) = (&self.limits, len - sending.done);
                    let left = usize::try_from(left).unwrap_or(usize::MAX);
                    let deadline = *sending.deadline.get_or_insert_with(|| {
                        rate_deadline(
                            now,
                            limits.write_timeout,
                            left,
                            limits.min_send_rate,
                        )
                    });
                    return Some(Want::SendFile { deadline });
                }
                FilePart::Range { .. } => {
                    (sending.part, sending.done, sending.deadline) =
                        (sending.part + 1, 0, None);
                }
            }
        }
        let (close, client_done) = (sending.close, sending.client_done);
        self.state = State::Idle(now);
        // The last bytes went out by the driver, not through `out` (which
        // is empty): the response's log line is due now.
        for log in self.logs.drain(..) {
            log.write(true);
        }
        if close || (self.draining)() {
            self.closing(client_done);
        }
        None
    }
    // ANCHOR_END: sending

    // ANCHOR: file_range
    /// The file, and the range of it to send next: `(file, offset, len)`.
    /// `None` unless the core asked for [`Want::SendFile`].
    pub fn file_range(&self) -> Option<(&File, u64, u64)> {
        let State::Sending(sending) = &self.state else {
            return None;
        };
        match sending.body.parts_list().get(sending.part)? {
            FilePart::Range { start, len } if sending.done < *len => {
                let offset = start.checked_add(sending.done)?;
                Some((sending.body.file(), offset, len - sending.done))
            }
            _ => None,
        }
    }

    /// `n` bytes of the range from [`Connection::file_range`] were sent.
    pub fn file_sent(&mut self, n: u64) {
        let State::Sending(sending) = &mut self.state else {
            return;
        };
        sending.done = sending.done.saturating_add(n);
        if let Some(log) = self.logs.last_mut() {
            let n = usize::try_from(n).unwrap_or(usize::MAX);
            log.body_bytes = log.body_bytes.saturating_add(n);
        }
    }
    // ANCHOR_END: file_range
}

//! The chunked transfer coding, both ways (ch06; RFC 9112 §7.1).
//!
//! ```text
//! chunked-body   = *chunk
//!                  last-chunk
//!                  trailer-section
//!                  CRLF
//!
//! chunk          = chunk-size [ chunk-ext ] CRLF
//!                  chunk-data CRLF
//! chunk-size     = 1*HEXDIG
//! last-chunk     = 1*("0") [ chunk-ext ] CRLF
//!
//! chunk-ext      = *( BWS ";" BWS chunk-ext-name
//!                     [ BWS "=" BWS chunk-ext-val ] )
//! chunk-ext-name = token
//! chunk-ext-val  = token / quoted-string
//! trailer-section = *( field-line CRLF )
//! ```
//!
//! (RFC 9112 §7.1.1, <https://www.rfc-editor.org/rfc/rfc9112#section-7.1.1>;
//! `token`, `quoted-string` and `BWS` are RFC 9110 §5.6.2, §5.6.4 and
//! §5.6.3.) Extensions are checked against that grammar and then dropped.
//!
//! [`Decoder`] is a sans-I/O state machine, one state per position in that
//! grammar (the shape of hyper's `ChunkedState`). It decodes *in place*: the
//! caller hands it the body region of its read buffer, the decoder moves
//! each chunk's data down over the framing it has already consumed, and at
//! the end `buf[..decoded]` is the body, contiguous, without a copy into a
//! second buffer. It can be fed any split of the input: every state
//! transition looks at one byte at a time (or a run of data bytes), so a
//! chunk size split across two reads is no different from one in one read.
//!
//! [`encode_chunk`] and [`LAST_CHUNK`] are the sending side.

use crate::error::ParseError;
use crate::limits::Limits;
use crate::request::{Status, is_tchar};

/// Most bytes of chunk extensions we read in one body, in all, before
/// answering 400. Extensions are parsed and dropped, so their bytes never
/// count against `max_body_bytes`: without a limit of their own, a client
/// could send endless extensions (`1;aaaa…` forever) and keep us reading
/// while nothing is ever delivered. That is the known class of
/// chunk-extension floods. hyper's `CHUNKED_EXTENSIONS_LIMIT`
/// (`src/proto/h1/decode.rs`) is also 16 KiB for the whole body, and
/// Node.js caps chunk extensions at 16 KiB too.
pub const MAX_CHUNK_EXT: usize = 16 * 1024;

/// Most hex digits in a chunk size. 16 digits hold any `u64`; a longer size
/// (even if it is all leading zeros) gets 400, so a size line cannot be
/// endless either.
pub const MAX_CHUNK_SIZE_DIGITS: usize = 16;

/// Where the decoder is in the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size (at least one seen if `digits > 0`).
    /// Then: a digit, `;`, SP/HTAB (→ `ExtBeforeSemi`) or CR.
    Size,
    /// BWS after the size or after an extension value: only more BWS or a
    /// `;` may follow (not CR: see the whitespace note in `decode`).
    ExtBeforeSemi,
    /// After a `;`: BWS, then the first tchar of a chunk-ext-name.
    ExtBeforeName,
    /// Inside a chunk-ext-name (a token). Then: a tchar, BWS, `=`, `;` or CR.
    ExtName,
    /// BWS after a name: only more BWS, `=` or `;` may follow.
    ExtAfterName,
    /// After `=`: BWS, then a token or the `"` of a quoted-string.
    ExtBeforeValue,
    /// Inside a token chunk-ext-val. Then: a tchar, BWS, `;` or CR.
    ExtValue,
    /// Inside a quoted-string value (which may contain `;`, SP, obs-text).
    ExtQuoted,
    /// After a `\` inside a quoted string: the quoted-pair's second byte.
    ExtQuotedPair,
    /// After the closing `"` of a quoted string: BWS, `;` or CR.
    ExtAfterQuoted,
    /// Seen the CR that ends the size line; need LF.
    SizeLf,
    /// Copying chunk data: `remaining` bytes to go.
    Data,
    /// After the data: need CR.
    DataCr,
    /// After the data's CR: need LF.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerStart,
    /// Inside a trailer field line.
    TrailerLine,
    /// Seen the CR that ends a trailer line; need LF.
    TrailerLf,
    /// Seen the CR of the final empty line; need LF.
    EndLf,
    /// The whole chunked body has been read.
    Done,
}

impl State {
    /// Whether the byte that led to this state belongs to a chunk extension
    /// (counted against [`MAX_CHUNK_EXT`]).
    fn in_extension(self) -> bool {
        use State::*;
        matches!(
            self,
            ExtBeforeSemi
                | ExtBeforeName
                | ExtName
                | ExtAfterName
                | ExtBeforeValue
                | ExtValue
                | ExtQuoted
                | ExtQuotedPair
                | ExtAfterQuoted
        )
    }
}

/// `qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text` (RFC 9110
/// §5.6.4): what a quoted string may hold without a backslash, i.e. anything
/// but controls, DEL, `"` and `\`.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// The byte after the `\` of a `quoted-pair = "\" ( HTAB / SP / VCHAR /
/// obs-text )` (RFC 9110 §5.6.4): anything but controls and DEL.
fn is_quoted_pair_char(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21..=0x7e | 0x80..=0xff)
}

/// An in-place, incremental decoder for one chunked body.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    /// Bytes of the encoded input consumed so far.
    read: usize,
    /// Bytes of decoded data written to the front of the buffer so far.
    written: usize,
    /// The size of the chunk being read (while in `Size`), or the data bytes
    /// left in it (while in `Data`).
    size: u64,
    /// Hex digits seen in the current size.
    digits: usize,
    /// Bytes of chunk extensions seen in this body.
    ext_len: usize,
    /// Where the current trailer line starts (in `buf`), for parsing it.
    trailer_line_start: usize,
    /// Trailer bytes and fields seen so far (limited like a head).
    trailer_bytes: usize,
    trailer_fields: usize,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

/// A decoded body's two lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of body: `buf[..body_len]` once decoding is complete.
    pub body_len: usize,
    /// Bytes of encoded input the chunked body took (what follows is the
    /// next pipelined request).
    pub encoded_len: usize,
}

impl Decoder {
    /// A decoder at the start of a chunked body.
    pub fn new() -> Decoder {
        Decoder {
            state: State::Size,
            read: 0,
            written: 0,
            size: 0,
            digits: 0,
            ext_len: 0,
            trailer_line_start: 0,
            trailer_bytes: 0,
            trailer_fields: 0,
        }
    }

    /// Decoded bytes so far (the front of the buffer).
    pub fn decoded_len(&self) -> usize {
        self.written
    }

    /// Move the input not yet decoded down to just after the decoded data,
    /// so the buffer never holds framing that has been consumed: with many
    /// tiny chunks the encoded body can be several times the decoded one.
    /// `len` is how much of `buf` holds data; returns the new length. Call
    /// between [`Decoder::decode`] calls, never in the middle of one.
    pub fn compact(&mut self, buf: &mut [u8], len: usize) -> usize {
        let keep_from = match self.state {
            // A trailer line is checked when its CRLF arrives: keep it whole.
            State::TrailerLine | State::TrailerLf => self.trailer_line_start,
            _ => self.read,
        };
        let shift = keep_from - self.written;
        if shift == 0 {
            return len;
        }
        buf.copy_within(keep_from..len, self.written);
        self.read -= shift;
        self.trailer_line_start = self.trailer_line_start.saturating_sub(shift);
        len - shift
    }

    // ANCHOR: decode
    /// Decode as much of `buf` as has arrived. `buf` is the body region of
    /// the read buffer, from the first byte after the head to the end of the
    /// data read so far; call again with the same start and a longer `buf`
    /// after each read. Decoded data is moved to the front of `buf`.
    ///
    /// Returns `Partial` until the final CRLF after the trailers. Errors:
    /// a malformed chunk line (including an extension that does not follow
    /// the chunk-ext grammar, or whitespace anywhere but before `;` and
    /// around `=`), a size of more than 16 digits, more than
    /// [`MAX_CHUNK_EXT`] bytes of extensions, or a missing CRLF → 400
    /// (`BadChunk`); a body over `max_body_bytes` → 413
    /// (`BodyTooLarge`), decided from the size line, before the data;
    /// trailers over the head limits → 431.
    pub fn decode(
        &mut self,
        buf: &mut [u8],
        limits: &Limits,
    ) -> Result<Status<Decoded>, ParseError> {
        while self.state != State::Done && self.read < buf.len() {
            if self.state == State::Data {
                self.copy_data(buf);
                continue;
            }
            let b = buf[self.read];
            self.read += 1;
            let next = self.step(b, buf, limits)?;
            if next.in_extension() {
                // Every byte from the first `;` or BWS up to the CR counts.
                self.ext_len += 1;
                if self.ext_len > MAX_CHUNK_EXT {
                    return Err(ParseError::BadChunk);
                }
            }
            self.state = next;
        }
        if self.state != State::Done {
            return Ok(Status::Partial);
        }
        Ok(Status::Complete(Decoded {
            body_len: self.written,
            encoded_len: self.read,
        }))
    }

    /// Move a run of data bytes down over the framing already read.
    fn copy_data(&mut self, buf: &mut [u8]) {
        let available = buf.len() - self.read;
        let n = usize::try_from(self.size).map_or(available, |s| s.min(available));
        buf.copy_within(self.read..self.read + n, self.written);
        self.read += n;
        self.written += n;
        self.size -= n as u64;
        if self.size == 0 {
            self.state = State::DataCr;
        }
    }
    // ANCHOR_END: decode

    // ANCHOR: step
    /// The state after byte `b` of framing (`buf` holds what was read so
    /// far, for checking a trailer line). Every transition but those inside
    /// an extension is here; [`extension`] has those.
    fn step(&mut self, b: u8, buf: &[u8], limits: &Limits) -> Result<State, ParseError> {
        use State::*;
        Ok(match (self.state, b) {
            (Size, b) if b.is_ascii_hexdigit() => self.size_digit(b)?,
            (Size, _) if self.digits == 0 => return Err(ParseError::BadChunk),
            // The line ends after the size or after a complete extension;
            // never after `;`, `=` or BWS, or inside a quoted string.
            (Size | ExtName | ExtValue | ExtAfterQuoted, b'\r') => SizeLf,
            (SizeLf, b'\n') => self.size_line_end(limits)?,
            (DataCr, b'\r') => DataLf,
            (DataLf, b'\n') => Size,
            (TrailerStart, b'\r') => EndLf,
            (EndLf, b'\n') => Done,
            (TrailerStart | TrailerLine, b) if b != b'\r' && b != b'\n' => {
                self.trailer_bytes += 1;
                if self.trailer_bytes > limits.max_head_bytes {
                    return Err(ParseError::HeadTooLarge);
                }
                TrailerLine
            }
            (TrailerLine, b'\r') => TrailerLf,
            (TrailerLf, b'\n') => self.trailer_field(buf, limits)?,
            // Anything else is 400, unless the extension grammar has a place
            // for it: a bare LF, a CR not followed by LF, data longer than
            // its size, a non-hex size. Bare LF is rejected in chunk lines
            // for the same reason as in the head (RFC 9112 §2.2).
            (state, b) => extension(state, b).ok_or(ParseError::BadChunk)?,
        })
    }
    // ANCHOR_END: step

    // ANCHOR: size_line
    /// One more hex digit of the chunk size.
    fn size_digit(&mut self, b: u8) -> Result<State, ParseError> {
        self.digits += 1;
        if self.digits > MAX_CHUNK_SIZE_DIGITS {
            return Err(ParseError::BadChunk);
        }
        // RFC 9112 §7.1: "Recipients MUST anticipate potentially large
        // hexadecimal numerals and prevent parsing errors due to integer
        // conversion overflows".
        let digit = u64::from((b as char).to_digit(16).unwrap_or(0));
        self.size = self
            .size
            .checked_mul(16)
            .and_then(|s| s.checked_add(digit))
            .ok_or(ParseError::BadChunk)?;
        Ok(State::Size)
    }

    /// The size line is complete: data follows, or (size 0) the trailers.
    /// A size that takes the body past the limit is refused here, before
    /// its data is read.
    fn size_line_end(&mut self, limits: &Limits) -> Result<State, ParseError> {
        let total = (self.written as u64).saturating_add(self.size);
        if total > limits.max_body_bytes as u64 {
            return Err(ParseError::BodyTooLarge);
        }
        self.digits = 0;
        if self.size > 0 {
            return Ok(State::Data);
        }
        self.trailer_line_start = self.read;
        Ok(State::TrailerStart)
    }
    // ANCHOR_END: size_line

    // ANCHOR: trailer_field
    /// A trailer field line is complete. It follows the same rules as a
    /// header field (RFC 9112 §7.1.2); we check it, count it, and drop it:
    /// no handler here needs trailers.
    fn trailer_field(
        &mut self,
        buf: &[u8],
        limits: &Limits,
    ) -> Result<State, ParseError> {
        let line = &buf[self.trailer_line_start..self.read - 2];
        crate::request::check_field_line(line)?;
        self.trailer_fields += 1;
        if self.trailer_fields > limits.max_headers {
            return Err(ParseError::TooManyHeaders);
        }
        self.trailer_line_start = self.read;
        Ok(State::TrailerStart)
    }
    // ANCHOR_END: trailer_field
}

// ANCHOR: extension
/// The state after byte `b` in a chunk size line's extensions, or `None`
/// if the grammar has no place for it:
///
/// ```text
/// chunk-ext      = *( BWS ";" BWS chunk-ext-name
///                     [ BWS "=" BWS chunk-ext-val ] )
/// chunk-ext-name = token
/// chunk-ext-val  = token / quoted-string
/// quoted-string  = DQUOTE *( qdtext / quoted-pair ) DQUOTE
/// ```
///
/// Whitespace is allowed only where the grammar has BWS: before a `;` and
/// around `=`. So `1 0` (which a parser that strips spaces reads as 0x10)
/// and `5 garbage` are 400, not a size of 1 or 5. Whitespace right before
/// the CRLF (`5 \r\n`, `5;a=b \r\n`) is not in the grammar either, and is
/// 400 too. hyper and h11 accept it; refusing is allowed (it is invalid
/// syntax), and keeps the one rule "whitespace only before `;` and around
/// `=`" free of exceptions. Also refused: a control byte, a non-tchar in a
/// name or token value, a second value after whitespace, an empty name or
/// value.
fn extension(state: State, b: u8) -> Option<State> {
    use State::*;
    Some(match (state, b) {
        (Size | ExtBeforeSemi | ExtValue | ExtAfterQuoted, b' ' | b'\t') => ExtBeforeSemi,
        (
            Size | ExtBeforeSemi | ExtName | ExtAfterName | ExtValue | ExtAfterQuoted,
            b';',
        ) => ExtBeforeName,
        (ExtBeforeName, b' ' | b'\t') => ExtBeforeName,
        (ExtBeforeName | ExtName, b) if is_tchar(b) => ExtName,
        (ExtName | ExtAfterName, b' ' | b'\t') => ExtAfterName,
        (ExtName | ExtAfterName, b'=') => ExtBeforeValue,
        (ExtBeforeValue, b' ' | b'\t') => ExtBeforeValue,
        (ExtBeforeValue | ExtValue, b) if is_tchar(b) => ExtValue,
        (ExtBeforeValue, b'"') => ExtQuoted,
        (ExtQuoted, b'"') => ExtAfterQuoted,
        (ExtQuoted, b'\\') => ExtQuotedPair,
        (ExtQuoted, b) if is_qdtext(b) => ExtQuoted,
        (ExtQuotedPair, b) if is_quoted_pair_char(b) => ExtQuoted,
        _ => return None,
    })
}
// ANCHOR_END: extension

/// The last chunk and an empty trailer section: ends a chunked message.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

// ANCHOR: encode_chunk
/// Append one chunk carrying `data` to `out`: size in hex, CRLF, data, CRLF.
/// An empty `data` would be the last chunk, so it appends nothing.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut n = data.len();
    let mut i = digits.len();
    while n > 0 {
        i -= 1;
        digits[i] = HEX[n % 16];
        n /= 16;
    }
    out.extend_from_slice(&digits[i..]);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}
// ANCHOR_END: encode_chunk

#[cfg(test)]
mod tests {
    use super::*;
    use ParseError::*;

    /// Decode `input` in one call; on success the body and the encoded length.
    fn decode_all(input: &[u8]) -> Result<Status<(Vec<u8>, usize)>, ParseError> {
        let mut buf = input.to_vec();
        let mut d = Decoder::new();
        Ok(d.decode(&mut buf, &Limits::default())?
            .map(|done| (buf[..done.body_len].to_vec(), done.encoded_len)))
    }

    const VALID: &[(&str, &[u8], &[u8])] = &[
        ("one_chunk", b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
        (
            "two_chunks",
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
            b"hello world",
        ),
        ("empty_body", b"0\r\n\r\n", b""),
        (
            "uppercase_hex",
            b"A\r\n0123456789\r\n0\r\n\r\n",
            b"0123456789",
        ),
        ("leading_zeros", b"0005\r\nhello\r\n000\r\n\r\n", b"hello"),
        (
            "extension",
            b"5;name=value\r\nhello\r\n0;last\r\n\r\n",
            b"hello",
        ),
        ("extension_bws", b"5 ; a=b\r\nhello\r\n0\r\n\r\n", b"hello"),
        (
            "quoted_extension",
            b"5;a=\"x;\\\"y\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        ("ext_token_value", b"5;a=b\r\nhello\r\n0\r\n\r\n", b"hello"),
        ("ext_name_only", b"5;a\r\nhello\r\n0\r\n\r\n", b"hello"),
        ("ext_several", b"5;a;b=c\r\nhello\r\n0\r\n\r\n", b"hello"),
        (
            "ext_bws_everywhere_quoted",
            b"5 ; a = \"x\\\"y\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_tab_bws",
            b"5\t;\ta\t=\tb\t;\tc\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_bws_before_next_semicolon",
            b"5;a=b ;c ;d=\"e\" ;f\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_quoted_empty",
            b"5;a=\"\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_quoted_sp_semicolon_obs_text",
            b"5;a=\"x ;\ty\xff\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_quoted_pairs",
            b"5;a=\"\\\\\\ \\\t\\\xfe\\a\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_all_tchars",
            b"5;!#$%&'*+-.^_`|~09AZaz=!#$%&'*+-.^_`|~09AZaz\r\nhello\r\n0\r\n\r\n",
            b"hello",
        ),
        (
            "ext_on_last_chunk",
            b"5\r\nhello\r\n0 ; a=\"b\";c\r\n\r\n",
            b"hello",
        ),
        (
            "trailers",
            b"5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-Other: a b\r\n\r\n",
            b"hello",
        ),
        (
            "data_with_crlf_inside",
            b"4\r\na\r\nb\r\n0\r\n\r\n",
            b"a\r\nb",
        ),
        (
            "binary_data",
            b"3\r\n\x00\xff\r\r\n0\r\n\r\n",
            b"\x00\xff\r",
        ),
    ];

    #[test]
    fn valid_bodies_whole_and_at_every_split() {
        for &(name, input, body) in VALID {
            assert_eq!(
                decode_all(input),
                Ok(Status::Complete((body.to_vec(), input.len()))),
                "{name}"
            );
            // Every split point into two reads gives the same result.
            for cut in 0..=input.len() {
                let mut buf = input.to_vec();
                let mut d = Decoder::new();
                let first = d.decode(&mut buf[..cut], &Limits::default());
                assert!(
                    matches!(first, Ok(Status::Partial)) || cut == input.len(),
                    "{name} @ {cut}: {first:?}"
                );
                let done = d.decode(&mut buf, &Limits::default());
                let got =
                    done.map(|s| s.map(|d| (buf[..d.body_len].to_vec(), d.encoded_len)));
                assert_eq!(
                    got,
                    Ok(Status::Complete((body.to_vec(), input.len()))),
                    "{name} @ {cut}"
                );
            }
            // Byte by byte, too (the slowest client possible).
            let mut buf = input.to_vec();
            let mut d = Decoder::new();
            for end in 1..input.len() {
                assert_eq!(
                    d.decode(&mut buf[..end], &Limits::default()),
                    Ok(Status::Partial),
                    "{name} byte {end}"
                );
            }
            // What follows the body (the next pipelined request) is not consumed.
            let mut more = input.to_vec();
            more.extend_from_slice(b"GET / HTTP/1.1\r\n");
            assert_eq!(
                decode_all(&more),
                Ok(Status::Complete((body.to_vec(), input.len()))),
                "{name} + next"
            );
        }
    }

    const INVALID: &[(&str, &[u8], ParseError)] = &[
        ("no_size", b"\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("not_hex", b"5g\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("negative", b"-5\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("hex_prefix", b"0x5\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("bare_lf_after_size", b"5\nhello\r\n0\r\n\r\n", BadChunk),
        ("bare_lf_after_data", b"5\r\nhello\n0\r\n\r\n", BadChunk),
        ("bare_cr_after_size", b"5\rhello\r\n0\r\n\r\n", BadChunk),
        (
            "data_longer_than_size",
            b"3\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("missing_final_lf", b"5\r\nhello\r\n0\r\n\rX", BadChunk),
        (
            "ctl_in_extension",
            b"5;a\x01\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("bad_trailer", b"0\r\nX : y\r\n\r\n", BadHeader),
        ("obs_fold_trailer", b"0\r\nX: y\r\n z\r\n\r\n", ObsFold),
        (
            "size_17_digits",
            b"f0000000000000003\r\nabc\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "size_17_zeros",
            b"00000000000000005\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("size_over_body_limit", b"100001\r\n", BodyTooLarge),
        // Chunk extensions (RFC 9112 §7.1.1). Whitespace after the size
        // must lead to `;`: `1 0` is not 0x10 and `5 garbage` is not 5.
        (
            "size_then_garbage",
            b"5 garbage\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "size_space_digit",
            b"1 0\r\n0123456789abcdef\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("size_tab_digit", b"1\t0\r\na\r\n0\r\n\r\n", BadChunk),
        ("space_before_size", b" 5\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("last_chunk_then_garbage", b"0 x\r\n\r\n", BadChunk),
        // BWS is only before `;` and around `=`, never before the CRLF.
        ("size_trailing_bws", b"5 \r\nhello\r\n0\r\n\r\n", BadChunk),
        ("name_trailing_bws", b"5;a \r\nhello\r\n0\r\n\r\n", BadChunk),
        (
            "value_trailing_bws",
            b"5;a=b\t\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "quoted_trailing_bws",
            b"5;a=\"b\" \r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        // Names and values are tokens (or, for values, quoted strings).
        ("semicolon_no_name", b"5;\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("two_semicolons", b"5;;a\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("equals_no_name", b"5;=x\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("equals_no_value", b"5;a=\r\nhello\r\n0\r\n\r\n", BadChunk),
        (
            "equals_bws_no_value",
            b"5;a= \r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("double_equals", b"5;a==b\r\nhello\r\n0\r\n\r\n", BadChunk),
        (
            "value_two_tokens",
            b"5;a=b c\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("name_two_tokens", b"5;a b\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("name_not_tchar", b"5;a@=b\r\nhello\r\n0\r\n\r\n", BadChunk),
        (
            "value_not_tchar",
            b"5;a=b,c\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "obs_text_in_name",
            b"5;\xff\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "obs_text_in_token",
            b"5;a=\xff\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "quote_inside_token",
            b"5;a=b\"c\"\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "token_after_quoted",
            b"5;a=\"x\"y\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "quoted_unterminated",
            b"5;a=\"unterminated\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "quoted_backslash_cr",
            b"5;a=\"\\\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "quoted_bare_lf",
            b"5;a=\"x\ny\"\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        // Control bytes, anywhere in an extension.
        (
            "ctl_in_quoted",
            b"5;a=\"x\x01\"\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "del_in_quoted",
            b"5;a=\"\x7f\"\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        (
            "nul_after_backslash",
            b"5;a=\"\\\x00\"\r\nhello\r\n0\r\n\r\n",
            BadChunk,
        ),
        ("ctl_in_value", b"5;a=b\x00\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("ctl_as_bws", b"5\x0b;a\r\nhello\r\n0\r\n\r\n", BadChunk),
        ("bare_lf_after_ext", b"5;a=b\nhello\r\n0\r\n\r\n", BadChunk),
    ];

    #[test]
    fn invalid_bodies_whole_and_byte_by_byte() {
        for &(name, input, want) in INVALID {
            assert_eq!(decode_all(input), Err(want), "{name}");
            // Fed one byte more per call, the decoder says `Partial` until
            // the offending byte arrives, then gives the same error: it
            // never completes a body, whatever the split.
            let mut buf = input.to_vec();
            let mut d = Decoder::new();
            let got = (1..=input.len())
                .map(|end| d.decode(&mut buf[..end], &Limits::default()))
                .find(|r| !matches!(r, Ok(Status::Partial)));
            assert_eq!(got, Some(Err(want)), "{name} byte by byte");
        }
    }

    #[test]
    fn body_limit_at_n_and_n_plus_1() {
        let limits = Limits {
            max_body_bytes: 10,
            ..Limits::default()
        };
        let mut at = b"6\r\nhello \r\n4\r\nworl\r\n0\r\n\r\n".to_vec();
        let got = Decoder::new()
            .decode(&mut at, &limits)
            .map(|s| s.map(|d| d.body_len));
        assert_eq!(got, Ok(Status::Complete(10)));
        let mut over = b"6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n".to_vec();
        assert_eq!(Decoder::new().decode(&mut over, &limits), Err(BodyTooLarge));
    }

    #[test]
    fn extension_limit_at_n_and_n_plus_1() {
        let line = |n: usize| {
            let mut v = b"1;".to_vec();
            v.extend(std::iter::repeat_n(b'x', n - 1));
            v.extend_from_slice(b"\r\na\r\n0\r\n\r\n");
            v
        };
        assert!(matches!(
            decode_all(&line(MAX_CHUNK_EXT)),
            Ok(Status::Complete(_))
        ));
        assert_eq!(decode_all(&line(MAX_CHUNK_EXT + 1)), Err(BadChunk));
        // BWS and a quoted string count too: `1 ;a="xx…x"` is 6 + k bytes.
        let quoted = |n: usize| {
            let mut v = b"1 ;a=\"".to_vec();
            v.extend(std::iter::repeat_n(b'x', n - 6));
            v.extend_from_slice(b"\"\r\na\r\n0\r\n\r\n");
            v
        };
        assert!(matches!(
            decode_all(&quoted(MAX_CHUNK_EXT)),
            Ok(Status::Complete(_))
        ));
        assert_eq!(decode_all(&quoted(MAX_CHUNK_EXT + 1)), Err(BadChunk));
        // The limit is for the whole body, not per chunk.
        let mut two = Vec::new();
        for _ in 0..2 {
            two.extend_from_slice(b"1;");
            two.extend(std::iter::repeat_n(b'x', MAX_CHUNK_EXT / 2));
            two.extend_from_slice(b"\r\na\r\n");
        }
        two.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(decode_all(&two), Err(BadChunk));
    }

    #[test]
    fn trailer_limits() {
        let limits = Limits {
            max_headers: 2,
            ..Limits::default()
        };
        let mut two = b"0\r\nA: 1\r\nB: 2\r\n\r\n".to_vec();
        assert!(matches!(
            Decoder::new().decode(&mut two, &limits),
            Ok(Status::Complete(_))
        ));
        let mut three = b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n".to_vec();
        assert_eq!(
            Decoder::new().decode(&mut three, &limits),
            Err(TooManyHeaders)
        );
        let small = Limits {
            max_head_bytes: 8,
            ..Limits::default()
        };
        let mut big = b"0\r\nA: 123456\r\n\r\n".to_vec();
        assert_eq!(Decoder::new().decode(&mut big, &small), Err(HeadTooLarge));
    }

    #[test]
    fn compacting_between_reads_keeps_memory_to_the_decoded_body() {
        let input = b"1;ext\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\nX-T: 1\r\n\r\n";
        for step in 1..input.len() {
            let mut buf = vec![0u8; input.len()];
            let mut len = 0;
            let mut d = Decoder::new();
            let mut fed = 0;
            let done = loop {
                let n = step.min(input.len() - fed);
                buf[len..len + n].copy_from_slice(&input[fed..fed + n]);
                len += n;
                fed += n;
                match d.decode(&mut buf[..len], &Limits::default()) {
                    Ok(Status::Complete(done)) => break done,
                    Ok(Status::Partial) => len = d.compact(&mut buf, len),
                    Err(e) => panic!("step {step}: {e:?}"),
                }
                assert!(
                    len <= d.decoded_len() + 8 + step,
                    "step {step}: {len} bytes held"
                );
            };
            assert_eq!(&buf[..done.body_len], b"abc", "step {step}");
        }
    }

    #[test]
    fn encoding_round_trips() {
        let mut out = Vec::new();
        encode_chunk(&mut out, b"hello");
        encode_chunk(&mut out, b"");
        encode_chunk(&mut out, &[b'x'; 300]);
        out.extend_from_slice(LAST_CHUNK);
        assert!(out.starts_with(b"5\r\nhello\r\n12c\r\n"));
        let mut expected = b"hello".to_vec();
        expected.extend_from_slice(&[b'x'; 300]);
        assert_eq!(
            decode_all(&out),
            Ok(Status::Complete((expected, out.len())))
        );
    }
}

//! The binary `COPY` format, read incrementally: a signature header, then one tuple after
//! another (a field count, then each field as a length and its bytes, -1 for NULL), then a
//! trailer of -1.
//!
//! The server sends each tuple in a `CopyData` message of its own, so a chunk normally holds
//! whole tuples and is parsed in place, without copying; a tuple split across chunks (the
//! protocol allows it) is reassembled in a small buffer.

use std::ops::Range;

/// `PGCOPY\n\377\r\n\0`: the first bytes of every binary COPY stream.
const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// An incremental parser of one binary COPY stream.
#[derive(Debug, Default)]
pub(super) struct CopyParser {
    /// The start of a tuple that the last chunk did not complete.
    pending: Vec<u8>,
    header_read: bool,
    finished: bool,
    /// Where each field of the current tuple lies (reused for every tuple).
    fields: Vec<Option<Range<usize>>>,
}

impl CopyParser {
    /// Reads the tuples `chunk` completes, calling `on_tuple` with the bytes and the field
    /// ranges of each. A malformed stream is an error made by `malformed`.
    pub(super) fn feed<E>(
        &mut self,
        chunk: &[u8],
        on_tuple: &mut impl FnMut(&[u8], &[Option<Range<usize>>]) -> Result<(), E>,
        malformed: impl Fn(String) -> E,
    ) -> Result<(), E> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, on_tuple).map_err(|e| e.into_error(&malformed))?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            let mut buffer = std::mem::take(&mut self.pending);
            buffer.extend_from_slice(chunk);
            let used = self.parse(&buffer, on_tuple).map_err(|e| e.into_error(&malformed))?;
            buffer.drain(..used);
            self.pending = buffer;
        }
        Ok(())
    }

    /// Checks that the stream ended after its trailer, with nothing left over.
    pub(super) fn finish(&self) -> Result<(), String> {
        if !self.finished {
            return Err("the binary COPY stream ended before its trailer".into());
        }
        if !self.pending.is_empty() {
            return Err(format!("the binary COPY stream has {} bytes after its trailer", self.pending.len()));
        }
        Ok(())
    }

    /// Parses whole tuples from the start of `buffer`; returns how many bytes they took.
    fn parse<E>(
        &mut self,
        buffer: &[u8],
        on_tuple: &mut impl FnMut(&[u8], &[Option<Range<usize>>]) -> Result<(), E>,
    ) -> Result<usize, ParseError<E>> {
        let mut at = 0;
        if !self.header_read {
            // Signature, flags, header extension length, extension.
            let Some(extension) = read_i32(buffer, 15) else { return Ok(0) };
            if &buffer[..11] != SIGNATURE {
                return Err(ParseError::Format("the COPY stream does not start with the binary signature".into()));
            }
            let extension = usize::try_from(extension)
                .map_err(|_| ParseError::Format(format!("binary COPY header extension of length {extension}")))?;
            if buffer.len() < 19 + extension {
                return Ok(0);
            }
            at = 19 + extension;
            self.header_read = true;
        }
        loop {
            if self.finished {
                return if at == buffer.len() {
                    Ok(at)
                } else {
                    Err(ParseError::Format("the binary COPY stream continues after its trailer".into()))
                };
            }
            let Some(count) = read_i16(buffer, at) else { return Ok(at) };
            if count == -1 {
                self.finished = true;
                at += 2;
                continue;
            }
            let count = usize::try_from(count)
                .map_err(|_| ParseError::Format(format!("binary COPY tuple with {count} fields")))?;
            let mut position = at + 2;
            self.fields.clear();
            for _ in 0..count {
                let Some(length) = read_i32(buffer, position) else { return Ok(at) };
                position += 4;
                if length < 0 {
                    self.fields.push(None);
                    continue;
                }
                let end = position + length as usize;
                if end > buffer.len() {
                    return Ok(at);
                }
                self.fields.push(Some(position..end));
                position = end;
            }
            on_tuple(buffer, &self.fields).map_err(ParseError::Tuple)?;
            at = position;
        }
    }
}

/// Why parsing stopped: a broken stream, or the tuple handler's own error.
enum ParseError<E> {
    Format(String),
    Tuple(E),
}

impl<E> ParseError<E> {
    fn into_error(self, malformed: &impl Fn(String) -> E) -> E {
        match self {
            ParseError::Format(reason) => malformed(reason),
            ParseError::Tuple(error) => error,
        }
    }
}

fn read_i16(buffer: &[u8], at: usize) -> Option<i16> {
    let bytes = buffer.get(at..at + 2)?;
    Some(i16::from_be_bytes([bytes[0], bytes[1]]))
}

fn read_i32(buffer: &[u8], at: usize) -> Option<i32> {
    let bytes = buffer.get(at..at + 4)?;
    Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary COPY stream of `rows` (`None` fields are NULL).
    fn stream(rows: &[Vec<Option<&[u8]>>]) -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend(0i32.to_be_bytes());
        out.extend(0i32.to_be_bytes());
        for row in rows {
            out.extend((row.len() as i16).to_be_bytes());
            for field in row {
                match field {
                    Some(bytes) => {
                        out.extend((bytes.len() as i32).to_be_bytes());
                        out.extend(*bytes);
                    }
                    None => out.extend((-1i32).to_be_bytes()),
                }
            }
        }
        out.extend((-1i16).to_be_bytes());
        out
    }

    fn parse_in_chunks(data: &[u8], chunk: usize) -> Result<Vec<Vec<Option<Vec<u8>>>>, String> {
        let mut parser = CopyParser::default();
        let mut rows = Vec::new();
        for piece in data.chunks(chunk) {
            parser.feed(
                piece,
                &mut |buffer: &[u8], fields: &[Option<Range<usize>>]| -> Result<(), String> {
                    rows.push(fields.iter().map(|f| f.clone().map(|r| buffer[r].to_vec())).collect());
                    Ok(())
                },
                |reason| reason,
            )?;
        }
        parser.finish()?;
        Ok(rows)
    }

    #[test]
    fn tuples_split_anywhere_are_reassembled() {
        let data = stream(&[vec![Some(b"abc"), None], vec![Some(b""), Some(b"xyz")]]);
        let expected = vec![vec![Some(b"abc".to_vec()), None], vec![Some(Vec::new()), Some(b"xyz".to_vec())]];
        for chunk in 1..=data.len() {
            assert_eq!(parse_in_chunks(&data, chunk).unwrap(), expected, "chunks of {chunk} bytes");
        }
    }

    #[test]
    fn a_truncated_stream_is_an_error() {
        let data = stream(&[vec![Some(b"abc")]]);
        let err = parse_in_chunks(&data[..data.len() - 2], 7).unwrap_err();
        assert!(err.contains("before its trailer"), "{err}");
        let mut wrong = data.clone();
        wrong[0] = b'X';
        assert!(parse_in_chunks(&wrong, 64).is_err());
    }
}

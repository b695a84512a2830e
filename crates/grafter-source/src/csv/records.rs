//! Reading a CSV file record by record with exact positions: [`Records`].
//!
//! The `csv` crate only reports where its parser stood before skipping the line ends that
//! precede a record, so the reader keeps the bytes the parser has consumed (a [`Window`] of
//! them, filled by [`Tee`]) and finds the record's first byte itself; the same window gives
//! a malformed record's raw text.
//!
//! The crate also ends a quoted field silently at the end of the file when its closing
//! quote never comes. A record that reaches the end of the file is therefore looked at once
//! more ([`unclosed_quote`], the parser's own states): when a quoted field is still open, the
//! record is marked [`Unterminated`], its raw text ends with the line the quote opened on, and
//! the next [`Records::next`] starts a new parser on the line after that one.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::{CsvOptions, Header};
use crate::SourceError;
use crate::files::{Resume, data_error, io_error, open_at};

/// Bytes below this many that the parser has finished with are kept rather than dropped:
/// dropping moves the parser's read-ahead to the front, so it is done rarely.
const KEEP_UP_TO: usize = 1 << 20;

/// The bytes the CSV parser has read and the reader may still need: from (at most
/// [`KEEP_UP_TO`] before) the start of the current record to the end of the read-ahead.
#[derive(Debug, Default)]
struct Window {
    bytes: Vec<u8>,
    /// Stream offset of `bytes[0]`.
    start: u64,
}

impl Window {
    /// The bytes between two stream offsets (empty if the window does not hold them, which
    /// cannot happen while [`Records`] drops only bytes before the current record).
    fn slice(&self, from: u64, to: u64) -> &[u8] {
        let index = |at: u64| usize::try_from(at.saturating_sub(self.start)).unwrap_or(usize::MAX);
        self.bytes.get(index(from)..index(to)).unwrap_or(&[])
    }
}

/// The file as the parser reads it, copying what it reads into the shared [`Window`].
struct Tee {
    file: File,
    window: Rc<RefCell<Window>>,
}

impl io::Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        self.window.borrow_mut().bytes.extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

/// A CSV file read record by record, knowing each record's line and the offset after it.
///
/// The parser reads a "stream": the file from `base` on. Offsets in the stream plus `base`
/// are file offsets; the parser counts lines from 1 at the stream's start, which is line
/// `base_line` of the file.
pub(super) struct Records {
    path: PathBuf,
    options: CsvOptions,
    reader: csv::Reader<Tee>,
    window: Rc<RefCell<Window>>,
    /// The current record.
    pub(super) record: csv::ByteRecord,
    /// Line the current record starts on.
    pub(super) line: u64,
    /// Stream offset of the current record's first byte.
    raw_start: u64,
    pub(super) base: u64,
    base_line: u64,
    /// The file's length when it was opened: a record ending there may have ended inside
    /// a quoted field.
    file_len: u64,
    /// Set when the current record holds a quoted field the file never closes.
    pub(super) unterminated: Option<Unterminated>,
}

/// A record whose quoted field is still open at the end of the file: it ends with the line
/// the field opened on, and reading restarts after that line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Unterminated {
    /// Line of the opening quote.
    pub(super) quote_line: u64,
    /// Stream offset where the record's raw text ends (before the line end).
    raw_end: u64,
    /// File offset of the line after the opening quote's line, and that line's number.
    restart: u64,
    restart_line: u64,
}

/// The UTF-8 byte order mark some tools write at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

impl Records {
    /// Reads `path` from its start, stepping over a UTF-8 byte order mark.
    pub(super) fn open_start(path: &Path, options: &CsvOptions) -> Result<Records, SourceError> {
        let mut file = File::open(path).map_err(|e| io_error(path, e))?;
        let mut head = Vec::with_capacity(BOM.len());
        (&mut file).take(BOM.len() as u64).read_to_end(&mut head).map_err(|e| io_error(path, e))?;
        let base = if head == BOM { BOM.len() as u64 } else { 0 };
        file.seek(SeekFrom::Start(base)).map_err(|e| io_error(path, e))?;
        Records::new(path, options, file, base, 1)
    }

    /// Reads `path`'s data records: from the first one, or from a resume cursor's offset.
    pub(super) fn open_data(
        path: &Path,
        options: &CsvOptions,
        header: &Header,
        resume: Resume,
    ) -> Result<Records, SourceError> {
        match resume {
            // An offset inside the header (a cursor taken before any record) means the start.
            Resume::Seek { offset, .. } if offset > header.data_start => {
                let (file, line) = open_at(path, offset)?;
                Records::new(path, options, file, offset, line)
            }
            _ => {
                let mut file = File::open(path).map_err(|e| io_error(path, e))?;
                file.seek(SeekFrom::Start(header.data_start)).map_err(|e| io_error(path, e))?;
                Records::new(path, options, file, header.data_start, header.data_line)
            }
        }
    }

    fn new(path: &Path, options: &CsvOptions, file: File, base: u64, base_line: u64) -> Result<Records, SourceError> {
        let file_len = file.metadata().map_err(|e| io_error(path, e))?.len();
        let window = Rc::new(RefCell::new(Window::default()));
        let reader = csv::ReaderBuilder::new()
            // The header is read as an ordinary record (see Header::read), and records of the
            // wrong length are reported by the scan rather than refused by the parser.
            .has_headers(false)
            .flexible(true)
            .delimiter(options.delimiter)
            .quote(options.quote)
            .buffer_capacity(64 * 1024)
            .from_reader(Tee { file, window: window.clone() });
        Ok(Records {
            path: path.to_path_buf(),
            options: options.clone(),
            reader,
            window,
            record: csv::ByteRecord::new(),
            line: base_line,
            raw_start: 0,
            base,
            base_line,
            file_len,
            unterminated: None,
        })
    }

    /// Reads the next record into `self.record`; false at the end of the file.
    pub(super) fn next(&mut self) -> Result<bool, SourceError> {
        if let Some(open) = self.unterminated.take() {
            // The parser went to the end of the file inside the quoted field: start a new
            // one on the line after the line the field opened on.
            let (file, _) = open_at(&self.path, open.restart)?;
            *self = Records::new(&self.path, &self.options, file, open.restart, open.restart_line)?;
        }
        let before = self.reader.position().clone();
        {
            let window = &mut *self.window.borrow_mut();
            let done = usize::try_from(before.byte() - window.start).unwrap_or(usize::MAX);
            if done >= KEEP_UP_TO {
                window.bytes.drain(..done.min(window.bytes.len()));
                window.start = before.byte();
            }
        }
        if !self.reader.read_byte_record(&mut self.record).map_err(|e| self.csv_error(e))? {
            return Ok(false);
        }
        // The parser skips line ends (blank lines, the LF of a CRLF) before a record but
        // reports its position before them; the record starts after them.
        let window = self.window.borrow();
        let text = window.slice(before.byte(), self.reader.position().byte());
        let lead = text.iter().take_while(|&&b| b == b'\n' || b == b'\r').count();
        let newlines = text[..lead].iter().filter(|&&b| b == b'\n').count() as u64;
        self.line = self.base_line - 1 + before.line() + newlines;
        self.raw_start = before.byte() + lead as u64;
        let end = self.reader.position().byte();
        if self.base + end >= self.file_len
            && let Some(quote) = unclosed_quote(&text[lead..], self.options.delimiter, self.options.quote)
        {
            let from_quote = &text[lead + quote..];
            let quote_line = self.line + text[lead..lead + quote].iter().filter(|&&b| b == b'\n').count() as u64;
            let (raw_end, restart, restart_line) = match from_quote.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(at) => {
                    let crlf = from_quote[at] == b'\r' && from_quote.get(at + 1) == Some(&b'\n');
                    let after = at + if crlf { 2 } else { 1 };
                    let newline = u64::from(crlf || from_quote[at] == b'\n');
                    (
                        self.raw_start + (quote + at) as u64,
                        self.raw_start + (quote + after) as u64,
                        quote_line + newline,
                    )
                }
                None => (end, end, quote_line),
            };
            self.unterminated = Some(Unterminated { quote_line, raw_end, restart: self.base + restart, restart_line });
        }
        Ok(true)
    }

    /// File offset where the next record starts (possibly at the line end it is preceded by).
    pub(super) fn next_offset(&self) -> u64 {
        match &self.unterminated {
            Some(open) => open.restart,
            None => self.base + self.reader.position().byte(),
        }
    }

    /// Line number at [`Records::next_offset`].
    pub(super) fn next_line(&self) -> u64 {
        match &self.unterminated {
            Some(open) => open.restart_line,
            None => self.base_line - 1 + self.reader.position().line(),
        }
    }

    /// The current record's text as written in the file, without its line end, for reject
    /// files; invalid UTF-8 is replaced. A record with an unterminated quote ends with the
    /// line its quote opened on.
    pub(super) fn raw(&self) -> String {
        let window = self.window.borrow();
        let end = self.unterminated.map_or_else(|| self.reader.position().byte(), |open| open.raw_end);
        let text = window.slice(self.raw_start, end);
        let end = text.len() - text.iter().rev().take_while(|&&b| b == b'\n' || b == b'\r').count();
        String::from_utf8_lossy(&text[..end]).into_owned()
    }

    fn csv_error(&self, error: csv::Error) -> SourceError {
        let message = error.to_string();
        match error.into_kind() {
            csv::ErrorKind::Io(error) => io_error(&self.path, error),
            // Not expected: the parser is flexible and reads bytes, so only I/O can fail.
            _ => data_error(&self.path, format!("line {}: {message}", self.line)),
        }
    }
}

/// Where the quoted field still open at the end of `text` opened, as an offset into `text`:
/// `text` is one record as the parser read it (from its first byte to the end of the file),
/// and the states are the `csv` parser's own (a quote opens a field only at its start, a
/// doubled quote inside one is a quote, a line end outside one ends the record). `None` when
/// the record ended, or its last field closed, before the end of the text.
fn unclosed_quote(text: &[u8], delimiter: u8, quote: u8) -> Option<usize> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let mut state = State::FieldStart;
    let mut opened = 0;
    for (at, &byte) in text.iter().enumerate() {
        state = match state {
            State::FieldStart if byte == quote => {
                opened = at;
                State::Quoted
            }
            State::Quoted if byte == quote => State::QuoteInQuoted,
            State::Quoted => State::Quoted,
            State::QuoteInQuoted if byte == quote => State::Quoted,
            _ if byte == delimiter => State::FieldStart,
            _ if byte == b'\n' || byte == b'\r' => return None,
            _ => State::Unquoted,
        };
    }
    (state == State::Quoted).then_some(opened)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unclosed_quotes_follow_the_parser_states() {
        assert_eq!(unclosed_quote(b"1,\"b\n3,c\n", b',', b'"'), Some(2));
        // Closed, doubled and mid-field quotes open nothing; a line end outside a quote ends it.
        assert_eq!(unclosed_quote(b"1,\"a \"\"b\"\"\",x\n", b',', b'"'), None);
        assert_eq!(unclosed_quote(b"1,a\"b\n", b',', b'"'), None);
        assert_eq!(unclosed_quote(b"1,\"a\"x\"y\n", b',', b'"'), None);
        assert_eq!(unclosed_quote(b"1;'a;b", b';', b'\''), Some(2));
        assert_eq!(unclosed_quote(b"1,\"a\"\"", b',', b'"'), Some(2));
    }
}

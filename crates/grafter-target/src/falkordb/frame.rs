//! Redis protocol (RESP2) replies as bytes: where a reply ends ([`Framing`], resumable as
//! bytes arrive) and what it holds ([`parse`], a tree that borrows its strings from the
//! bytes, so nothing is copied before [`super::reply`] turns cells into grafter values).

/// One element of a reply. Simple and bulk strings are both [`Frame::Text`]: FalkorDB's
/// compact replies say what a string means by the cell's type, never by its encoding.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame<'a> {
    /// A null bulk string or array.
    Nil,
    Int(i64),
    Text(&'a [u8]),
    /// An error reply: its text, code first (`ERR …`).
    Error(&'a [u8]),
    Array(Vec<Frame<'a>>),
}

/// Finds where the reply at the start of a buffer ends, however the buffer grows: each call
/// goes on from where the last one stopped, so framing a reply costs one pass over it.
#[derive(Debug, Default)]
pub(crate) struct Framing {
    /// Where the next element's header starts.
    position: usize,
    /// For each array being read, how many of its elements are still to come.
    open: Vec<i64>,
}

impl Framing {
    /// The length of the first reply in `bytes` once it is complete; `None` while more bytes
    /// are needed. `bytes` must only have grown since the last call.
    pub fn advance(&mut self, bytes: &[u8]) -> Result<Option<usize>, String> {
        loop {
            let Some((kind, number, after)) = header(bytes, self.position)? else { return Ok(None) };
            match kind {
                b'*' if number > 0 => {
                    self.position = after;
                    self.open.push(number);
                    continue;
                }
                b'$' if number >= 0 => {
                    let end = after + number as usize + 2;
                    if end > bytes.len() {
                        return Ok(None);
                    }
                    self.position = end;
                }
                _ => self.position = after,
            }
            // An element is complete: so are the arrays it completes.
            loop {
                match self.open.last_mut() {
                    None => return Ok(Some(self.position)),
                    Some(left) => {
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        self.open.pop();
                    }
                }
            }
        }
    }
}

/// The header line at `at`: its type byte, its number (a length or count; 0 for simple
/// strings and errors) and where the line ends. `None` if the line is not all there yet.
fn header(bytes: &[u8], at: usize) -> Result<Option<(u8, i64, usize)>, String> {
    let Some(&kind) = bytes.get(at) else { return Ok(None) };
    let Some(line_end) = bytes[at..].windows(2).position(|w| w == b"\r\n").map(|p| at + p) else {
        return Ok(None);
    };
    let line = &bytes[at + 1..line_end];
    let number = match kind {
        b'*' | b'$' | b':' => std::str::from_utf8(line)
            .ok()
            .and_then(|n| n.parse::<i64>().ok())
            .ok_or_else(|| format!("a reply header holds {:?}, not a number", String::from_utf8_lossy(line)))?,
        b'+' | b'-' => 0,
        other => return Err(format!("a reply element starts with {:?}, which RESP2 does not know", other as char)),
    };
    Ok(Some((kind, number, line_end + 2)))
}

/// The reply `bytes` holds whole (as [`Framing`] found it).
pub(crate) fn parse(bytes: &[u8]) -> Result<Frame<'_>, String> {
    let mut position = 0;
    let frame = element(bytes, &mut position)?;
    if position != bytes.len() {
        return Err(format!("{} bytes follow the reply", bytes.len() - position));
    }
    Ok(frame)
}

fn element<'a>(bytes: &'a [u8], position: &mut usize) -> Result<Frame<'a>, String> {
    let (kind, number, after) = header(bytes, *position)?.ok_or("the reply ends inside an element")?;
    let line = &bytes[*position + 1..after - 2];
    *position = after;
    Ok(match kind {
        b'+' => Frame::Text(line),
        b'-' => Frame::Error(line),
        b':' => Frame::Int(number),
        b'$' if number < 0 => Frame::Nil,
        b'$' => {
            let end = after + number as usize;
            let text = bytes.get(after..end).ok_or("the reply ends inside a string")?;
            *position = end + 2;
            Frame::Text(text)
        }
        _ if number < 0 => Frame::Nil,
        _ => {
            let mut items = Vec::with_capacity(number.min(1 << 20) as usize);
            for _ in 0..number {
                items.push(element(bytes, position)?);
            }
            Frame::Array(items)
        }
    })
}

/// A reply as the `redis` crate gives it, for the replies that travel through it (writes).
pub(crate) fn from_redis(value: &redis::Value) -> Frame<'_> {
    use redis::Value as R;
    match value {
        R::Nil => Frame::Nil,
        R::Int(n) => Frame::Int(*n),
        R::BulkString(bytes) => Frame::Text(bytes),
        R::SimpleString(text) => Frame::Text(text.as_bytes()),
        R::Okay => Frame::Text(b"OK"),
        R::Array(items) | R::Set(items) => Frame::Array(items.iter().map(from_redis).collect()),
        R::ServerError(error) => Frame::Error(error.details().unwrap_or("").as_bytes()),
        _ => Frame::Error(b"a reply of a kind FalkorDB does not send"),
    }
}

/// A command as the protocol sends it: an array of bulk strings.
pub(crate) fn command(arguments: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + arguments.iter().map(|a| a.len() + 16).sum::<usize>());
    out.extend_from_slice(format!("*{}\r\n", arguments.len()).as_bytes());
    for argument in arguments {
        out.extend_from_slice(format!("${}\r\n", argument.len()).as_bytes());
        out.extend_from_slice(argument);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A compact reply: a header of two columns, two rows (a string and an integer cell,
    /// an empty string and a null), statistics.
    const REPLY: &[u8] = b"*3\r\n*2\r\n*2\r\n:1\r\n$1\r\na\r\n*2\r\n:1\r\n$1\r\nb\r\n*2\r\n*2\r\n*2\r\n:2\r\n$5\r\nh\xc3\xa9\r\n\r\n*2\r\n:3\r\n:42\r\n*2\r\n*2\r\n:2\r\n$0\r\n\r\n*2\r\n:1\r\n$-1\r\n*1\r\n+Cached execution: 0\r\n";

    #[test]
    fn a_reply_is_framed_whatever_pieces_its_bytes_arrive_in() {
        for cut in 0..REPLY.len() {
            let mut framing = Framing::default();
            assert_eq!(framing.advance(&REPLY[..cut]).unwrap(), None, "complete after only {cut} bytes");
            assert_eq!(framing.advance(REPLY).unwrap(), Some(REPLY.len()), "cut at {cut}");
        }
        // Byte by byte.
        let mut framing = Framing::default();
        let ends: Vec<Option<usize>> = (1..=REPLY.len()).map(|n| framing.advance(&REPLY[..n]).unwrap()).collect();
        assert!(ends[..REPLY.len() - 1].iter().all(Option::is_none));
        assert_eq!(ends.last(), Some(&Some(REPLY.len())));
    }

    #[test]
    fn a_string_holding_the_line_end_is_read_by_its_length() {
        let bytes = b"*2\r\n$4\r\n\r\n\r\n\r\n:7\r\n";
        assert_eq!(Framing::default().advance(bytes).unwrap(), Some(bytes.len()));
        assert_eq!(parse(bytes).unwrap(), Frame::Array(vec![Frame::Text(b"\r\n\r\n"), Frame::Int(7)]));
    }

    #[test]
    fn replies_parse_into_frames_that_borrow_their_strings() {
        let Frame::Array(parts) = parse(REPLY).unwrap() else { panic!("not an array") };
        assert_eq!(parts.len(), 3);
        let Frame::Array(rows) = &parts[1] else { panic!("rows") };
        assert_eq!(
            rows[0],
            Frame::Array(vec![
                Frame::Array(vec![Frame::Int(2), Frame::Text("hé\r\n".as_bytes())]),
                Frame::Array(vec![Frame::Int(3), Frame::Int(42)]),
            ])
        );
        assert_eq!(rows[1], Frame::Array(vec![
            Frame::Array(vec![Frame::Int(2), Frame::Text(b"")]),
            Frame::Array(vec![Frame::Int(1), Frame::Nil]),
        ]));
        assert_eq!(parts[2], Frame::Array(vec![Frame::Text(b"Cached execution: 0")]));
    }

    #[test]
    fn an_error_reply_and_broken_bytes_say_what_they_are() {
        assert_eq!(parse(b"-ERR Invalid input\r\n").unwrap(), Frame::Error(b"ERR Invalid input"));
        assert!(Framing::default().advance(b"?what\r\n").unwrap_err().contains("RESP2"));
        assert!(Framing::default().advance(b"*x\r\n").unwrap_err().contains("not a number"));
        assert!(parse(b":1\r\n:2\r\n").unwrap_err().contains("follow the reply"));
    }

    #[test]
    fn commands_are_arrays_of_bulk_strings() {
        assert_eq!(command(&[b"GRAPH.RO_QUERY", b"g", b"RETURN 1"]), b"*3\r\n$14\r\nGRAPH.RO_QUERY\r\n$1\r\ng\r\n$8\r\nRETURN 1\r\n");
    }
}

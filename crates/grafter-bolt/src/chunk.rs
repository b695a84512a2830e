//! Bolt's message framing: chunks of at most 65,535 bytes, each behind a two-byte
//! big-endian size, and a zero-size chunk (`00 00`) ending the message.
//!
//! A zero-size chunk where no message has begun is a NOOP (servers send them as
//! keep-alives) and is skipped. The reader bounds a message's total size so a hostile or
//! broken peer cannot make us buffer without end.

use tokio::io::{AsyncRead, AsyncReadExt};

/// The largest chunk body: the size field is 16 bits.
pub const MAX_CHUNK: usize = 65_535;

/// Appends `message` to `out` split into chunks, followed by the end marker.
pub fn write_chunked(message: &[u8], out: &mut Vec<u8>) {
    for chunk in message.chunks(MAX_CHUNK) {
        // chunks(MAX_CHUNK) never yields more than u16::MAX bytes.
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&[0, 0]);
}

/// The bytes a message of `len` bytes takes on the wire, chunk headers and end marker
/// included.
pub fn chunked_len(len: usize) -> usize {
    len + 2 * len.div_ceil(MAX_CHUNK) + 2
}

/// Why a message could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The socket failed or closed (`UnexpectedEof` when the peer closed it).
    Io(std::io::Error),
    /// The message grew past the limit.
    TooLarge,
}

/// Reads one whole message (chunks joined), skipping NOOP chunks before it.
pub async fn read_message<R: AsyncRead + Unpin>(reader: &mut R, max_len: usize) -> Result<Vec<u8>, ReadError> {
    let mut message = Vec::new();
    loop {
        let mut header = [0u8; 2];
        reader.read_exact(&mut header).await.map_err(ReadError::Io)?;
        let size = usize::from(u16::from_be_bytes(header));
        if size == 0 {
            if message.is_empty() {
                // NOOP: a keep-alive between messages.
                continue;
            }
            return Ok(message);
        }
        if message.len() + size > max_len {
            return Err(ReadError::TooLarge);
        }
        let start = message.len();
        message.resize(start + size, 0);
        reader.read_exact(&mut message[start..]).await.map_err(ReadError::Io)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(bytes: &[u8]) -> Result<Vec<u8>, ReadError> {
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let mut reader = bytes;
        rt.block_on(read_message(&mut reader, 1 << 24))
    }

    #[test]
    fn small_message_is_one_chunk() {
        let mut out = Vec::new();
        write_chunked(&[0xB0, 0x0F], &mut out);
        assert_eq!(out, [0x00, 0x02, 0xB0, 0x0F, 0x00, 0x00]);
        assert_eq!(chunked_len(2), out.len());
    }

    #[test]
    fn large_message_splits_at_65535() {
        let message: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut out = Vec::new();
        write_chunked(&message, &mut out);
        assert_eq!(out[..2], [0xFF, 0xFF]);
        assert_eq!(out[2 + MAX_CHUNK..4 + MAX_CHUNK], [0xFF, 0xFF]);
        // 200000 = 3 * 65535 + 3395 (0x0D43)
        let last_header = 3 * (MAX_CHUNK + 2);
        assert_eq!(out[last_header..last_header + 2], [0x0D, 0x43]);
        assert_eq!(out[out.len() - 2..], [0, 0]);
        assert_eq!(out.len(), chunked_len(message.len()));
        assert_eq!(read(&out).expect("reads"), message);
    }

    #[test]
    fn exactly_one_full_chunk() {
        let message = vec![7u8; MAX_CHUNK];
        let mut out = Vec::new();
        write_chunked(&message, &mut out);
        assert_eq!(out.len(), MAX_CHUNK + 4);
        assert_eq!(read(&out).expect("reads"), message);
    }

    #[test]
    fn noops_are_skipped_and_split_chunks_join() {
        let wire = [0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xB0, 0x00, 0x01, 0x0F, 0x00, 0x00];
        assert_eq!(read(&wire).expect("reads"), [0xB0, 0x0F]);
    }

    #[test]
    fn truncated_and_oversized_input_fail() {
        assert!(matches!(read(&[0x00, 0x05, 0x01]), Err(ReadError::Io(_))));
        assert!(matches!(read(&[0x00]), Err(ReadError::Io(_))));
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        let mut reader: &[u8] = &[0x00, 0x05, 1, 2, 3, 4, 5, 0, 0];
        assert!(matches!(rt.block_on(read_message(&mut reader, 4)), Err(ReadError::TooLarge)));
    }
}

//! Which compression wraps the tar: zstd (`.tar.zst`, the default) or bzip2 (`.tar.bz2`, as
//! the old OpenStack transfer scripts wrote). Writers choose by the file name; readers by
//! the file's first bytes, so a renamed archive still opens.

use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use crate::ArchiveError;

/// A compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// zstd, with a checksum over the content of each frame.
    Zstd,
    /// bzip2 (each block carries a CRC).
    Bzip2,
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
const BZIP2_MAGIC: [u8; 3] = *b"BZh";

impl Compression {
    /// The compression an archive's name asks for.
    pub fn from_name(path: &Path) -> Result<Compression, ArchiveError> {
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        if name.ends_with(".tar.zst") || name.ends_with(".tzst") {
            Ok(Compression::Zstd)
        } else if name.ends_with(".tar.bz2") || name.ends_with(".tbz2") {
            Ok(Compression::Bzip2)
        } else {
            Err(ArchiveError::UnknownExtension { path: path.display().to_string() })
        }
    }

    /// The compression of the file whose first bytes are `head`.
    fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&ZSTD_MAGIC) {
            Some(Compression::Zstd)
        } else if head.starts_with(&BZIP2_MAGIC) {
            Some(Compression::Bzip2)
        } else {
            None
        }
    }
}

/// A compressing writer; [`Compressor::finish`] writes the end of the stream.
pub(crate) enum Compressor<W: Write> {
    Zstd(zstd::stream::write::Encoder<'static, W>),
    Bzip2(bzip2::write::BzEncoder<W>),
}

impl<W: Write> Compressor<W> {
    pub fn new(inner: W, compression: Compression) -> io::Result<Compressor<W>> {
        Ok(match compression {
            Compression::Zstd => {
                let mut encoder = zstd::stream::write::Encoder::new(inner, 3)?;
                encoder.include_checksum(true)?;
                Compressor::Zstd(encoder)
            }
            Compression::Bzip2 => Compressor::Bzip2(bzip2::write::BzEncoder::new(inner, bzip2::Compression::default())),
        })
    }

    pub fn finish(self) -> io::Result<W> {
        match self {
            Compressor::Zstd(encoder) => encoder.finish(),
            Compressor::Bzip2(encoder) => encoder.finish(),
        }
    }
}

impl<W: Write> Write for Compressor<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Compressor::Zstd(encoder) => encoder.write(buf),
            Compressor::Bzip2(encoder) => encoder.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Compressor::Zstd(encoder) => encoder.flush(),
            Compressor::Bzip2(encoder) => encoder.flush(),
        }
    }
}

/// Opens `path` and returns a reader of its decompressed bytes.
pub(crate) fn open_decompressed(path: &Path) -> Result<Box<dyn Read + Send>, ArchiveError> {
    let io_error = |source| ArchiveError::Io { path: path.display().to_string(), source };
    let mut file = File::open(path).map_err(io_error)?;
    let mut head = [0u8; 4];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]).map_err(io_error)? {
            0 => break,
            n => filled += n,
        }
    }
    let compression = Compression::sniff(&head[..filled]).ok_or_else(|| ArchiveError::Damaged {
        path: path.display().to_string(),
        detail: if filled == 0 { "the file is empty".into() } else { "it is neither zstd nor bzip2 compressed".into() },
        hint: "grafter archives are .tar.zst or .tar.bz2 files written by `grafter export`".into(),
    })?;
    let file = BufReader::new(io::Cursor::new(head[..filled].to_vec()).chain(file));
    Ok(match compression {
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(file).map_err(io_error)?),
        Compression::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(file)),
    })
}

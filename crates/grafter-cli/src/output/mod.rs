//! How results look: tables for people, JSON for programs, progress on stderr, and the
//! metrics endpoint.

pub mod fanout;
pub mod html;
pub mod metrics;
pub mod model;
pub mod progress;
pub mod secrets;
pub mod table;
pub mod verify;

/// `n` with its thousands set apart by `separator` (`1,234,567`).
pub fn grouped(n: u64, separator: char) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * separator.len_utf8());
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(c);
    }
    out
}

/// Writes data to stdout. A closed pipe means nobody reads any more: exit 0 at once, as
/// Unix tools do; any other write error exits 1 with a message.
pub fn write_stdout(text: std::fmt::Arguments<'_>, newline: bool) {
    use std::io::Write as _;
    let mut stdout = std::io::stdout().lock();
    let result = stdout.write_fmt(text).and_then(|()| if newline { stdout.write_all(b"\n") } else { Ok(()) });
    match result {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::grouped;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0, ','), "0");
        assert_eq!(grouped(999, ','), "999");
        assert_eq!(grouped(1_000, ','), "1,000");
        assert_eq!(grouped(1_234_567, '\u{2009}'), "1\u{2009}234\u{2009}567");
    }
}

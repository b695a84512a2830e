//! How results look: tables for people, JSON for programs, progress on stderr, and the
//! metrics endpoint.

pub mod fanout;
pub mod html;
pub mod metrics;
pub mod progress;
pub mod secrets;
pub mod table;
pub mod verify;

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

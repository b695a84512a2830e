//! Read-only queries over connections of their own, their replies framed and kept as the
//! socket's bytes ([`super::frame`]).
//!
//! Reading a graph back (verification, fingerprints, the ids a resumed load needs) is reply
//! after reply of tens of thousands of rows. Through the `redis` crate each reply became a
//! tree of owned values first — a vector per cell, a copy per string — and that parsing was
//! the largest part of grafter's time in a FalkorDB verification. Here the bytes are framed as
//! they arrive and decoded once, straight into grafter's values.
//!
//! Each query in flight has a connection to itself: the server answers one client's commands
//! one at a time (a query blocks its client until it is done), so reads sent together on one
//! connection would queue behind each other. Idle connections are kept, with the buffer they
//! last filled, for the next read.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::connection::ClientError;
use super::frame::{self, Framing};
use super::url::FalkorDbUrl;

/// Idle connections kept for later reads.
const KEEP_IDLE: usize = 4;
/// A buffer this big is not kept: one huge reply should not hold its memory for good.
const KEEP_BUFFER: usize = 64 << 20;
/// How much more room a read asks for at least.
const READ_AHEAD: usize = 64 << 10;

/// One connection and the buffer its last reply filled.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
}

/// The read connections to one server.
pub(crate) struct Wire {
    url: FalkorDbUrl,
    connect_timeout: Duration,
    response_timeout: Duration,
    idle: std::sync::Mutex<Vec<Connection>>,
}

/// A reply, whole: its bytes stay in the connection's buffer until it is dropped, when the
/// connection goes back to the idle ones.
pub(crate) struct Answer<'w> {
    wire: &'w Wire,
    connection: Option<Connection>,
}

impl Answer<'_> {
    /// The reply's bytes, one RESP2 element.
    pub fn bytes(&self) -> &[u8] {
        self.connection.as_ref().map_or(&[], |c| &c.buffer)
    }
}

impl Drop for Answer<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take() {
            self.wire.put_back(connection);
        }
    }
}

impl Wire {
    pub fn new(url: &FalkorDbUrl, connect_timeout: Duration, response_timeout: Duration) -> Wire {
        Wire { url: url.clone(), connect_timeout, response_timeout, idle: std::sync::Mutex::new(Vec::new()) }
    }

    /// Sends `arguments` as one command and waits for the whole reply. A failure of the
    /// connection (refused, closed, timed out, garbled) is [`ClientError::Connection`]: the
    /// request may be repeated, since only reads travel here.
    pub async fn request(&self, arguments: &[&[u8]]) -> Result<Answer<'_>, ClientError> {
        let taken = self.idle.lock().expect("idle connections").pop();
        let mut connection = match taken {
            Some(connection) => connection,
            None => self.connect().await?,
        };
        let request = frame::command(arguments);
        match tokio::time::timeout(self.response_timeout, exchange(&mut connection, &request)).await {
            Ok(Ok(())) => Ok(Answer { wire: self, connection: Some(connection) }),
            Ok(Err(error)) => Err(self.lost(&error)),
            Err(_) => Err(self.lost(&format!("no reply within {} s", self.response_timeout.as_secs()))),
        }
    }

    fn put_back(&self, mut connection: Connection) {
        if connection.buffer.capacity() > KEEP_BUFFER {
            connection.buffer = Vec::new();
        }
        let mut idle = self.idle.lock().expect("idle connections");
        if idle.len() < KEEP_IDLE {
            idle.push(connection);
        }
    }

    fn lost(&self, error: &dyn std::fmt::Display) -> ClientError {
        ClientError::Connection(format!("lost the connection to {}: {error}", self.url.describe()))
    }

    /// A new connection, logged in when the URL names a password.
    async fn connect(&self) -> Result<Connection, ClientError> {
        let address = (self.url.host.as_str(), self.url.port);
        let stream = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(ClientError::Connection(format!("cannot connect to {}: {error}", self.url.describe())));
            }
            Err(_) => {
                return Err(ClientError::Connection(format!(
                    "cannot connect to {}: no answer within {} s",
                    self.url.describe(),
                    self.connect_timeout.as_secs()
                )));
            }
        };
        stream.set_nodelay(true).map_err(|e| self.lost(&e))?;
        let mut connection = Connection { stream, buffer: Vec::new() };
        if let Some(password) = &self.url.password {
            let mut login: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.url.user {
                login.push(user.as_bytes());
            }
            login.push(password.as_bytes());
            let login = frame::command(&login);
            match tokio::time::timeout(self.connect_timeout, exchange(&mut connection, &login)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(self.lost(&error)),
                Err(_) => return Err(self.lost(&"no answer to logging in")),
            }
            if let Ok(frame::Frame::Error(message)) = frame::parse(&connection.buffer) {
                // The server's words name neither the user's password nor anything of it.
                return Err(ClientError::Query(format!(
                    "cannot log in to {}: {}",
                    self.url.describe(),
                    String::from_utf8_lossy(message)
                )));
            }
        }
        Ok(connection)
    }
}

/// Writes `request` and reads one whole reply into the connection's buffer.
async fn exchange(connection: &mut Connection, request: &[u8]) -> Result<(), String> {
    connection.stream.write_all(request).await.map_err(|e| e.to_string())?;
    let buffer = &mut connection.buffer;
    buffer.clear();
    let mut framing = Framing::default();
    loop {
        if buffer.capacity() - buffer.len() < READ_AHEAD {
            buffer.reserve(buffer.len().max(READ_AHEAD));
        }
        let read = connection.stream.read_buf(buffer).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err("the server closed the connection".into());
        }
        if let Some(end) = framing.advance(buffer)? {
            if end != buffer.len() {
                return Err(format!("{} bytes arrived after the reply", buffer.len() - end));
            }
            return Ok(());
        }
    }
}

//! Read-only queries over a connection of their own, their replies framed and kept as the
//! socket's bytes ([`super::frame`]).
//!
//! Reading a graph back (verification, fingerprints, the ids a resumed load needs) is reply
//! after reply of tens of thousands of rows. Through the `redis` crate each reply became a
//! tree of owned values first — a vector per cell, a copy per string — and that parsing was
//! the largest part of grafter's time in a FalkorDB verification. Here the bytes are framed as
//! they arrive and decoded once, straight into grafter's values.
//!
//! One read is sent at a time, on one connection: the next is sent as soon as the last
//! reply's bytes are in, while that reply is decoded. Reads side by side on several
//! connections were faster, and crashed FalkorDB 4.16 (a segmentation fault in GraphBLAS,
//! two of its threads multiplying the same relationship matrix) when two pages of one type
//! were read at once from a 4M-row graph just loaded.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::connection::ClientError;
use super::frame::{self, Framing};
use super::url::FalkorDbUrl;

/// Buffers kept for later replies (one being filled, one being decoded, one spare).
const KEEP_BUFFERS: usize = 3;
/// A buffer this big is not kept: one huge reply should not hold its memory for good.
const KEEP_BUFFER: usize = 64 << 20;
/// How much more room a read asks for at least.
const READ_AHEAD: usize = 64 << 10;

/// The read connection to one server.
pub(crate) struct Wire {
    url: FalkorDbUrl,
    connect_timeout: Duration,
    response_timeout: Duration,
    /// The connection; held while a read is on it, so one is.
    connection: tokio::sync::Mutex<Option<TcpStream>>,
    /// Buffers replies were read into, for the next ones.
    buffers: std::sync::Mutex<Vec<Vec<u8>>>,
}

/// A reply, whole: its bytes, in a buffer that goes back to the wire when it is dropped.
pub(crate) struct Answer<'w> {
    wire: &'w Wire,
    bytes: Vec<u8>,
}

impl Answer<'_> {
    /// The reply's bytes, one RESP2 element.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl Drop for Answer<'_> {
    fn drop(&mut self) {
        let mut buffer = std::mem::take(&mut self.bytes);
        if buffer.capacity() <= KEEP_BUFFER {
            buffer.clear();
            let mut buffers = self.wire.buffers.lock().expect("reply buffers");
            if buffers.len() < KEEP_BUFFERS {
                buffers.push(buffer);
            }
        }
    }
}

impl Wire {
    pub fn new(url: &FalkorDbUrl, connect_timeout: Duration, response_timeout: Duration) -> Wire {
        Wire {
            url: url.clone(),
            connect_timeout,
            response_timeout,
            connection: tokio::sync::Mutex::new(None),
            buffers: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// Sends `arguments` as one command and waits for the whole reply, after any read sent
    /// before it. A failure of the connection (refused, closed, timed out, garbled) is
    /// [`ClientError::Connection`]: the request may be repeated, since only reads travel
    /// here.
    pub async fn request(&self, arguments: &[&[u8]]) -> Result<Answer<'_>, ClientError> {
        let mut slot = self.connection.lock().await;
        let mut stream = match slot.take() {
            Some(stream) => stream,
            None => self.connect().await?,
        };
        let mut bytes = self.buffers.lock().expect("reply buffers").pop().unwrap_or_default();
        let request = frame::command(arguments);
        match tokio::time::timeout(self.response_timeout, exchange(&mut stream, &request, &mut bytes)).await {
            Ok(Ok(())) => {
                *slot = Some(stream);
                Ok(Answer { wire: self, bytes })
            }
            // The connection is dropped: who knows what it still holds.
            Ok(Err(error)) => Err(self.lost(&error)),
            Err(_) => Err(self.lost(&format!("no reply within {} s", self.response_timeout.as_secs()))),
        }
    }

    fn lost(&self, error: &dyn std::fmt::Display) -> ClientError {
        ClientError::Connection(format!("lost the connection to {}: {error}", self.url.describe()))
    }

    /// A new connection, logged in when the URL names a password.
    async fn connect(&self) -> Result<TcpStream, ClientError> {
        let address = (self.url.host.as_str(), self.url.port);
        let mut stream = match tokio::time::timeout(self.connect_timeout, TcpStream::connect(address)).await {
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
        if let Some(password) = &self.url.password {
            let mut login: Vec<&[u8]> = vec![b"AUTH"];
            if let Some(user) = &self.url.user {
                login.push(user.as_bytes());
            }
            login.push(password.as_bytes());
            let login = frame::command(&login);
            let mut reply = Vec::new();
            match tokio::time::timeout(self.connect_timeout, exchange(&mut stream, &login, &mut reply)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => return Err(self.lost(&error)),
                Err(_) => return Err(self.lost(&"no answer to logging in")),
            }
            if let Ok(frame::Frame::Error(message)) = frame::parse(&reply) {
                // The server's words name neither the user's password nor anything of it.
                return Err(ClientError::Query(format!(
                    "cannot log in to {}: {}",
                    self.url.describe(),
                    String::from_utf8_lossy(message)
                )));
            }
        }
        Ok(stream)
    }
}

/// Writes `request` and reads one whole reply into `buffer`.
async fn exchange(stream: &mut TcpStream, request: &[u8], buffer: &mut Vec<u8>) -> Result<(), String> {
    stream.write_all(request).await.map_err(|e| e.to_string())?;
    buffer.clear();
    let mut framing = Framing::default();
    loop {
        if buffer.capacity() - buffer.len() < READ_AHEAD {
            buffer.reserve(buffer.len().max(READ_AHEAD));
        }
        let read = stream.read_buf(buffer).await.map_err(|e| e.to_string())?;
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::net::TcpListener;

    use super::*;

    /// A server on a free port that answers every command after `pause` with `reply`, and
    /// counts the most commands it was working on at once (over all its connections).
    async fn server(pause: Duration, reply: &'static [u8]) -> (u16, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (busy, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let most_seen = Arc::clone(&most);
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (busy, most) = (Arc::clone(&busy), Arc::clone(&most));
                tokio::spawn(async move {
                    let mut received = Vec::new();
                    loop {
                        let mut framing = Framing::default();
                        let end = loop {
                            if let Some(end) = framing.advance(&received).unwrap() {
                                break end;
                            }
                            if socket.read_buf(&mut received).await.unwrap_or(0) == 0 {
                                return;
                            }
                        };
                        received.drain(..end);
                        let now = busy.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(pause).await;
                        busy.fetch_sub(1, Ordering::SeqCst);
                        socket.write_all(reply).await.unwrap();
                    }
                });
            }
        });
        (port, most_seen)
    }

    fn wire(url: &str) -> Wire {
        Wire::new(&FalkorDbUrl::parse(url).unwrap(), Duration::from_secs(2), Duration::from_secs(10))
    }

    /// Reads side by side on connections of their own crashed FalkorDB 4.16 (GraphBLAS,
    /// two threads on one relationship matrix): reads sent together reach the server one
    /// after the other.
    #[tokio::test]
    async fn reads_sent_together_reach_the_server_one_at_a_time() {
        let (port, most) = server(Duration::from_millis(30), b":1\r\n").await;
        let wire = wire(&format!("falkordb://127.0.0.1:{port}/g"));
        let reads = (0..4).map(|_| wire.request(&[b"GRAPH.RO_QUERY", b"g", b"RETURN 1"]));
        for answer in futures::future::join_all(reads).await {
            assert_eq!(answer.unwrap().bytes(), b":1\r\n");
        }
        assert_eq!(most.load(Ordering::SeqCst), 1, "the server worked on several reads at once");
    }

    #[tokio::test]
    async fn a_refused_login_says_why_without_the_password() {
        let (port, _) = server(Duration::ZERO, b"-WRONGPASS invalid username-password pair or user is disabled.\r\n").await;
        let wire = wire(&format!("falkordb://reader:p%40ss%20w0rd@127.0.0.1:{port}/g"));
        let Err(ClientError::Query(message)) = wire.request(&[b"GRAPH.RO_QUERY", b"g", b"RETURN 1"]).await else {
            panic!("a refused login is a refusal, not a connection to retry");
        };
        assert!(message.contains("cannot log in") && message.contains("WRONGPASS"), "{message}");
        assert!(!message.contains("p@ss") && !message.contains("w0rd"), "{message}");
    }
}

//! Explicit transactions ([`Transaction`]) and streamed results ([`RecordStream`]).
//!
//! A result is pulled in batches of the connection's fetch size (PULL n), one batch in
//! flight at a time, so a huge result never sits in memory: the caller takes records one by
//! one with [`RecordStream::next`], or all at once with [`RecordStream::pull_all`] when it
//! knows the result is small. Both handles borrow the connection mutably, so the compiler
//! keeps one result open at a time; one dropped half-read is discarded before the next
//! request, and a transaction dropped without commit is rolled back before the connection
//! runs anything else.

use std::sync::Arc;

use crate::connection::{Connection, Step};
use crate::error::BoltError;
use crate::packstream::BoltMap;
use crate::result::{QueryResult, Record, Summary};

/// An open explicit transaction. End it with [`commit`](Transaction::commit) or
/// [`rollback`](Transaction::rollback); dropping it rolls it back (lazily, by RESET before
/// the connection's next use).
#[derive(Debug)]
pub struct Transaction<'c> {
    conn: &'c mut Connection,
}

impl<'c> Transaction<'c> {
    pub(crate) fn new(conn: &'c mut Connection) -> Transaction<'c> {
        Transaction { conn }
    }

    /// The connection the transaction runs on.
    pub fn connection(&self) -> &Connection {
        self.conn
    }

    /// Errors unless the transaction is still open on the server.
    fn check_open(&self) -> Result<(), BoltError> {
        if !self.conn.in_tx {
            return Err(BoltError::TransactionClosed { why: "it was reset" });
        }
        if self.conn.needs_reset {
            return Err(BoltError::TransactionClosed {
                why: "an earlier request in it failed, so the server rolled it back; roll back and start again",
            });
        }
        Ok(())
    }

    /// Finishes a result left open, without leaving the transaction.
    async fn settle(&mut self) -> Result<(), BoltError> {
        self.check_open()?;
        if self.conn.open.is_some() {
            self.conn.discard_open().await?;
        }
        Ok(())
    }

    /// Runs `query` with `parameters` inside the transaction and streams its records.
    pub async fn run(&mut self, query: &str, parameters: BoltMap) -> Result<RecordStream<'_>, BoltError> {
        self.settle().await?;
        self.conn.start_run(query, parameters, Vec::new()).await
    }

    /// Runs `query` and reads its whole result.
    pub async fn execute(&mut self, query: &str, parameters: BoltMap) -> Result<QueryResult, BoltError> {
        self.run(query, parameters).await?.pull_all().await
    }

    /// Commits. Returns the bookmark the server sent, if any.
    pub async fn commit(mut self) -> Result<Option<String>, BoltError> {
        self.settle().await?;
        self.conn.send(&[crate::message::Request::Commit]).await?;
        let meta = self.conn.expect_success("COMMIT").await?;
        self.conn.in_tx = false;
        let bookmark = meta.get("bookmark").and_then(|b| b.as_str()).map(str::to_owned);
        self.conn.set_bookmark(bookmark.clone());
        Ok(bookmark)
    }

    /// Rolls back. A transaction the server already ended (after a failure) is cleaned up
    /// with RESET instead.
    pub async fn rollback(mut self) -> Result<(), BoltError> {
        if self.settle().await.is_err() {
            return self.conn.prepare(true).await;
        }
        self.conn.send(&[crate::message::Request::Rollback]).await?;
        self.conn.expect_success("ROLLBACK").await?;
        self.conn.in_tx = false;
        Ok(())
    }
}

/// A result being read from the server.
#[derive(Debug)]
pub struct RecordStream<'c> {
    conn: &'c mut Connection,
    fields: Arc<[String]>,
    run_meta: BoltMap,
    summary: Option<Summary>,
}

impl<'c> RecordStream<'c> {
    pub(crate) fn new(conn: &'c mut Connection, fields: Arc<[String]>, run_meta: BoltMap) -> RecordStream<'c> {
        RecordStream { conn, fields, run_meta, summary: None }
    }

    /// The result's field (column) names.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }

    /// The next record, or `None` at the end. PULLs the next batch when the last one is used up.
    pub async fn next(&mut self) -> Result<Option<Record>, BoltError> {
        if self.summary.is_some() {
            return Ok(None);
        }
        match self.conn.next_record(&self.fields).await? {
            Step::Record(record) => Ok(Some(record)),
            Step::Done(meta) => {
                self.finish(meta);
                Ok(None)
            }
        }
    }

    fn finish(&mut self, meta: BoltMap) {
        let mut metadata = std::mem::take(&mut self.run_meta);
        metadata.extend(meta);
        self.summary = Some(Summary { metadata });
    }

    /// Reads every remaining record into memory.
    pub async fn pull_all(mut self) -> Result<QueryResult, BoltError> {
        let mut records = Vec::new();
        while let Some(record) = self.next().await? {
            records.push(record);
        }
        Ok(QueryResult { fields: self.fields.to_vec(), records, summary: self.summary.take().unwrap_or_default() })
    }

    /// Throws the remaining records away (DISCARD) and returns the summary.
    pub async fn consume(mut self) -> Result<Summary, BoltError> {
        if self.summary.is_none() {
            let meta = self.conn.discard_open().await?;
            self.finish(meta);
        }
        Ok(self.summary.take().unwrap_or_default())
    }

    /// The summary, once the last record has been read.
    pub fn summary(&self) -> Option<&Summary> {
        self.summary.as_ref()
    }
}

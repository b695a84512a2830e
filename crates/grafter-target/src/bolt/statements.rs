//! Cutting a batch's rows into statements that each fit the target's byte cap.
//!
//! A statement carries its rows as one list parameter, `$rows`, beside fixed parameters
//! (the run, the checkpoint). [`Sizer`] says how many rows fit: on the wire it asks
//! `grafter_bolt`'s [`BatchSizer`], which encodes the RUN message exactly; on FalkorDB it
//! also counts the text the server makes of the parameters ([`super::params::spliced_len`]),
//! which its Bolt port must hold in 4 KB. Rows whose doubles travel as `[m, e]` at different
//! positions need different statement text, so [`cut`] groups them first.

use grafter_bolt::{BatchSizer, BoltError, BoltMap, BoltValue};

use super::client::Client;
use super::params::{spliced_len, statement_text_len};

/// How many rows fit in a statement of one query text.
pub(crate) struct Sizer {
    wire: BatchSizer,
    /// FalkorDB: the text of the statement with no rows.
    text_base: Option<usize>,
    cap: usize,
}

impl Sizer {
    /// For statements of `query` carrying `fixed` and the list `$list`, sent with RUN `extra`.
    pub(crate) fn new(
        client: &Client,
        query: &str,
        list: &str,
        fixed: &BoltMap,
        extra: &[(String, BoltValue)],
    ) -> Result<Sizer, BoltError> {
        let wire = BatchSizer::for_run(query, list, fixed, extra, client.version(), client.cap())?;
        let text_base = client.server().splices_parameters().then(|| {
            let mut params = fixed.clone();
            params.insert(list.into(), BoltValue::List(Vec::new()));
            statement_text_len(query, &params)
        });
        Ok(Sizer { wire, text_base, cap: client.cap() })
    }

    /// How many rows from the front of `rows` fit (0: not even the first).
    pub(crate) fn fit(&self, rows: &[BoltValue]) -> Result<usize, BoltError> {
        self.fit_refs(&rows.iter().collect::<Vec<_>>())
    }

    /// [`Sizer::fit`] over borrowed rows.
    pub(crate) fn fit_refs(&self, rows: &[&BoltValue]) -> Result<usize, BoltError> {
        let fit = match self.wire.fit_iter(rows.iter().copied()) {
            Ok(fit) => fit.rows,
            Err(BoltError::RowTooLarge { .. }) => return Ok(0),
            Err(other) => return Err(other),
        };
        let Some(mut text) = self.text_base else { return Ok(fit) };
        for (n, row) in rows[..fit].iter().enumerate() {
            // `[a, b]`: rows after the first come after ", ".
            text += spliced_len(row) + if n > 0 { 2 } else { 0 };
            if text > self.cap {
                return Ok(n);
            }
        }
        Ok(fit)
    }
}

/// One statement: its query text and the rows it carries.
pub(crate) struct Statement {
    pub query: String,
    pub rows: Vec<BoltValue>,
}

/// `rows` (each with the positions of its doubles sent as `[m, e]`) as statements of
/// `query(positions)` beside `fixed`, each under the cap. No rows make one statement without
/// rows (it still stores the checkpoint). Fails if a row does not fit on its own.
pub(crate) fn cut(
    client: &Client,
    rows: &[&(BoltValue, Vec<usize>)],
    fixed: &BoltMap,
    extra: &[(String, BoltValue)],
    query: &dyn Fn(&[usize]) -> String,
) -> Result<Vec<Statement>, BoltError> {
    if rows.is_empty() {
        return Ok(vec![Statement { query: query(&[]), rows: Vec::new() }]);
    }
    // Rows grouped by where their doubles sit (as indexes: each row is copied once, into its
    // statement).
    let mut groups: Vec<(&[usize], Vec<usize>)> = Vec::new();
    for (n, (_, exact)) in rows.iter().enumerate() {
        match groups.iter_mut().find(|(positions, _)| positions == exact) {
            Some((_, members)) => members.push(n),
            None => groups.push((exact, vec![n])),
        }
    }
    let mut statements = Vec::new();
    for (exact, members) in groups {
        let text = query(exact);
        let sizer = Sizer::new(client, &text, "rows", fixed, extra)?;
        let group: Vec<&BoltValue> = members.iter().map(|&n| &rows[n].0).collect();
        let mut start = 0;
        while start < group.len() {
            let n = sizer.fit_refs(&group[start..])?;
            if n == 0 {
                return Err(BoltError::RowTooLarge { index: start, bytes: 0, cap: client.cap() });
            }
            let rows = group[start..start + n].iter().map(|&row| row.clone()).collect();
            statements.push(Statement { query: text.clone(), rows });
            start += n;
        }
    }
    Ok(statements)
}

//! Telling from its text whether a Cypher query may change the graph: the guard for servers
//! that cannot run a query read-only themselves (FalkorDB's Bolt port has no read mode).
//!
//! Where the store enforces read-only execution (grafeo's read-only sessions, FalkorDB's
//! `GRAPH.RO_QUERY`, Bolt's read access mode on Neo4j) that enforcement is the proof and this
//! guard only adds a clearer message. Where it does not, this guard decides, and it errs on
//! the side of refusing: any clause keyword that writes (or a procedure call, which may
//! write) outside string literals, comments and backtick-quoted names makes the query a
//! writer. A read query refused by mistake can be rewritten; a write let through cannot be
//! taken back.

/// Keywords that begin a clause that writes (DETACH precedes DELETE; FOREACH only updates).
const WRITING: &[&str] = &["CREATE", "MERGE", "SET", "DELETE", "DETACH", "REMOVE", "DROP", "FOREACH", "LOAD", "CALL"];

/// Procedures known to only read, which `CALL` may name.
const READING_PROCEDURES: &[&str] =
    &["db.labels", "db.relationshiptypes", "db.propertykeys", "db.indexes", "db.constraints", "dbms.components"];

/// The first keyword of `cypher` that may change the graph, if any.
pub fn writing_clause(cypher: &str) -> Option<String> {
    let words = words(cypher);
    for (i, word) in words.iter().enumerate() {
        let upper = word.to_ascii_uppercase();
        if !WRITING.contains(&upper.as_str()) {
            continue;
        }
        if upper == "CALL" {
            // `CALL db.labels()` reads; `CALL { … }` is a subquery whose clauses are checked
            // on their own; any other procedure may write.
            match words.get(i + 1) {
                Some(next) if next == "{" => continue,
                Some(next) if READING_PROCEDURES.contains(&next.to_ascii_lowercase().as_str()) => continue,
                Some(next) => return Some(format!("CALL {next}")),
                None => return Some(upper),
            }
        }
        return Some(upper);
    }
    None
}

/// The words of `cypher` outside string literals, comments and backtick-quoted names: runs of
/// letters, digits, `_` and `.` (procedure names), and `{` on its own.
fn words(cypher: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut chars = cypher.chars().peekable();
    let flush = |current: &mut String, words: &mut Vec<String>| {
        if !current.is_empty() {
            words.push(std::mem::take(current));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' | '`' => {
                flush(&mut current, &mut words);
                // Skip to the closing quote; a backslash escapes the next character in strings,
                // a doubled backtick stands for one inside a name.
                while let Some(inner) = chars.next() {
                    if inner == '\\' && c != '`' {
                        chars.next();
                    } else if inner == c {
                        if c == '`' && chars.peek() == Some(&'`') {
                            chars.next();
                            continue;
                        }
                        break;
                    }
                }
                if c == '`' {
                    // A quoted name is a word, but never a keyword.
                    words.push(String::from("`name`"));
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                flush(&mut current, &mut words);
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                flush(&mut current, &mut words);
                chars.next();
                let mut previous = ' ';
                for inner in chars.by_ref() {
                    if previous == '*' && inner == '/' {
                        break;
                    }
                    previous = inner;
                }
            }
            c if c.is_alphanumeric() || c == '_' || c == '.' => current.push(c),
            '{' => {
                flush(&mut current, &mut words);
                words.push("{".into());
            }
            _ => flush(&mut current, &mut words),
        }
    }
    flush(&mut current, &mut words);
    words
}

#[cfg(test)]
mod tests {
    use super::writing_clause;

    #[test]
    fn reading_queries_pass() {
        for cypher in [
            "MATCH (n) RETURN count(n)",
            "MATCH (n:Person) WHERE n.name = 'CREATE (x)' RETURN n.name AS `set`",
            "MATCH (n) // DELETE n\nRETURN n",
            "MATCH (n) /* DETACH DELETE n */ RETURN n.created AS created, n.offset",
            "CALL db.labels() YIELD label RETURN label",
            "MATCH (n) CALL { WITH n RETURN n.x AS x } RETURN x",
            "MATCH (n) WHERE n.s = \"it\\\"s SET\" RETURN n",
            "MATCH (n:`CREATE`) RETURN n.`DELETE`",
        ] {
            assert_eq!(writing_clause(cypher), None, "{cypher}");
        }
    }

    #[test]
    fn writing_queries_are_named() {
        for (cypher, clause) in [
            ("MATCH (n) DETACH DELETE n RETURN 0", "DETACH"),
            ("match (n) set n.x = 1", "SET"),
            ("CREATE (n)", "CREATE"),
            ("MATCH (n) WITH n MERGE (m:M {k: n.k})", "MERGE"),
            ("MATCH (n) REMOVE n:Label", "REMOVE"),
            ("MATCH (n) FOREACH (x IN [1] | SET n.y = x)", "FOREACH"),
            ("CALL db.idx.fulltext.createNodeIndex('L', 'p')", "CALL db.idx.fulltext.createNodeIndex"),
            ("DROP INDEX ON :L(p)", "DROP"),
            ("MATCH (n) CALL { WITH n DELETE n } RETURN 1", "DELETE"),
        ] {
            assert_eq!(writing_clause(cypher).as_deref(), Some(clause), "{cypher}");
        }
    }
}

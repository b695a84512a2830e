//! The parsed form of an expression ([`Node`]) and its canonical text.
//!
//! The tree holds no positions: two spellings of one expression (`a==b`, `(a = b)`) give
//! equal trees, and printing a tree then parsing the text gives the tree back. Positions
//! matter only while parsing, where errors are reported.

use std::fmt;

use grafter_model::Value;

use super::functions::Func;
use super::lexer::{is_ident_char, is_ident_start, keyword};

/// One node of a parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    /// A literal: null, a bool, an int, a (finite) float or a string.
    Literal(Value),
    /// A reference to a source column, by name.
    Column(String),
    /// A function call whose argument count and literal arguments were checked.
    Call(Func, Vec<Node>),
    /// Unary minus.
    Neg(Box<Node>),
    /// Logical `not`.
    Not(Box<Node>),
    /// A binary operator.
    Binary(BinOp, Box<Node>, Box<Node>),
}

/// The binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Concat,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// Precedence levels, lowest first. `not` sits between `and` and the comparisons.
pub(crate) const LEVEL_OR: u8 = 1;
pub(crate) const LEVEL_AND: u8 = 2;
pub(crate) const LEVEL_NOT: u8 = 3;
pub(crate) const LEVEL_COMPARE: u8 = 4;
pub(crate) const LEVEL_CONCAT: u8 = 5;
pub(crate) const LEVEL_ADD: u8 = 6;
pub(crate) const LEVEL_MUL: u8 = 7;
pub(crate) const LEVEL_NEG: u8 = 8;
const LEVEL_ATOM: u8 = 9;

impl BinOp {
    /// The operator as canonical text writes it.
    pub(crate) fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "=",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::Concat => "||",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Rem => "%",
        }
    }

    pub(crate) fn level(self) -> u8 {
        match self {
            BinOp::Or => LEVEL_OR,
            BinOp::And => LEVEL_AND,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => LEVEL_COMPARE,
            BinOp::Concat => LEVEL_CONCAT,
            BinOp::Add | BinOp::Sub => LEVEL_ADD,
            BinOp::Mul | BinOp::Div | BinOp::Rem => LEVEL_MUL,
        }
    }

    /// Comparisons do not chain: `a < b < c` is refused rather than read as `(a < b) < c`.
    pub(crate) fn is_comparison(self) -> bool {
        self.level() == LEVEL_COMPARE
    }
}

impl Node {
    fn level(&self) -> u8 {
        match self {
            Node::Binary(op, ..) => op.level(),
            Node::Not(_) => LEVEL_NOT,
            Node::Neg(_) => LEVEL_NEG,
            Node::Literal(_) | Node::Column(_) | Node::Call(..) => LEVEL_ATOM,
        }
    }

    /// Calls `visit` on every column reference, left to right as written.
    pub(crate) fn for_each_column<'a>(&'a self, visit: &mut impl FnMut(&'a str)) {
        match self {
            Node::Literal(_) => {}
            Node::Column(name) => visit(name),
            Node::Call(_, args) => args.iter().for_each(|arg| arg.for_each_column(visit)),
            Node::Neg(operand) | Node::Not(operand) => operand.for_each_column(visit),
            Node::Binary(_, lhs, rhs) => {
                lhs.for_each_column(visit);
                rhs.for_each_column(visit);
            }
        }
    }

    /// Writes the node, in parentheses if it binds more loosely than `min_level` needs.
    fn write(&self, f: &mut fmt::Formatter<'_>, min_level: u8) -> fmt::Result {
        if self.level() < min_level {
            f.write_str("(")?;
            self.write(f, 0)?;
            return f.write_str(")");
        }
        match self {
            Node::Literal(value) => write_literal(f, value),
            Node::Column(name) => write_column(f, name),
            Node::Call(func, args) => {
                write!(f, "{}(", func.name())?;
                for (i, arg) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    arg.write(f, 0)?;
                }
                f.write_str(")")
            }
            Node::Neg(operand) => {
                // `--x` would read back fine, but `-(-x)` is what a person means to see.
                let negative_literal = matches!(**operand, Node::Literal(Value::Int(i)) if i < 0)
                    || matches!(**operand, Node::Literal(Value::Float(x)) if x.is_sign_negative());
                if negative_literal || matches!(**operand, Node::Neg(_)) {
                    f.write_str("-(")?;
                    operand.write(f, 0)?;
                    f.write_str(")")
                } else {
                    f.write_str("-")?;
                    operand.write(f, LEVEL_NEG)
                }
            }
            Node::Not(operand) => {
                f.write_str("not ")?;
                operand.write(f, LEVEL_COMPARE)
            }
            Node::Binary(op, lhs, rhs) => {
                let level = op.level();
                // Left-associative: the left side may sit at the same level, the right may
                // not. Comparisons do not chain, so neither side may be a bare comparison.
                lhs.write(f, if op.is_comparison() { level + 1 } else { level })?;
                write!(f, " {} ", op.symbol())?;
                rhs.write(f, level + 1)
            }
        }
    }
}

fn write_literal(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    match value {
        Value::String(s) => write!(f, "'{}'", s.replace('\'', "''")),
        // Debug keeps a `.0` or an exponent, so the text reads back as a float, not an int.
        Value::Float(x) => write!(f, "{x:?}"),
        other => write!(f, "{other}"),
    }
}

fn write_column(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut chars = name.chars();
    let plain = chars.next().is_some_and(is_ident_start) && chars.all(is_ident_char) && keyword(name).is_none();
    if plain { f.write_str(name) } else { write!(f, "`{}`", name.replace('`', "``")) }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str) -> Box<Node> {
        Box::new(Node::Column(name.into()))
    }

    fn bin(op: BinOp, lhs: Box<Node>, rhs: Box<Node>) -> Box<Node> {
        Box::new(Node::Binary(op, lhs, rhs))
    }

    #[test]
    fn parentheses_only_where_precedence_needs_them() {
        let sum = bin(BinOp::Add, col("a"), col("b"));
        assert_eq!(bin(BinOp::Mul, sum.clone(), col("c")).to_string(), "(a + b) * c");
        assert_eq!(bin(BinOp::Add, sum.clone(), col("c")).to_string(), "a + b + c");
        assert_eq!(bin(BinOp::Sub, col("c"), sum.clone()).to_string(), "c - (a + b)");
        let cmp = bin(BinOp::Lt, col("a"), col("b"));
        assert_eq!(bin(BinOp::Lt, cmp.clone(), col("c")).to_string(), "(a < b) < c");
        assert_eq!(Node::Not(cmp.clone()).to_string(), "not a < b");
        assert_eq!(Node::Not(bin(BinOp::And, col("a"), col("b"))).to_string(), "not (a and b)");
        assert_eq!(Node::Neg(sum).to_string(), "-(a + b)");
    }

    #[test]
    fn literals_and_columns_print_as_they_must_be_typed() {
        assert_eq!(Node::Literal(Value::from("it's")).to_string(), "'it''s'");
        assert_eq!(Node::Literal(Value::Float(1000.0)).to_string(), "1000.0");
        assert_eq!(Node::Literal(Value::Float(1e300)).to_string(), "1e300");
        assert_eq!(Node::Literal(Value::Null).to_string(), "null");
        assert_eq!(Node::Column("Unit Price".into()).to_string(), "`Unit Price`");
        assert_eq!(Node::Column("a`b".into()).to_string(), "`a``b`");
        assert_eq!(Node::Column("NULL".into()).to_string(), "`NULL`");
        assert_eq!(Node::Column("2nd".into()).to_string(), "`2nd`");
        assert_eq!(Node::Column("lower".into()).to_string(), "lower");
        assert_eq!(Node::Neg(Box::new(Node::Literal(Value::Int(-5)))).to_string(), "-(-5)");
    }

    #[test]
    fn columns_are_visited_in_written_order() {
        let node = bin(BinOp::Add, col("b"), bin(BinOp::Mul, col("a"), col("b")));
        let mut seen = Vec::new();
        node.for_each_column(&mut |name| seen.push(name));
        assert_eq!(seen, ["b", "a", "b"]);
    }
}

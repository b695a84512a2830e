//! A Pratt parser from [`tokenize`]d text to a [`Node`] tree.
//!
//! Everything that can be known without data is checked here, with the position of the
//! culprit: unknown functions (with the nearest name), argument counts, and literal arguments
//! that are compiled later (regular expressions, date formats, cast types).

use grafter_model::Value;

use super::ast::{BinOp, LEVEL_COMPARE, LEVEL_NEG, Node};
use super::error::{ExprError, nearest};
use super::functions::{self, Func};
use super::lexer::{Tok, Token, tokenize};

/// Parses a whole expression.
pub(crate) fn parse(text: &str) -> Result<Node, ExprError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0, nesting: 0 };
    if parser.peek().tok == Tok::Eof {
        return Err(ExprError::new(0, "empty expression")
            .with_hint("write a column name, a literal or a function call, e.g. lower(Email)"));
    }
    let (node, _) = parser.expr(0)?;
    let token = parser.peek();
    match &token.tok {
        Tok::Eof => Ok(node),
        Tok::RParen => Err(ExprError::new(token.pos, "unmatched `)`")),
        other => Err(ExprError::new(token.pos, format!("expected an operator, found {}", other.describe()))
            .with_hint("operators are or, and, not, = != < <= > >=, ||, + - * / %")),
    }
}

/// Binding powers: an operator at precedence level `l` binds with `2l - 1` on its left and
/// `2l` on its right, which makes every binary operator left-associative.
fn left_power(level: u8) -> u8 {
    2 * level - 1
}

fn binary_op(tok: &Tok) -> Option<BinOp> {
    let op = match tok {
        Tok::Or => BinOp::Or,
        Tok::And => BinOp::And,
        Tok::Eq => BinOp::Eq,
        Tok::Ne => BinOp::Ne,
        Tok::Lt => BinOp::Lt,
        Tok::Le => BinOp::Le,
        Tok::Gt => BinOp::Gt,
        Tok::Ge => BinOp::Ge,
        Tok::Concat => BinOp::Concat,
        Tok::Plus => BinOp::Add,
        Tok::Minus => BinOp::Sub,
        Tok::Star => BinOp::Mul,
        Tok::Slash => BinOp::Div,
        Tok::Percent => BinOp::Rem,
        _ => return None,
    };
    Some(op)
}

/// How deep expressions may nest. Real ones stay below 20; the limit exists because parsing,
/// binding and evaluation recurse, and a generated or mangled expression must give an error,
/// not overflow a worker's stack.
const MAX_DEPTH: usize = 100;

fn too_deep(pos: usize) -> ExprError {
    ExprError::new(pos, format!("the expression nests too deeply (more than {MAX_DEPTH} levels)"))
}

/// A parsed subtree and its depth (a leaf is 1).
type Parsed = (Node, usize);

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// How many `expr` calls are active: bounds the parser's own recursion, which nested
    /// parentheses drive without deepening the tree.
    nesting: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The tokenizer always ends with Eof, and nothing advances past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.tok != Tok::Eof {
            self.next += 1;
        }
        token
    }

    /// Parses operators that bind at least as tightly as `min_power`.
    fn expr(&mut self, min_power: u8) -> Result<Parsed, ExprError> {
        self.nesting += 1;
        if self.nesting > MAX_DEPTH {
            return Err(too_deep(self.peek().pos));
        }
        let parsed = self.binary(min_power);
        self.nesting -= 1;
        parsed
    }

    fn binary(&mut self, min_power: u8) -> Result<Parsed, ExprError> {
        let (mut lhs, mut depth) = self.prefix()?;
        let mut lhs_is_comparison = false;
        loop {
            let token = self.peek();
            let Some(op) = binary_op(&token.tok) else { break };
            let level = op.level();
            if left_power(level) < min_power {
                break;
            }
            if op.is_comparison() && lhs_is_comparison {
                return Err(ExprError::new(token.pos, format!("comparisons cannot be chained: `{}`", op.symbol()))
                    .with_hint("combine them with `and`, e.g. `a < b and b < c`"));
            }
            let op_pos = self.advance().pos;
            let (rhs, rhs_depth) = self.expr(2 * level)?;
            // A long chain (`a + b + c + …`) deepens the tree without recursing here.
            depth = depth.max(rhs_depth) + 1;
            if depth > MAX_DEPTH {
                return Err(too_deep(op_pos));
            }
            lhs = Node::Binary(op, Box::new(lhs), Box::new(rhs));
            lhs_is_comparison = op.is_comparison();
        }
        Ok((lhs, depth))
    }

    /// Parses a prefix operator or a primary expression.
    fn prefix(&mut self) -> Result<Parsed, ExprError> {
        let token = self.advance();
        let leaf = |node: Node| Ok((node, 1));
        match token.tok {
            Tok::Not => {
                let (operand, depth) = self.expr(left_power(LEVEL_COMPARE))?;
                Ok((Node::Not(Box::new(operand)), depth + 1))
            }
            Tok::Minus => {
                // A minus glued to a number is part of the literal, so that i64::MIN can be
                // written and `-5` prints back as it was typed.
                if let Tok::Number { text, float } = &self.peek().tok {
                    let (text, float, pos) = (format!("-{text}"), *float, self.peek().pos);
                    self.advance();
                    return number(&text, float, pos).map(|node| (node, 1));
                }
                let (operand, depth) = self.expr(left_power(LEVEL_NEG + 1))?;
                Ok((Node::Neg(Box::new(operand)), depth + 1))
            }
            Tok::LParen => {
                let inner = self.expr(0)?;
                let close = self.advance();
                if close.tok != Tok::RParen {
                    return Err(ExprError::new(
                        close.pos,
                        format!(
                            "expected `)` to close the `(` at character {}, found {}",
                            token.pos + 1,
                            close.tok.describe()
                        ),
                    ));
                }
                Ok(inner)
            }
            Tok::Str(s) => leaf(Node::Literal(Value::String(s))),
            Tok::Number { text, float } => number(&text, float, token.pos).map(|node| (node, 1)),
            Tok::True => leaf(Node::Literal(Value::Bool(true))),
            Tok::False => leaf(Node::Literal(Value::Bool(false))),
            Tok::Null => leaf(Node::Literal(Value::Null)),
            Tok::QuotedIdent(name) => leaf(Node::Column(name)),
            Tok::Ident(name) if self.peek().tok == Tok::LParen => self.call(name, token.pos),
            Tok::Ident(name) => leaf(Node::Column(name)),
            other => Err(ExprError::new(token.pos, format!("expected a value, found {}", other.describe()))),
        }
    }

    /// Parses a call's arguments (the name is consumed, `(` is next) and checks them.
    fn call(&mut self, name: String, name_pos: usize) -> Result<Parsed, ExprError> {
        let Some(func) = Func::lookup(&name) else {
            let err = ExprError::new(name_pos, format!("unknown function `{name}`"));
            return Err(match nearest(&name, functions::names()) {
                Some(near) => err.with_hint(format!("did you mean `{near}`?")),
                None => {
                    err.with_hint(format!("the functions are {}", functions::names().collect::<Vec<_>>().join(", ")))
                }
            });
        };
        let open = self.advance();
        let mut args = Vec::new();
        let mut arg_positions = Vec::new();
        let mut depth = 1;
        if self.peek().tok == Tok::RParen {
            self.advance();
        } else {
            loop {
                arg_positions.push(self.peek().pos);
                let (arg, arg_depth) = self.expr(0)?;
                args.push(arg);
                depth = depth.max(arg_depth + 1);
                let token = self.advance();
                match token.tok {
                    Tok::Comma => continue,
                    Tok::RParen => break,
                    other => {
                        return Err(ExprError::new(
                            token.pos,
                            format!(
                                "expected `,` or `)` after an argument of {}() (opened at character {}), found {}",
                                func.name(),
                                open.pos + 1,
                                other.describe()
                            ),
                        ));
                    }
                }
            }
        }
        if let Err(message) = func.check_arity(args.len()) {
            return Err(ExprError::new(name_pos, message).with_hint(format!("usage: {}", func.usage())));
        }
        if let Err(bad) = functions::check_literals(func, &args) {
            let pos = arg_positions.get(bad.index).copied().unwrap_or(name_pos);
            let err = ExprError::new(pos, bad.message);
            return Err(match bad.hint {
                Some(hint) => err.with_hint(hint),
                None => err,
            });
        }
        Ok((Node::Call(func, args), depth))
    }
}

/// Converts a number literal; `text` includes a leading `-` when one was written.
fn number(text: &str, float: bool, pos: usize) -> Result<Node, ExprError> {
    if float {
        return match text.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(Node::Literal(Value::Float(x))),
            _ => Err(ExprError::new(pos, format!("number {text} is too large for a 64-bit float"))),
        };
    }
    text.parse::<i64>().map(|i| Node::Literal(Value::Int(i))).map_err(|_| {
        ExprError::new(pos, format!("integer {text} is out of range for a 64-bit integer"))
            .with_hint(format!("write it as a float: {text}.0"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(text: &str) -> String {
        // Debug-free rendering: the canonical text shows the structure through parentheses
        // only where needed, so fully parenthesise instead to see what was parsed.
        fn show(node: &Node) -> String {
            match node {
                Node::Binary(op, l, r) => format!("({} {} {})", show(l), op.symbol(), show(r)),
                Node::Not(x) => format!("(not {})", show(x)),
                Node::Neg(x) => format!("(-{})", show(x)),
                Node::Call(f, args) => {
                    format!("{}({})", f.name(), args.iter().map(show).collect::<Vec<_>>().join(", "))
                }
                other => other.to_string(),
            }
        }
        show(&parse(text).unwrap_or_else(|e| panic!("{text}: {e}")))
    }

    fn error(text: &str) -> (usize, String) {
        let err = parse(text).expect_err("should fail");
        (err.position, err.message)
    }

    fn hint(text: &str) -> String {
        parse(text).expect_err("should fail").hint.unwrap_or_default()
    }

    #[test]
    fn precedence_from_loosest_to_tightest() {
        assert_eq!(tree("a or b and c"), "(a or (b and c))");
        assert_eq!(tree("not a and b"), "((not a) and b)");
        assert_eq!(tree("not a = b"), "(not (a = b))");
        assert_eq!(tree("a = b || c"), "(a = (b || c))");
        assert_eq!(tree("a || b + c"), "(a || (b + c))");
        assert_eq!(tree("a + b * c"), "(a + (b * c))");
        assert_eq!(tree("-a * b"), "((-a) * b)");
        assert_eq!(tree("(a + b) * c"), "((a + b) * c)");
        assert_eq!(tree("a = 1 or b != 2 and c <= 3"), "((a = 1) or ((b != 2) and (c <= 3)))");
    }

    #[test]
    fn binary_operators_are_left_associative() {
        assert_eq!(tree("a - b - c"), "((a - b) - c)");
        assert_eq!(tree("a / b % c"), "((a / b) % c)");
        assert_eq!(tree("a || b || c"), "((a || b) || c)");
        assert_eq!(tree("a or b or c"), "((a or b) or c)");
    }

    #[test]
    fn alternative_spellings_parse_to_the_same_tree() {
        assert_eq!(parse("a == b"), parse("a = b"));
        assert_eq!(parse("a <> b"), parse("a != b"));
        assert_eq!(parse("LOWER(x)"), parse("lower(x)"));
        assert_eq!(parse("x AND NOT y"), parse("x and not y"));
        assert_eq!(parse("((x))"), parse("x"));
    }

    #[test]
    fn minus_before_a_number_is_part_of_the_literal() {
        assert_eq!(parse("-9223372036854775808"), Ok(Node::Literal(Value::Int(i64::MIN))));
        assert_eq!(parse("-1.5"), Ok(Node::Literal(Value::Float(-1.5))));
        assert_eq!(tree("1 - -2"), "(1 - -2)");
        assert_eq!(tree("- -2"), "(--2)");
        assert_eq!(tree("-(2)"), "(-2)");
    }

    #[test]
    fn identifiers_followed_by_a_parenthesis_are_calls_others_columns() {
        assert_eq!(parse("lower"), Ok(Node::Column("lower".into())));
        assert_eq!(parse("`lower`"), Ok(Node::Column("lower".into())));
        assert_eq!(tree("lower (x)"), "lower(x)");
        assert_eq!(tree("concat(a, 'b', 1)"), "concat(a, 'b', 1)");
        assert_eq!(tree("coalesce(a, b) + 1"), "(coalesce(a, b) + 1)");
    }

    #[test]
    fn literals() {
        assert_eq!(parse("'x'"), Ok(Node::Literal(Value::from("x"))));
        assert_eq!(parse("1e3"), Ok(Node::Literal(Value::Float(1000.0))));
        assert_eq!(parse("42"), Ok(Node::Literal(Value::Int(42))));
        assert_eq!(parse("TRUE"), Ok(Node::Literal(Value::Bool(true))));
        assert_eq!(parse("null"), Ok(Node::Literal(Value::Null)));
    }

    #[test]
    fn syntax_errors_point_at_the_culprit() {
        assert_eq!(error(""), (0, "empty expression".into()));
        assert_eq!(error("   "), (0, "empty expression".into()));
        assert_eq!(error("a +"), (3, "expected a value, found the end of the expression".into()));
        assert_eq!(error("a b"), (2, "expected an operator, found `b`".into()));
        assert_eq!(
            error("(a + b"),
            (6, "expected `)` to close the `(` at character 1, found the end of the expression".into())
        );
        assert_eq!(error("a)"), (1, "unmatched `)`".into()));
        assert_eq!(error("* 2"), (0, "expected a value, found `*`".into()));
        assert_eq!(
            error("lower(x y)"),
            (8, "expected `,` or `)` after an argument of lower() (opened at character 6), found `y`".into())
        );
        assert_eq!(error("concat(a,)"), (9, "expected a value, found `)`".into()));
        assert_eq!(error("a < b < c"), (6, "comparisons cannot be chained: `<`".into()));
        assert_eq!(hint("a < b < c"), "combine them with `and`, e.g. `a < b and b < c`");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let parens = format!("{}x{}", "(".repeat(100_000), ")".repeat(100_000));
        assert_eq!(error(&parens), (100, "the expression nests too deeply (more than 100 levels)".into()));
        let chain = vec!["a"; 100_000].join(" + ");
        assert_eq!(error(&chain).1, "the expression nests too deeply (more than 100 levels)");
        let calls = format!("{}x{}", "lower(".repeat(1000), ")".repeat(1000));
        assert_eq!(error(&calls).1, "the expression nests too deeply (more than 100 levels)");
        assert_eq!(error(&"not ".repeat(1000)).1, "the expression nests too deeply (more than 100 levels)");
        // Fifty levels of real nesting are fine.
        let fine = format!("{}x{}", "lower(".repeat(50), ")".repeat(50));
        assert!(parse(&fine).is_ok());
        assert!(parse(&vec!["a"; 90].join(" || ")).is_ok());
    }

    #[test]
    fn number_literals_out_of_range() {
        assert_eq!(
            error("x + 9223372036854775808"),
            (4, "integer 9223372036854775808 is out of range for a 64-bit integer".into())
        );
        assert_eq!(hint("9223372036854775808"), "write it as a float: 9223372036854775808.0");
        assert_eq!(error("1e999"), (0, "number 1e999 is too large for a 64-bit float".into()));
    }

    #[test]
    fn unknown_functions_suggest_the_nearest_name() {
        assert_eq!(error("trim(lowr(x))"), (5, "unknown function `lowr`".into()));
        assert_eq!(hint("trim(lowr(x))"), "did you mean `lower`?");
        assert_eq!(hint("STARTSWITH(x, 'a')"), "did you mean `starts_with`?");
        assert!(
            hint("frobnicate(x)").starts_with("the functions are lower, upper, trim,"),
            "{}",
            hint("frobnicate(x)")
        );
    }

    #[test]
    fn wrong_argument_counts_name_the_function_and_its_usage() {
        assert_eq!(error("x || lower(a, b)"), (5, "lower() takes 1 argument, got 2".into()));
        assert_eq!(hint("lower(a, b)"), "usage: lower(s)");
        assert_eq!(error("substring(s)"), (0, "substring() takes 2 or 3 arguments, got 1".into()));
        assert_eq!(error("coalesce()"), (0, "coalesce() takes at least 1 argument, got 0".into()));
        assert_eq!(error("if(a, b)"), (0, "if() takes 3 arguments, got 2".into()));
    }

    #[test]
    fn literal_arguments_are_checked_where_they_are_written() {
        let (pos, message) = error("regexp_match(x, '(a')");
        assert_eq!((pos, message.as_str()), (16, "regexp_match(): invalid regular expression \"(a\": unclosed group"));
        assert_eq!(error("parse_date(x, '%Y-%Q')").0, 14);
        assert_eq!(error("cast(x, 'integer')").1, "cast(): unknown type 'integer'");
        assert_eq!(
            hint("cast(x, 'integer')"),
            "the types are 'int', 'float', 'bool', 'string', 'date', 'datetime', 'json'"
        );
        assert_eq!(error("split_part(x, ',', 0)"), (19, "split_part(): field position must not be zero".into()));
    }
}

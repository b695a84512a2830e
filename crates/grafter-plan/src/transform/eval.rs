//! Binding a parsed tree to a source's columns ([`compile`]) and evaluating the result row
//! by row ([`eval`]): operators, three-valued logic, and the functions with their own null
//! rule (`coalesce`, `default`, `nullif`, `if`, `is_null`, `concat`).
//!
//! Evaluation runs millions of times, so it returns [`Cow`]s: a column or a constant is
//! borrowed, not cloned, until the final result, and arguments of null-in-null-out functions
//! sit in a fixed array rather than a vector per row. Binding folds subtrees without columns
//! into constants, so `'[' || 'ab' || ']'` is computed (and compiled as a pattern) once.

use std::borrow::Cow;
use std::cmp::Ordering;

use grafter_model::Value;

use super::ast::{BinOp, Node};
use super::error::{BindError, EvalError, describe, nearest};
use super::functions::{self, Func, MAX_STRICT_ARGS, Prepared};

/// A node of a bound expression: columns resolved to indexes, constant parts folded,
/// patterns and formats compiled.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Const(Value),
    /// The name is kept for the (internal) error of a row shorter than its columns.
    Column {
        index: usize,
        name: Box<str>,
    },
    Neg(Box<Op>),
    Not(Box<Op>),
    Binary(BinOp, Box<Op>, Box<Op>),
    Call(Box<Call>),
}

/// A bound function call.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    func: Func,
    args: Vec<Op>,
    prepared: Prepared,
}

impl Op {
    /// Adds the indexes of the columns this node reads to `into`.
    pub(crate) fn column_indexes(&self, into: &mut Vec<usize>) {
        match self {
            Op::Const(_) => {}
            Op::Column { index, .. } => {
                if !into.contains(index) {
                    into.push(*index);
                }
            }
            Op::Neg(inner) | Op::Not(inner) => inner.column_indexes(into),
            Op::Binary(_, left, right) => {
                left.column_indexes(into);
                right.column_indexes(into);
            }
            Op::Call(call) => call.args.iter().for_each(|arg| arg.column_indexes(into)),
        }
    }

    /// The value, if this node is a constant.
    pub(crate) fn as_const(&self) -> Option<&Value> {
        match self {
            Op::Const(value) => Some(value),
            _ => None,
        }
    }
}

const NULL: Cow<'static, Value> = Cow::Borrowed(&Value::Null);

fn boolean<'a>(b: bool) -> Cow<'a, Value> {
    Cow::Owned(Value::Bool(b))
}

/// Resolves column names (exactly, case included: the engine passes the names the source
/// reports) and compiles what can be compiled before the first row.
pub(crate) fn compile(node: &Node, columns: &[String]) -> Result<Op, BindError> {
    let op = match node {
        Node::Literal(value) => return Ok(Op::Const(value.clone())),
        Node::Column(name) => {
            return match columns.iter().position(|c| c == name) {
                Some(index) => Ok(Op::Column { index, name: name.as_str().into() }),
                None => Err(BindError::UnknownColumn {
                    column: name.clone(),
                    suggestion: nearest(name, columns.iter().map(String::as_str)).map(str::to_owned),
                    available: columns.to_vec(),
                }),
            };
        }
        Node::Neg(operand) => Op::Neg(Box::new(compile(operand, columns)?)),
        Node::Not(operand) => Op::Not(Box::new(compile(operand, columns)?)),
        Node::Binary(op, lhs, rhs) => {
            Op::Binary(*op, Box::new(compile(lhs, columns)?), Box::new(compile(rhs, columns)?))
        }
        Node::Call(func, args) => {
            let args = args.iter().map(|arg| compile(arg, columns)).collect::<Result<Vec<_>, _>>()?;
            let constants: Vec<Option<&Value>> = args.iter().map(Op::as_const).collect();
            let prepared = functions::prepare(*func, &constants)
                .map_err(|message| BindError::InvalidArgument { function: func.name(), message })?;
            Op::Call(Box::new(Call { func: *func, args, prepared }))
        }
    };
    Ok(fold(op))
}

/// Replaces a node whose operands are all constants by its value.
fn fold(op: Op) -> Op {
    let constant = match &op {
        Op::Neg(operand) | Op::Not(operand) => operand.as_const().is_some(),
        Op::Binary(_, lhs, rhs) => lhs.as_const().is_some() && rhs.as_const().is_some(),
        Op::Call(call) => call.args.iter().all(|arg| arg.as_const().is_some()),
        Op::Const(_) | Op::Column { .. } => false,
    };
    if !constant {
        return op;
    }
    // A constant that fails (`int('x')`) is left to fail per row: it may sit in an `if`
    // branch no row takes, and binding must not refuse an expression that can work.
    match eval(&op, &[]) {
        Ok(value) => Op::Const(value.into_owned()),
        Err(_) => op,
    }
}

/// Evaluates `op` over one row.
pub(crate) fn eval<'a>(op: &'a Op, row: &'a [Value]) -> Result<Cow<'a, Value>, EvalError> {
    match op {
        Op::Const(value) => Ok(Cow::Borrowed(value)),
        Op::Column { index, name } => row.get(*index).map(Cow::Borrowed).ok_or_else(|| {
            EvalError::new(format!(
                "internal error: the row has {} values but column `{name}` is number {}",
                row.len(),
                index + 1
            ))
        }),
        Op::Neg(operand) => negate(eval(operand, row)?.as_ref()).map(Cow::Owned),
        Op::Not(operand) => Ok(match truth("after `not`", &*eval(operand, row)?)? {
            Some(b) => boolean(!b),
            None => NULL,
        }),
        Op::Binary(BinOp::And, lhs, rhs) => {
            let context = "on each side of `and`";
            let left = truth(context, &*eval(lhs, row)?)?;
            if left == Some(false) {
                return Ok(boolean(false));
            }
            Ok(match (left, truth(context, &*eval(rhs, row)?)?) {
                (_, Some(false)) => boolean(false),
                (Some(true), Some(true)) => boolean(true),
                _ => NULL,
            })
        }
        Op::Binary(BinOp::Or, lhs, rhs) => {
            let context = "on each side of `or`";
            let left = truth(context, &*eval(lhs, row)?)?;
            if left == Some(true) {
                return Ok(boolean(true));
            }
            Ok(match (left, truth(context, &*eval(rhs, row)?)?) {
                (_, Some(true)) => boolean(true),
                (Some(false), Some(false)) => boolean(false),
                _ => NULL,
            })
        }
        Op::Binary(op, lhs, rhs) => {
            let left = eval(lhs, row)?;
            if left.is_null() {
                return Ok(NULL);
            }
            let right = eval(rhs, row)?;
            if right.is_null() {
                return Ok(NULL);
            }
            binary(*op, &left, &right).map(Cow::Owned)
        }
        Op::Call(call) => eval_call(call, row),
    }
}

/// A value used as a condition: a bool, or null for unknown.
fn truth(context: &str, value: &Value) -> Result<Option<bool>, EvalError> {
    match value {
        Value::Bool(b) => Ok(Some(*b)),
        Value::Null => Ok(None),
        other => Err(EvalError::new(format!("expected a bool {context}, got {}", describe(other)))),
    }
}

fn negate(value: &Value) -> Result<Value, EvalError> {
    match value {
        Value::Null => Ok(Value::Null),
        Value::Int(i) => {
            i.checked_neg().map(Value::Int).ok_or_else(|| EvalError::new(format!("integer overflow in -: -({i})")))
        }
        Value::Float(x) => Ok(Value::Float(-x)),
        other => Err(EvalError::new(format!("`-` expects a number, got {}", describe(other)))),
    }
}

/// A binary operator other than `and`/`or` on two non-null values.
fn binary(op: BinOp, left: &Value, right: &Value) -> Result<Value, EvalError> {
    match op {
        BinOp::Concat => match (left, right) {
            (Value::String(a), Value::String(b)) => {
                let mut joined = String::with_capacity(a.len() + b.len());
                joined.push_str(a);
                joined.push_str(b);
                Ok(Value::String(joined))
            }
            _ => {
                let culprit = if left.as_str().is_none() { left } else { right };
                Err(EvalError::new(format!(
                    "`||` expects strings, got {} (convert it with string())",
                    describe(culprit)
                )))
            }
        },
        BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Rem => arithmetic(op, left, right),
        _ => compare(op, left, right).map(Value::Bool),
    }
}

fn arithmetic(op: BinOp, left: &Value, right: &Value) -> Result<Value, EvalError> {
    let symbol = op.symbol();
    let (x, y) = match (left, right) {
        (Value::Int(x), Value::Int(y)) => return int_arithmetic(op, *x, *y),
        (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => (as_f64(left), as_f64(right)),
        _ => {
            let strings = op == BinOp::Add && (left.as_str().is_some() || right.as_str().is_some());
            return Err(EvalError::new(format!(
                "`{symbol}` expects numbers, got {} and {}{}",
                describe(left),
                describe(right),
                if strings { " (join strings with ||)" } else { "" }
            )));
        }
    };
    let result = match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        // Float division by zero is refused like integer division: an infinity or NaN in a
        // graph property is a silent corruption, not a result.
        BinOp::Div | BinOp::Rem if y == 0.0 => {
            return Err(EvalError::new(format!("division by zero: {x:?} {symbol} {y:?}")));
        }
        BinOp::Div => x / y,
        _ => x % y,
    };
    if !result.is_finite() && x.is_finite() && y.is_finite() {
        return Err(EvalError::new(format!("float overflow in {symbol}: {x:?} {symbol} {y:?}")));
    }
    Ok(Value::Float(result))
}

fn as_f64(value: &Value) -> f64 {
    match value {
        Value::Int(i) => *i as f64,
        Value::Float(x) => *x,
        _ => f64::NAN,
    }
}

/// Int op Int stays Int: `/` truncates toward zero (`7 / 2` is 3) and `%` takes the sign of
/// the dividend, as in SQL. Overflow is an error, never a wrap-around.
fn int_arithmetic(op: BinOp, x: i64, y: i64) -> Result<Value, EvalError> {
    let symbol = op.symbol();
    let result = match op {
        BinOp::Add => x.checked_add(y),
        BinOp::Sub => x.checked_sub(y),
        BinOp::Mul => x.checked_mul(y),
        BinOp::Div | BinOp::Rem if y == 0 => {
            return Err(EvalError::new(format!("division by zero: {x} {symbol} {y}")));
        }
        BinOp::Div => x.checked_div(y),
        _ => x.checked_rem(y),
    };
    result.map(Value::Int).ok_or_else(|| EvalError::new(format!("integer overflow in {symbol}: {x} {symbol} {y}")))
}

/// A comparison of two non-null values. Ints and floats compare numerically (exactly, even
/// beyond 2^53); other values only with their own kind — comparing a string with an int is
/// an error rather than `false`, because it is always a mapping mistake. Strings compare by
/// code point, not by locale.
pub(crate) fn compare(op: BinOp, left: &Value, right: &Value) -> Result<bool, EvalError> {
    use Value as V;
    let ordering = match (left, right) {
        (V::Int(x), V::Int(y)) => Some(x.cmp(y)),
        (V::Float(x), V::Float(y)) => x.partial_cmp(y),
        (V::Int(x), V::Float(y)) => cmp_int_float(*x, *y),
        (V::Float(x), V::Int(y)) => cmp_int_float(*y, *x).map(Ordering::reverse),
        (V::String(x), V::String(y)) => Some(x.cmp(y)),
        (V::Bool(x), V::Bool(y)) => Some(x.cmp(y)),
        (V::Bytes(x), V::Bytes(y)) => Some(x.cmp(y)),
        (V::Date(x), V::Date(y)) => Some(x.cmp(y)),
        (V::Time(x), V::Time(y)) => Some(x.cmp(y)),
        (V::DateTime(x), V::DateTime(y)) => Some(x.cmp(y)),
        // Instants: 10:00+02:00 equals 08:00Z.
        (V::DateTimeTz(x), V::DateTimeTz(y)) => Some(x.cmp(y)),
        (V::List(_), V::List(_)) | (V::Map(_), V::Map(_)) => {
            return match op {
                BinOp::Eq => Ok(left == right),
                BinOp::Ne => Ok(left != right),
                _ => Err(EvalError::new(format!(
                    "cannot order {}s with `{}`: they can only be tested for equality",
                    left.kind(),
                    op.symbol()
                ))),
            };
        }
        _ => {
            return Err(EvalError::new(format!(
                "cannot compare {} with {} using `{}`",
                describe(left),
                describe(right),
                op.symbol()
            )));
        }
    };
    // An unordered pair (NaN) is unequal to everything and neither less nor greater.
    Ok(match op {
        BinOp::Eq => ordering == Some(Ordering::Equal),
        BinOp::Ne => ordering != Some(Ordering::Equal),
        BinOp::Lt => ordering == Some(Ordering::Less),
        BinOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        BinOp::Gt => ordering == Some(Ordering::Greater),
        BinOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    })
}

/// Compares an int with a float exactly; converting the int to a float would call
/// 2^53 + 1 equal to 2^53.
fn cmp_int_float(i: i64, x: f64) -> Option<Ordering> {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if x.is_nan() {
        return None;
    }
    if x >= TWO_POW_63 {
        return Some(Ordering::Less);
    }
    if x < -TWO_POW_63 {
        return Some(Ordering::Greater);
    }
    let whole = x.trunc();
    // In range and whole, so exact.
    let by_whole = i.cmp(&(whole as i64));
    Some(by_whole.then(0.0.partial_cmp(&(x - whole)).unwrap_or(Ordering::Equal)))
}

fn eval_call<'a>(call: &'a Call, row: &'a [Value]) -> Result<Cow<'a, Value>, EvalError> {
    let func = call.func;
    let internal =
        || EvalError::new(format!("internal error: {}() bound with {} arguments", func.name(), call.args.len()));
    match func {
        Func::Coalesce | Func::Default => {
            for arg in &call.args {
                let value = eval(arg, row)?;
                if !value.is_null() {
                    return Ok(value);
                }
            }
            Ok(NULL)
        }
        Func::If => {
            let [condition, then, otherwise] = call.args.as_slice() else { return Err(internal()) };
            match eval(condition, row)?.as_ref() {
                Value::Bool(true) => eval(then, row),
                // An unknown condition is not true: take the else branch, as SQL's CASE does.
                Value::Bool(false) | Value::Null => eval(otherwise, row),
                other => {
                    Err(EvalError::new(format!("if(): expected a bool as the condition, got {}", describe(other))))
                }
            }
        }
        Func::IsNull => {
            let [arg] = call.args.as_slice() else { return Err(internal()) };
            Ok(boolean(eval(arg, row)?.is_null()))
        }
        Func::Nullif => {
            let [a, b] = call.args.as_slice() else { return Err(internal()) };
            let value = eval(a, row)?;
            if value.is_null() {
                return Ok(NULL);
            }
            let other = eval(b, row)?;
            if other.is_null() {
                return Ok(value);
            }
            let equal = compare(BinOp::Eq, &value, &other).map_err(|e| EvalError::new(format!("nullif(): {e}")))?;
            Ok(if equal { NULL } else { value })
        }
        Func::Concat => {
            let mut joined = String::new();
            for (i, arg) in call.args.iter().enumerate() {
                match eval(arg, row)?.as_ref() {
                    Value::Null => {}
                    Value::String(s) => joined.push_str(s),
                    other => {
                        return Err(EvalError::new(format!(
                            "concat(): expected a string as argument {}, got {} (convert it with string())",
                            i + 1,
                            describe(other)
                        )));
                    }
                }
            }
            Ok(Cow::Owned(Value::String(joined)))
        }
        _ => {
            debug_assert!(func.null_in_null_out(), "{} needs its own null rule", func.name());
            let mut values = [NULL; MAX_STRICT_ARGS];
            let count = call.args.len();
            if count > MAX_STRICT_ARGS {
                return Err(internal());
            }
            for (slot, arg) in values.iter_mut().zip(&call.args) {
                let value = eval(arg, row)?;
                if value.is_null() {
                    return Ok(NULL);
                }
                *slot = value;
            }
            functions::apply(func, &call.prepared, &values[..count])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::parse;

    fn run(expr: &str, row: &[Value]) -> Result<Value, String> {
        let columns: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let compiled = parse(expr).map_err(|e| e.to_string())?.bind(&columns).map_err(|e| e.to_string())?;
        let mut full = row.to_vec();
        full.resize(2, Value::Null);
        compiled.eval(&full).map_err(|e| e.message)
    }

    fn ok(expr: &str, row: &[Value]) -> Value {
        run(expr, row).unwrap_or_else(|e| panic!("{expr}: {e}"))
    }

    fn err(expr: &str, row: &[Value]) -> String {
        run(expr, row).expect_err(expr)
    }

    const T: Value = Value::Bool(true);
    const F: Value = Value::Bool(false);
    const N: Value = Value::Null;

    #[test]
    fn precedence_shows_in_results() {
        assert_eq!(ok("1 + 2 * 3", &[]), Value::Int(7));
        assert_eq!(ok("(1 + 2) * 3", &[]), Value::Int(9));
        assert_eq!(ok("10 - 4 - 3", &[]), Value::Int(3));
        assert_eq!(ok("-2 * 3 + 1", &[]), Value::Int(-5));
        assert_eq!(err("'a' || 1 + 1", &[]), "`||` expects strings, got int 2 (convert it with string())");
        assert_eq!(ok("not 1 = 2 and 2 > 1", &[]), T);
        assert_eq!(ok("true or false and false", &[]), T);
        assert_eq!(ok("'x' || 'y' = 'xy'", &[]), T);
    }

    #[test]
    fn three_valued_logic() {
        let cases = [(T, T, T, T), (T, F, F, T), (T, N, N, T), (F, F, F, F), (F, N, F, N), (N, N, N, N), (N, F, F, N)];
        for (a, b, and, or) in cases {
            assert_eq!(ok("a and b", &[a.clone(), b.clone()]), and, "{a:?} and {b:?}");
            assert_eq!(ok("b and a", &[a.clone(), b.clone()]), and, "{b:?} and {a:?}");
            assert_eq!(ok("a or b", &[a.clone(), b.clone()]), or, "{a:?} or {b:?}");
            assert_eq!(ok("b or a", &[a.clone(), b.clone()]), or, "{b:?} or {a:?}");
        }
        assert_eq!(ok("not a", &[N]), N);
        assert_eq!(ok("not a", &[T]), F);
    }

    #[test]
    fn logic_short_circuits_and_rejects_non_bools() {
        assert_eq!(ok("false and 1 / 0 = 1", &[]), F);
        assert_eq!(ok("true or 1 / 0 = 1", &[]), T);
        assert_eq!(err("a and true", &[Value::Int(1)]), "expected a bool on each side of `and`, got int 1");
        assert_eq!(err("a or false", &[Value::from("yes")]), "expected a bool on each side of `or`, got \"yes\"");
        assert_eq!(err("not a", &[Value::Int(0)]), "expected a bool after `not`, got int 0");
    }

    #[test]
    fn comparisons() {
        assert_eq!(ok("a = 1", &[Value::Float(1.0)]), T);
        assert_eq!(ok("a < 2", &[Value::Float(1.5)]), T);
        assert_eq!(ok("a >= 9007199254740993", &[Value::Float(9007199254740992.0)]), F);
        assert_eq!(ok("a != b", &[Value::Float(f64::NAN), Value::Float(f64::NAN)]), T);
        assert_eq!(ok("a = b", &[Value::Float(f64::NAN), Value::Float(f64::NAN)]), F);
        assert_eq!(ok("'abc' < 'abd'", &[]), T);
        assert_eq!(ok("'B' < 'a'", &[]), T);
        assert_eq!(ok("a <> 'x'", &[Value::from("x")]), F);
        assert_eq!(ok("parse_date(a) > parse_date('2024-01-01')", &[Value::from("2024-02-01")]), T);
        assert_eq!(
            ok(
                "parse_datetime(a) = parse_datetime(b)",
                &[Value::from("2024-01-01T10:00:00+02:00"), Value::from("2024-01-01T08:00:00Z")]
            ),
            T
        );
        assert_eq!(ok("a = 1", &[N]), N);
        assert_eq!(ok("null = null", &[]), N);
        assert_eq!(err("a = 1", &[Value::from("1")]), "cannot compare \"1\" with int 1 using `=`");
        assert_eq!(err("a < true", &[Value::Int(1)]), "cannot compare int 1 with bool true using `<`");
        assert_eq!(ok("json_parse(a) = json_parse(b)", &[Value::from("[1,2]"), Value::from("[1, 2]")]), T);
        assert_eq!(
            err("json_parse(a) < json_parse(a)", &[Value::from("[1]")]),
            "cannot order lists with `<`: they can only be tested for equality"
        );
    }

    #[test]
    fn exact_int_float_comparison() {
        assert_eq!(cmp_int_float(9_007_199_254_740_993, 9_007_199_254_740_992.0), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(1, 1.5), Some(Ordering::Less));
        assert_eq!(cmp_int_float(-1, -1.5), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(i64::MAX, 9.223372036854776e18), Some(Ordering::Less));
        assert_eq!(cmp_int_float(i64::MIN, -9.223372036854776e18), Some(Ordering::Equal));
        assert_eq!(cmp_int_float(0, f64::NEG_INFINITY), Some(Ordering::Greater));
        assert_eq!(cmp_int_float(0, f64::NAN), None);
    }

    #[test]
    fn integer_arithmetic_stays_integer_and_checks_overflow() {
        assert_eq!(ok("7 / 2", &[]), Value::Int(3));
        assert_eq!(ok("-7 / 2", &[]), Value::Int(-3));
        assert_eq!(ok("-7 % 3", &[]), Value::Int(-1));
        assert_eq!(ok("a * 2", &[Value::Int(21)]), Value::Int(42));
        assert_eq!(err("a + 1", &[Value::Int(i64::MAX)]), "integer overflow in +: 9223372036854775807 + 1");
        assert_eq!(err("a * 2", &[Value::Int(i64::MIN)]), "integer overflow in *: -9223372036854775808 * 2");
        assert_eq!(err("a / -1", &[Value::Int(i64::MIN)]), "integer overflow in /: -9223372036854775808 / -1");
        assert_eq!(err("-a", &[Value::Int(i64::MIN)]), "integer overflow in -: -(-9223372036854775808)");
        assert_eq!(err("a / 0", &[Value::Int(5)]), "division by zero: 5 / 0");
        assert_eq!(err("a % 0", &[Value::Int(5)]), "division by zero: 5 % 0");
    }

    #[test]
    fn mixed_and_float_arithmetic() {
        assert_eq!(ok("7 / 2.0", &[]), Value::Float(3.5));
        assert_eq!(ok("a + 1", &[Value::Float(0.5)]), Value::Float(1.5));
        assert_eq!(ok("5.5 % 2", &[]), Value::Float(1.5));
        assert_eq!(ok("-a", &[Value::Float(2.5)]), Value::Float(-2.5));
        assert_eq!(err("a / 0.0", &[Value::Float(1.5)]), "division by zero: 1.5 / 0.0");
        assert_eq!(err("a * 10", &[Value::Float(1e308)]), "float overflow in *: 1e308 * 10.0");
        assert_eq!(ok("a + 1", &[N]), N);
        assert_eq!(ok("null * a", &[Value::Int(1)]), N);
    }

    #[test]
    fn arithmetic_on_other_kinds_is_an_error() {
        assert_eq!(
            err("a + 1", &[Value::from("1")]),
            "`+` expects numbers, got \"1\" and int 1 (join strings with ||)"
        );
        assert_eq!(err("a * b", &[T, Value::Int(2)]), "`*` expects numbers, got bool true and int 2");
        assert_eq!(err("-a", &[Value::from("x")]), "`-` expects a number, got \"x\"");
    }

    #[test]
    fn concatenation_operator() {
        assert_eq!(ok("a || '-' || b", &[Value::from("x"), Value::from("y")]), Value::from("x-y"));
        assert_eq!(ok("a || b", &[Value::from("x"), N]), N);
        assert_eq!(
            err("a || b", &[Value::from("x"), Value::Int(1)]),
            "`||` expects strings, got int 1 (convert it with string())"
        );
        assert_eq!(ok("a || string(b)", &[Value::from("x"), Value::Int(1)]), Value::from("x1"));
    }

    #[test]
    fn coalesce_and_default() {
        assert_eq!(ok("coalesce(a, b, 'z')", &[N, Value::from("b")]), Value::from("b"));
        assert_eq!(ok("coalesce(a, b)", &[N, N]), N);
        assert_eq!(ok("default(a, 0)", &[N]), Value::Int(0));
        assert_eq!(ok("default(a, 0)", &[Value::Int(5)]), Value::Int(5));
        // Later arguments are not evaluated once a value is found.
        assert_eq!(ok("coalesce(a, 1 / 0)", &[Value::Int(1)]), Value::Int(1));
    }

    #[test]
    fn nullif_compares_like_equals() {
        assert_eq!(ok("nullif(a, '')", &[Value::from("")]), N);
        assert_eq!(ok("nullif(a, '')", &[Value::from("x")]), Value::from("x"));
        assert_eq!(ok("nullif(a, 0)", &[Value::Float(0.0)]), N);
        assert_eq!(ok("nullif(a, b)", &[Value::Int(1), N]), Value::Int(1));
        assert_eq!(ok("nullif(a, 1)", &[N]), N);
        assert_eq!(err("nullif(a, '')", &[Value::Int(0)]), "nullif(): cannot compare int 0 with \"\" using `=`");
    }

    #[test]
    fn if_takes_else_for_false_and_null() {
        assert_eq!(ok("if(a, 'yes', 'no')", &[T]), Value::from("yes"));
        assert_eq!(ok("if(a, 'yes', 'no')", &[F]), Value::from("no"));
        assert_eq!(ok("if(a, 'yes', 'no')", &[N]), Value::from("no"));
        assert_eq!(ok("if(a > 0, a, 1 / 0)", &[Value::Int(2)]), Value::Int(2));
        assert_eq!(err("if(a, 1, 2)", &[Value::Int(1)]), "if(): expected a bool as the condition, got int 1");
    }

    #[test]
    fn is_null_is_never_null() {
        assert_eq!(ok("is_null(a)", &[N]), T);
        assert_eq!(ok("is_null(a)", &[Value::from("")]), F);
    }

    #[test]
    fn concat_treats_null_as_empty() {
        assert_eq!(
            ok("concat(a, ' ', b)", &[Value::from("Ada"), Value::from("Lovelace")]),
            Value::from("Ada Lovelace")
        );
        assert_eq!(ok("concat(a, ' ', b)", &[Value::from("Ada"), N]), Value::from("Ada "));
        assert_eq!(ok("concat(a)", &[N]), Value::from(""));
        assert_eq!(
            err("concat('n', a)", &[Value::Int(1)]),
            "concat(): expected a string as argument 2, got int 1 (convert it with string())"
        );
    }

    #[test]
    fn constants_are_folded_at_bind_time() {
        let bound = parse("'a' || 'b'").expect("parses").bind(&[]).expect("binds");
        assert_eq!(bound.as_constant(), Some(&Value::from("ab")));
        // A failing constant is kept and fails only when evaluated.
        let bound = parse("if(true, 1, int('x'))").expect("parses").bind(&[]).expect("binds");
        assert_eq!(bound.eval(&[]), Ok(Value::Int(1)));
        let bound = parse("int('x')").expect("parses").bind(&[]).expect("binds");
        assert_eq!(bound.eval(&[]).map_err(|e| e.message), Err("int(): \"x\" is not an integer".to_owned()));
    }

    #[test]
    fn a_short_row_is_an_error_not_a_panic() {
        let bound = parse("b").expect("parses").bind(&["a".to_owned(), "b".to_owned()]).expect("binds");
        assert_eq!(
            bound.eval(&[Value::Int(1)]).map_err(|e| e.message),
            Err("internal error: the row has 1 values but column `b` is number 2".to_owned())
        );
    }
}

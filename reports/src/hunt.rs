//! The expressions of `meshsim hunt --until 'EXPR'`: report metrics, by the dotted paths
//! `[[expect]]` uses ([`crate::expect::lookup`]), compared with numbers and combined with
//! `and`, `or`, `not` and parentheses.
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := operand ("<" | "<=" | ">" | ">=" | "==" | "!=") operand
//! operand    := NUMBER | PATH
//! ```
//!
//! `and` binds tighter than `or`. A PATH starts with a letter or `_` and holds letters,
//! digits and `_ - . / : #`, and `->` (link names); a NUMBER is a decimal, optionally signed,
//! with an optional exponent. Errors give the 1-based column and what was expected there.
//!
//! A path naming a statistic with no value in a run (`null`: a latency with no successful
//! request) makes every comparison with it false, `!=` included; `not` still negates that
//! false. A path that is not in the report at all is an error.

use std::fmt;

use serde_json::Value;

use crate::expect::lookup_statistic;
use crate::many::Metrics;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }

    fn holds(self, a: f64, b: f64) -> bool {
        match self {
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
            Op::Eq => a == b,
            // A missing statistic (NaN here) is neither equal nor unequal to anything.
            Op::Ne => a != b && !a.is_nan() && !b.is_nan(),
        }
    }
}

/// A side of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Number(f64),
    Path(String),
}

impl fmt::Display for Operand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Operand::Number(x) => write!(f, "{x}"),
            Operand::Path(p) => f.write_str(p),
        }
    }
}

/// The parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Compare(Operand, Op, Operand),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

/// Deepest nesting of `not` and parentheses an expression may have: the parser, the
/// evaluator and the drop of the tree recurse once per level, so the cap keeps a hostile
/// `--until` from overflowing the stack.
pub const MAX_EXPR_DEPTH: usize = 64;

/// Most comparisons an expression may have (an `and`/`or` chain nests one level per
/// comparison in the tree, so this bounds the tree's depth too).
pub const MAX_EXPR_COMPARISONS: usize = 256;

/// The key under which [`Expr::extract`] records a path it could not read (then the message).
const UNREADABLE: &str = "\u{1}unreadable ";

impl Expr {
    /// Parses `text`; the error names the column and what was expected there.
    pub fn parse(text: &str) -> Result<Expr, String> {
        let tokens = tokenize(text)?;
        let mut p = Parser {
            tokens,
            at: 0,
            end: text.chars().count() + 1,
            depth: 0,
            comparisons: 0,
        };
        let expr = p.or()?;
        match p.peek() {
            None => Ok(expr),
            Some((tok, col)) => Err(format!(
                "column {col}: expected and, or or the end, found {tok}"
            )),
        }
    }

    /// Every metric path, once each, in order of appearance.
    pub fn paths(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.visit(&mut |a, _, b| {
            for side in [a, b] {
                if let Operand::Path(p) = side
                    && !out.contains(p)
                {
                    out.push(p.clone());
                }
            }
        });
        out
    }

    /// Every comparison, in order of appearance.
    pub fn comparisons(&self) -> Vec<(Operand, Op, Operand)> {
        let mut out = Vec::new();
        self.visit(&mut |a, op, b| out.push((a.clone(), op, b.clone())));
        out
    }

    fn visit(&self, f: &mut dyn FnMut(&Operand, Op, &Operand)) {
        match self {
            Expr::Compare(a, op, b) => f(a, *op, b),
            Expr::Not(e) => e.visit(f),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.visit(f);
                b.visit(f);
            }
        }
    }

    /// The values of every path in one run's report; a path that cannot be read is recorded
    /// with its message, for [`Expr::eval`] to report.
    pub fn extract(&self, report: &Value) -> Metrics {
        let mut m = Metrics::default();
        for path in self.paths() {
            match lookup_statistic(report, &path) {
                Ok(Some(v)) => m.push(path, v),
                // A statistic of an empty set: left out, so every comparison with it is false.
                Ok(None) => {}
                Err(e) => m.push(format!("{UNREADABLE}{path}: {e}"), f64::NAN),
            }
        }
        m
    }

    /// Whether the expression holds for the values `extract` took; an error names a path
    /// that is not in the report, with the keys available.
    pub fn eval(&self, values: &Metrics) -> Result<bool, String> {
        if let Some((key, _)) = values.0.iter().find(|(k, _)| k.starts_with(UNREADABLE)) {
            return Err(key[UNREADABLE.len()..].to_string());
        }
        Ok(self.holds(&|p| values.get(p).unwrap_or(f64::NAN)))
    }

    fn holds(&self, value: &dyn Fn(&str) -> f64) -> bool {
        let read = |o: &Operand| match o {
            Operand::Number(x) => *x,
            Operand::Path(p) => value(p),
        };
        match self {
            Expr::Compare(a, op, b) => op.holds(read(a), read(b)),
            Expr::Not(e) => !e.holds(value),
            Expr::And(a, b) => a.holds(value) && b.holds(value),
            Expr::Or(a, b) => a.holds(value) || b.holds(value),
        }
    }

    /// Whether one comparison holds for `values`.
    pub fn compare_holds(a: &Operand, op: Op, b: &Operand, values: &Metrics) -> bool {
        Expr::Compare(a.clone(), op, b.clone()).holds(&|p| values.get(p).unwrap_or(f64::NAN))
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Number(f64),
    Word(String),
    Op(Op),
    Open,
    Close,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(x) => write!(f, "the number {x}"),
            Token::Word(w) if is_keyword(w) => write!(f, "\"{w}\""),
            Token::Word(w) => write!(f, "the path {w}"),
            Token::Op(op) => write!(f, "\"{}\"", op.symbol()),
            Token::Open => f.write_str("\"(\""),
            Token::Close => f.write_str("\")\""),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    matches!(w, "and" | "or" | "not")
}

/// Tokens with their 1-based columns.
fn tokenize(text: &str) -> Result<Vec<(Token, usize)>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let col = i + 1;
        let next = chars.get(i + 1).copied();
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let (token, len) = match (c, next) {
            ('(', _) => (Token::Open, 1),
            (')', _) => (Token::Close, 1),
            ('<', Some('=')) => (Token::Op(Op::Le), 2),
            ('>', Some('=')) => (Token::Op(Op::Ge), 2),
            ('=', Some('=')) => (Token::Op(Op::Eq), 2),
            ('!', Some('=')) => (Token::Op(Op::Ne), 2),
            ('<', _) => (Token::Op(Op::Lt), 1),
            ('>', _) => (Token::Op(Op::Gt), 1),
            ('=', _) => return Err(format!("column {col}: \"=\" is not an operator; use ==")),
            _ if c.is_ascii_digit()
                || c == '.'
                || ((c == '-' || c == '+')
                    && next.is_some_and(|n| n.is_ascii_digit() || n == '.')) =>
            {
                number(&chars, i)?
            }
            _ if c.is_alphabetic() || c == '_' => path(&chars, i),
            _ => {
                return Err(format!(
                    "column {col}: unexpected \"{c}\"; expected a metric path, a number, an \
                     operator (< <= > >= == !=), and, or, not or parentheses"
                ));
            }
        };
        out.push((token, col));
        i += len;
    }
    Ok(out)
}

fn number(chars: &[char], start: usize) -> Result<(Token, usize), String> {
    let mut end = start + 1;
    while end < chars.len() {
        let c = chars[end];
        let exponent_sign = (c == '-' || c == '+') && matches!(chars[end - 1], 'e' | 'E');
        if c.is_ascii_digit() || c == '.' || c == 'e' || c == 'E' || exponent_sign {
            end += 1;
        } else {
            break;
        }
    }
    let text: String = chars[start..end].iter().collect();
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok((Token::Number(x), end - start)),
        _ => Err(format!("column {}: \"{text}\" is not a number", start + 1)),
    }
}

fn path(chars: &[char], start: usize) -> (Token, usize) {
    let mut end = start;
    while end < chars.len() {
        let c = chars[end];
        if c == '-' && chars.get(end + 1) == Some(&'>') {
            end += 2;
        } else if c.is_alphanumeric() || "_-./:#".contains(c) {
            end += 1;
        } else {
            break;
        }
    }
    (Token::Word(chars[start..end].iter().collect()), end - start)
}

struct Parser {
    tokens: Vec<(Token, usize)>,
    at: usize,
    /// The column just after the text, for "found the end".
    end: usize,
    /// `not`s and open parentheses around the current token.
    depth: usize,
    /// Comparisons parsed so far.
    comparisons: usize,
}

impl Parser {
    fn peek(&self) -> Option<(Token, usize)> {
        self.tokens.get(self.at).cloned()
    }

    fn keyword(&mut self, word: &str) -> bool {
        let found = matches!(self.peek(), Some((Token::Word(w), _)) if w == word);
        if found {
            self.at += 1;
        }
        found
    }

    fn found(&self) -> (String, usize) {
        match self.peek() {
            Some((t, col)) => (t.to_string(), col),
            None => ("the end".to_string(), self.end),
        }
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    /// One level deeper (a `not` or a parenthesis at `col`), refused past [`MAX_EXPR_DEPTH`].
    fn deeper(&mut self, col: usize) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return Err(format!(
                "column {col}: nested more than {MAX_EXPR_DEPTH} deep (not and parentheses); \
                 an expression may nest at most {MAX_EXPR_DEPTH} levels"
            ));
        }
        Ok(())
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if let Some((Token::Word(w), col)) = self.peek()
            && w == "not"
        {
            self.at += 1;
            self.deeper(col)?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if let Some((Token::Open, col)) = self.peek() {
            self.at += 1;
            self.deeper(col)?;
            let inner = self.or()?;
            self.depth -= 1;
            return match self.peek() {
                Some((Token::Close, _)) => {
                    self.at += 1;
                    Ok(inner)
                }
                _ => {
                    let (found, at) = self.found();
                    Err(format!(
                        "column {at}: expected \")\" to close the \"(\" at column {col}, found \
                         {found}"
                    ))
                }
            };
        }
        if let Some((_, col)) = self.peek() {
            self.comparisons += 1;
            if self.comparisons > MAX_EXPR_COMPARISONS {
                return Err(format!(
                    "column {col}: more than {MAX_EXPR_COMPARISONS} comparisons; an \
                     expression may have at most {MAX_EXPR_COMPARISONS}"
                ));
            }
        }
        let left = self.operand("a comparison, \"not\" or \"(\"")?;
        let op = match self.peek() {
            Some((Token::Op(op), _)) => {
                self.at += 1;
                op
            }
            _ => {
                let (found, at) = self.found();
                return Err(format!(
                    "column {at}: expected an operator (< <= > >= == !=) after {left}, found \
                     {found}"
                ));
            }
        };
        let right = self.operand("a number or a metric path")?;
        Ok(Expr::Compare(left, op, right))
    }

    fn operand(&mut self, expected: &str) -> Result<Operand, String> {
        let operand = match self.peek() {
            Some((Token::Number(x), _)) => Operand::Number(x),
            Some((Token::Word(w), col)) if !is_keyword(&w) => {
                if let Some(why) = sim_core::model::metric_path_too_long(&w) {
                    return Err(format!("column {col}: {why}"));
                }
                Operand::Path(w)
            }
            _ => {
                let (found, at) = self.found();
                return Err(format!("column {at}: expected {expected}, found {found}"));
            }
        };
        self.at += 1;
        Ok(operand)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Goal: a statistic with no samples (null) is no error and makes every comparison false,
    // `!=` included; `not` negates that false.
    #[test]
    fn comparisons_with_a_missing_statistic_are_false() {
        let report = json!({"workloads": {"shop": {"ok": 0, "latency_ms": {"p99": null}}}});
        let holds = |text: &str| {
            let e = Expr::parse(text).unwrap();
            e.eval(&e.extract(&report)).unwrap()
        };
        for op in ["<", "<=", ">", ">=", "==", "!="] {
            assert!(
                !holds(&format!("workloads.shop.latency_ms.p99 {op} 250")),
                "{op}"
            );
        }
        assert!(holds("not (workloads.shop.latency_ms.p99 > 250)"));
        assert!(holds("workloads.shop.ok == 0"));
    }

    // Goal: precedence (not > and > or), parentheses, every operator, and paths with dashes,
    // slashes and arrows.
    #[test]
    fn parses_and_evaluates() {
        let report = json!({
            "workloads": {"checkout": {"failed": 3, "latency_ms": {"p99": 300.0}}},
            "flows": {"place-order": {"inconsistent": 0}},
            "links": {"order->payment": {"lost": 2}}
        });
        let holds = |text: &str| {
            let e = Expr::parse(text).unwrap();
            e.eval(&e.extract(&report)).unwrap()
        };
        assert!(holds("workloads.checkout.failed > 2"));
        assert!(!holds("workloads.checkout.failed < 3"));
        assert!(holds(
            "workloads.checkout.failed <= 3 and workloads.checkout.failed >= 3"
        ));
        assert!(holds(
            "workloads.checkout.failed == 3 and not (workloads.checkout.failed != 3)"
        ));
        assert!(holds(
            "flows.place-order.inconsistent > 0 or workloads.checkout.latency_ms.p99 > 250"
        ));
        // and binds tighter than or: true or (false and false).
        assert!(holds("1 < 2 or 1 > 2 and 1 > 2"));
        assert!(!holds("(1 < 2 or 1 > 2) and 1 > 2"));
        assert!(holds("links.order->payment.lost >= 2"));
        assert!(holds("-1 < 1e-3"));
        let e = Expr::parse("a.b > 1 and (c < 2 or a.b == 3)").unwrap();
        assert_eq!(e.paths(), ["a.b", "c"]);
    }

    // Goal: syntax errors name the column and what was expected.
    #[test]
    fn syntax_errors_have_a_position() {
        for (text, says) in [
            (
                "a >",
                "column 4: expected a number or a metric path, found the end",
            ),
            ("a 1", "column 3: expected an operator"),
            (
                "(a > 1",
                "column 7: expected \")\" to close the \"(\" at column 1",
            ),
            (
                "a > 1 b",
                "column 7: expected and, or or the end, found the path b",
            ),
            ("a = 1", "column 3: \"=\" is not an operator; use =="),
            ("a > 1 and", "column 10: expected a comparison"),
            ("a $ 1", "column 3: unexpected \"$\""),
            (
                "and > 1",
                "column 1: expected a comparison, \"not\" or \"(\", found \"and\"",
            ),
        ] {
            let err = Expr::parse(text).unwrap_err();
            assert!(err.contains(says), "{text}: {err}");
        }
    }

    // Goal: an unknown path is an error naming the keys available, as [[expect]] does.
    #[test]
    fn unknown_paths_name_the_available_keys() {
        let report = json!({"workloads": {"checkout": {"failed": 3}}});
        let e = Expr::parse("workloads.chekout.failed > 1").unwrap();
        let err = e.eval(&e.extract(&report)).unwrap_err();
        assert!(err.contains("workloads.chekout.failed"), "{err}");
        assert!(err.contains("available: checkout"), "{err}");
    }

    // Goal: nesting past the cap (15,000 parentheses, 30,000 `not`s, as observed) and
    // chains past the comparison cap are refused with a column, not a stack overflow; the
    // cap itself parses.
    #[test]
    fn nesting_and_size_are_capped() {
        let nested = |n: usize| format!("{}a > 1{}", "(".repeat(n), ")".repeat(n));
        assert!(Expr::parse(&nested(MAX_EXPR_DEPTH)).is_ok());
        let err = Expr::parse(&nested(15_000)).unwrap_err();
        assert!(
            err.starts_with("column 65: nested more than 64 deep"),
            "{err}"
        );
        let nots = |n: usize| format!("{}a > 1", "not ".repeat(n));
        assert!(Expr::parse(&nots(MAX_EXPR_DEPTH)).is_ok());
        let err = Expr::parse(&nots(30_000)).unwrap_err();
        assert!(
            err.starts_with("column 257: nested more than 64 deep"),
            "{err}"
        );
        let chain = |n: usize| vec!["a > 1"; n].join(" and ");
        assert!(Expr::parse(&chain(MAX_EXPR_COMPARISONS)).is_ok());
        let err = Expr::parse(&chain(MAX_EXPR_COMPARISONS + 1)).unwrap_err();
        assert!(err.contains("more than 256 comparisons"), "{err}");
        let long = vec!["a"; 65].join(".");
        let err = Expr::parse(&format!("1 < {long}")).unwrap_err();
        assert!(
            err.starts_with("column 5: the metric path has 65 segments"),
            "{err}"
        );
    }
}

//! Fabric's signature-policy language (`policydsl.FromString`), reproduced pass for pass.
//!
//! Fabric evaluates the policy text as an `expr-lang` expression three times: pass 0 rewrites
//! `AND`/`OR`/`OutOf` into `outof(t, ...)` text, pass 1 adds a context argument
//! (`outof(ID, t, ...)`), pass 2 builds the `SignaturePolicy`, numbering principals in the
//! order pass 2 meets them: arguments before the gate that holds them, so
//! `OR('A.member', AND('B.member', 'C.member'))` lists B, C, A. Principals are not
//! de-duplicated (Fabric's own TODO). Because passes 0 and 1 paste non-principal strings back
//! as code, a quoted policy like `OR('A.member', 'outof(1, \'B.member\')')` is a nested gate —
//! we do the same, by doing the same passes.
//!
//! We implement the part of `expr-lang` such policies use: calls, parentheses, string
//! literals (`'..'`, `".."` with Go escapes, backquoted raw strings), integer and float
//! literals with unary sign, `true`/`false`/`nil`, and identifiers. Arithmetic or other
//! operators (which Fabric would also evaluate) are rejected as syntax errors. The lowercase
//! gate names `and`/`or` are operators in `expr-lang`, so Fabric rejects `and(...)`; so do we.

use crate::error::PolicyError;
use crate::protos::common::{
    MspPrincipal, MspRole, SignaturePolicy, msp_principal, signature_policy,
};
use prost::Message as _;

/// How deep calls and parentheses may nest (keeps hostile input off the stack).
const MAX_DEPTH: usize = 64;

/// An expression of the supported `expr-lang` subset.
#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Ident(String, usize),
    Call(String, usize, Vec<Expr>),
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err<T>(&self, message: impl Into<String>) -> Result<T, PolicyError> {
        Err(PolicyError::Syntax {
            pos: self.pos,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn parse_all(mut self) -> Result<Expr, PolicyError> {
        self.skip_ws();
        if self.peek().is_none() {
            return self.err("unexpected token EOF");
        }
        let e = self.expr(0)?;
        self.skip_ws();
        if self.peek().is_some() {
            return self.err(format!("unexpected input `{}`", &self.src[self.pos..]));
        }
        Ok(e)
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, PolicyError> {
        if depth > MAX_DEPTH {
            return Err(PolicyError::TooDeep(MAX_DEPTH));
        }
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None => self.err("unexpected token EOF"),
            Some('(') => {
                self.bump();
                let e = self.expr(depth + 1)?;
                self.skip_ws();
                if self.bump() != Some(')') {
                    return self.err("expected `)`");
                }
                Ok(e)
            }
            Some(c @ ('-' | '+')) => {
                self.bump();
                match self.expr(depth + 1)? {
                    Expr::Int(i) if c == '-' => {
                        i.checked_neg()
                            .map(Expr::Int)
                            .ok_or_else(|| PolicyError::Syntax {
                                pos: start,
                                message: "integer overflow".into(),
                            })
                    }
                    Expr::Float(f) if c == '-' => Ok(Expr::Float(-f)),
                    e @ (Expr::Int(_) | Expr::Float(_)) => Ok(e),
                    _ => Err(PolicyError::Syntax {
                        pos: start,
                        message: format!("unary `{c}` needs a number"),
                    }),
                }
            }
            Some(q @ ('\'' | '"')) => {
                self.bump();
                self.quoted(q).map(Expr::Str)
            }
            Some('`') => {
                self.bump();
                let rest = &self.src[self.pos..];
                match rest.find('`') {
                    Some(end) => {
                        let s = rest[..end].to_string();
                        self.pos += end + 1;
                        Ok(Expr::Str(s))
                    }
                    None => self.err("literal not terminated"),
                }
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' || c == '$' => {
                while let Some(c) = self.peek() {
                    if c.is_alphanumeric() || c == '_' || c == '$' {
                        self.bump();
                    } else {
                        break;
                    }
                }
                let word = &self.src[start..self.pos];
                match word {
                    "true" => return Ok(Expr::Bool(true)),
                    "false" => return Ok(Expr::Bool(false)),
                    "nil" => return Ok(Expr::Nil),
                    "and" | "or" | "in" | "not" | "matches" | "contains" | "startsWith"
                    | "endsWith" | "let" | "if" | "else" => {
                        return Err(PolicyError::Syntax {
                            pos: start,
                            message: format!(
                                "`{word}` is an operator in Fabric's policy expressions, not a \
                                 gate; write AND(...), OR(...) or OutOf(...)"
                            ),
                        });
                    }
                    _ => {}
                }
                let name = word.to_string();
                self.skip_ws();
                if self.peek() != Some('(') {
                    return Ok(Expr::Ident(name, start));
                }
                self.bump();
                let mut args = Vec::new();
                self.skip_ws();
                if self.peek() == Some(')') {
                    self.bump();
                    return Ok(Expr::Call(name, start, args));
                }
                loop {
                    args.push(self.expr(depth + 1)?);
                    self.skip_ws();
                    match self.bump() {
                        Some(',') => continue,
                        Some(')') => break,
                        Some(c) => return self.err(format!("unexpected `{c}` in arguments")),
                        None => return self.err("unexpected token EOF"),
                    }
                }
                Ok(Expr::Call(name, start, args))
            }
            Some(c) => self.err(format!("unexpected `{c}`")),
        }
    }

    fn number(&mut self) -> Result<Expr, PolicyError> {
        let start = self.pos;
        let rest = &self.src[self.pos..];
        if let Some(hex) = rest.strip_prefix("0x").or_else(|| rest.strip_prefix("0X")) {
            let len = hex
                .find(|c: char| !c.is_ascii_hexdigit() && c != '_')
                .unwrap_or(hex.len());
            self.pos += 2 + len;
            let digits: String = hex[..len].chars().filter(|c| *c != '_').collect();
            return i64::from_str_radix(&digits, 16)
                .map(Expr::Int)
                .or_else(|_| self.err("invalid hexadecimal number"));
        }
        let mut is_float = false;
        while let Some(c) = self.peek() {
            if c.is_ascii_digit() || c == '_' {
                self.bump();
            } else if c == '.' && !is_float {
                // `1..2` is a range in expr-lang: stop before the second dot.
                if self.src[self.pos + 1..].starts_with('.') {
                    break;
                }
                is_float = true;
                self.bump();
            } else if (c == 'e' || c == 'E') && self.pos > start {
                is_float = true;
                self.bump();
                if matches!(self.peek(), Some('+' | '-')) {
                    self.bump();
                }
            } else {
                break;
            }
        }
        if self.peek().is_some_and(|c| c.is_alphanumeric()) {
            return self.err("bad number syntax");
        }
        let text: String = self.src[start..self.pos]
            .chars()
            .filter(|c| *c != '_')
            .collect();
        if is_float {
            text.parse::<f64>()
                .map(Expr::Float)
                .or_else(|_| self.err(format!("invalid float literal `{text}`")))
        } else {
            text.parse::<i64>()
                .map(Expr::Int)
                .or_else(|_| self.err(format!("invalid integer literal `{text}`")))
        }
    }

    /// A quoted string after its opening quote, with Go's escapes.
    fn quoted(&mut self, quote: char) -> Result<String, PolicyError> {
        let mut out = String::new();
        loop {
            match self.bump() {
                None | Some('\n') => return self.err("literal not terminated"),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => {
                    let c = match self.bump() {
                        None => return self.err("literal not terminated"),
                        Some(c) => c,
                    };
                    match c {
                        'a' => out.push('\u{7}'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'v' => out.push('\u{b}'),
                        '\\' | '\'' | '"' | '`' => out.push(c),
                        'x' => out.push(self.hex_escape(2)?),
                        'u' => out.push(self.hex_escape(4)?),
                        'U' => out.push(self.hex_escape(8)?),
                        '0'..='7' => {
                            let mut v = c.to_digit(8).unwrap_or(0);
                            for _ in 0..2 {
                                match self.bump().and_then(|d| d.to_digit(8)) {
                                    Some(d) => v = v * 8 + d,
                                    None => return self.err("invalid octal escape"),
                                }
                            }
                            match char::from_u32(v).filter(|_| v <= 255) {
                                Some(ch) => out.push(ch),
                                None => return self.err("octal escape value > 255"),
                            }
                        }
                        other => return self.err(format!("unknown escape `\\{other}`")),
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn hex_escape(&mut self, n: usize) -> Result<char, PolicyError> {
        let mut v: u32 = 0;
        for _ in 0..n {
            match self.bump().and_then(|d| d.to_digit(16)) {
                Some(d) => v = v.wrapping_mul(16).wrapping_add(d),
                None => return self.err("invalid hex escape"),
            }
        }
        char::from_u32(v).map_or_else(|| self.err("escape is not a valid character"), Ok)
    }
}

/// A value during evaluation.
enum Value {
    Str(String),
    Int(i64),
    Float(f64),
    Bool,
    Nil,
    Ctx,
    Policy(SignaturePolicy),
}

impl Value {
    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Bool => "bool",
            Value::Nil => "nil",
            Value::Ctx => "*policydsl.context",
            Value::Policy(_) => "*common.SignaturePolicy",
        }
    }
}

/// Go's `int(f)` for the values a policy may carry (saturating where Go is undefined).
fn go_int(f: f64) -> i64 {
    if f.is_nan() { 0 } else { f.trunc() as i64 }
}

/// Whether `s` is a principal `MSPID.role` (Fabric's regex
/// `^([[:alnum:].-]+)([.])(admin|member|client|peer|orderer)$`); returns (MSP ID, role).
pub(crate) fn parse_principal(s: &str) -> Option<(&str, i32)> {
    use crate::protos::common::msp_role::MspRoleType;
    for (name, role) in [
        ("admin", MspRoleType::Admin),
        ("member", MspRoleType::Member),
        ("client", MspRoleType::Client),
        ("peer", MspRoleType::Peer),
        ("orderer", MspRoleType::Orderer),
    ] {
        if let Some(msp) = s.strip_suffix(name).and_then(|p| p.strip_suffix('.'))
            && !msp.is_empty()
            && msp
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        {
            return Some((msp, role as i32));
        }
    }
    None
}

/// Principal strings are quoted again when pasted into the next pass; others go raw.
fn paste_string(out: &mut String, s: &str) {
    if parse_principal(s).is_some() {
        out.push('\'');
        out.push_str(s);
        out.push('\'');
    } else {
        out.push_str(s);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pass {
    Gates,
    AddContext,
    Build,
}

struct Evaluator {
    pass: Pass,
    principals: Vec<MspPrincipal>,
}

impl Evaluator {
    fn eval(&mut self, e: &Expr) -> Result<Value, PolicyError> {
        match e {
            Expr::Str(s) => Ok(Value::Str(s.clone())),
            Expr::Int(i) => Ok(Value::Int(*i)),
            Expr::Float(f) => Ok(Value::Float(*f)),
            Expr::Bool(_) => Ok(Value::Bool),
            Expr::Nil => Ok(Value::Nil),
            Expr::Ident(name, _) => {
                if self.pass == Pass::Build && name == "ID" {
                    Ok(Value::Ctx)
                } else {
                    Err(PolicyError::UnknownName(name.clone()))
                }
            }
            Expr::Call(name, _, args) => {
                let gate = match (self.pass, name.as_str()) {
                    (Pass::Gates, "AND" | "And") => Gate::And,
                    (Pass::Gates, "OR" | "Or") => Gate::Or,
                    (Pass::Gates, "OutOf" | "outof" | "OUTOF") => Gate::OutOf,
                    (Pass::AddContext | Pass::Build, "outof") => Gate::OutOf,
                    _ => return Err(PolicyError::UnknownName(name.clone())),
                };
                // Arguments first, left to right, as expr-lang evaluates them.
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.eval(a)?);
                }
                match self.pass {
                    Pass::Gates => gates_pass(gate, vals),
                    Pass::AddContext => context_pass(vals),
                    Pass::Build => self.build_pass(vals),
                }
            }
        }
    }

    fn build_pass(&mut self, args: Vec<Value>) -> Result<Value, PolicyError> {
        if args.len() < 3 {
            return Err(PolicyError::Invalid(format!(
                "at least 3 arguments expected, got {}",
                args.len()
            )));
        }
        let mut it = args.into_iter();
        match it.next() {
            Some(Value::Ctx) => {}
            Some(v) => {
                return Err(PolicyError::Invalid(format!(
                    "unrecognized type, expected the context, got {}",
                    v.type_name()
                )));
            }
            None => unreachable!("length checked above"),
        }
        let t = match it.next() {
            Some(Value::Int(i)) => i,
            Some(Value::Float(f)) => go_int(f),
            Some(v) => {
                return Err(PolicyError::Invalid(format!(
                    "unrecognized type, expected a number, got {}",
                    v.type_name()
                )));
            }
            None => unreachable!("length checked above"),
        };
        let rest: Vec<Value> = it.collect();
        let n = rest.len();
        if t < 0 || t > n as i64 + 1 {
            return Err(PolicyError::OutOfRange { t, n });
        }
        let mut rules = Vec::with_capacity(n);
        for v in rest {
            match v {
                Value::Str(s) => {
                    let (msp, role) =
                        parse_principal(&s).ok_or_else(|| PolicyError::Principal(s.clone()))?;
                    let idx = i32::try_from(self.principals.len())
                        .map_err(|_| PolicyError::Invalid("too many principals".into()))?;
                    self.principals.push(MspPrincipal {
                        principal_classification: msp_principal::Classification::Role as i32,
                        principal: MspRole {
                            msp_identifier: msp.to_string(),
                            role,
                        }
                        .encode_to_vec(),
                    });
                    rules.push(SignaturePolicy {
                        r#type: Some(signature_policy::Type::SignedBy(idx)),
                    });
                }
                Value::Policy(p) => rules.push(p),
                other => {
                    return Err(PolicyError::Invalid(format!(
                        "unrecognized type, expected a principal or a policy, got {}",
                        other.type_name()
                    )));
                }
            }
        }
        let n = i32::try_from(t).expect("0 <= t <= n + 1 fits i32 for any parsable text");
        Ok(Value::Policy(SignaturePolicy {
            r#type: Some(signature_policy::Type::NOutOf(signature_policy::NOutOf {
                n,
                rules,
            })),
        }))
    }
}

#[derive(Clone, Copy)]
enum Gate {
    And,
    Or,
    OutOf,
}

/// Pass 0: `AND(a, b)` → `outof(2, a, b)`, `OR(a, b)` → `outof(1, a, b)` as text.
fn gates_pass(gate: Gate, args: Vec<Value>) -> Result<Value, PolicyError> {
    let mut args = args;
    match gate {
        Gate::And => args.insert(0, Value::Int(args.len() as i64)),
        Gate::Or => args.insert(0, Value::Int(1)),
        Gate::OutOf => {}
    }
    if args.len() < 2 {
        return Err(PolicyError::Invalid(format!(
            "expected at least two arguments to NOutOf. Given {}",
            args.len()
        )));
    }
    let mut out = String::from("outof(");
    let mut it = args.into_iter();
    match it.next() {
        Some(Value::Float(f)) => out.push_str(&go_int(f).to_string()),
        Some(Value::Int(i)) => out.push_str(&i.to_string()),
        Some(Value::Str(s)) => out.push_str(&s),
        Some(v) => {
            return Err(PolicyError::Invalid(format!(
                "unexpected type {}",
                v.type_name()
            )));
        }
        None => unreachable!("length checked above"),
    }
    for v in it {
        out.push_str(", ");
        match v {
            Value::Str(s) => paste_string(&mut out, &s),
            other => {
                return Err(PolicyError::Invalid(format!(
                    "unexpected type {}",
                    other.type_name()
                )));
            }
        }
    }
    out.push(')');
    Ok(Value::Str(out))
}

/// Pass 1: `outof(t, ...)` → `outof(ID, t, ...)` as text.
fn context_pass(args: Vec<Value>) -> Result<Value, PolicyError> {
    let mut out = String::from("outof(ID");
    for v in args {
        out.push_str(", ");
        match v {
            Value::Str(s) => paste_string(&mut out, &s),
            Value::Float(f) => out.push_str(&go_int(f).to_string()),
            Value::Int(i) => out.push_str(&i.to_string()),
            other => {
                return Err(PolicyError::Invalid(format!(
                    "unexpected type {}",
                    other.type_name()
                )));
            }
        }
    }
    out.push(')');
    Ok(Value::Str(out))
}

fn run_text_pass(text: &str, pass: Pass, original: &str) -> Result<String, PolicyError> {
    let expr = Parser { src: text, pos: 0 }.parse_all()?;
    let mut ev = Evaluator {
        pass,
        principals: Vec::new(),
    };
    match ev.eval(&expr)? {
        Value::Str(s) => Ok(s),
        _ => Err(PolicyError::Invalid(format!(
            "invalid policy string '{original}'"
        ))),
    }
}

/// Parses a signature-policy string into its rule and principals, as Fabric's
/// `policydsl.FromString` does (see the module docs for the exact rules).
pub(crate) fn from_string(
    policy: &str,
) -> Result<(SignaturePolicy, Vec<MspPrincipal>), PolicyError> {
    let pass0 = run_text_pass(policy, Pass::Gates, policy)?;
    let pass1 = run_text_pass(&pass0, Pass::AddContext, policy)?;
    let expr = Parser {
        src: &pass1,
        pos: 0,
    }
    .parse_all()?;
    let mut ev = Evaluator {
        pass: Pass::Build,
        principals: Vec::new(),
    };
    match ev.eval(&expr)? {
        Value::Policy(rule) => Ok((rule, ev.principals)),
        _ => Err(PolicyError::Invalid(format!(
            "invalid policy string '{policy}'"
        ))),
    }
}

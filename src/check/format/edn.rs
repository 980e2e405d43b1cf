//! EDN: the values Jepsen writes (`nil`, `3`, `"x"`, `:timed-out`, `[3 0]`), and one map per line.

use std::sync::Arc;

use super::super::history::{EventKind, Function, Value};
use super::Raw;

/// Reads EDN values from one line.
pub(super) struct Reader<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    /// Skips whitespace and commas (whitespace in EDN).
    fn skip(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',').len();
    }

    fn peek(&mut self) -> Option<char> {
        self.skip();
        self.rest().chars().next()
    }

    /// What comes next, for error messages.
    fn found(&self) -> String {
        let rest = self.rest().trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.is_empty() {
            return "the end of the line".into();
        }
        let at = self.text.len() - rest.len();
        let token: String = rest.chars().take_while(|c| !c.is_whitespace() && *c != ',').take(30).collect();
        format!("`{token}` at column {}", self.text[..at].chars().count() + 1)
    }

    fn expected(&self, what: &str) -> String {
        format!("expected {what}, found {}", self.found())
    }

    /// A symbol or number token.
    fn token(&mut self) -> &'a str {
        self.skip();
        let rest = self.rest();
        let len = rest.find(|c: char| c.is_whitespace() || ",[](){}\"".contains(c)).unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    /// The name of a keyword, without its colon.
    pub fn keyword(&mut self) -> Result<&'a str, String> {
        if self.peek() != Some(':') {
            return Err(self.expected("a keyword"));
        }
        let start = self.pos;
        let token = self.token();
        if token.len() < 2 {
            self.pos = start;
            return Err(self.expected("a keyword"));
        }
        Ok(&token[1..])
    }

    /// True (and consumed) if `c` comes next.
    pub fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    /// Fails unless only whitespace is left.
    pub fn end(&mut self) -> Result<(), String> {
        if self.peek().is_some() { Err(self.expected("the end of the line")) } else { Ok(()) }
    }

    /// One value: nil, an integer, a string, a keyword (kept as a string with its colon), or a
    /// vector or list of values.
    pub fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            None => Err(self.expected("a value")),
            Some('"') => self.string().map(|s| Value::Str(Arc::from(s))),
            Some(open @ ('[' | '(')) => {
                let close = if open == '[' { ']' } else { ')' };
                self.pos += 1;
                let mut items = Vec::new();
                while !self.eat(close) {
                    if self.peek().is_none() {
                        return Err(self.expected(&format!("a value or `{close}`")));
                    }
                    items.push(self.value()?);
                }
                Ok(Value::List(items.into()))
            }
            Some('{' | '#') => {
                Err(self
                    .expected("nil, an integer, a string, a keyword or a vector (maps and sets are not values here)"))
            }
            Some(':') => Ok(Value::Str(Arc::from(format!(":{}", self.keyword()?)))),
            Some(_) => {
                let start = self.pos;
                let token = self.token();
                match token {
                    "nil" => Ok(Value::Nil),
                    _ => token.parse::<i64>().map(Value::Int).map_err(|_| {
                        self.pos = start;
                        self.expected("nil, an integer, a string, a keyword or a vector")
                    }),
                }
            }
        }
    }

    fn string(&mut self) -> Result<String, String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, 'r')) => out.push('\r'),
                    Some((_, c @ ('"' | '\\'))) => out.push(c),
                    _ => {
                        self.pos += i;
                        return Err(self.expected("an escape (\\n, \\t, \\r, \\\" or \\\\)"));
                    }
                },
                c => out.push(c),
            }
        }
        self.pos = start;
        Err(format!("string not closed, from column {}", self.text[..start].chars().count() + 1))
    }
}

/// `{:process 0, :type :invoke, :f :append, :key "4", :value "x 0 1 y"}`; `None` for the
/// nemesis's events.
pub(super) fn line(text: &str) -> Result<Option<Raw>, String> {
    let mut r = Reader::new(text);
    if !r.eat('{') {
        return Err(r.expected("an EDN map `{:process ..., :type ..., :f ..., :value ...}`"));
    }
    let (mut process, mut kind, mut f, mut key, mut value, mut time) = (None, None, None, Value::Nil, Value::Nil, None);
    let mut nemesis = false;
    while !r.eat('}') {
        if r.peek().is_none() {
            return Err(r.expected("a keyword or `}`"));
        }
        let field = r.keyword()?;
        let at = r.pos;
        let v = r.value()?;
        let wrong = |what: &str| {
            let mut r = Reader::new(text);
            r.pos = at;
            format!(":{field} {}", r.expected(what))
        };
        match field {
            "process" => match v {
                Value::Int(p) if p >= 0 => process = Some(p as u64),
                Value::Str(s) if &*s == ":nemesis" => nemesis = true,
                _ => return Err(wrong("a process number or :nemesis")),
            },
            // Checked once the process is known: the nemesis has functions of its own.
            "type" => kind = Some((v, at)),
            "f" => f = Some((v, at)),
            "key" => key = v,
            "value" => value = v,
            "time" => match v {
                Value::Int(t) if t >= 0 => time = Some(t as u64),
                _ => return Err(wrong("a time (a non-negative integer)")),
            },
            _ => {}
        }
    }
    r.end()?;
    if nemesis {
        return Ok(None);
    }
    let missing = |name: &str| format!("the map has no :{name}");
    let wrong = |field: &str, at: usize, what: &str| {
        let mut r = Reader::new(text);
        r.pos = at;
        format!(":{field} {}", r.expected(what))
    };
    let (kind, at) = kind.ok_or_else(|| missing("type"))?;
    let kind = keyword_value(&kind)
        .and_then(|s| s.parse::<EventKind>().ok())
        .ok_or_else(|| wrong("type", at, ":invoke, :ok, :fail or :info"))?;
    let (f, at) = f.ok_or_else(|| missing("f"))?;
    let f = keyword_value(&f)
        .and_then(|s| s.parse::<Function>().ok())
        .ok_or_else(|| wrong("f", at, ":read, :write, :cas, :get, :put or :append"))?;
    Ok(Some(Raw { process: process.ok_or_else(|| missing("process"))?, kind, f, key, value, time }))
}

/// The name of a keyword value, without its colon.
fn keyword_value(v: &Value) -> Option<&str> {
    match v {
        Value::Str(s) => s.strip_prefix(':'),
        _ => None,
    }
}

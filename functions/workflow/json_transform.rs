// json_transform: a Rust workflow function that reshapes JSON objects.
//
//   init payload  the rules, every key optional:
//                 {"rename": {"amount": "total"},   top-level keys to rename
//                  "uppercase": ["item"],           string values to upper-case
//                  "drop": ["secret"],              keys to remove
//                  "uppercase_keys": false}         upper-case every top-level key
//                 (empty: the payload is only compacted)
//   cast          a JSON object: the transformed object is cast to "out"
//                 (an invalid payload is dropped and logged)
//   call          replies the transformed object, or
//                 {"error":"invalid JSON at byte N: ..."}
//
// Rules apply in the order drop, uppercase, rename, uppercase_keys, to the
// top-level members only; other values keep their exact text (numbers are
// not reformatted). No crates: a small JSON reader is below.
#[path = "../sdk/aether.rs"]
mod aether;

use std::collections::{HashMap, HashSet};

// ---- A small JSON value, parser and compact writer ----

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(String), // the text as written
    Str(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>), // in document order; duplicates kept
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn parse(s: &'a [u8]) -> Result<Json, String> {
        let mut p = Parser { s, i: 0 };
        let v = p.value(0)?;
        p.ws();
        if p.i != s.len() {
            return Err(p.err("trailing characters"));
        }
        Ok(v)
    }

    fn err(&self, what: &str) -> String {
        format!("invalid JSON at byte {}: {}", self.i, what)
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn literal(&mut self, word: &str, v: Json) -> Result<Json, String> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(self.err("expected a value"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        self.ws();
        match self.peek() {
            None => Err(self.err("unexpected end")),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool(true)),
            Some(b'f') => self.literal("false", Json::Bool(false)),
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Array(items));
                        }
                        _ => return Err(self.err("expected , or ]")),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut members = Vec::new();
                self.ws();
                if self.peek() == Some(b'}') {
                    self.i += 1;
                    return Ok(Json::Object(members));
                }
                loop {
                    self.ws();
                    if self.peek() != Some(b'"') {
                        return Err(self.err("expected a key string"));
                    }
                    let key = self.string()?;
                    self.ws();
                    if self.peek() != Some(b':') {
                        return Err(self.err("expected :"));
                    }
                    self.i += 1;
                    members.push((key, self.value(depth + 1)?));
                    self.ws();
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Object(members));
                        }
                        _ => return Err(self.err("expected , or }")),
                    }
                }
            }
            Some(c) if c == b'-' || c.is_ascii_digit() => self.number(),
            Some(_) => Err(self.err("expected a value")),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        let digits = |p: &mut Parser| {
            let d0 = p.i;
            while p.peek().map_or(false, |c| c.is_ascii_digit()) {
                p.i += 1;
            }
            p.i > d0
        };
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else if !digits(self) {
            return Err(self.err("expected a digit"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.err("expected a digit after ."));
            }
        }
        if matches!(self.peek(), Some(b'e') | Some(b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+') | Some(b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.err("expected an exponent"));
            }
        }
        Ok(Json::Number(String::from_utf8_lossy(&self.s[start..self.i]).into_owned()))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("short \\u escape"))?;
        let v = std::str::from_utf8(h)
            .ok()
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or_else(|| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1; // the opening quote
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or_else(|| self.err("unterminated string"))?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or_else(|| self.err("unterminated string"))?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp) && self.s[self.i..].starts_with(b"\\u") {
                                self.i += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF);
                            }
                            char::from_u32(cp).unwrap_or('\u{FFFD}')
                        }
                        _ => {
                            self.i -= 1;
                            return Err(self.err("bad escape"));
                        }
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => {
                    self.i -= 1;
                    return Err(self.err("control character in string"));
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("string is not UTF-8"))
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn write_json(out: &mut String, v: &Json) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(n),
        Json::Str(s) => write_string(out, s),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json(out, item);
            }
            out.push(']');
        }
        Json::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, k);
                out.push(':');
                write_json(out, item);
            }
            out.push('}');
        }
    }
}

// ---- The function ----

#[derive(Default)]
struct Transform {
    rename: HashMap<String, String>,
    uppercase: HashSet<String>,
    drop: HashSet<String>,
    uppercase_keys: bool,
    transformed: f64,
    invalid: f64,
}

fn member<'a>(members: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn string_list(v: Option<&Json>, name: &str) -> HashSet<String> {
    match v {
        None => HashSet::new(),
        Some(Json::Array(items)) => items
            .iter()
            .filter_map(|i| match i {
                Json::Str(s) => Some(s.clone()),
                _ => None,
            })
            .collect(),
        Some(_) => {
            aether::log(aether::Level::Error, &format!("json_transform: \"{}\" is not an array", name));
            HashSet::new()
        }
    }
}

impl Transform {
    fn from_config(payload: &[u8]) -> Result<Transform, String> {
        let mut t = Transform::default();
        if payload.iter().all(|c| c.is_ascii_whitespace()) {
            return Ok(t);
        }
        let members = match Parser::parse(payload)? {
            Json::Object(m) => m,
            _ => return Err("the init payload is not a JSON object".to_string()),
        };
        match member(&members, "rename") {
            None => {}
            Some(Json::Object(pairs)) => {
                for (from, to) in pairs {
                    if let Json::Str(to) = to {
                        t.rename.insert(from.clone(), to.clone());
                    }
                }
            }
            Some(_) => return Err("\"rename\" is not an object".to_string()),
        }
        t.uppercase = string_list(member(&members, "uppercase"), "uppercase");
        t.drop = string_list(member(&members, "drop"), "drop");
        t.uppercase_keys = matches!(member(&members, "uppercase_keys"), Some(Json::Bool(true)));
        Ok(t)
    }

    fn apply(&self, payload: &[u8]) -> Result<String, String> {
        let members = match Parser::parse(payload)? {
            Json::Object(m) => m,
            _ => return Err("the payload is not a JSON object".to_string()),
        };
        let out_members: Vec<(String, Json)> = members
            .into_iter()
            .filter(|(k, _)| !self.drop.contains(k))
            .map(|(k, v)| {
                let v = match v {
                    Json::Str(s) if self.uppercase.contains(&k) => Json::Str(s.to_uppercase()),
                    v => v,
                };
                let k = self.rename.get(&k).cloned().unwrap_or(k);
                let k = if self.uppercase_keys { k.to_uppercase() } else { k };
                (k, v)
            })
            .collect();
        let mut out = String::with_capacity(payload.len());
        write_json(&mut out, &Json::Object(out_members));
        Ok(out)
    }

    fn transform(&mut self, payload: &[u8]) -> Result<String, String> {
        let r = self.apply(payload);
        if r.is_ok() {
            self.transformed += 1.0;
            aether::telemetry("transformed", self.transformed);
        } else {
            self.invalid += 1.0;
            aether::telemetry("invalid", self.invalid);
        }
        r
    }
}

impl aether::Function for Transform {
    fn init(payload: &[u8]) -> Self {
        Transform::from_config(payload).unwrap_or_else(|e| {
            aether::log(aether::Level::Error, &format!("json_transform: init payload: {}; no rules", e));
            Transform::default()
        })
    }

    fn cast(&mut self, _source: &str, payload: &[u8]) {
        match self.transform(payload) {
            Ok(out) => {
                if let Err(e) = aether::cast("out", out.as_bytes()) {
                    aether::log(aether::Level::Warn, &format!("json_transform: cast to out: {}", e));
                }
            }
            Err(e) => aether::log(aether::Level::Info, &format!("json_transform: dropped: {}", e)),
        }
    }

    fn call(&mut self, _source: &str, payload: &[u8]) -> Vec<u8> {
        match self.transform(payload) {
            Ok(out) => out.into_bytes(),
            Err(e) => {
                let mut out = String::from("{\"error\":");
                write_string(&mut out, &e);
                out.push('}');
                out.into_bytes()
            }
        }
    }
}

aether::export!(Transform: cast, call);

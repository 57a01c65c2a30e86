// word_count: a Rust example function. Reads the request input on stdin and
// answers with a JSON object counting its lines, words and characters, plus
// the most frequent word. Built with Debian's rustc for wasm32-wasi (no crates):
//   rustc --target wasm32-wasi -C opt-level=2 -C strip=debuginfo \
//         -C linker=wasm-ld-14 -o word_count.wasm word_count.rs
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::process::ExitCode;

fn json_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
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
    out
}

fn main() -> ExitCode {
    let mut input = String::new();
    if let Err(e) = io::stdin().read_to_string(&mut input) {
        eprintln!("word_count: the input must be UTF-8 text: {}", e);
        return ExitCode::from(1);
    }
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut words = 0usize;
    for w in input.split_whitespace() {
        words += 1;
        let key: String = w
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if !key.is_empty() {
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    // Ties go to the alphabetically first word, so the answer is deterministic.
    let top = counts
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
        .map(|(w, n)| format!("{{\"word\":{},\"count\":{}}}", json_escape(w), n))
        .unwrap_or_else(|| "null".to_string());
    let out = format!(
        "{{\"lines\":{},\"words\":{},\"chars\":{},\"top\":{}}}",
        input.lines().count(),
        words,
        input.chars().count(),
        top
    );
    let mut stdout = io::stdout();
    if stdout.write_all(out.as_bytes()).is_err() {
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}

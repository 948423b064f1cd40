//! Just enough of a Dockerfile parser to check docker/Dockerfile: stages,
//! their instructions, and `COPY` sources.

use std::collections::BTreeMap;

/// One `FROM` and what follows it.
#[derive(Debug)]
pub struct Stage {
    pub name: String,
    /// The image or earlier stage it starts from, global `ARG`s substituted.
    pub base: String,
    /// `(INSTRUCTION, arguments)`, continuation lines joined.
    pub instructions: Vec<(String, String)>,
}

impl Stage {
    /// The arguments of every `op` instruction in this stage.
    pub fn all<'a>(&'a self, op: &str) -> impl Iterator<Item = &'a str> + 'a {
        let op = op.to_owned();
        self.instructions.iter().filter(move |(o, _)| *o == op).map(|(_, a)| a.as_str())
    }
}

/// A parsed Dockerfile.
#[derive(Debug)]
pub struct Dockerfile {
    pub stages: Vec<Stage>,
}

impl Dockerfile {
    pub fn parse(text: &str) -> Self {
        let mut args = BTreeMap::new();
        let mut stages: Vec<Stage> = Vec::new();
        for (op, rest) in instructions(text) {
            match op.as_str() {
                "ARG" if stages.is_empty() => {
                    let (name, default) = rest.split_once('=').unwrap_or((rest.as_str(), ""));
                    args.insert(name.trim().to_owned(), default.trim().to_owned());
                }
                "FROM" => {
                    let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("--")).collect();
                    let base = substitute(words.first().copied().unwrap_or_default(), &args);
                    let name = match words.as_slice() {
                        [_, as_, name] if as_.eq_ignore_ascii_case("as") => (*name).to_owned(),
                        _ => stages.len().to_string(),
                    };
                    stages.push(Stage { name, base, instructions: Vec::new() });
                }
                _ => {
                    let stage = stages.last_mut().expect("an instruction before the first FROM");
                    stage.instructions.push((op, rest));
                }
            }
        }
        Self { stages }
    }

    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }

    /// `name` and the stages it is built on, nearest first.
    pub fn lineage<'a>(&'a self, name: &str) -> Vec<&'a Stage> {
        let mut chain = Vec::new();
        let mut next = self.stage(name);
        while let Some(stage) = next {
            chain.push(stage);
            next = self.stage(&stage.base).filter(|s| !chain.iter().any(|c| c.name == s.name));
        }
        chain
    }

    /// The last value of `op` in effect for stage `name`, inherited ones included.
    pub fn effective<'a>(&'a self, name: &str, op: &str) -> Option<&'a str> {
        self.lineage(name).into_iter().find_map(|s| s.all(op).last())
    }

    /// The `ENV` variables in effect for stage `name`.
    pub fn env(&self, name: &str) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        for stage in self.lineage(name).into_iter().rev() {
            for args in stage.all("ENV") {
                for pair in split_words(args) {
                    if let Some((k, v)) = pair.split_once('=') {
                        env.insert(k.to_owned(), v.trim_matches('"').to_owned());
                    }
                }
            }
        }
        env
    }
}

/// A `COPY`'s `--from` stage (if any), sources and destination.
#[derive(Debug)]
pub struct Copy {
    pub from: Option<String>,
    pub sources: Vec<String>,
    pub dest: String,
}

impl Copy {
    pub fn parse(args: &str) -> Self {
        let mut from = None;
        let mut paths = Vec::new();
        let words: Vec<String> = if args.trim_start().starts_with('[') {
            serde_json::from_str(args).expect("COPY in JSON form")
        } else {
            args.split_whitespace().map(str::to_owned).collect()
        };
        for word in words {
            if let Some(stage) = word.strip_prefix("--from=") {
                from = Some(stage.to_owned());
            } else if !word.starts_with("--") {
                paths.push(word);
            }
        }
        let dest = paths.pop().expect("COPY without a destination");
        Self { from, sources: paths, dest }
    }
}

/// Instructions with continuation lines joined and comments dropped.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        match trimmed.strip_suffix('\\') {
            Some(head) => {
                current.push_str(head);
                current.push(' ');
            }
            None => {
                current.push_str(trimmed);
                let (op, rest) = current.trim().split_once(char::is_whitespace).unwrap_or((current.trim(), ""));
                out.push((op.to_ascii_uppercase(), rest.trim().to_owned()));
                current.clear();
            }
        }
    }
    out
}

/// `${NAME}` and `$NAME` replaced by the global `ARG` defaults.
fn substitute(word: &str, args: &BTreeMap<String, String>) -> String {
    let mut out = word.to_owned();
    for (name, value) in args {
        out = out.replace(&format!("${{{name}}}"), value).replace(&format!("${name}"), value);
    }
    out
}

/// Words split on whitespace outside double quotes.
fn split_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in s.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

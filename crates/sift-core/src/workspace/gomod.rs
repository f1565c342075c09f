//! Go's `go.mod`, `go.work` and `go.sum`, read by their own grammar: lines
//! of a verb and arguments, `verb ( ... )` blocks, `//` comments, and
//! interpreted (`"..."`) or raw (`` `...` ``) strings.

use super::ParseError;

/// One directive: `require golang.org/x/text v0.14.0 // indirect`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub verb: String,
    pub args: Vec<String>,
    pub comment: Option<String>,
    pub line: usize,
}

/// Splits a file into directives (block lines carry their block's verb).
pub fn directives(path: &str, text: &str) -> Result<Vec<Directive>, ParseError> {
    let mut out = Vec::new();
    let mut block: Option<(String, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let (tokens, comment) =
            tokens(raw).map_err(|(col, m)| ParseError::line(path, line, col, m))?;
        if tokens.is_empty() {
            continue;
        }
        if let Some((verb, _)) = &block {
            if tokens.len() == 1 && tokens[0] == ")" {
                block = None;
                continue;
            }
            if tokens.iter().any(|t| t == "(" || t == ")") {
                return Err(ParseError::line(
                    path,
                    line,
                    1,
                    "unexpected parenthesis inside a block",
                ));
            }
            out.push(Directive {
                verb: verb.clone(),
                args: tokens,
                comment,
                line,
            });
            continue;
        }
        let verb = tokens[0].clone();
        if !verb.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(ParseError::line(
                path,
                line,
                1,
                format!("unknown directive `{verb}`"),
            ));
        }
        if tokens.len() == 2 && tokens[1] == "(" {
            block = Some((verb, line));
            continue;
        }
        if tokens.iter().any(|t| t == "(" || t == ")") {
            return Err(ParseError::line(
                path,
                line,
                1,
                "a block opens with `verb (` on a line of its own",
            ));
        }
        out.push(Directive {
            verb,
            args: tokens[1..].to_vec(),
            comment,
            line,
        });
    }
    if let Some((verb, line)) = block {
        return Err(ParseError::line(
            path,
            line,
            1,
            format!("`{verb} (` is never closed"),
        ));
    }
    Ok(out)
}

/// Tokens of one line and its `//` comment. Errors carry a 1-based column.
fn tokens(line: &str) -> Result<(Vec<String>, Option<String>), (usize, String)> {
    let mut tokens = Vec::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            let comment: String = chars[i + 2..].iter().collect();
            return Ok((tokens, Some(comment.trim().to_owned())));
        } else if c == '"' {
            let start = i;
            let mut value = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err((start + 1, "unterminated string".to_owned())),
                    Some('"') => break,
                    Some('\\') => {
                        match chars.get(i + 1) {
                            Some(&e @ ('"' | '\\')) => value.push(e),
                            Some('n') => value.push('\n'),
                            Some('t') => value.push('\t'),
                            _ => return Err((i + 1, "unsupported escape in a string".to_owned())),
                        }
                        i += 2;
                        continue;
                    }
                    Some(&c) => value.push(c),
                }
                i += 1;
            }
            tokens.push(value);
            i += 1;
        } else if c == '`' {
            let start = i;
            let end = chars[i + 1..]
                .iter()
                .position(|&c| c == '`')
                .ok_or((start + 1, "unterminated raw string".to_owned()))?;
            tokens.push(chars[i + 1..i + 1 + end].iter().collect());
            i += end + 2;
        } else if c == '(' || c == ')' {
            tokens.push(c.to_string());
            i += 1;
        } else if c == '=' && chars.get(i + 1) == Some(&'>') {
            tokens.push("=>".to_owned());
            i += 2;
        } else {
            let start = i;
            while i < chars.len() && !ends_word(&chars, i) {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        }
    }
    Ok((tokens, None))
}

/// Whether a bare word ends at `i`.
fn ends_word(chars: &[char], i: usize) -> bool {
    let next = chars.get(i + 1);
    chars[i].is_whitespace()
        || matches!(chars[i], '"' | '`' | '(' | ')')
        || (chars[i] == '/' && next == Some(&'/'))
        || (chars[i] == '=' && next == Some(&'>'))
}

/// A `require` line.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Require {
    pub path: String,
    pub version: String,
    pub indirect: bool,
}

/// A `replace` line: `from [version] => to [version]`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Replace {
    pub from: String,
    pub from_version: Option<String>,
    pub to: String,
    pub to_version: Option<String>,
}

/// What sift needs of a `go.mod`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoMod {
    pub module: Option<String>,
    pub requires: Vec<Require>,
    pub replaces: Vec<Replace>,
    /// Every other directive, as text (`go 1.22`, `exclude ...`), sorted.
    pub other: Vec<String>,
}

impl GoMod {
    pub fn parse(path: &str, text: &str) -> Result<GoMod, ParseError> {
        let mut module = GoMod::default();
        for d in directives(path, text)? {
            let bad = |m: &str| ParseError::line(path, d.line, 1, format!("`{}`: {m}", d.verb));
            match d.verb.as_str() {
                "module" => {
                    let [name] = d.args.as_slice() else {
                        return Err(bad("expected one module path"));
                    };
                    module.module = Some(name.clone());
                }
                "require" => {
                    let [dep, version] = d.args.as_slice() else {
                        return Err(bad("expected a module path and a version"));
                    };
                    module.requires.push(Require {
                        path: dep.clone(),
                        version: version.clone(),
                        indirect: d
                            .comment
                            .as_deref()
                            .is_some_and(|c| c.split(';').any(|p| p.trim() == "indirect")),
                    });
                }
                "replace" => module.replaces.push(
                    replace(&d.args)
                        .ok_or_else(|| bad("expected `path [version] => path [version]`"))?,
                ),
                _ => module
                    .other
                    .push(format!("{} {}", d.verb, d.args.join(" "))),
            }
        }
        module.requires.sort();
        module.replaces.sort();
        module.other.sort();
        Ok(module)
    }

    /// The version this module requires of `path`, if any.
    pub fn requires(&self, path: &str) -> Option<&str> {
        self.requires
            .iter()
            .find(|r| r.path == path)
            .map(|r| r.version.as_str())
    }
}

fn replace(args: &[String]) -> Option<Replace> {
    let arrow = args.iter().position(|a| a == "=>")?;
    let (left, right) = (&args[..arrow], &args[arrow + 1..]);
    let (from, from_version) = match left {
        [from] => (from.clone(), None),
        [from, version] => (from.clone(), Some(version.clone())),
        _ => return None,
    };
    let (to, to_version) = match right {
        [to] => (to.clone(), None),
        [to, version] => (to.clone(), Some(version.clone())),
        _ => return None,
    };
    Some(Replace {
        from,
        from_version,
        to,
        to_version,
    })
}

/// What sift needs of a `go.work`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GoWork {
    /// The `use`d module directories, as written, sorted.
    pub uses: Vec<String>,
    pub replaces: Vec<Replace>,
    pub other: Vec<String>,
}

impl GoWork {
    pub fn parse(path: &str, text: &str) -> Result<GoWork, ParseError> {
        let mut work = GoWork::default();
        for d in directives(path, text)? {
            match d.verb.as_str() {
                "use" => {
                    let [dir] = d.args.as_slice() else {
                        return Err(ParseError::line(
                            path,
                            d.line,
                            1,
                            "`use`: expected one directory",
                        ));
                    };
                    work.uses.push(dir.clone());
                }
                "replace" => work.replaces.push(replace(&d.args).ok_or_else(|| {
                    ParseError::line(
                        path,
                        d.line,
                        1,
                        "`replace`: expected `path [version] => path [version]`",
                    )
                })?),
                _ => work.other.push(format!("{} {}", d.verb, d.args.join(" "))),
            }
        }
        work.uses.sort();
        work.uses.dedup();
        work.replaces.sort();
        work.other.sort();
        Ok(work)
    }
}

/// `go.sum` (and `go.work.sum`): (module path, version) pairs with their
/// hashes; a version's `/go.mod` line counts as the same version.
pub fn go_sum(path: &str, text: &str) -> Result<Vec<(String, String, String)>, ParseError> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [] => {}
            [module, version, hash] if hash.contains(':') => {
                let version = version.strip_suffix("/go.mod").unwrap_or(version);
                out.push(((*module).to_owned(), version.to_owned(), (*hash).to_owned()));
            }
            _ => {
                return Err(ParseError::line(
                    path,
                    index + 1,
                    1,
                    "expected `module version hash`",
                ));
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module example.com/shop/api // the API

go 1.22

require (
	example.com/shop/lib v0.0.0-00010101000000-000000000000
	golang.org/x/text v0.14.0 // indirect
)

require "github.com/quoted/mod" `v1.2.3`

replace example.com/shop/lib => ../lib
"#;

    #[test]
    fn reads_go_mod() {
        let m = GoMod::parse("api/go.mod", GO_MOD).unwrap();
        assert_eq!(m.module.as_deref(), Some("example.com/shop/api"));
        assert_eq!(m.requires("golang.org/x/text"), Some("v0.14.0"));
        assert!(
            m.requires
                .iter()
                .any(|r| r.path == "golang.org/x/text" && r.indirect)
        );
        assert_eq!(m.requires("github.com/quoted/mod"), Some("v1.2.3"));
        assert_eq!(m.replaces[0].to, "../lib");
        assert_eq!(m.other, ["go 1.22"]);
    }

    #[test]
    fn reads_go_work() {
        let w = GoWork::parse(
            "go.work",
            "go 1.22\n\nuse (\n\t./api\n\t./lib // shared\n)\nuse ./tools\n",
        )
        .unwrap();
        assert_eq!(w.uses, ["./api", "./lib", "./tools"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = GoMod::parse("go.mod", "module a\nrequire (\n  x \"v1\n)\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 5), "{e}");
        let e = GoMod::parse("go.mod", "module a\nrequire (\n  x v1\n").unwrap_err();
        assert!(e.message.contains("never closed"), "{e}");
        assert!(GoMod::parse("go.mod", "Module x\n").is_err());
    }

    #[test]
    fn go_sum_versions_include_go_mod_lines() {
        let sum = go_sum(
            "go.sum",
            "golang.org/x/text v0.14.0 h1:abc=\ngolang.org/x/text v0.14.0/go.mod h1:def=\n",
        )
        .unwrap();
        assert_eq!(sum.len(), 2);
        assert!(sum.iter().all(|(_, v, _)| v == "v0.14.0"));
        assert!(go_sum("go.sum", "garbage\n").is_err());
    }

    proptest::proptest! {
        #[test]
        fn never_panics(text in "\\PC{0,200}") {
            let _ = GoMod::parse("go.mod", &text);
            let _ = GoWork::parse("go.work", &text);
            let _ = go_sum("go.sum", &text);
        }

        #[test]
        fn never_panics_on_go_like_text(text in "(module|require|replace|use|go|\\(|\\)|=>|//|\"|`|v1\\.2|\\./a| |\\n|\\t|x){0,60}") {
            let _ = GoMod::parse("go.mod", &text);
            let _ = GoWork::parse("go.work", &text);
        }
    }
}

//! The YAML the CI renderers write: block style for structure, every string
//! double-quoted with JSON's escapes.
//!
//! A JSON string literal is a valid YAML double-quoted scalar (YAML 1.1 and
//! 1.2 both accept JSON's escapes), so quoting every string with serde_json
//! rules out YAML's implicit typing (`on`, `no`, `1e3`, `null`) and every
//! special character at once, while block style keeps the files readable in a
//! review. That is all these files need, which is why sift carries this
//! module instead of a YAML library: `serde_yaml` is deprecated, `serde_yml`
//! is an unmaintained shim, and `serde_norway` would add a transpiled libyaml
//! (`unsafe-libyaml-norway`, tens of thousands of lines) to the build for an
//! emitter this small. The tests parse every generated file with the CI's
//! published JSON schema through check-jsonschema's YAML loader.

/// A YAML value. Maps keep their insertion order.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Yaml>),
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// An empty map, to push entries onto.
    pub fn map() -> Yaml {
        Yaml::Map(Vec::new())
    }

    /// Appends `key: value` to a map (no effect on other values).
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Yaml>) -> &mut Self {
        if let Yaml::Map(entries) = self {
            let key = key.into();
            let value = value.into();
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
        }
        self
    }

    /// Appends `key: value` to a map whose keys the caller keeps distinct
    /// (no lookup: for maps of thousands of jobs).
    pub fn push(&mut self, key: impl Into<String>, value: impl Into<Yaml>) -> &mut Self {
        if let Yaml::Map(entries) = self {
            entries.push((key.into(), value.into()));
        }
        self
    }

    /// The value under `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Yaml> {
        match self {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// A list of strings.
    pub fn strings<S: AsRef<str>>(items: &[S]) -> Yaml {
        Yaml::List(items.iter().map(|s| Yaml::from(s.as_ref())).collect())
    }

    /// A TOML value as YAML (dates become strings).
    pub fn from_toml(value: &toml::Value) -> Yaml {
        match value {
            toml::Value::String(s) => Yaml::Str(s.clone()),
            toml::Value::Integer(i) => Yaml::Int(*i),
            toml::Value::Float(f) => Yaml::Float(*f),
            toml::Value::Boolean(b) => Yaml::Bool(*b),
            toml::Value::Datetime(d) => Yaml::Str(d.to_string()),
            toml::Value::Array(items) => Yaml::List(items.iter().map(Yaml::from_toml).collect()),
            toml::Value::Table(table) => Yaml::Map(
                table
                    .iter()
                    .map(|(k, v)| (k.clone(), Yaml::from_toml(v)))
                    .collect(),
            ),
        }
    }

    /// The document, with a trailing newline.
    pub fn to_document(&self) -> String {
        let mut out = String::new();
        match self {
            Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0, false),
            Yaml::List(items) if !items.is_empty() => write_list(&mut out, items, 0),
            scalar => {
                write_scalar(&mut out, scalar);
                out.push('\n');
            }
        }
        out
    }
}

impl From<&str> for Yaml {
    fn from(s: &str) -> Yaml {
        Yaml::Str(s.to_owned())
    }
}

impl From<String> for Yaml {
    fn from(s: String) -> Yaml {
        Yaml::Str(s)
    }
}

impl From<bool> for Yaml {
    fn from(b: bool) -> Yaml {
        Yaml::Bool(b)
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_map(out: &mut String, entries: &[(String, Yaml)], indent: usize, inline_first: bool) {
    for (index, (key, value)) in entries.iter().enumerate() {
        if !(inline_first && index == 0) {
            pad(out, indent);
        }
        write_key(out, key);
        out.push(':');
        match value {
            Yaml::Map(inner) if !inner.is_empty() => {
                out.push('\n');
                write_map(out, inner, indent + 2, false);
            }
            Yaml::List(items) if !items.is_empty() => {
                out.push('\n');
                write_list(out, items, indent + 2);
            }
            scalar => {
                out.push(' ');
                write_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

fn write_list(out: &mut String, items: &[Yaml], indent: usize) {
    for item in items {
        pad(out, indent);
        match item {
            Yaml::Map(inner) if !inner.is_empty() => {
                out.push_str("- ");
                write_map(out, inner, indent + 2, true);
            }
            Yaml::List(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                write_list(out, inner, indent + 2);
            }
            scalar => {
                out.push_str("- ");
                write_scalar(out, scalar);
                out.push('\n');
            }
        }
    }
}

/// Keys stay plain when YAML cannot read them as anything but that string.
fn write_key(out: &mut String, key: &str) {
    let plain = key
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '.')
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !is_yaml_word(key);
    if plain {
        out.push_str(key);
    } else {
        write_json_string(out, key);
    }
}

/// Words YAML 1.1 reads as booleans or null.
fn is_yaml_word(key: &str) -> bool {
    const WORDS: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(key))
}

fn write_scalar(out: &mut String, value: &Yaml) {
    match value {
        Yaml::Null => out.push_str("null"),
        Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Yaml::Int(i) => out.push_str(&i.to_string()),
        Yaml::Float(f) if f.is_finite() => {
            out.push_str(&serde_json::to_string(f).unwrap_or_default())
        }
        Yaml::Float(f) if f.is_nan() => out.push_str(".nan"),
        Yaml::Float(f) => out.push_str(if *f > 0.0 { ".inf" } else { "-.inf" }),
        Yaml::Str(s) => write_json_string(out, s),
        Yaml::List(_) => out.push_str("[]"),
        Yaml::Map(_) => out.push_str("{}"),
    }
}

fn write_json_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("strings serialize"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_style_with_quoted_strings() {
        let mut step = Yaml::map();
        step.insert("key", "a")
            .insert("depends_on", Yaml::strings(&["b", "c"]))
            .insert("env", Yaml::map())
            .insert("on", "no")
            .insert("odd key", "line\nbreak \"quoted\"");
        let mut doc = Yaml::map();
        doc.insert("steps", Yaml::List(vec![step, Yaml::Int(3)]))
            .insert("empty", Yaml::List(vec![]));
        assert_eq!(
            doc.to_document(),
            "steps:\n  - key: \"a\"\n    depends_on:\n      - \"b\"\n      - \"c\"\n    env: {}\n    \"on\": \"no\"\n    \"odd key\": \"line\\nbreak \\\"quoted\\\"\"\n  - 3\nempty: []\n"
        );
    }
}

//! taskgraph's parameters (`parameters.yml` or JSON): the keys the
//! optimizer reads.

use serde_json::Value;

use super::graph::GraphError;

/// `pushlog_id` as written: taskgraph's schema says string, but gecko's
/// strategies compare it with the integer −1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushlogId {
    Int(i64),
    Str(String),
}

impl PushlogId {
    /// `int(pushlog_id)` as Python would compute it.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            PushlogId::Int(n) => Some(*n),
            PushlogId::Str(s) => s.trim().parse().ok(),
        }
    }
}

/// The parameters the optimizer reads; everything else is ignored.
#[derive(Clone, Debug, Default)]
pub struct Params {
    /// `None` when the parameters do not say (then the change decides).
    pub files_changed: Option<Vec<String>>,
    pub base_rev: Option<String>,
    pub head_rev: Option<String>,
    pub repository_type: Option<String>,
    pub pushlog_id: Option<PushlogId>,
    pub backstop: Option<bool>,
    pub project: Option<String>,
    pub do_not_optimize: Vec<String>,
    /// `true`, `false` or a list of kinds.
    pub enable_always_target: AlwaysTarget,
    pub optimize_target_tasks: bool,
    pub optimize_strategies: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum AlwaysTarget {
    #[default]
    All,
    None,
    Kinds(Vec<String>),
}

impl Params {
    pub fn defaults() -> Params {
        Params {
            optimize_target_tasks: true,
            ..Params::default()
        }
    }

    /// Reads JSON, or the YAML taskgraph writes (`parameters.yml`).
    pub fn parse(text: &str) -> Result<Params, GraphError> {
        let value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| GraphError::json(&e))?
        } else {
            yaml_subset(text)?
        };
        let Value::Object(map) = value else {
            return Err(GraphError::Invalid(
                "parameters must be a mapping".to_owned(),
            ));
        };
        let string = |key: &str| map.get(key).and_then(Value::as_str).map(str::to_owned);
        let strings = |key: &str| -> Option<Vec<String>> {
            map.get(key).and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect()
            })
        };
        let mut params = Params::defaults();
        params.files_changed = strings("files_changed");
        params.base_rev = string("base_rev");
        params.head_rev = string("head_rev");
        params.repository_type = string("repository_type");
        params.project = string("project");
        params.optimize_strategies = string("optimize_strategies");
        params.pushlog_id = match map.get("pushlog_id") {
            Some(Value::Number(n)) => n.as_i64().map(PushlogId::Int),
            Some(Value::String(s)) => Some(PushlogId::Str(s.clone())),
            _ => None,
        };
        params.backstop = map.get("backstop").and_then(Value::as_bool);
        params.do_not_optimize = strings("do_not_optimize").unwrap_or_default();
        params.enable_always_target = match map.get("enable_always_target") {
            Some(Value::Bool(false)) => AlwaysTarget::None,
            Some(Value::Array(kinds)) => AlwaysTarget::Kinds(
                kinds
                    .iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect(),
            ),
            _ => AlwaysTarget::All,
        };
        params.optimize_target_tasks = map
            .get("optimize_target_tasks")
            .and_then(Value::as_bool)
            .unwrap_or(true);
        Ok(params)
    }
}

/// The YAML `yaml.safe_dump` writes for parameters: a top-level mapping of
/// scalars, block lists (`- item`) and flow `[]`/`{}`/`[a, b]`. Nested
/// mappings are skipped (the optimizer reads none). Anything else is an
/// error that suggests JSON.
fn yaml_subset(text: &str) -> Result<Value, GraphError> {
    let mut map = serde_json::Map::new();
    let mut current_list: Option<String> = None;
    let unsupported = |line: usize, what: &str| {
        GraphError::Invalid(format!(
            "line {line}: {what}: sift reads the YAML taskgraph writes for parameters; pass them as JSON instead"
        ))
    };
    for (n, raw) in text.lines().enumerate() {
        let line = n + 1;
        let trimmed = raw.trim_end();
        if trimmed.trim().is_empty() || trimmed.trim_start().starts_with('#') || trimmed == "---" {
            continue;
        }
        let indent = trimmed.len() - trimmed.trim_start().len();
        let body = trimmed.trim_start();
        if let Some(item) = body
            .strip_prefix("- ")
            .or(if body == "-" { Some("") } else { None })
        {
            let Some(key) = &current_list else {
                if indent > 0 {
                    continue; // inside a nested mapping we skip
                }
                return Err(unsupported(line, "a list item outside a list"));
            };
            let value = scalar(item.trim()).ok_or_else(|| unsupported(line, "a nested value"))?;
            if let Some(Value::Array(items)) = map.get_mut(key) {
                items.push(value);
            }
            continue;
        }
        if indent > 0 {
            continue; // a nested mapping's entry
        }
        current_list = None;
        let Some((key, rest)) = body.split_once(':') else {
            return Err(unsupported(line, "not `key: value`"));
        };
        let key = key
            .trim()
            .trim_matches(|c| c == '\'' || c == '"')
            .to_owned();
        let rest = rest.trim();
        if rest.is_empty() {
            // A block list or a nested mapping follows.
            map.insert(key.clone(), Value::Array(Vec::new()));
            current_list = Some(key);
            continue;
        }
        let value = scalar(rest).ok_or_else(|| unsupported(line, "an unsupported value"))?;
        map.insert(key, value);
    }
    Ok(Value::Object(map))
}

fn scalar(text: &str) -> Option<Value> {
    let text = match text.find(" #") {
        Some(i) if !text.starts_with('\'') && !text.starts_with('"') => text[..i].trim(),
        _ => text,
    };
    Some(match text {
        "null" | "~" | "" => Value::Null,
        "true" | "True" => Value::Bool(true),
        "false" | "False" => Value::Bool(false),
        "{}" => Value::Object(serde_json::Map::new()),
        _ if text.starts_with('[') && text.ends_with(']') => {
            let inner = text[1..text.len() - 1].trim();
            if inner.is_empty() {
                return Some(Value::Array(Vec::new()));
            }
            Value::Array(
                inner
                    .split(',')
                    .map(|i| scalar(i.trim()))
                    .collect::<Option<_>>()?,
            )
        }
        _ if text.starts_with('\'') => {
            let inner = text.strip_prefix('\'')?.strip_suffix('\'')?;
            Value::String(inner.replace("''", "'"))
        }
        _ if text.starts_with('"') => serde_json::from_str(text).ok()?,
        _ if text.starts_with('{')
            || text.starts_with('&')
            || text.starts_with('*')
            || text.starts_with('|')
            || text.starts_with('>') =>
        {
            return None;
        }
        _ => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(text.to_owned()),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_as_taskgraph_writes_it() {
        let params = Params::parse(
            "backstop: false\nbase_rev: abc\ndo_not_optimize: []\nfiles_changed:\n- a/b.py\n- 'c d.txt'\nhead_rev: def\nproject: autoland\npushlog_id: '12345'\ntry_task_config:\n  env:\n    X: y\nenable_always_target:\n- docker-image\n",
        )
        .unwrap();
        assert_eq!(params.files_changed.unwrap(), ["a/b.py", "c d.txt"]);
        assert_eq!(params.pushlog_id, Some(PushlogId::Str("12345".into())));
        assert_eq!(params.backstop, Some(false));
        assert_eq!(
            params.enable_always_target,
            AlwaysTarget::Kinds(vec!["docker-image".into()])
        );
        assert!(params.optimize_target_tasks);
    }

    #[test]
    fn json_and_errors() {
        let params = Params::parse(r#"{"pushlog_id": -1, "files_changed": []}"#).unwrap();
        assert_eq!(params.pushlog_id, Some(PushlogId::Int(-1)));
        assert!(Params::parse("key: &anchor x\n").is_err());
        assert!(Params::parse("{").is_err());
    }
}

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
            yaml(text)?
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

/// `parameters.yml`, read with the real YAML parser sift reads lockfiles
/// with (`saphyr-parser`), as JSON values: `true`/`false` are booleans,
/// `null`/`~`/empty are null, integers are numbers, quoted scalars and
/// everything else are text
/// (the optimizer reads no floats or dates). A syntax error is an error at
/// its line and column, never a silently skipped line.
fn yaml(text: &str) -> Result<Value, GraphError> {
    let tree = crate::workspace::yaml::parse("parameters", text).map_err(|e| GraphError::Json {
        line: e.line,
        column: e.column,
        message: e.message,
    })?;
    Ok(to_value(&tree))
}

fn to_value(node: &crate::workspace::yaml::Yaml) -> Value {
    use crate::workspace::yaml::Yaml;
    match node {
        Yaml::Null => Value::Null,
        Yaml::Scalar(text) => match text.as_str() {
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            "null" | "Null" | "NULL" | "~" | "" => Value::Null,
            _ => text
                .parse::<i64>()
                .map_or_else(|_| Value::String(text.clone()), Value::from),
        },
        Yaml::Quoted(text) => Value::String(text.clone()),
        Yaml::Seq(items) => Value::Array(items.iter().map(to_value).collect()),
        Yaml::Map(entries) => Value::Object(
            entries
                .iter()
                .map(|(key, value)| (key.clone(), to_value(value)))
                .collect(),
        ),
    }
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
        assert!(Params::parse("{").is_err());
        // Malformed YAML is an error at its line, not a skipped line.
        let error = Params::parse("backstop: false\nfiles_changed:\n- a\n  bad: [\n").unwrap_err();
        assert!(
            matches!(
                error,
                GraphError::Json { line: 4, .. } | GraphError::Json { line: 5, .. }
            ),
            "{error:?}"
        );
        assert!(Params::parse("a: [1, 2\n").is_err());
        // Anchors, flow mappings and nesting are plain YAML.
        let params = Params::parse(
            "base: &b abc\nbase_rev: *b\ntry_task_config: {env: {X: y}}\nbackstop: true\npushlog_id: 42\n",
        )
        .unwrap();
        assert_eq!(params.base_rev.as_deref(), Some("abc"));
        assert_eq!(params.backstop, Some(true));
        assert_eq!(params.pushlog_id, Some(PushlogId::Int(42)));
    }
}

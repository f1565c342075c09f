//! How sift names tests, one rule shared by `order`, `shard` and `record`.
//!
//! A test may be written three ways, and all three must meet:
//!
//! | form | example | file part | key |
//! |---|---|---|---|
//! | a test file | `test/test_nn.py` | `test/test_nn.py` | `test_nn` |
//! | a PyTorch-style name | `test_nn` | `test_nn` | `test_nn` |
//! | a node id | `test/test_nn.py::TestNN::test_add` | `test/test_nn.py` | `test_nn` |
//!
//! The **file part** is the text before the first `::`. The **key** of a file
//! part is what PyTorch's test-times and ratings files use: `test/` and `.py`
//! are stripped when *both* are present (PyTorch's
//! `python_test_file_to_test_name`), otherwise the path stays as it is, so
//! `tools/test/x.py` keys to itself and other runners' ids (a nextest binary,
//! a Go package, a Java class) key to their own file part. Two references to
//! tests [`overlap`] when their keys are equal and one node part is the other
//! or lies inside it.

use crate::select::change::normalize_path;

/// The text before the first `::` (the whole id when there is none).
pub fn file_part(test: &str) -> &str {
    test.split_once("::").map_or(test, |(file, _)| file)
}

/// The text after the first `::`, if any: `TestNN::test_add`.
pub fn node_part(test: &str) -> Option<&str> {
    test.split_once("::").map(|(_, node)| node)
}

/// The key of a test's file: `test/test_nn.py`, `test_nn` and
/// `test/test_nn.py::TestNN::test_add` all give `test_nn`.
pub fn test_key(test: &str) -> String {
    let file = normalize_path(file_part(test));
    match file
        .strip_prefix("test/")
        .and_then(|rest| rest.strip_suffix(".py"))
    {
        Some(name) if !name.is_empty() => name.to_owned(),
        _ => file,
    }
}

/// Whether two references to tests overlap: the same file key, and either
/// one names the whole file or one node part contains the other
/// (`TestNN` contains `TestNN::test_add` and `TestNN::test_add[1]`).
pub fn overlap(a: &str, b: &str) -> bool {
    if test_key(a) != test_key(b) {
        return false;
    }
    match (node_part(a), node_part(b)) {
        (None, _) | (_, None) => true,
        (Some(x), Some(y)) => node_contains(x, y) || node_contains(y, x),
    }
}

/// `outer` is `inner`, or a prefix of it ending at a `::` or `[` boundary.
fn node_contains(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with("::") || rest.starts_with('['))
}

/// The argument pytest accepts for a test: file paths and node ids as they
/// are; a PyTorch-style name (a file part whose last segment has no
/// extension) becomes `test/<name>.py`, the inverse of [`test_key`].
pub fn pytest_arg(test: &str) -> String {
    let file = file_part(test);
    let last = file.rsplit('/').next().unwrap_or(file);
    if last.contains('.') || file.is_empty() {
        return test.to_owned();
    }
    match node_part(test) {
        Some(node) => format!("test/{file}.py::{node}"),
        None => format!("test/{file}.py"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_share_a_key() {
        for form in [
            "test/test_nn.py",
            "test_nn",
            "test/test_nn.py::TestNN::test_add",
            "./test/test_nn.py",
        ] {
            assert_eq!(test_key(form), "test_nn", "{form}");
        }
        assert_eq!(
            test_key("test/distributed/test_c10d.py"),
            "distributed/test_c10d"
        );
        // Only test/…​.py is PyTorch's convention; other paths key to themselves.
        assert_eq!(test_key("tools/test/x.py::t"), "tools/test/x.py");
        assert_eq!(test_key("test/data.json"), "test/data.json");
        assert_eq!(test_key("sift-core::pattern::tests::x"), "sift-core");
        assert_eq!(test_key("test/.py"), "test/.py");
    }

    #[test]
    fn overlap_rules() {
        assert!(overlap("test_nn", "test/test_nn.py::TestNN::test_add"));
        assert!(overlap(
            "test/test_nn.py::TestNN",
            "test_nn::TestNN::test_add"
        ));
        assert!(overlap(
            "test/test_nn.py::TestNN::test_num",
            "test/test_nn.py::TestNN::test_num[2]"
        ));
        assert!(!overlap(
            "test/test_nn.py::TestNN",
            "test/test_nn.py::TestNNX::t"
        ));
        assert!(!overlap("test/test_nn.py::A::t1", "test/test_nn.py::A::t"));
        assert!(!overlap("test_nn", "test_nnx"));
    }

    #[test]
    fn pytest_arguments() {
        assert_eq!(pytest_arg("test_nn"), "test/test_nn.py");
        assert_eq!(
            pytest_arg("distributed/test_c10d"),
            "test/distributed/test_c10d.py"
        );
        assert_eq!(pytest_arg("test/test_nn.py"), "test/test_nn.py");
        assert_eq!(pytest_arg("tests/a.py::T::t[1.5]"), "tests/a.py::T::t[1.5]");
        assert_eq!(pytest_arg("test_nn::TestNN"), "test/test_nn.py::TestNN");
        // The inverse of the key for PyTorch-style names.
        assert_eq!(test_key(&pytest_arg("inductor/test_x")), "inductor/test_x");
    }
}

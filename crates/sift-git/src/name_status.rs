//! Parsing `git diff --name-status -z`.
//!
//! With `-z` every field ends in NUL and paths are printed verbatim, so names
//! with spaces, newlines or non-ASCII characters need no unquoting. Records are
//! `STATUS NUL PATH NUL`, or `STATUS NUL OLD NUL NEW NUL` for renames and copies.

use sift_core::{ChangeStatus, ChangedFile};

use crate::command::nul_fields;

/// Turns the output into changed files. A status letter sift does not know
/// becomes "modified" rather than being dropped: scheduling a task too many
/// is cheap, missing one is not. Output that does not follow the record
/// format at all is an error for the same reason.
pub(crate) fn parse(output: &[u8]) -> Result<Vec<ChangedFile>, String> {
    let mut fields = nul_fields(output);
    let mut files = Vec::new();
    while let Some(status) = fields.next() {
        let Some(&letter) = status.first() else {
            return Err("empty status field".to_owned());
        };
        let mut path = || {
            fields
                .next()
                .filter(|path| !path.is_empty())
                .map(|path| String::from_utf8_lossy(path).into_owned())
                .ok_or_else(|| {
                    format!(
                        "status `{}` without a path",
                        String::from_utf8_lossy(status)
                    )
                })
        };
        let file = match letter {
            b'R' => {
                let from = path()?;
                ChangedFile::renamed(from, path()?)
            }
            // A copy leaves its source untouched; only the new path changed.
            b'C' => {
                path()?;
                ChangedFile::new(path()?, ChangeStatus::Added)
            }
            b'A' => ChangedFile::new(path()?, ChangeStatus::Added),
            b'D' => ChangedFile::new(path()?, ChangeStatus::Deleted),
            b'T' => ChangedFile::new(path()?, ChangeStatus::TypeChange),
            // M, U (unmerged) and anything git may add later.
            _ => ChangedFile::new(path()?, ChangeStatus::Modified),
        };
        files.push(file);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, status: ChangeStatus) -> ChangedFile {
        ChangedFile::new(path, status)
    }

    #[test]
    fn parses_every_status() {
        let output = b"A\0new\0M\0mod\0D\0gone\0T\0link\0R087\0old name\0new name\0\
                       C100\0orig\0copy\0U\0conflict\0X\0odd\0";
        assert_eq!(
            parse(output).unwrap(),
            [
                file("new", ChangeStatus::Added),
                file("mod", ChangeStatus::Modified),
                file("gone", ChangeStatus::Deleted),
                file("link", ChangeStatus::TypeChange),
                ChangedFile::renamed("old name", "new name"),
                file("copy", ChangeStatus::Added),
                file("conflict", ChangeStatus::Modified),
                file("odd", ChangeStatus::Modified),
            ]
        );
    }

    #[test]
    fn paths_are_taken_verbatim() {
        let output = "M\0line\nbreak\0A\0日本/ñ é.rs\0".as_bytes();
        assert_eq!(
            parse(output).unwrap(),
            [
                file("line\nbreak", ChangeStatus::Modified),
                file("日本/ñ é.rs", ChangeStatus::Added)
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        assert_eq!(
            parse(b"M\0a\xffb\0").unwrap(),
            [file("a\u{fffd}b", ChangeStatus::Modified)]
        );
    }

    #[test]
    fn empty_output_is_no_change() {
        assert_eq!(parse(b"").unwrap(), []);
    }

    #[test]
    fn truncated_records_are_errors() {
        assert_eq!(parse(b"M\0").unwrap_err(), "status `M` without a path");
        assert_eq!(
            parse(b"R100\0old\0").unwrap_err(),
            "status `R100` without a path"
        );
        assert_eq!(parse(b"M\0\0").unwrap_err(), "status `M` without a path");
        assert_eq!(parse(b"M\0a\0\0b\0").unwrap_err(), "empty status field");
    }
}

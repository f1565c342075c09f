//! Reading one file as it was at a revision: what `lockfile`/`manifest`
//! rules need for the base side of a changed lockfile. One
//! `git cat-file --batch` reads every file asked for; it runs only when a
//! lockfile or root manifest is among the changed files.

use std::path::Path;

use crate::command::Git;
use crate::error::GitError;

/// The contents of each `(revision, path)` (`None` where the path does not
/// exist at that revision), in order.
pub fn read_files_at(
    repo: &Path,
    wanted: &[(&str, &str)],
) -> Result<Vec<Option<Vec<u8>>>, GitError> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = Vec::new();
    for (rev, path) in wanted {
        if rev.starts_with('-') || rev.contains(['\n', ':']) || path.contains('\n') {
            return Err(GitError::InvalidRevision {
                rev: format!("{rev}:{path}"),
                reason: "it cannot be passed to `git cat-file` on one line",
            });
        }
        input.extend_from_slice(format!("{rev}:{path}\n").as_bytes());
    }
    let git = Git::new(repo);
    let command = "git cat-file --batch";
    let stdout = git
        .spawn(&["cat-file", "--batch"], Some(&input))?
        .wait()?
        .into_stdout(&git)?;
    let mut out = Vec::with_capacity(wanted.len());
    let mut rest = stdout.as_slice();
    let unexpected = |detail: &str| GitError::UnexpectedOutput {
        command: command.to_owned(),
        detail: detail.to_owned(),
    };
    for _ in wanted {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| unexpected("a header line is cut short"))?;
        let header = String::from_utf8_lossy(&rest[..end]).into_owned();
        rest = &rest[end + 1..];
        if header.ends_with(" missing") || header.ends_with(" ambiguous") {
            out.push(None);
            continue;
        }
        let mut fields = header.split(' ');
        let (_, kind, size) = (fields.next(), fields.next(), fields.next());
        let size: usize = size
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unexpected(&format!("header `{header}`")))?;
        if rest.len() < size + 1 {
            return Err(unexpected("an object is cut short"));
        }
        // A directory or submodule at that path is no file.
        out.push((kind == Some("blob")).then(|| rest[..size].to_vec()));
        rest = &rest[size + 1..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?}");
    }

    #[test]
    fn reads_files_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        std::fs::write(root.join("Cargo.lock"), "one\n").unwrap();
        std::fs::create_dir(root.join("d")).unwrap();
        std::fs::write(root.join("d/x"), "").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["commit", "-qm", "one"]);
        std::fs::write(root.join("Cargo.lock"), "two\nlines").unwrap();
        git(root, &["commit", "-qam", "two"]);
        let got = read_files_at(
            root,
            &[
                ("HEAD~1", "Cargo.lock"),
                ("HEAD", "Cargo.lock"),
                ("HEAD", "nope"),
                ("HEAD", "d"),
                ("HEAD", "d/x"),
            ],
        )
        .unwrap();
        assert_eq!(
            got,
            [
                Some(b"one\n".to_vec()),
                Some(b"two\nlines".to_vec()),
                None,
                None,
                Some(Vec::new())
            ]
        );
        assert!(read_files_at(root, &[("--all", "x")]).is_err());
    }
}

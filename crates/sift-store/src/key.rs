//! PyTorch's bucket layout for pytest caches, byte for byte:
//!
//! `pytest_cache/{owner}/{name}/{md5(REF)}/{sanitize(JOB)}/{SHA}/{sanitize(CFG)}/{N}.zip`
//!
//! Keeping the layout identical lets a PyTorch-style user point sift at the
//! bucket their CI already fills and keep every cache uploaded so far.

use std::fmt;

use md5::{Digest, Md5};

/// The first segment of every key (PyTorch's `PYTEST_CACHE_KEY_PREFIX`).
pub const KEY_PREFIX: &str = "pytest_cache";

/// Why a key cannot be built from the given values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    #[error("`{0}` is not of the form OWNER/NAME")]
    Repo(String),
    #[error("{what} `{value}` may only hold letters, digits, `.`, `_` and `-`")]
    Unsafe { what: &'static str, value: String },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
}

/// PyTorch's `sanitize_for_s3`: every character (Unicode scalar, not byte)
/// outside `[A-Za-z0-9_-]` becomes one `_`. No trimming, no collapsing.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// PyTorch's `PRIdentifier`: the lowercase hex MD5 of the ref's UTF-8 bytes.
pub fn md5_hex(text: &str) -> String {
    let digest = Md5::digest(text.as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in digest.iter() {
        hex.push(char::from_digit(u32::from(byte >> 4), 16).expect("nibble"));
        hex.push(char::from_digit(u32::from(byte & 0xf), 16).expect("nibble"));
    }
    hex
}

/// `owner/name` of a repository. PyTorch does not sanitize these, so they go
/// into keys verbatim; we accept only what GitHub allows in names, which
/// also keeps them valid, unescaped object-store path segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    pub owner: String,
    pub name: String,
}

impl Repo {
    pub fn parse(text: &str) -> Result<Repo, KeyError> {
        let mut parts = text.split('/');
        let (Some(owner), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(KeyError::Repo(text.to_owned()));
        };
        if owner.is_empty() || name.is_empty() {
            return Err(KeyError::Repo(text.to_owned()));
        }
        check_verbatim("the repository owner", owner)?;
        check_verbatim("the repository name", name)?;
        Ok(Repo {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// Values that PyTorch puts into keys unsanitized (owner, name, sha) must be
/// a single, plain path segment: anything else would either differ from
/// PyTorch's key or escape its place in the layout.
fn check_verbatim(what: &'static str, value: &str) -> Result<(), KeyError> {
    if value.is_empty() {
        return Err(KeyError::Empty { what });
    }
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !plain || value == "." || value == ".." {
        return Err(KeyError::Unsafe {
            what,
            value: value.to_owned(),
        });
    }
    Ok(())
}

/// The part of the layout every shard of a pull request's jobs shares:
/// `pytest_cache/{owner}/{name}/{md5(REF)}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrScope {
    pub repo: Repo,
    /// The raw ref (e.g. `refs/pull/12345/merge`); only its MD5 is stored.
    pub pr_ref: String,
}

impl PrScope {
    pub fn new(repo: Repo, pr_ref: impl Into<String>) -> PrScope {
        PrScope {
            repo,
            pr_ref: pr_ref.into(),
        }
    }

    /// `pytest_cache/{owner}/{name}/{md5}`, without a trailing slash.
    pub fn prefix(&self) -> String {
        format!(
            "{KEY_PREFIX}/{}/{}/{}",
            self.repo.owner,
            self.repo.name,
            md5_hex(&self.pr_ref)
        )
    }

    /// `.../{sanitize(JOB)}/`, with the trailing slash PyTorch forgot: without
    /// it `..._gcc11` would also match `..._gcc11-debug`.
    pub fn job_prefix(&self, job: &str) -> Result<String, KeyError> {
        let job = sanitize(job);
        if job.is_empty() {
            return Err(KeyError::Empty { what: "the job" });
        }
        Ok(format!("{}/{job}/", self.prefix()))
    }
}

/// Where one shard's cache is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    pub scope: PrScope,
    pub job: String,
    pub sha: String,
    pub config: String,
    pub shard: u32,
}

impl CacheKey {
    /// The object key, relative to the store's prefix.
    pub fn object_key(&self) -> Result<String, KeyError> {
        check_verbatim("the sha", &self.sha)?;
        let config = sanitize(&self.config);
        if config.is_empty() {
            return Err(KeyError::Empty { what: "the config" });
        }
        Ok(format!(
            "{}{}/{config}/{}.zip",
            self.scope.job_prefix(&self.job)?,
            self.sha,
            self.shard
        ))
    }
}

/// The job segment of a key under [`PrScope::prefix`] (`rest` is the key
/// with that prefix and its slash removed).
pub fn job_of(rest: &str) -> Option<&str> {
    rest.split_once('/').map(|(job, _)| job)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_matches_pytorch_examples() {
        assert_eq!(
            sanitize("pull_linux-jammy-py3.10-gcc11"),
            "pull_linux-jammy-py3_10-gcc11"
        );
        assert_eq!(sanitize("café"), "caf_");
        assert_eq!(sanitize(""), "");
        assert_eq!(sanitize("a.b/c d:e\nf"), "a_b_c_d_e_f");
        // One `_` per code point, no collapsing, no trimming.
        assert_eq!(sanitize("..日本"), "____");
        assert_eq!(sanitize("Ab_-9"), "Ab_-9");
    }

    #[test]
    fn md5_matches_pytorch_examples() {
        assert_eq!(
            md5_hex("refs/pull/12345/merge"),
            "f10cc154359214f83525764fa4e4415e"
        );
        assert_eq!(
            md5_hex("refs/heads/main"),
            "96e092540d6b3c4076e3d2bc6f1f9013"
        );
        assert_eq!(md5_hex(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn full_key_layout() {
        let key = CacheKey {
            scope: PrScope::new(
                Repo::parse("pytorch/pytorch").unwrap(),
                "refs/pull/12345/merge",
            ),
            job: "pull_linux-jammy-py3.10-gcc11".into(),
            sha: "0123abcd".into(),
            config: "default".into(),
            shard: 2,
        };
        assert_eq!(
            key.object_key().unwrap(),
            "pytest_cache/pytorch/pytorch/f10cc154359214f83525764fa4e4415e/\
             pull_linux-jammy-py3_10-gcc11/0123abcd/default/2.zip"
        );
        let key = CacheKey {
            config: "dynamo wrapped.1".into(),
            ..key
        };
        assert!(
            key.object_key()
                .unwrap()
                .ends_with("/0123abcd/dynamo_wrapped_1/2.zip")
        );
    }

    #[test]
    fn job_prefix_has_a_trailing_slash() {
        let scope = PrScope::new(Repo::parse("o/n").unwrap(), "refs/heads/main");
        assert_eq!(
            scope.job_prefix("pull / gcc11").unwrap(),
            "pytest_cache/o/n/96e092540d6b3c4076e3d2bc6f1f9013/pull___gcc11/"
        );
        assert_eq!(
            scope.job_prefix(""),
            Err(KeyError::Empty { what: "the job" })
        );
    }

    #[test]
    fn repo_and_sha_must_be_plain_segments() {
        assert_eq!(
            Repo::parse("pytorch/pytorch").unwrap().to_string(),
            "pytorch/pytorch"
        );
        for bad in ["pytorch", "a/b/c", "/b", "a/", "a/..", "a b/c", ""] {
            assert!(Repo::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Repo::parse("pytorch").unwrap_err().to_string(),
            "`pytorch` is not of the form OWNER/NAME"
        );
        let key = CacheKey {
            scope: PrScope::new(Repo::parse("o/n").unwrap(), "r"),
            job: "j".into(),
            sha: "../x".into(),
            config: "default".into(),
            shard: 0,
        };
        assert!(key.object_key().is_err());
        assert!(
            CacheKey {
                sha: "abc".into(),
                config: String::new(),
                ..key
            }
            .object_key()
            .is_err()
        );
    }

    #[test]
    fn job_segment() {
        assert_eq!(job_of("pull_x/sha/default/0.zip"), Some("pull_x"));
        assert_eq!(job_of("stray.zip"), None);
    }
}

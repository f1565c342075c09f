//! Cache archives: zipping a cache directory the way PyTorch does, and
//! reading an archive from a store without trusting it.
//!
//! Reading never extracts anything: the few files that merge
//! (`lastfailed`, `previous_failures_additional.json`, the static files) are
//! inflated into memory and handed to [`CacheSnapshot::from_files`]; the
//! merge then writes only those names below the destination. Hostile
//! archives are still refused whole, so that a crafted object cannot slip one
//! good-looking file past us while carrying an escape attempt.

use std::io::{Cursor, Read, Write};
use std::path::Path;

use sift_core::tests::pytest_cache::{CacheSnapshot, LASTFAILED, PREVIOUS_FAILURES, STATIC_FILES};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Largest archive (compressed) and largest total inflated size accepted. A
/// pytest cache with thousands of failures is a few hundred kilobytes; 32 MiB
/// leaves room for huge suites while stopping zip bombs.
pub const MAX_ARCHIVE_BYTES: u64 = 32 << 20;
/// See [`MAX_ARCHIVE_BYTES`].
pub const MAX_INFLATED_BYTES: u64 = 32 << 20;
/// Most entries accepted in one archive (a cache has a handful).
pub const MAX_ENTRIES: usize = 10_000;

/// Why an archive from a store was not merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveProblem {
    /// An escape attempt or a bomb: the whole object is refused.
    #[error("hostile archive: {0}")]
    Hostile(String),
    /// Not a readable zip, or its cache files are not what pytest writes.
    #[error("{0}")]
    Corrupt(String),
}

/// Checks an entry name; `Some(reason)` if it would point outside the cache
/// directory on some platform.
fn unsafe_name(name: &str) -> Option<&'static str> {
    if name.starts_with('/') || name.starts_with('\\') {
        return Some("has an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Some("has a drive letter");
    }
    if name.contains('\\') {
        return Some("has a backslash (a Windows path separator)");
    }
    if name.contains('\0') {
        return Some("has a NUL byte");
    }
    if name.split('/').any(|part| part == "..") {
        return Some("has a `..` component");
    }
    None
}

/// Reads the mergeable part of a cache archive, refusing hostile ones.
pub fn read_archive(bytes: &[u8]) -> Result<CacheSnapshot, ArchiveProblem> {
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        return Err(ArchiveProblem::Hostile(format!(
            "{} bytes, more than the {} MiB limit",
            bytes.len(),
            MAX_ARCHIVE_BYTES >> 20
        )));
    }
    let mut archive = ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| ArchiveProblem::Corrupt(format!("not a zip archive: {e}")))?;
    if archive.len() > MAX_ENTRIES {
        return Err(ArchiveProblem::Hostile(format!(
            "{} entries, more than the limit of {MAX_ENTRIES}",
            archive.len()
        )));
    }
    // First pass over the central directory only: names, types and declared
    // sizes of every entry, before inflating anything.
    let mut declared: u64 = 0;
    let mut wanted = Vec::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| ArchiveProblem::Corrupt(format!("unreadable entry #{index}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| ArchiveProblem::Corrupt(format!("unreadable entry name: {e}")))?
            .into_owned();
        if let Some(reason) = unsafe_name(&name) {
            return Err(ArchiveProblem::Hostile(format!("entry `{name}` {reason}")));
        }
        let is_link = entry.is_symlink()
            || entry
                .unix_mode()
                .is_some_and(|mode| mode & 0o170_000 == 0o120_000);
        if is_link {
            return Err(ArchiveProblem::Hostile(format!(
                "entry `{name}` is a symbolic link"
            )));
        }
        declared = declared.saturating_add(entry.size());
        if declared > MAX_INFLATED_BYTES {
            return Err(ArchiveProblem::Hostile(format!(
                "inflates to more than {} MiB",
                MAX_INFLATED_BYTES >> 20
            )));
        }
        let relative = name.trim_start_matches("./");
        if !entry.is_dir()
            && (relative == LASTFAILED
                || relative == PREVIOUS_FAILURES
                || STATIC_FILES.contains(&relative))
        {
            wanted.push((index, relative.to_owned()));
        }
    }
    // Second pass: inflate only what merges. Declared sizes can lie, so the
    // actual bytes are capped too.
    let mut budget = MAX_INFLATED_BYTES;
    let mut files = Vec::with_capacity(wanted.len());
    for (index, name) in wanted {
        let entry = archive
            .by_index(index)
            .map_err(|e| ArchiveProblem::Corrupt(format!("cannot open `{name}`: {e}")))?;
        let mut content = Vec::new();
        entry
            .take(budget + 1)
            .read_to_end(&mut content)
            .map_err(|e| ArchiveProblem::Corrupt(format!("cannot inflate `{name}`: {e}")))?;
        if content.len() as u64 > budget {
            return Err(ArchiveProblem::Hostile(format!(
                "inflates to more than {} MiB",
                MAX_INFLATED_BYTES >> 20
            )));
        }
        budget -= content.len() as u64;
        files.push((name, content));
    }
    CacheSnapshot::from_files(files.iter().map(|(n, b)| (n.as_str(), b.as_slice())))
        .map_err(|e| ArchiveProblem::Corrupt(e.to_string()))
}

/// Why a cache directory could not be zipped.
#[derive(Debug, thiserror::Error)]
pub enum ZipDirError {
    #[error("cannot read `{}`: {source}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("`{}` has a name that is not UTF-8", path.display())]
    NotUtf8 { path: std::path::PathBuf },
    #[error("the cache is larger than the {} MiB that pulls accept", MAX_INFLATED_BYTES >> 20)]
    TooLarge,
    #[error("cannot build the zip: {0}")]
    Zip(String),
}

/// Zips the *contents* of `dir` as PyTorch's `zip_folder` does: entries are
/// relative to the folder (`v/cache/lastfailed`, no `.pytest_cache/` and no
/// `./`), directories are stored entries ending in `/`, files are deflated.
/// Entries are sorted, so the same cache gives the same bytes. Symbolic links
/// are left out: a puller would refuse the archive.
pub fn zip_dir(dir: &Path) -> Result<(Vec<u8>, usize), ZipDirError> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let dir_options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Stored)
        .unix_permissions(0o755);
    let file_options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .unix_permissions(0o644);
    let mut files = 0;
    let mut total: u64 = 0;
    let mut pending = vec![(dir.to_owned(), String::new())];
    while let Some((path, relative)) = pending.pop() {
        let read_err = |source| ZipDirError::Read {
            path: path.clone(),
            source,
        };
        let mut entries: Vec<_> = std::fs::read_dir(&path)
            .map_err(read_err)?
            .collect::<Result<_, _>>()
            .map_err(read_err)?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        // Depth first, in name order: push subdirectories in reverse.
        let mut subdirs = Vec::new();
        for entry in entries {
            let entry_path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(ZipDirError::NotUtf8 { path: entry_path });
            };
            let file_type = entry.file_type().map_err(|source| ZipDirError::Read {
                path: entry_path.clone(),
                source,
            })?;
            let name = format!("{relative}{name}");
            if file_type.is_dir() {
                writer
                    .add_directory(format!("{name}/"), dir_options)
                    .map_err(|e| ZipDirError::Zip(e.to_string()))?;
                subdirs.push((entry_path, format!("{name}/")));
            } else if file_type.is_file() {
                let bytes = std::fs::read(&entry_path).map_err(|source| ZipDirError::Read {
                    path: entry_path.clone(),
                    source,
                })?;
                total += bytes.len() as u64;
                if total > MAX_INFLATED_BYTES {
                    return Err(ZipDirError::TooLarge);
                }
                writer
                    .start_file(name, file_options)
                    .and_then(|()| writer.write_all(&bytes).map_err(Into::into))
                    .map_err(|e| ZipDirError::Zip(e.to_string()))?;
                files += 1;
            }
        }
        pending.extend(subdirs.into_iter().rev());
    }
    let bytes = writer
        .finish()
        .map_err(|e| ZipDirError::Zip(e.to_string()))?
        .into_inner();
    Ok((bytes, files))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Builds a zip from `(name, bytes)`; names ending in `/` are directories.
    pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            if name.ends_with('/') {
                writer
                    .add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                writer
                    .start_file(*name, SimpleFileOptions::default())
                    .unwrap();
                writer.write_all(bytes).unwrap();
            }
        }
        writer.finish().unwrap().into_inner()
    }

    #[test]
    fn reads_the_mergeable_files() {
        let bytes = zip_of(&[
            ("v/", b""),
            ("v/cache/", b""),
            ("README.md", b"readme"),
            ("v/cache/lastfailed", b"{\"a.py::t\": true}"),
            ("v/cache/nodeids", b"not json, not merged"),
            ("previous_failures_additional.json", b"[\"test_a\"]"),
        ]);
        let snapshot = read_archive(&bytes).unwrap();
        assert_eq!(snapshot.failed_node_ids(), ["a.py::t"]);
        assert_eq!(snapshot.static_files["README.md"], b"readme");
        assert!(snapshot.previous_failures.unwrap().contains("test_a"));
    }

    #[test]
    fn refuses_escapes() {
        for name in ["/etc/passwd", "../evil", "v/../../evil", "C:/x", "a\\..\\b"] {
            let bytes = zip_of(&[("v/cache/lastfailed", b"{}"), (name, b"x")]);
            match read_archive(&bytes) {
                Err(ArchiveProblem::Hostile(reason)) => assert!(reason.contains(name), "{reason}"),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_symlinks() {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .add_symlink(
                "v/cache/lastfailed",
                "/etc/passwd",
                SimpleFileOptions::default(),
            )
            .unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        assert_eq!(
            read_archive(&bytes),
            Err(ArchiveProblem::Hostile(
                "entry `v/cache/lastfailed` is a symbolic link".into()
            ))
        );
    }

    #[test]
    fn refuses_bombs() {
        // 40 MiB of spaces inside valid JSON deflates to a few kilobytes.
        let mut big = b"{\"a::t\": true".to_vec();
        big.resize(40 << 20, b' ');
        big.push(b'}');
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
        writer
            .start_file(
                LASTFAILED,
                SimpleFileOptions::default().compression_method(CompressionMethod::Deflated),
            )
            .unwrap();
        writer.write_all(&big).unwrap();
        let bytes = writer.finish().unwrap().into_inner();
        assert!(bytes.len() < 1 << 20);
        assert!(matches!(
            read_archive(&bytes),
            Err(ArchiveProblem::Hostile(r)) if r.contains("inflates to more than 32 MiB")
        ));
    }

    #[test]
    fn corrupt_archives() {
        assert!(matches!(
            read_archive(b"not a zip at all"),
            Err(ArchiveProblem::Corrupt(r)) if r.starts_with("not a zip archive")
        ));
        let bytes = zip_of(&[(LASTFAILED, b"{oops")]);
        assert!(matches!(
            read_archive(&bytes),
            Err(ArchiveProblem::Corrupt(r)) if r.contains("is not valid JSON")
        ));
        let bytes = zip_of(&[(LASTFAILED, b"[\"a\"]")]);
        assert_eq!(
            read_archive(&bytes),
            Err(ArchiveProblem::Corrupt(
                "`v/cache/lastfailed` holds a list, expected an object".into()
            ))
        );
    }

    #[test]
    fn zips_contents_relative_to_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join(".pytest_cache");
        std::fs::create_dir_all(cache.join("v/cache")).unwrap();
        std::fs::write(cache.join(".gitignore"), "*\n").unwrap();
        std::fs::write(cache.join("v/cache/lastfailed"), "{\"t.py::a\": true}").unwrap();
        std::fs::write(cache.join("v/cache/nodeids"), "[]").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink("/etc/passwd", cache.join("v/cache/link")).unwrap();
        let (bytes, files) = zip_dir(&cache).unwrap();
        assert_eq!(files, 3);
        let mut archive = ZipArchive::new(Cursor::new(&bytes)).unwrap();
        let names: Vec<String> = (0..archive.len())
            .map(|i| archive.by_index(i).unwrap().name().unwrap().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                ".gitignore",
                "v/",
                "v/cache/",
                "v/cache/lastfailed",
                "v/cache/nodeids"
            ]
        );
        assert_eq!(
            archive.by_name("v/cache/lastfailed").unwrap().compression(),
            CompressionMethod::Deflated
        );
        // It reads back, and zipping is deterministic.
        assert_eq!(read_archive(&bytes).unwrap().failed_node_ids(), ["t.py::a"]);
        assert_eq!(zip_dir(&cache).unwrap().0, bytes);
    }
}

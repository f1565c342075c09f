//! A small read-only object store for the in-process fast path: packs and
//! loose objects, looked up the way git does it.
//!
//! gix opens a pack index by validating its whole offset table (4 bytes per
//! object, megabytes of page faults on a large repository), so every lookup
//! through `repo.objects` costs in proportion to the repository rather than
//! to the change; on a real repository that was most of sift's time. This
//! store maps each `.idx` file and reads only the fan-out entry and the few
//! pages a binary search visits, checking the bounds of exactly what it reads.
//! Pack entries are then decoded by gix-pack itself.
//!
//! It serves only the plain layout: SHA-1, no alternates, every pack with its
//! own index, no replacement refs. Anything else, and any corrupt or
//! unexpected data, makes [`Objects::open`] return `None` or a lookup fail,
//! and the caller falls back to gix's own store or the command line.

use std::cell::{OnceCell, RefCell};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use gix::ObjectId;
use gix::error::ErrorExt;
use gix::hash::oid;
use gix::odb::pack;
use gix::odb::pack::data::decode::entry::ResolvedBase;

/// Bytes of a SHA-1 object name.
const HASH_LEN: usize = 20;
/// The signature and version of a version 2 pack index.
const IDX_V2_HEADER: [u8; 8] = [0xff, b't', b'O', b'c', 0, 0, 0, 2];
/// The offset of the fan-out table: after the header.
const FAN_OUT: usize = IDX_V2_HEADER.len();
/// The offset of the sorted object names: after 256 fan-out entries.
const NAMES: usize = FAN_OUT + 256 * 4;
/// The pack's and the index's own checksums close the index.
const TRAILER_LEN: usize = 2 * HASH_LEN;
/// Delta bases kept decoded: trees share long delta chains.
const DELTA_CACHE_OBJECTS: usize = 64;

/// Packed and loose objects of one repository; see the module documentation.
pub(crate) struct Objects {
    packs: Vec<Pack>,
    loose: gix::odb::loose::Store,
    decoding: RefCell<Decoding>,
}

/// The scratch state to decode an entry: libdeflate and a cache of delta
/// bases for [`Objects::decode`], gix-pack's own for the entries it
/// declines (made on first use: zlib's state alone is 47 KB of fresh
/// memory, and most plans never need it).
struct Decoding {
    deflate: libdeflater::Decompressor,
    bases: Bases,
    fallback: Option<Box<Fallback>>,
}

/// gix-pack's decoding state.
struct Fallback {
    inflate: gix::zlib::Inflate,
    delta_cache: pack::cache::lru::StaticLinkedList<DELTA_CACHE_OBJECTS>,
}

/// Decoded objects that are delta bases, by (pack, offset): a tree diff
/// reads trees that share long delta chains. Least recently used first.
#[derive(Default)]
struct Bases {
    entries: Vec<(BaseKey, gix::objs::Kind, Rc<Vec<u8>>)>,
    bytes: usize,
}

/// A pack (its number in [`Objects::packs`]) and an entry's offset in it.
type BaseKey = (usize, u64);

/// Bases kept at most: entries and bytes.
const BASES_MAX: usize = DELTA_CACHE_OBJECTS;
const BASES_MAX_BYTES: usize = 32 << 20;
/// Objects larger than this are decoded by gix-pack (which streams them)
/// rather than in one buffer here.
const OWN_DECODE_MAX_BYTES: u64 = 64 << 20;
/// Longer delta chains are decoded by gix-pack (git writes at most 50).
const MAX_CHAIN: usize = 10_000;

impl Bases {
    fn get(&mut self, key: BaseKey) -> Option<(gix::objs::Kind, Rc<Vec<u8>>)> {
        let at = self.entries.iter().position(|(k, _, _)| *k == key)?;
        let entry = self.entries.remove(at);
        let found = (entry.1, Rc::clone(&entry.2));
        self.entries.push(entry);
        Some(found)
    }

    fn put(&mut self, key: BaseKey, kind: gix::objs::Kind, bytes: Rc<Vec<u8>>) {
        if bytes.len() > BASES_MAX_BYTES / 4 || self.entries.iter().any(|(k, _, _)| *k == key) {
            return;
        }
        self.bytes += bytes.len();
        self.entries.push((key, kind, bytes));
        while self.entries.len() > BASES_MAX || self.bytes > BASES_MAX_BYTES {
            let (_, _, dropped) = self.entries.remove(0);
            self.bytes -= dropped.len();
        }
    }
}

impl Objects {
    /// The object store of `repo`, if it has the plain layout this store
    /// reads (see the module documentation).
    pub(crate) fn open(repo: &gix::Repository) -> Option<Objects> {
        if repo.object_hash() != gix::hash::Kind::Sha1 {
            return None;
        }
        let store = repo.objects.store_ref();
        // git substitutes replacement objects; this store does not.
        if store.replacements().next().is_some() {
            return None;
        }
        let dir = store.path();
        if dir.join("info").join("alternates").exists() {
            return None;
        }
        let mut packs = Vec::new();
        for entry in std::fs::read_dir(dir.join("pack")).ok()? {
            let path = entry.ok()?.path();
            if path.extension().is_some_and(|ext| ext == "pack") {
                // A pack only a multi-pack index covers, or anything else
                // unusual: gix's store handles it.
                packs.push(Pack::open(path)?);
            }
        }
        Some(Objects {
            packs,
            loose: gix::odb::loose::Store::at(dir, gix::hash::Kind::Sha1),
            decoding: RefCell::new(Decoding {
                deflate: libdeflater::Decompressor::new(),
                bases: Bases::default(),
                fallback: None,
            }),
        })
    }

    /// The object `id` decoded into `buffer`, like git finds it: in a pack,
    /// else loose.
    fn find<'a>(
        &self,
        id: &oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'a>>> {
        for (number, pack) in self.packs.iter().enumerate() {
            let Some(offset) = pack.index.offset(id).map_err(ErrorExt::raise)? else {
                continue;
            };
            let data = pack.data()?;
            let mut decoding = self
                .decoding
                .try_borrow_mut()
                .map_err(|_| gix::error::message("object store used re-entrantly").raise())?;
            if let Some(kind) = decode(pack, number, data, offset, buffer, &mut decoding) {
                return Ok(Some(gix::objs::Data {
                    kind,
                    object_hash: gix::hash::Kind::Sha1,
                    data: buffer.as_slice(),
                }));
            }
            let entry = data.entry(offset)?;
            let Fallback {
                inflate,
                delta_cache,
            } = &mut **decoding.fallback.get_or_insert_with(|| {
                Box::new(Fallback {
                    inflate: gix::zlib::Inflate::default(),
                    delta_cache: pack::cache::lru::StaticLinkedList::new(64 << 20),
                })
            });
            // A delta base in another pack (a thin pack that was never
            // completed) is not resolved: the lookup fails and gix's own
            // store takes over.
            let outcome = data.decode_entry(
                entry,
                buffer,
                inflate,
                &|base, _| match pack.index.offset(base).map_err(ErrorExt::raise)? {
                    Some(offset) => data
                        .entry(offset)
                        .map(|entry| Some(ResolvedBase::InPack(entry))),
                    None => Ok(None),
                },
                delta_cache,
            )?;
            return Ok(Some(gix::objs::Data {
                kind: outcome.kind,
                object_hash: gix::hash::Kind::Sha1,
                data: buffer.as_slice(),
            }));
        }
        self.loose.try_find(id, buffer)
    }
}

impl gix::objs::Find for Objects {
    fn try_find<'a>(
        &self,
        id: &oid,
        buffer: &'a mut Vec<u8>,
    ) -> gix::Result<Option<gix::objs::Data<'a>>> {
        self.find(id, buffer)
    }
}

/// The object at `offset` of `pack` (number `number`), decoded into
/// `buffer` as git does: libdeflate for each zlib stream (into a buffer of
/// the size the entry header gives, about twice as fast as zlib-rs on the
/// small streams of trees and commits), deltas applied from the nearest
/// cached base. `None` for anything unusual (a base in another pack, a
/// very large object, a very long chain) or corrupt, which gix-pack then
/// decodes or reports.
fn decode(
    pack: &Pack,
    number: usize,
    data: &pack::data::File,
    offset: u64,
    buffer: &mut Vec<u8>,
    decoding: &mut Decoding,
) -> Option<gix::objs::Kind> {
    use pack::data::entry::Header;
    let mut chain = Vec::new();
    let mut entry = data.entry(offset).ok()?;
    let (kind, mut base) = loop {
        if let Some(found) = decoding.bases.get((number, entry.pack_offset())) {
            break found;
        }
        let next = match entry.header {
            Header::OfsDelta { base_distance } => entry.checked_base_pack_offset(base_distance)?,
            Header::RefDelta { base_id } => pack.index.offset(&base_id).ok()??,
            header => {
                let kind = match header {
                    Header::Commit => gix::objs::Kind::Commit,
                    Header::Tree => gix::objs::Kind::Tree,
                    Header::Blob => gix::objs::Kind::Blob,
                    Header::Tag => gix::objs::Kind::Tag,
                    _ => return None,
                };
                if chain.is_empty() {
                    // Not a delta: straight into the caller's buffer.
                    inflate(data, &entry, &mut decoding.deflate, buffer)?;
                    return Some(kind);
                }
                let mut bytes = Vec::new();
                inflate(data, &entry, &mut decoding.deflate, &mut bytes)?;
                let bytes = Rc::new(bytes);
                decoding
                    .bases
                    .put((number, entry.pack_offset()), kind, Rc::clone(&bytes));
                break (kind, bytes);
            }
        };
        if chain.len() >= MAX_CHAIN {
            return None;
        }
        chain.push(entry);
        entry = data.entry(next).ok()?;
    };
    let mut delta = Vec::new();
    while let Some(entry) = chain.pop() {
        inflate(data, &entry, &mut decoding.deflate, &mut delta)?;
        if chain.is_empty() {
            apply_delta(&base, &delta, buffer)?;
            return Some(kind);
        }
        let mut target = Vec::new();
        apply_delta(&base, &delta, &mut target)?;
        base = Rc::new(target);
        decoding
            .bases
            .put((number, entry.pack_offset()), kind, Rc::clone(&base));
    }
    // The object itself was a cached base.
    buffer.clear();
    buffer.extend_from_slice(&base);
    Some(kind)
}

/// [`decode`] alone, without gix-pack behind it (for tests): the object
/// `id` of the first pack holding it, or `None`.
#[cfg(test)]
pub(crate) fn decode_own(
    objects: &Objects,
    id: &oid,
    buffer: &mut Vec<u8>,
) -> Option<gix::objs::Kind> {
    let (number, pack, offset) = objects
        .packs
        .iter()
        .enumerate()
        .find_map(|(n, p)| Some((n, p, p.index.offset(id).ok()??)))?;
    let data = pack.data().ok()?;
    decode(
        pack,
        number,
        data,
        offset,
        buffer,
        &mut objects.decoding.borrow_mut(),
    )
}

/// The zlib stream of `entry` inflated into `out`, which must come out at
/// exactly the size the entry's header gives.
fn inflate(
    data: &pack::data::File,
    entry: &pack::data::Entry,
    deflate: &mut libdeflater::Decompressor,
    out: &mut Vec<u8>,
) -> Option<()> {
    if entry.decompressed_size > OWN_DECODE_MAX_BYTES {
        return None;
    }
    let size = usize::try_from(entry.decompressed_size).ok()?;
    let input = data.entry_slice(entry.data_offset..data.pack_end() as u64)?;
    out.clear();
    out.resize(size, 0);
    let written = deflate.zlib_decompress(input, out).ok()?;
    (written == size).then_some(())
}

/// A git delta (`git help format-pack`, "Deltified representation")
/// applied to `base`, written to `out`; `None` if it does not fit `base`
/// or does not produce the size it announces.
fn apply_delta(base: &[u8], delta: &[u8], out: &mut Vec<u8>) -> Option<()> {
    fn size(delta: &[u8], at: &mut usize) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *delta.get(*at)?;
            *at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut at = 0;
    if size(delta, &mut at)? != base.len() as u64 {
        return None;
    }
    let result = size(delta, &mut at)?;
    if result > OWN_DECODE_MAX_BYTES {
        return None;
    }
    let result = usize::try_from(result).ok()?;
    out.clear();
    out.reserve(result);
    while at < delta.len() {
        let command = delta[at];
        at += 1;
        if command & 0x80 != 0 {
            // Copy from the base: offset and size bytes as the low bits say.
            let mut offset = 0usize;
            for bit in 0..4 {
                if command & (1 << bit) != 0 {
                    offset |= usize::from(*delta.get(at)?) << (8 * bit);
                    at += 1;
                }
            }
            let mut length = 0usize;
            for bit in 0..3 {
                if command & (0x10 << bit) != 0 {
                    length |= usize::from(*delta.get(at)?) << (8 * bit);
                    at += 1;
                }
            }
            if length == 0 {
                length = 0x10000;
            }
            // As git does: never past the announced size, whatever follows.
            if out.len() + length > result {
                return None;
            }
            out.extend_from_slice(base.get(offset..offset.checked_add(length)?)?);
        } else if command != 0 {
            // Insert the next `command` bytes.
            let length = usize::from(command);
            if out.len() + length > result {
                return None;
            }
            out.extend_from_slice(delta.get(at..at + length)?);
            at += length;
        } else {
            return None;
        }
    }
    (out.len() == result).then_some(())
}

/// One pack: its index, mapped at once, and its data, opened on first use.
struct Pack {
    index: Index<memmap2::Mmap>,
    data_path: PathBuf,
    data: OnceCell<pack::data::File>,
}

impl Pack {
    /// The pack at `path` with its index beside it, or `None` if the index is
    /// missing or not a version 2 index of plausible size.
    fn open(path: PathBuf) -> Option<Pack> {
        let index = Index::new(map(&path.with_extension("idx")).ok()?)?;
        Some(Pack {
            index,
            data_path: path,
            data: OnceCell::new(),
        })
    }

    fn data(&self) -> gix::Result<&pack::data::File> {
        if let Some(data) = self.data.get() {
            return Ok(data);
        }
        let data = pack::data::File::at(&self.data_path, gix::hash::Kind::Sha1)?;
        Ok(self.data.get_or_init(|| data))
    }
}

/// `path` mapped into memory, read-only.
#[allow(unsafe_code)]
fn map(path: &Path) -> std::io::Result<memmap2::Mmap> {
    let file = File::open(path)?;
    // SAFETY: the mapping is only ever read, and git never rewrites a pack
    // index in place: it writes a new file and renames it over the old one,
    // which leaves this mapping intact. Every read is bounds-checked against
    // the length the mapping had when it was made.
    unsafe { memmap2::Mmap::map(&file) }
}

/// A version 2 pack index (`git help format-pack`, "pack-*.idx files"):
/// header, 256 cumulative fan-out counts, the sorted object names, their
/// CRCs, their 32-bit offsets (the high bit pointing into the table of 64-bit
/// offsets that follows) and two checksums.
struct Index<T> {
    data: T,
    objects: usize,
}

/// Why an index lookup failed: the file is corrupt.
#[derive(Debug)]
struct Corrupt(&'static str);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "corrupt pack index: {}", self.0)
    }
}

impl std::error::Error for Corrupt {}

impl<T: AsRef<[u8]>> Index<T> {
    /// The index in `data`, if its header is a version 2 header and it is
    /// large enough for the object count its fan-out table ends with. Only
    /// that much is read here; everything else is checked when it is read.
    fn new(data: T) -> Option<Index<T>> {
        let bytes = data.as_ref();
        if bytes.get(..FAN_OUT)? != IDX_V2_HEADER {
            return None;
        }
        let objects = usize::try_from(read_u32(bytes, FAN_OUT + 255 * 4)?).ok()?;
        let min_len = objects
            .checked_mul(HASH_LEN + 4 + 4)?
            .checked_add(NAMES + TRAILER_LEN)?;
        (bytes.len() >= min_len).then_some(Index { data, objects })
    }

    /// The pack offset of `id`, or `None` if this pack does not hold it.
    fn offset(&self, id: &oid) -> Result<Option<u64>, Corrupt> {
        let bytes = self.data.as_ref();
        let id = id.as_bytes();
        let first = usize::from(id[0]);
        let fan_out = |byte: usize| {
            read_u32(bytes, FAN_OUT + byte * 4)
                .and_then(|count| usize::try_from(count).ok())
                .filter(|&count| count <= self.objects)
                .ok_or(Corrupt("fan-out entry out of range"))
        };
        let mut low = if first == 0 { 0 } else { fan_out(first - 1)? };
        let mut high = fan_out(first)?;
        if low > high {
            return Err(Corrupt("fan-out table not sorted"));
        }
        while low < high {
            let mid = low + (high - low) / 2;
            let start = NAMES + mid * HASH_LEN;
            let name = bytes
                .get(start..start + HASH_LEN)
                .ok_or(Corrupt("object name out of range"))?;
            match name.cmp(id) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return self.pack_offset(mid).map(Some),
            }
        }
        Ok(None)
    }

    /// The pack offset of the object at `position` in the sorted names.
    fn pack_offset(&self, position: usize) -> Result<u64, Corrupt> {
        let bytes = self.data.as_ref();
        let offsets = NAMES + self.objects * (HASH_LEN + 4);
        let offset =
            read_u32(bytes, offsets + position * 4).ok_or(Corrupt("offset out of range"))?;
        if offset & 0x8000_0000 == 0 {
            return Ok(u64::from(offset));
        }
        let large =
            usize::try_from(offset & 0x7fff_ffff).map_err(|_| Corrupt("large offset index"))?;
        let start = offsets + self.objects * 4 + large * 8;
        // The large offsets end where the trailer begins.
        if start + 8 > bytes.len().saturating_sub(TRAILER_LEN) {
            return Err(Corrupt("large offset out of range"));
        }
        let high = read_u32(bytes, start).ok_or(Corrupt("large offset out of range"))?;
        let low = read_u32(bytes, start + 4).ok_or(Corrupt("large offset out of range"))?;
        Ok(u64::from(high) << 32 | u64::from(low))
    }
}

/// The big-endian `u32` at `at`, if `bytes` holds it.
fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes(word.try_into().ok()?))
}

/// The object `id` found in `objects`, if it is of `kind`.
pub(crate) fn find_kind<'a>(
    objects: &Objects,
    id: &oid,
    kind: gix::objs::Kind,
    buffer: &'a mut Vec<u8>,
) -> Option<&'a [u8]> {
    let data = objects.find(id, buffer).ok()??;
    (data.kind == kind).then_some(data.data)
}

/// `id` peeled through annotated tags to a commit.
pub(crate) fn peel_to_commit(objects: &Objects, mut id: ObjectId) -> Option<ObjectId> {
    let mut buffer = Vec::new();
    // git gives up on tag chains this long, too.
    for _ in 0..16 {
        let data = objects.find(&id, &mut buffer).ok()??;
        match data.kind {
            gix::objs::Kind::Commit => return Some(id),
            gix::objs::Kind::Tag => {
                id = gix::objs::TagRefIter::from_bytes(data.data, gix::hash::Kind::Sha1)
                    .target_id()
                    .ok()?;
            }
            gix::objs::Kind::Tree | gix::objs::Kind::Blob => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index holding the names `ids` (sorted) at the offsets `offsets`,
    /// with `large` as its table of 64-bit offsets.
    fn index(ids: &[[u8; HASH_LEN]], offsets: &[u32], large: &[u64]) -> Vec<u8> {
        let mut data = IDX_V2_HEADER.to_vec();
        for byte in 0..256 {
            let count = ids.iter().filter(|id| usize::from(id[0]) <= byte).count();
            data.extend_from_slice(&u32::try_from(count).expect("count").to_be_bytes());
        }
        for id in ids {
            data.extend_from_slice(id);
        }
        data.extend(std::iter::repeat_n(0, ids.len() * 4));
        for offset in offsets {
            data.extend_from_slice(&offset.to_be_bytes());
        }
        for offset in large {
            data.extend_from_slice(&offset.to_be_bytes());
        }
        data.extend(std::iter::repeat_n(0, TRAILER_LEN));
        data
    }

    fn id(first: u8, last: u8) -> [u8; HASH_LEN] {
        let mut id = [0; HASH_LEN];
        id[0] = first;
        id[HASH_LEN - 1] = last;
        id
    }

    fn lookup(data: &[u8], name: [u8; HASH_LEN]) -> Result<Option<u64>, Corrupt> {
        let index = Index::new(data).expect("valid index");
        index.offset(&ObjectId::from_bytes_or_panic(&name))
    }

    #[test]
    fn finds_small_and_large_offsets() {
        let ids = [id(0, 1), id(0, 2), id(7, 0), id(255, 9)];
        let data = index(&ids, &[12, 40, 0x8000_0000, 99], &[5 << 32]);
        assert_eq!(lookup(&data, ids[0]).unwrap(), Some(12));
        assert_eq!(lookup(&data, ids[1]).unwrap(), Some(40));
        assert_eq!(lookup(&data, ids[2]).unwrap(), Some(5 << 32));
        assert_eq!(lookup(&data, ids[3]).unwrap(), Some(99));
        assert_eq!(lookup(&data, id(0, 3)).unwrap(), None);
        assert_eq!(lookup(&data, id(8, 0)).unwrap(), None);
    }

    #[test]
    fn corrupt_indexes_are_errors_not_panics() {
        let ids = [id(1, 1), id(2, 2)];
        let good = index(&ids, &[12, 0x8000_0005], &[]);
        // A large offset pointing past its table.
        assert!(lookup(&good, ids[1]).is_err());
        // Truncated: too short for its object count.
        assert!(Index::new(&good[..good.len() - 1]).is_none());
        assert!(Index::new(&good[..100]).is_none());
        // Not a version 2 index.
        let mut v1 = good.clone();
        v1[7] = 1;
        assert!(Index::new(&v1[..]).is_none());
        // Fan-out counts decreasing, or beyond the object count.
        let mut unsorted = good.clone();
        unsorted[FAN_OUT + 4 * 4..FAN_OUT + 5 * 4].copy_from_slice(&9u32.to_be_bytes());
        unsorted[FAN_OUT + 5 * 4..FAN_OUT + 6 * 4].copy_from_slice(&1u32.to_be_bytes());
        assert!(lookup(&unsorted, id(5, 0)).is_err());
        assert!(lookup(&unsorted, id(4, 0)).is_err());
    }
}

#[cfg(test)]
mod delta_tests {
    use super::apply_delta;

    #[test]
    fn deltas_apply_and_damaged_ones_are_refused() {
        let base = b"hello, world";
        // base size 12, result 11: copy 7 bytes at 0, insert "git!".
        let delta = [12, 11, 0x90, 7, 4, b'g', b'i', b't', b'!'];
        let mut out = Vec::new();
        assert_eq!(apply_delta(base, &delta, &mut out), Some(()));
        assert_eq!(out, b"hello, git!");
        // Copy with an offset: 5 bytes at 7.
        assert_eq!(apply_delta(base, &[12, 5, 0x91, 7, 5], &mut out), Some(()));
        assert_eq!(out, b"world");
        for (what, delta) in [
            (
                "wrong base size",
                &[11, 11, 0x90, 7, 4, b'g', b'i', b't', b'!'][..],
            ),
            (
                "wrong result size",
                &[12, 12, 0x90, 7, 4, b'g', b'i', b't', b'!'][..],
            ),
            ("truncated insert", &[12, 11, 0x90, 7, 4, b'g'][..]),
            ("copy beyond the base", &[12, 5, 0x91, 10, 5][..]),
            ("reserved command 0", &[12, 0, 0][..]),
            ("truncated size", &[0x80][..]),
            ("truncated copy", &[12, 5, 0x91][..]),
            (
                "copies past the announced size",
                &[12, 5, 0x90, 7, 0x90, 7][..],
            ),
        ] {
            assert_eq!(apply_delta(base, delta, &mut out), None, "{what}");
        }
    }
}

//! Stage two of the fast graph reader: the tasks' fields the optimizer uses,
//! read from the token positions of stage one (`scan.rs`), and everything
//! else checked token by token and skipped, except the task definitions
//! (`"task"`), which are skipped by their brackets (`skip_definition`).
//!
//! It takes a subset of what the serde path (`graph.rs`) takes: whatever it
//! is unsure of — a key with an escape, a duplicate field, a field of an
//! unexpected type, a task given as an array, nesting deeper than 63 levels,
//! text stage one rejects, brackets that do not pair — makes it decline, and
//! the caller parses with serde_json, which gives the same answer or the
//! error with its line and column. Where it answers, it answers as
//! serde_json would for the text with the task definitions replaced by
//! `null` (property-tested in `tests.rs`): the order of the definitions'
//! tokens is the one thing not checked.
//!
//! A string's end is not searched for: it is the last quote before the next
//! token (only whitespace may come between), and stage one says whether
//! its blocks hold a backslash at all.

use std::borrow::Cow;

use hashbrown::HashTable;

use super::graph::{Packed, RawGraph, ReadTask, truthy};
use super::scan::{Invalid, Nesting, Scanner};

type Read<T> = Result<T, Invalid>;

/// The skipping automaton (`Reader::skip_from`): a state for each place in
/// an object or an array, and a table from state and token class to the
/// next state or an action.
mod automaton {
    /// After `{`: a key or `}`.
    pub const OBJECT_FIRST: u8 = 0;
    /// After `,` in an object: a key.
    pub const OBJECT_KEY: u8 = 1;
    /// After a key: `:`.
    pub const OBJECT_COLON: u8 = 2;
    /// After `:`: a value.
    pub const OBJECT_VALUE: u8 = 3;
    /// After a value in an object: `,` or `}`.
    pub const OBJECT_AFTER: u8 = 4;
    /// After `[`: a value or `]`.
    pub const ARRAY_FIRST: u8 = 5;
    /// After `,` in an array: a value.
    pub const ARRAY_VALUE: u8 = 6;
    /// After a value in an array: `,` or `]`.
    pub const ARRAY_AFTER: u8 = 7;

    /// Actions, in the high bits of a table entry; the low bits are the
    /// next state (for `PUSH_*`, the state inside the new container).
    pub const ERROR: u8 = 0x10;
    pub const SCALAR: u8 = 0x20;
    pub const PUSH_IN_OBJECT: u8 = 0x30;
    pub const PUSH_IN_ARRAY: u8 = 0x40;
    pub const POP: u8 = 0x50;

    /// Token classes: what a token's first byte says.
    const QUOTE: usize = 0;
    const COLON: usize = 1;
    const COMMA: usize = 2;
    const OPEN_OBJECT: usize = 3;
    const OPEN_ARRAY: usize = 4;
    const CLOSE_OBJECT: usize = 5;
    const CLOSE_ARRAY: usize = 6;
    const OTHER: usize = 7;

    pub static CLASS: [u8; 256] = {
        let mut class = [OTHER as u8; 256];
        class[b'"' as usize] = QUOTE as u8;
        class[b':' as usize] = COLON as u8;
        class[b',' as usize] = COMMA as u8;
        class[b'{' as usize] = OPEN_OBJECT as u8;
        class[b'[' as usize] = OPEN_ARRAY as u8;
        class[b'}' as usize] = CLOSE_OBJECT as u8;
        class[b']' as usize] = CLOSE_ARRAY as u8;
        class
    };

    /// A value where one may start, in a container of the given kind.
    const fn value(row: &mut [u8; 8], after: u8, push: u8) {
        row[QUOTE] = after;
        row[OTHER] = SCALAR | after;
        row[OPEN_OBJECT] = push | OBJECT_FIRST;
        row[OPEN_ARRAY] = push | ARRAY_FIRST;
    }

    pub static TABLE: [[u8; 8]; 8] = {
        let mut table = [[ERROR; 8]; 8];
        table[OBJECT_FIRST as usize][QUOTE] = OBJECT_COLON;
        table[OBJECT_FIRST as usize][CLOSE_OBJECT] = POP;
        table[OBJECT_KEY as usize][QUOTE] = OBJECT_COLON;
        table[OBJECT_COLON as usize][COLON] = OBJECT_VALUE;
        value(
            &mut table[OBJECT_VALUE as usize],
            OBJECT_AFTER,
            PUSH_IN_OBJECT,
        );
        table[OBJECT_AFTER as usize][COMMA] = OBJECT_KEY;
        table[OBJECT_AFTER as usize][CLOSE_OBJECT] = POP;
        value(&mut table[ARRAY_FIRST as usize], ARRAY_AFTER, PUSH_IN_ARRAY);
        table[ARRAY_FIRST as usize][CLOSE_ARRAY] = POP;
        value(&mut table[ARRAY_VALUE as usize], ARRAY_AFTER, PUSH_IN_ARRAY);
        table[ARRAY_AFTER as usize][COMMA] = ARRAY_VALUE;
        table[ARRAY_AFTER as usize][CLOSE_ARRAY] = POP;
        table
    };
}

use automaton::{ARRAY_AFTER, ARRAY_FIRST, OBJECT_AFTER, OBJECT_FIRST};

/// Nesting deeper than this (below the value being skipped) declines.
const MAX_DEPTH: u32 = Nesting::MAX_DEPTH;

const KIND: u8 = 1;
const DEPENDENCIES: u8 = 2;
const OPTIMIZATION: u8 = 4;
const IF_DEPENDENCIES: u8 = 8;
const ATTRIBUTES: u8 = 16;
const TASK: u8 = 32;

/// Graphs at least this large are read in two parts on two threads, where
/// they can be split (`split_point`): below it a thread costs more than it
/// saves.
pub(crate) const SPLIT_FROM: usize = 4 << 20;

/// Reads a full task graph, or declines.
///
/// A large graph written with one key per line, as taskgraph writes it, is
/// read in two parts at once: the first up to a line that starts as the
/// first task's label does (at the label's indentation, a quote next), the
/// second from there. Only a line start can be a place where no string is
/// open (JSON strings hold no raw line feeds), so the second part's scan
/// starts in the state a whole scan would reach there *if* that line is a
/// top-level key; the first part proves it is by ending exactly after a
/// top-level comma. If it does not, the guess was wrong (or the text is
/// invalid) and the graph is read again in one piece, so the answer is
/// always the one-piece answer.
pub(crate) fn read(bytes: &[u8]) -> Result<RawGraph, Invalid> {
    read_split_from(bytes, SPLIT_FROM)
}

/// [`read`], splitting graphs of at least `split_from` bytes.
pub(crate) fn read_split_from(bytes: &[u8], split_from: usize) -> Result<RawGraph, Invalid> {
    match split_point_from(bytes, split_from) {
        Some(at) => read_split_at(bytes, at),
        None => read_whole(bytes),
    }
}

/// Where to split `bytes` for a two-part read, if it is at least
/// `split_from` bytes long and can be split.
pub(crate) fn split_point_from(bytes: &[u8], split_from: usize) -> Option<usize> {
    (bytes.len() >= split_from)
        .then(|| split_point(bytes))
        .flatten()
}

/// [`read`] in one piece.
pub(crate) fn read_whole(bytes: &[u8]) -> Result<RawGraph, Invalid> {
    read_part(bytes, Part::Whole).map(|(graph, _)| graph)
}

/// [`read`] in two parts split at `at`, which should be the start of a
/// top-level key's line; if it is not, in one piece.
pub(crate) fn read_split_at(bytes: &[u8], at: usize) -> Result<RawGraph, Invalid> {
    std::thread::scope(|scope| read_split_at_then(scope, bytes, at, || true, || (), || ()).0)
}

/// [`read_split_at`], the second part read on a thread of `scope` that
/// then goes on with `then` (its handle is returned), while this thread
/// first runs `before` and then, if it says to go on, reads the first
/// part (else the answer is `Invalid`). Each part is cut into chunks
/// ([`Chunks`]); a thread done with its part takes the other part's last
/// chunks while that part's reader goes on, and the reader stops before
/// the first one taken. Should this thread be done with nothing to take
/// while more than a quarter of the second part is left (a part that could
/// not be cut), it runs `meanwhile` while it waits: the merge and the
/// graph's building wait for the second part anyway. The
/// first part's reader still has the merge and the graph's building ahead
/// of it, which leaves the second thread's core free for `then`.
pub(crate) fn read_split_at_then<'scope, 'env, R: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, 'env>,
    bytes: &'env [u8],
    at: usize,
    before: impl FnOnce() -> bool,
    meanwhile: impl FnOnce(),
    then: impl FnOnce() -> R + Send + 'scope,
) -> (
    Result<RawGraph, Invalid>,
    std::thread::ScopedJoinHandle<'scope, R>,
) {
    use std::sync::mpsc::TryRecvError;
    let (head, tail) = bytes.split_at(at);
    let (send, receive) = std::sync::mpsc::sync_channel(1);
    let progress = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let reported = std::sync::Arc::clone(&progress);
    let head_chunks = std::sync::Arc::new(Chunks::new(bytes, 0, at, at, CHUNKS));
    let tail_chunks = std::sync::Arc::new(Chunks::new(bytes, at, bytes.len(), at, CHUNKS));
    let (theirs, mine) = (
        std::sync::Arc::clone(&head_chunks),
        std::sync::Arc::clone(&tail_chunks),
    );
    let other = scope.spawn(move || {
        // Its part, then what is left of the first part's chunks. Nobody
        // waits for it when the first part was not a boundary.
        let second = read_chunked(tail, Part::Tail, &mine, Some(reported));
        let taken = match second {
            Ok(_) => take_chunks(bytes, &theirs, Part::Middle),
            Err(_) => Err(Invalid),
        };
        let _ = send.send(second.and_then(|second| Ok((second, taken?))));
        then()
    });
    if !before() {
        return (Err(Invalid), other);
    }
    let Ok(first) = read_chunked(head, Part::Head, &head_chunks, None) else {
        return (read_whole(bytes), other);
    };
    // The split was a top-level boundary. Chunks of the second part nobody
    // has taken yet, from the back; each proves the next one's start.
    let Ok(taken) = take_chunks(bytes, &tail_chunks, Part::Tail) else {
        // A chunk that did not start at a top-level key.
        return (read_whole(bytes), other);
    };
    let second = match receive.try_recv() {
        Ok(second) => Ok(second),
        Err(TryRecvError::Empty) => {
            // With chunks taken, the other reader is near its end.
            let scanned = progress.load(std::sync::atomic::Ordering::Relaxed);
            if taken.is_empty() && scanned < tail.len() / 4 * 3 {
                meanwhile();
            }
            receive.recv()
        }
        Err(TryRecvError::Disconnected) => Err(std::sync::mpsc::RecvError),
    };
    // A chunk start that was not a top-level key, or text that is not
    // valid (the one-piece read then declines too): in one piece.
    let raw = second
        .unwrap_or(Err(Invalid))
        .and_then(|(second, head_taken)| assemble([(first, head_taken), (second, taken)]))
        .or_else(|_| read_whole(bytes));
    (raw, other)
}

/// Each part of a split read, which stopped before the first of its chunks
/// the other thread took (if any), with those chunks (taken from the back:
/// last first); in order, one graph.
fn assemble(parts: [(ChunkedRead, Taken); 2]) -> Result<RawGraph, Invalid> {
    let mut read: Option<PartRead> = None;
    for ((part, stopped), taken) in parts {
        if stopped != taken.last().map(|&(k, _)| k) {
            return Err(Invalid);
        }
        for piece in std::iter::once(part).chain(taken.into_iter().rev().map(|(_, chunk)| chunk)) {
            read = Some(match read {
                Some(read) => merge(read, piece),
                None => piece,
            });
        }
    }
    Ok(read.expect("two parts").0)
}

/// A split read at `at` in which the first part's thread took the chunks of
/// the second part from `tail_from` on, and the second part's thread those
/// of the first from `head_from` on, before their readers reached them (all
/// on this thread): the race's outcomes, one at a time. Also returns how
/// many chunks each part has.
#[cfg(test)]
pub(crate) fn read_split_taking(
    bytes: &[u8],
    at: usize,
    head_from: usize,
    tail_from: usize,
) -> ((usize, usize), Result<RawGraph, Invalid>) {
    let head_chunks = Chunks::new(bytes, 0, at, at, CHUNKS);
    let tail_chunks = Chunks::new(bytes, at, bytes.len(), at, CHUNKS);
    let counts = (head_chunks.len(), tail_chunks.len());
    // The chunks from `from` on, taken as `take_chunks` takes them.
    let taking = |chunks: &Chunks, from: usize, last: Part| {
        *chunks.claims() = (1, from.clamp(1, chunks.len()));
        (from.clamp(1, chunks.len())..chunks.len())
            .rev()
            .map(|k| Ok((k, read_chunk(bytes, chunks, k, last)?)))
            .collect::<Result<Vec<_>, Invalid>>()
    };
    let read = (|| {
        let head_taken = taking(&head_chunks, head_from, Part::Middle)?;
        let taken = taking(&tail_chunks, tail_from, Part::Tail)?;
        let first = read_chunked(&bytes[..at], Part::Head, &head_chunks, None)?;
        let second = read_chunked(&bytes[at..], Part::Tail, &tail_chunks, None)?;
        assemble([(first, head_taken), (second, taken)])
    })();
    (counts, read)
}

/// Which part of the graph's text a reader reads.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Whole,
    /// From the start up to and including a top-level comma.
    Head,
    /// From the key after that comma to the end.
    Tail,
    /// From a key after a top-level comma up to and including a later one.
    Middle,
}

pub(crate) type PartRead = (RawGraph, Seen);

/// A part of a split read, and the chunk before which it stopped.
type ChunkedRead = (PartRead, Option<usize>);

/// Chunks of a part read by the other part's thread, with their indices.
type Taken = Vec<(usize, PartRead)>;

/// The distinct first entries of `optimization` a part has read, in the
/// order of their indices: their text (copied, so that comparing them later
/// reads a compact list and not the text), its hash, and a table by it.
#[derive(Default)]
pub(crate) struct Seen {
    texts: Packed,
    hashes: Vec<u64>,
    table: HashTable<u32>,
}

impl Seen {
    fn with_capacity(n: usize) -> Seen {
        Seen {
            texts: Packed::default(),
            hashes: Vec::with_capacity(n),
            table: HashTable::with_capacity(n),
        }
    }

    fn find(&self, hash: u64, text: &[u8]) -> Option<u32> {
        self.table
            .find(hash, |&i| self.texts.get(i as usize) == text)
            .copied()
    }

    /// Adds a text not yet seen; returns its index.
    fn insert(&mut self, hash: u64, text: &[u8]) -> u32 {
        let id = len32(self.hashes.len());
        self.texts.push(text);
        self.hashes.push(hash);
        let hashes = &self.hashes;
        self.table.insert_unique(hash, id, |&i| hashes[i as usize]);
        id
    }
}

pub(crate) fn read_part(bytes: &[u8], part: Part) -> Result<PartRead, Invalid> {
    let reader = read_with(Reader::new(bytes, Scanner::new(bytes)?), part)?;
    Ok((reader.graph, reader.optimizations))
}

/// `reader` after reading `part` of its text.
fn read_with(mut reader: Reader<'_>, part: Part) -> Result<Reader<'_>, Invalid> {
    reader.graph(part)?;
    match (reader.stopped, reader.chunks) {
        (Some(k), Some(chunks)) => reader.scan.finish_before(chunks.start_in_part(k))?,
        _ => {
            if reader.scan.next_token().is_some() {
                return Err(Invalid);
            }
            reader.scan.finish()?;
        }
    }
    Ok(reader)
}

/// A part of a split read: up to the first of its chunks the other
/// thread took, or to its end. Returns that chunk too.
fn read_chunked<'a>(
    text: &'a [u8],
    part: Part,
    chunks: &'a Chunks,
    progress: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
) -> Result<ChunkedRead, Invalid> {
    let mut scan = Scanner::new(text)?;
    if let Some(progress) = progress {
        scan = scan.reporting_to(progress);
    }
    let mut reader = Reader::new(text, scan);
    reader.chunks = Some(chunks);
    let reader = read_with(reader, part)?;
    Ok(((reader.graph, reader.optimizations), reader.stopped))
}

/// Takes and reads `chunks` from the back until none is left (a reader
/// of the part they belong to reads from the front); the chunks read, last
/// first. A chunk that does not read (its start was not a top-level key,
/// or the text is not valid) is `Invalid`.
fn take_chunks(bytes: &[u8], chunks: &Chunks, last: Part) -> Result<Taken, Invalid> {
    let mut taken = Vec::new();
    while let Some(k) = chunks.take_back() {
        taken.push((k, read_chunk(bytes, chunks, k, last)?));
    }
    Ok(taken)
}

/// Chunk `k` of `chunks`, read by the other part's thread: from a key to a
/// top-level comma, or as `last` for the part's last chunk.
fn read_chunk(bytes: &[u8], chunks: &Chunks, k: usize, last: Part) -> Result<PartRead, Invalid> {
    let part = if k + 1 == chunks.len() {
        last
    } else {
        Part::Middle
    };
    read_part(&bytes[chunks.range(k)], part)
}

/// How many chunks each part is cut into: a thread done with its own part
/// takes the other's chunks from the back while that part's reader goes on
/// from the front, so neither waits long for the other (the halves of a
/// graph are not equal work: tasks with test manifests and attributes take
/// longer to read than their bytes say, and the threads share a core's
/// resources unevenly).
const CHUNKS: usize = 8;

/// The chunks of a part of a split read: each after the first starts at a
/// line that starts as the split's line does (its indentation, then a
/// quote).
pub(crate) struct Chunks {
    /// Where each chunk starts, chunk 0 at the part's start; then its end.
    starts: Vec<usize>,
    /// The indentation before a chunk's first token.
    indent: usize,
    /// `[front, back)`: the chunks nobody has taken yet.
    claims: std::sync::Mutex<(usize, usize)>,
}

impl Chunks {
    /// About `count` chunks of `bytes[from..to]`, cut at lines that start
    /// as the line at `split` does; one if that line does not start with an
    /// indented key.
    fn new(bytes: &[u8], from: usize, to: usize, split: usize, count: usize) -> Chunks {
        let mut starts = vec![from];
        let indent = bytes[split..]
            .iter()
            .position(|&b| b != b' ' && b != b'\t')
            .unwrap_or(0);
        if split > 0 && bytes[split - 1] == b'\n' && bytes.get(split + indent) == Some(&b'"') {
            let finder = memchr::memmem::Finder::new(&bytes[split - 1..=split + indent]);
            for i in 1..count {
                let target = from + (to - from) / count * i;
                let Some(found) = finder.find(&bytes[target..to]) else {
                    break;
                };
                let start = target + found + 1;
                if start > *starts.last().expect("the part's start") {
                    starts.push(start);
                }
            }
        }
        let n = starts.len();
        starts.push(to);
        Chunks {
            starts,
            indent,
            claims: std::sync::Mutex::new((1, n)),
        }
    }

    fn len(&self) -> usize {
        self.starts.len() - 1
    }

    fn range(&self, k: usize) -> std::ops::Range<usize> {
        self.starts[k]..self.starts[k + 1]
    }

    /// Where chunk `k` starts, in its part's text.
    fn start_in_part(&self, k: usize) -> usize {
        self.starts[k] - self.starts[0]
    }

    /// Chunk `k`'s first token in its part's text, if there is a chunk `k`.
    fn key(&self, k: usize) -> Option<usize> {
        (k < self.len()).then(|| self.start_in_part(k) + self.indent)
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, (usize, usize)> {
        self.claims
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// For the part's reader, arriving at chunk `k`: whether it is still
    /// free (then it is the reader's).
    fn take_front(&self, k: usize) -> bool {
        let mut claims = self.claims();
        debug_assert_eq!(claims.0, k, "chunks are taken in order");
        if claims.0 < claims.1 {
            claims.0 += 1;
            true
        } else {
            false
        }
    }

    /// For the other part's thread: the last chunk nobody has taken.
    fn take_back(&self) -> Option<usize> {
        let mut claims = self.claims();
        (claims.1 > claims.0).then(|| {
            claims.1 -= 1;
            claims.1
        })
    }
}

/// [`read_whole`], and where the task definitions it skipped by their
/// brackets are.
#[cfg(test)]
pub(crate) fn read_definitions(
    bytes: &[u8],
) -> Result<(RawGraph, Vec<std::ops::Range<usize>>), Invalid> {
    let reader = read_with(Reader::new(bytes, Scanner::new(bytes)?), Part::Whole)?;
    Ok((reader.graph, reader.definitions))
}

/// A JSON list of strings (taskgraph's `target-tasks.json`), or declines
/// (anything else, or a string with an escape serde_json would not read
/// the same); serde_json then reads it, and gives the error.
pub(crate) fn read_strings(bytes: &[u8]) -> Result<Vec<Cow<'_, str>>, Invalid> {
    let mut reader = Reader::new(bytes, Scanner::new(bytes)?);
    let list = reader.strings()?;
    if reader.scan.next_token().is_some() {
        return Err(Invalid);
    }
    reader.scan.finish()?;
    Ok(list)
}

/// Where to split `bytes` for a two-part read: the start of a line near the
/// middle that begins as the first task's label does. `None` if the first
/// label is not on a line of its own (compact JSON) or no such line follows
/// the middle.
pub(crate) fn split_point(bytes: &[u8]) -> Option<usize> {
    let open = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    if bytes[open] != b'{' {
        return None;
    }
    let first = open
        + 1
        + bytes[open + 1..]
            .iter()
            .position(|b| !b.is_ascii_whitespace())?;
    let line = open + 1 + memchr::memrchr(b'\n', &bytes[open + 1..first])?;
    if bytes[first] != b'"'
        || !bytes[line + 1..first]
            .iter()
            .all(|&b| b == b' ' || b == b'\t')
    {
        return None;
    }
    // A line feed, the indentation, a quote.
    let needle = &bytes[line..=first];
    let middle = bytes.len() / 2;
    let found = memchr::memmem::find(&bytes[middle..], needle)?;
    Some(middle + found + 1)
}

/// The two parts' graphs as one: the second's lists follow the first's,
/// and optimizations the first part already has are shared, as a one-piece
/// read shares them.
fn merge(first: PartRead, second: PartRead) -> PartRead {
    let (mut graph, mut seen) = first;
    let (tail, tail_seen) = second;
    let names = len32(graph.names.len());
    let refs = len32(graph.refs.len());
    let items = len32(graph.items.len());
    // The second part's optimizations are distinct among themselves: each
    // is one the first part has, or a new one.
    let ids: Vec<u32> = tail
        .optimizations
        .into_iter()
        .enumerate()
        .map(
            |(k, optimization)| match seen.find(tail_seen.hashes[k], tail_seen.texts.get(k)) {
                Some(id) => id,
                None => {
                    graph.optimizations.push(optimization);
                    // Known to the parts merged after this one.
                    seen.insert(tail_seen.hashes[k], tail_seen.texts.get(k))
                }
            },
        )
        .collect();
    graph.names.append(tail.names);
    graph.refs.append(tail.refs);
    graph.items.append(tail.items);
    // Exactly: doubling would take a megabyte of fresh pages for nothing.
    graph.tasks.reserve_exact(tail.tasks.len());
    graph.tasks.extend(tail.tasks.into_iter().map(|mut task| {
        task.label += names;
        task.kind = task.kind.map(|k| k + names);
        task.build_type = task.build_type.map(|b| b + names);
        task.dependencies = (task.dependencies.0 + refs, task.dependencies.1 + refs);
        task.if_dependencies = (task.if_dependencies.0 + refs, task.if_dependencies.1 + refs);
        task.test_manifests = task.test_manifests.map(|(a, b)| (a + items, b + items));
        task.optimization = task.optimization.map(|id| ids[id as usize]);
        task
    }));
    (graph, seen)
}

struct Reader<'a> {
    bytes: &'a [u8],
    scan: Scanner<'a>,
    /// Scratch: the keys of one `dependencies` object.
    keys: Vec<&'a [u8]>,
    graph: RawGraph,
    /// The texts of optimizations' first entries, by index.
    optimizations: Seen,
    /// Where the task definitions skipped by their brackets are.
    #[cfg(test)]
    definitions: Vec<std::ops::Range<usize>>,
    /// For a part of a split read: the chunks it may stop before.
    chunks: Option<&'a Chunks>,
    /// The chunk it reads up to next, and the one it stopped before.
    next_chunk: usize,
    stopped: Option<usize>,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], scan: Scanner<'a>) -> Reader<'a> {
        Reader {
            bytes,
            scan,
            keys: Vec::new(),
            graph: RawGraph::default(),
            optimizations: Seen::default(),
            #[cfg(test)]
            definitions: Vec::new(),
            chunks: None,
            next_chunk: 1,
            stopped: None,
        }
    }

    /// Whether a part's reader stops before the key at `token`: the first
    /// token of a chunk the other thread has taken. A chunk it reaches it
    /// takes; one it passes without reaching did not start at a top-level
    /// key (a wrong guess), and it declines.
    #[inline]
    fn stops_before(&mut self, token: usize) -> Read<bool> {
        let Some(chunks) = self.chunks else {
            return Ok(false);
        };
        let Some(key) = chunks.key(self.next_chunk) else {
            return Ok(false);
        };
        if token < key {
            return Ok(false);
        }
        if token > key {
            return Err(Invalid);
        }
        if chunks.take_front(self.next_chunk) {
            self.next_chunk += 1;
            Ok(false)
        } else {
            self.stopped = Some(self.next_chunk);
            Ok(true)
        }
    }

    /// A list of strings, from its `[`: borrowed from the text, unless
    /// escaped.
    fn strings(&mut self) -> Read<Vec<Cow<'a, str>>> {
        let open = self.token()?;
        self.expect(open, b'[')?;
        // Labels are about 40 bytes with their quotes, comma and indentation.
        let mut list = Vec::with_capacity(self.bytes.len() / 32);
        let mut at = self.token()?;
        if self.bytes[at] == b']' {
            return Ok(list);
        }
        loop {
            let next = self.token()?;
            let text = self.text(at, next)?;
            list.push(match text {
                Cow::Borrowed(text) => {
                    Cow::Borrowed(std::str::from_utf8(text).map_err(|_| Invalid)?)
                }
                Cow::Owned(text) => Cow::Owned(String::from_utf8(text).map_err(|_| Invalid)?),
            });
            match self.bytes[next] {
                b',' => at = self.token()?,
                b']' => return Ok(list),
                _ => return Err(Invalid),
            }
        }
    }
}

fn len32(n: usize) -> u32 {
    n as u32
}

impl<'a> Reader<'a> {
    #[inline(always)]
    fn token(&mut self) -> Read<usize> {
        self.scan.next_token().ok_or(Invalid)
    }

    #[inline(always)]
    fn expect(&self, at: usize, byte: u8) -> Read<()> {
        if self.bytes[at] == byte {
            Ok(())
        } else {
            Err(Invalid)
        }
    }

    /// The graph's object, or the part of it `part` says.
    fn graph(&mut self, part: Part) -> Read<()> {
        // Real task definitions are about 1.5 KB; this only sizes the first allocation.
        let len = self.bytes.len();
        self.graph.tasks.reserve(len / 2048 + 16);
        // The strings kept, sized as generously from the text (the
        // benchmark graph has a byte of labels per 94 of text, of
        // dependency labels per 77, of manifests per 42): grown by
        // doubling, these lists had copied 5.6 MB through fresh memory on
        // a 72 MB graph. Room not used is address space only, never
        // touched.
        self.graph.names.reserve(len / 64, len / 1024);
        self.graph.refs.reserve(len / 64, len / 1024);
        self.graph.items.reserve(len / 32, len / 1024);
        // Room for a distinct optimization every other task: growing the
        // map re-hashes its keys, which are scattered over the text.
        self.optimizations = Seen::with_capacity(self.bytes.len() / 4096 + 16);
        let mut at = self.token()?;
        if matches!(part, Part::Whole | Part::Head) {
            self.expect(at, b'{')?;
            at = self.token()?;
            if self.bytes[at] == b'}' {
                return if part == Part::Whole {
                    Ok(())
                } else {
                    Err(Invalid)
                };
            }
        }
        loop {
            let colon = self.token()?;
            let label = self.text(at, colon)?;
            let label = self.graph.name(&label);
            self.expect(colon, b':')?;
            let open = self.token()?;
            let next = self.task(open, label)?;
            match self.bytes[next] {
                b',' => match self.scan.next_token() {
                    Some(token) => {
                        if self.stops_before(token)? {
                            return Ok(());
                        }
                        at = token;
                    }
                    None if matches!(part, Part::Head | Part::Middle) => return Ok(()),
                    None => return Err(Invalid),
                },
                b'}' if matches!(part, Part::Whole | Part::Tail) => return Ok(()),
                _ => return Err(Invalid),
            }
        }
    }

    /// One task's object, from its `{`; returns the token after its `}`.
    fn task(&mut self, open: usize, label: u32) -> Read<usize> {
        self.expect(open, b'{')?;
        let mut task = ReadTask::new(label);
        let mut seen = 0u8;
        let mut once = |field: u8| {
            if seen & field != 0 {
                return Err(Invalid);
            }
            seen |= field;
            Ok(())
        };
        let mut at = self.token()?;
        if self.bytes[at] != b'}' {
            loop {
                let colon = self.token()?;
                let key = self.key(at, colon)?;
                self.expect(colon, b':')?;
                let value = self.token()?;
                at = match key {
                    b"task" => {
                        once(TASK)?;
                        self.skip_definition(value)?
                    }
                    b"kind" => {
                        once(KIND)?;
                        let next = self.token()?;
                        if !self.is_null(value)? {
                            let kind = self.text(value, next)?;
                            task.kind = Some(self.graph.name(&kind));
                        }
                        next
                    }
                    b"dependencies" => {
                        once(DEPENDENCIES)?;
                        self.dependencies(value, &mut task)?
                    }
                    b"optimization" => {
                        once(OPTIMIZATION)?;
                        self.optimization(value, &mut task)?
                    }
                    b"if_dependencies" => {
                        once(IF_DEPENDENCIES)?;
                        self.if_dependencies(value, &mut task)?
                    }
                    b"attributes" => {
                        once(ATTRIBUTES)?;
                        self.attributes(value, &mut task)?
                    }
                    _ => self.skip_value(value)?,
                };
                match self.bytes[at] {
                    b',' => at = self.token()?,
                    b'}' => break,
                    _ => return Err(Invalid),
                }
            }
        }
        self.graph.tasks.push(task);
        self.token()
    }

    /// `{name: label}` or null; duplicate names decline (serde keeps the last).
    fn dependencies(&mut self, open: usize, task: &mut ReadTask) -> Read<usize> {
        let start = len32(self.graph.refs.len());
        task.dependencies = (start, start);
        if self.is_null(open)? {
            return self.token();
        }
        self.expect(open, b'{')?;
        let mut at = self.token()?;
        if self.bytes[at] == b'}' {
            return self.token();
        }
        self.keys.clear();
        loop {
            let colon = self.token()?;
            let key = self.key(at, colon)?;
            self.keys.push(key);
            self.expect(colon, b':')?;
            let value = self.token()?;
            at = self.token()?;
            let label = self.text(value, at)?;
            self.graph.refs.push(&label);
            match self.bytes[at] {
                b',' => at = self.token()?,
                b'}' => break,
                _ => return Err(Invalid),
            }
        }
        if has_duplicates(&mut self.keys) {
            return Err(Invalid);
        }
        task.dependencies = (start, len32(self.graph.refs.len()));
        self.token()
    }

    /// `[label, ...]` or null.
    fn if_dependencies(&mut self, open: usize, task: &mut ReadTask) -> Read<usize> {
        let start = len32(self.graph.refs.len());
        task.if_dependencies = (start, start);
        if self.is_null(open)? {
            return self.token();
        }
        self.expect(open, b'[')?;
        let mut at = self.token()?;
        if self.bytes[at] == b']' {
            return self.token();
        }
        loop {
            let next = self.token()?;
            let label = self.text(at, next)?;
            self.graph.refs.push(&label);
            match self.bytes[next] {
                b',' => at = self.token()?,
                b']' => break,
                _ => return Err(Invalid),
            }
        }
        task.if_dependencies = (start, len32(self.graph.refs.len()));
        self.token()
    }

    /// `{name: argument, ...}` or null: the first entry, parsed once per
    /// distinct text.
    fn optimization(&mut self, open: usize, task: &mut ReadTask) -> Read<usize> {
        if self.is_null(open)? {
            return self.token();
        }
        self.expect(open, b'{')?;
        let at = self.token()?;
        if self.bytes[at] == b'}' {
            return self.token();
        }
        let colon = self.token()?;
        let name = self.text(at, colon)?;
        self.expect(colon, b':')?;
        let value = self.token()?;
        let after = self.skip_value(value)?;
        let entry = &self.bytes[at..after];
        let hash = super::graph::hash(entry);
        let id = match self.optimizations.find(hash, entry) {
            Some(id) => id,
            None => {
                let name = String::from_utf8(name.into_owned()).map_err(|_| Invalid)?;
                let argument =
                    serde_json::from_slice(&self.bytes[value..after]).map_err(|_| Invalid)?;
                self.graph.optimizations.push((name, argument));
                self.optimizations.insert(hash, entry)
            }
        };
        task.optimization = Some(id);
        self.skip_from(after, OBJECT_AFTER, 0, 1)
    }

    /// `{...}` or null: `always_target`, `test_manifests` and `build_type`.
    fn attributes(&mut self, open: usize, task: &mut ReadTask) -> Read<usize> {
        if self.is_null(open)? {
            return self.token();
        }
        self.expect(open, b'{')?;
        let mut at = self.token()?;
        if self.bytes[at] == b'}' {
            return self.token();
        }
        let mut seen = 0u8;
        loop {
            let colon = self.token()?;
            let key = self.key(at, colon)?;
            self.expect(colon, b':')?;
            let value = self.token()?;
            let field = match key {
                b"always_target" => 1,
                b"test_manifests" => 2,
                b"build_type" => 4,
                _ => 0,
            };
            if seen & field != 0 {
                return Err(Invalid);
            }
            seen |= field;
            at = match field {
                1 => {
                    let next = self.skip_value(value)?;
                    task.always_target = match self.bytes[value] {
                        b't' => true,
                        b'f' | b'n' => false,
                        _ => truthy(
                            &serde_json::from_slice(&self.bytes[value..next])
                                .map_err(|_| Invalid)?,
                        ),
                    };
                    next
                }
                2 if self.bytes[value] == b'[' => self.manifests(task)?,
                4 if self.bytes[value] == b'"' => {
                    let next = self.token()?;
                    let build_type = self.text(value, next)?;
                    task.build_type = Some(self.graph.name(&build_type));
                    next
                }
                2 | 4 => self.skip_built(value)?,
                _ => self.skip_value(value)?,
            };
            match self.bytes[at] {
                b',' => at = self.token()?,
                b'}' => return self.token(),
                _ => return Err(Invalid),
            }
        }
    }

    /// A `test_manifests` list: its strings (other items are skipped).
    fn manifests(&mut self, task: &mut ReadTask) -> Read<usize> {
        let start = len32(self.graph.items.len());
        task.test_manifests = Some((start, start));
        let mut at = self.token()?;
        if self.bytes[at] == b']' {
            return self.token();
        }
        loop {
            let next = if self.bytes[at] == b'"' {
                let next = self.token()?;
                let item = self.text(at, next)?;
                self.graph.items.push(&item);
                next
            } else {
                self.skip_built(at)?
            };
            match self.bytes[next] {
                b',' => at = self.token()?,
                b']' => break,
                _ => return Err(Invalid),
            }
        }
        task.test_manifests = Some((start, len32(self.graph.items.len())));
        self.token()
    }

    /// Whether the value at `at` is `null` (checked as a scalar).
    #[inline]
    fn is_null(&self, at: usize) -> Read<bool> {
        if self.bytes[at] == b'n' {
            self.scalar(at)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// Any value, from its first token; returns the token after it.
    #[inline]
    fn skip_value(&mut self, at: usize) -> Read<usize> {
        match self.bytes[at] {
            b'"' => self.token(),
            b'{' => {
                let next = self.token()?;
                self.skip_from(next, OBJECT_FIRST, 0, 1)
            }
            b'[' => {
                let next = self.token()?;
                self.skip_from(next, ARRAY_FIRST, 0, 1)
            }
            _ => {
                self.scalar(at)?;
                self.token()
            }
        }
    }

    /// A task's definition, from its first token; returns the token after
    /// it. Nothing reads it, and it is most of a graph's text, so an object
    /// or array is skipped by its brackets: its text gets every check of
    /// stage one, and its brackets must pair, but the order of its tokens is
    /// not checked (as simdjson's On-Demand API skips values). A graph whose
    /// definitions are broken only in that order is read here where
    /// serde_json would refuse it; it would have to be written by hand, and
    /// the plan, which never depends on the definitions, is the same.
    fn skip_definition(&mut self, at: usize) -> Read<usize> {
        let open = self.bytes[at];
        if open != b'{' && open != b'[' {
            return self.skip_value(at);
        }
        let close = self.scan.close_of(open)?;
        debug_assert_eq!(self.bytes[close] | 0x20, b'}', "a closing bracket");
        #[cfg(test)]
        self.definitions.push(at..close + 1);
        self.token()
    }

    /// A value the serde path builds as a `serde_json::Value` (an unusual
    /// `test_manifests` or `build_type`), skipped and then parsed: serde_json
    /// rejects numbers beyond `f64` in the values it builds, not in the
    /// ones it skips.
    #[cold]
    fn skip_built(&mut self, at: usize) -> Read<usize> {
        let next = self.skip_value(at)?;
        serde_json::from_slice::<serde_json::Value>(&self.bytes[at..next]).map_err(|_| Invalid)?;
        Ok(next)
    }

    /// Checks and skips the rest of `depth` open containers, from the
    /// token at `at`, in `state` (of the innermost); `stack` has a bit per
    /// enclosing level below the innermost, lowest first, set for an
    /// object. Returns the token after the outermost closes.
    fn skip_from(
        &mut self,
        mut at: usize,
        mut state: u8,
        mut stack: u64,
        mut depth: u32,
    ) -> Read<usize> {
        use automaton::{CLASS, ERROR, POP, PUSH_IN_ARRAY, PUSH_IN_OBJECT, SCALAR, TABLE};
        // The tokens after `at` come from the scanner's batch through a
        // local index, which stays in a register (most of a graph's text
        // is skipped here, token by token).
        let mut pending = self.scan.pending();
        let mut used = 0;
        loop {
            let entry = TABLE[state as usize & 7][CLASS[self.bytes[at] as usize] as usize];
            state = entry & 0x0f;
            if entry >= 0x10 {
                match entry & 0xf0 {
                    SCALAR => {
                        self.scalar(at)?;
                    }
                    PUSH_IN_OBJECT | PUSH_IN_ARRAY => {
                        depth += 1;
                        if depth > MAX_DEPTH {
                            return Err(Invalid);
                        }
                        stack = (stack << 1) | u64::from(entry & 0xf0 == PUSH_IN_OBJECT);
                    }
                    POP => {
                        depth -= 1;
                        if depth == 0 {
                            self.scan.advance(used);
                            return self.token();
                        }
                        state = if stack & 1 == 1 {
                            OBJECT_AFTER
                        } else {
                            ARRAY_AFTER
                        };
                        stack >>= 1;
                    }
                    ERROR => return Err(Invalid),
                    _ => unreachable!("the table holds only these actions"),
                }
            }
            match pending.get(used) {
                Some(&next) => {
                    at = next as usize;
                    used += 1;
                }
                None => {
                    self.scan.advance(used);
                    at = self.token()?;
                    pending = self.scan.pending();
                    used = 0;
                }
            }
        }
    }

    /// Checks the scalar at `at` (a number as JSON writes it, `true`,
    /// `false` or `null`, ending where its run of bytes ends); returns its end.
    #[inline]
    fn scalar(&self, at: usize) -> Read<usize> {
        let bytes = self.bytes;
        let end = match bytes[at] {
            b't' => literal(bytes, at, b"true")?,
            b'f' => literal(bytes, at, b"false")?,
            b'n' => literal(bytes, at, b"null")?,
            b'-' | b'0'..=b'9' => number(bytes, at)?,
            _ => return Err(Invalid),
        };
        // The scalar must fill its run: what follows is blank, a bracket, a
        // separator or a quote (which the grammar then rejects), or the end.
        match bytes.get(end) {
            None => Ok(end),
            Some(&c)
                if c <= b' ' || matches!(c, b',' | b':' | b'[' | b']' | b'{' | b'}' | b'"') =>
            {
                Ok(end)
            }
            Some(_) => Err(Invalid),
        }
    }

    /// The string whose opening quote is at `open`, followed by the token at
    /// `next`: its closing quote is the last non-blank byte before `next`.
    /// Borrowed when it has no escapes; unescaped by serde_json otherwise.
    #[inline]
    fn text(&self, open: usize, next: usize) -> Read<Cow<'a, [u8]>> {
        let content = self.content(open, next)?;
        if self.scan.may_escape(open, next) && memchr::memchr(b'\\', content).is_some() {
            return self.unescape(open);
        }
        Ok(Cow::Borrowed(content))
    }

    /// A key: a string without escapes (one with escapes declines).
    #[inline]
    fn key(&self, open: usize, next: usize) -> Read<&'a [u8]> {
        let content = self.content(open, next)?;
        if self.scan.may_escape(open, next) && memchr::memchr(b'\\', content).is_some() {
            return Err(Invalid);
        }
        Ok(content)
    }

    #[inline(always)]
    fn content(&self, open: usize, next: usize) -> Read<&'a [u8]> {
        let bytes: &'a [u8] = self.bytes;
        let mut end = next;
        while end > open + 1 && bytes[end - 1] <= b' ' {
            end -= 1;
        }
        if bytes[open] != b'"' || end < open + 2 || bytes[end - 1] != b'"' {
            return Err(Invalid);
        }
        Ok(&bytes[open + 1..end - 1])
    }

    #[cold]
    fn unescape(&self, open: usize) -> Read<Cow<'a, [u8]>> {
        let mut de = serde_json::Deserializer::from_slice(&self.bytes[open..]);
        let text: String = serde::Deserialize::deserialize(&mut de).map_err(|_| Invalid)?;
        Ok(Cow::Owned(text.into_bytes()))
    }
}

fn literal(bytes: &[u8], at: usize, word: &[u8]) -> Read<usize> {
    if bytes[at..].starts_with(word) {
        Ok(at + word.len())
    } else {
        Err(Invalid)
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`; returns its end.
fn number(bytes: &[u8], mut at: usize) -> Read<usize> {
    let digit = |at: usize| bytes.get(at).is_some_and(u8::is_ascii_digit);
    let digits = |mut at: usize| {
        if !digit(at) {
            return Err(Invalid);
        }
        while digit(at) {
            at += 1;
        }
        Ok(at)
    };
    if bytes[at] == b'-' {
        at += 1;
    }
    match bytes.get(at) {
        Some(b'0') => at += 1,
        Some(b'1'..=b'9') => at = digits(at)?,
        _ => return Err(Invalid),
    }
    if bytes.get(at) == Some(&b'.') {
        at = digits(at + 1)?;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        if matches!(bytes.get(at), Some(b'+' | b'-')) {
            at += 1;
        }
        at = digits(at)?;
    }
    Ok(at)
}

/// Whether any two keys are equal (sorts them).
fn has_duplicates(keys: &mut [&[u8]]) -> bool {
    match keys.len() {
        0 | 1 => false,
        2 => keys[0] == keys[1],
        _ => {
            keys.sort_unstable();
            keys.windows(2).any(|w| w[0] == w[1])
        }
    }
}

//! Stage one of the fast graph reader: a structural index of JSON text,
//! 64 bytes at a time, in the manner of simdjson.
//!
//! Each block of 64 bytes is classified into bit masks (quotes, backslashes,
//! brackets and separators, whitespace and control bytes, non-ASCII bytes)
//! with SSE2 compares where the target has them (through `safe_arch`, which
//! wraps the intrinsics safely) and byte by byte elsewhere. From the masks,
//! with carries between blocks, come the escaped characters, the inside of
//! strings (a prefix XOR of the unescaped quotes), and the *tokens*: every
//! bracket, colon and comma outside strings, every opening quote, and the
//! first byte of every run of other bytes outside strings (a scalar:
//! number, `true`, `false`, `null`, or garbage that stage two rejects).
//!
//! Everything a token-level reader cannot see is checked here, so that stage
//! two (`fast.rs`) only has to check the order of the tokens and the text of
//! scalars: control bytes inside strings, control bytes other than tab, line
//! feed and carriage return outside them, escapes (`\"`, `\\`, `\/`, `\b`,
//! `\f`, `\n`, `\r`, `\t`, `\uXXXX`, as serde_json accepts them), UTF-8
//! (stricter than serde_json, which does not check strings it skips), and a
//! string still open at the end. A failure here only means "not the fast
//! path": the caller then parses with serde_json, which gives the error.

/// The masks of one block: bit `i` is byte `i` of the block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Masks {
    pub quote: u64,
    pub backslash: u64,
    /// `{`, `}`, `[`, `]`, `:` and `,`.
    pub structural: u64,
    /// `{`, `}`, `[` and `]`.
    pub brackets: u64,
    /// Bytes up to and including the space: whitespace and control bytes.
    pub blank: u64,
    /// Bytes below the space.
    pub control: u64,
    /// Line feeds: the control byte outside strings that a pretty-printed
    /// text has in nearly every block, told apart here so that only the
    /// rare others are looked at one by one.
    pub newline: u64,
    /// Whether any byte is 0x80 or above.
    pub non_ascii: bool,
}

/// The block's masks, with SSE2 (always present on x86-64).
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[inline(always)]
pub(crate) fn classify(block: &[u8; 64]) -> Masks {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, min_u8_m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, zeroed_m128i,
    };
    let splat = |b: u8| set_splat_i8_m128i(b as i8);
    let (quote, backslash, space, below_space, newline) = (
        splat(b'"'),
        splat(b'\\'),
        splat(b' '),
        splat(0x1f),
        splat(b'\n'),
    );
    let (open, close, colon, comma, case) = (
        splat(b'{'),
        splat(b'}'),
        splat(b':'),
        splat(b','),
        splat(0x20),
    );
    let mask = |v| u64::from(move_mask_i8_m128i(v) as u16);
    let mut m = Masks::default();
    let mut high = zeroed_m128i();
    for (k, chunk) in block.chunks_exact(16).enumerate() {
        let v = load_unaligned_m128i(chunk.try_into().expect("16 bytes"));
        let shift = 16 * k;
        m.quote |= mask(cmp_eq_mask_i8_m128i(v, quote)) << shift;
        m.backslash |= mask(cmp_eq_mask_i8_m128i(v, backslash)) << shift;
        // `[` and `]` are `{` and `}` without the 0x20 bit.
        let folded = bitor_m128i(v, case);
        let brackets = bitor_m128i(
            cmp_eq_mask_i8_m128i(folded, open),
            cmp_eq_mask_i8_m128i(folded, close),
        );
        let separators = bitor_m128i(
            cmp_eq_mask_i8_m128i(v, colon),
            cmp_eq_mask_i8_m128i(v, comma),
        );
        m.structural |= mask(bitor_m128i(brackets, separators)) << shift;
        m.brackets |= mask(brackets) << shift;
        m.blank |= mask(cmp_eq_mask_i8_m128i(min_u8_m128i(v, space), v)) << shift;
        m.control |= mask(cmp_eq_mask_i8_m128i(min_u8_m128i(v, below_space), v)) << shift;
        m.newline |= mask(cmp_eq_mask_i8_m128i(v, newline)) << shift;
        high = bitor_m128i(high, v);
    }
    m.non_ascii = move_mask_i8_m128i(high) != 0;
    m
}

/// The block's masks, a byte at a time (targets without SSE2; and the
/// reference the SIMD version is tested against).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
pub(crate) fn classify_bytes(block: &[u8; 64]) -> Masks {
    let mut m = Masks::default();
    for (i, &c) in block.iter().enumerate() {
        let bit = 1u64 << i;
        match c {
            b'"' => m.quote |= bit,
            b'\\' => m.backslash |= bit,
            b'{' | b'}' | b'[' | b']' => {
                m.structural |= bit;
                m.brackets |= bit;
            }
            b':' | b',' => m.structural |= bit,
            _ => {}
        }
        if c <= b' ' {
            m.blank |= bit;
        }
        if c < b' ' {
            m.control |= bit;
        }
        if c == b'\n' {
            m.newline |= bit;
        }
        m.non_ascii |= c >= 0x80;
    }
    m
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
#[inline(always)]
pub(crate) fn classify(block: &[u8; 64]) -> Masks {
    classify_bytes(block)
}

/// The block's masks with AVX-512BW: one load and a compare per mask,
/// each straight into a 64-bit mask. About half the cost of the SSE2
/// version's four loads, compares, byte masks and shifts; used where the
/// CPU has it (checked at run time: the binary runs on any x86-64).
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::{
        __m512i, _mm512_add_epi32, _mm512_cmpeq_epi8_mask, _mm512_cmple_epu8_mask,
        _mm512_cmplt_epu8_mask, _mm512_loadu_si512, _mm512_maskz_compress_epi32,
        _mm512_movepi8_mask, _mm512_or_si512, _mm512_set1_epi8, _mm512_set1_epi32,
        _mm512_setr_epi32, _mm512_storeu_si512,
    };

    use super::Masks;

    /// Whether this CPU can run [`classify`], [`quote_prefix`] and
    /// [`place`], and the scanner's loops built with them. Those also take
    /// BMI1/2 and LZCNT (every CPU with AVX-512BW has them): the walk of a
    /// skipped value's brackets then compiles to `tzcnt`/`blsr`, and one
    /// core reads the benchmark graph 1-2% faster.
    pub(crate) fn available() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("pclmulqdq")
            && std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("bmi1")
            && std::arch::is_x86_feature_detected!("bmi2")
            && std::arch::is_x86_feature_detected!("lzcnt")
    }

    /// [`super::prefix_xor`] as one carry-less multiplication by all ones
    /// (three micro-operations for the shift-and-xor ladder's twelve).
    #[inline]
    #[target_feature(enable = "pclmulqdq")]
    pub(crate) fn prefix_xor(x: u64) -> u64 {
        use std::arch::x86_64::{
            _mm_clmulepi64_si128, _mm_cvtsi128_si64, _mm_set_epi64x, _mm_set1_epi8,
        };
        let product = _mm_clmulepi64_si128::<0>(_mm_set_epi64x(0, x as i64), _mm_set1_epi8(-1));
        _mm_cvtsi128_si64(product) as u64
    }

    /// [`super::quote_prefix`] with the flip from a population count: the
    /// next block's string state then waits for a one-cycle count rather
    /// than for the multiplication, so blocks overlap (1-2% of the
    /// reader's time on one core).
    #[inline]
    #[target_feature(enable = "pclmulqdq,popcnt")]
    pub(crate) fn quote_prefix(quotes: u64) -> (u64, u64) {
        let odd = u64::from(quotes.count_ones() & 1);
        (prefix_xor(quotes), odd.wrapping_neg())
    }

    /// [`super::place`] by compression: each 16 bits of `tokens` pick their
    /// positions out of a register of sixteen, stored whole (what lies past
    /// the count is overwritten by the next block's). No bit is walked one
    /// at a time: the walk had been about 45% of tokenizing a task's
    /// header.
    #[inline]
    #[target_feature(enable = "avx512f,popcnt")]
    pub(crate) fn place(out: &mut [u32], base: u32, tokens: u64) -> usize {
        assert!(
            out.len() >= 64 + 16,
            "room for a block's tokens and a register"
        );
        let mut at = 0;
        for k in 0..4u32 {
            let bits = (tokens >> (16 * k)) as u16;
            let from = _mm512_set1_epi32(base.wrapping_add(16 * k) as i32);
            let positions = _mm512_add_epi32(
                _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                from,
            );
            let picked = _mm512_maskz_compress_epi32(bits, positions);
            #[allow(unsafe_code)]
            // SAFETY: `at` is at most 48 here (the bits of three sixteens),
            // so the 16 lanes written end within `out`, 80 or more long
            // (asserted above); the store is unaligned.
            unsafe {
                _mm512_storeu_si512(out.as_mut_ptr().add(at).cast(), picked);
            }
            at += bits.count_ones() as usize;
        }
        at
    }

    /// The block's 64 bytes in one register.
    #[inline]
    #[target_feature(enable = "avx512bw")]
    fn load(block: &[u8; 64]) -> __m512i {
        #[allow(unsafe_code)]
        // SAFETY: `block` is 64 readable bytes, and the load is unaligned.
        unsafe {
            _mm512_loadu_si512(block.as_ptr().cast())
        }
    }

    #[inline]
    #[target_feature(enable = "avx512bw")]
    fn eq(v: __m512i, b: u8) -> u64 {
        _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(b as i8))
    }

    /// [`classify`] without what only tokens need (`structural` and
    /// `blank` stay empty): for the blocks of a value being skipped, where
    /// the strings, escapes, control bytes and brackets are all that count.
    #[inline]
    #[target_feature(enable = "avx512bw")]
    pub(crate) fn classify_skipped(block: &[u8; 64]) -> Masks {
        skipped(load(block))
    }

    #[inline]
    #[target_feature(enable = "avx512bw")]
    fn skipped(v: __m512i) -> Masks {
        // `[` and `]` are `{` and `}` without the 0x20 bit.
        let folded = _mm512_or_si512(v, _mm512_set1_epi8(0x20));
        Masks {
            quote: eq(v, b'"'),
            backslash: eq(v, b'\\'),
            structural: 0,
            brackets: eq(folded, b'{') | eq(folded, b'}'),
            blank: 0,
            control: _mm512_cmplt_epu8_mask(v, _mm512_set1_epi8(b' ' as i8)),
            newline: eq(v, b'\n'),
            non_ascii: _mm512_movepi8_mask(v) != 0,
        }
    }

    /// Every mask: a skipped block's, and the separators and blanks.
    #[inline]
    #[target_feature(enable = "avx512bw")]
    pub(crate) fn classify(block: &[u8; 64]) -> Masks {
        let v = load(block);
        let masks = skipped(v);
        Masks {
            structural: masks.brackets | eq(v, b':') | eq(v, b','),
            blank: _mm512_cmple_epu8_mask(v, _mm512_set1_epi8(b' ' as i8)),
            ..masks
        }
    }
}

/// [`prefix_xor`] of a block's quotes, and all ones when their number is
/// odd (the string state flips past the block): here the prefix's last
/// bit, which waits for the whole prefix.
#[inline(always)]
fn quote_prefix(quotes: u64) -> (u64, u64) {
    let prefix = prefix_xor(quotes);
    (prefix, ((prefix as i64) >> 63) as u64)
}

/// Bit `i` set where an odd number of quotes is at or before `i`.
#[inline(always)]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The bytes escaped by a backslash, given the block's backslashes and
/// whether its first byte is escaped by the previous block; and whether the
/// next block's first byte is escaped.
#[inline]
fn escaped(backslash: u64, carry: bool) -> (u64, bool) {
    let mut rest = backslash;
    let mut escaped = 0u64;
    if carry {
        escaped = 1;
        rest &= !1;
    }
    while rest != 0 {
        let i = rest.trailing_zeros();
        if i == 63 {
            return (escaped, true);
        }
        escaped |= 2u64 << i;
        rest &= !(3u64 << i);
    }
    (escaped, false)
}

/// Writes `base` plus the index of each bit of `tokens`, in order, at the
/// start of `out`, and returns how many. Eight at a time, written whether
/// or not they exist: the ones past the count are overwritten by the next
/// block's (`out` has room for a block's tokens and more).
#[inline(always)]
fn place(out: &mut [u32], base: u32, mut tokens: u64) -> usize {
    let count = tokens.count_ones() as usize;
    let mut at = 0;
    while tokens != 0 {
        let eight: &mut [u32; 8] = (&mut out[at..at + 8]).try_into().expect("room for eight");
        for slot in eight {
            *slot = base.wrapping_add(tokens.trailing_zeros());
            tokens &= tokens.wrapping_sub(1);
        }
        at += 8;
    }
    count
}

/// Where the scan found text that is not JSON (or not the JSON this reader
/// takes on its fast path).
#[derive(Debug)]
pub(crate) struct Invalid;

/// The brackets open in a value being skipped: how many, and in `stack`
/// a bit per bracket, the innermost lowest, set for `{`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Nesting {
    stack: u64,
    depth: u32,
}

impl Nesting {
    /// Deeper nesting than this (counting the skipped value itself) is
    /// declined, as the token-level skip declines it.
    pub(crate) const MAX_DEPTH: u32 = 63;

    /// Inside the value that `open` (`{` or `[`) opens.
    pub(crate) fn opened_by(open: u8) -> Nesting {
        Nesting {
            stack: u64::from(open == b'{'),
            depth: 1,
        }
    }

    /// Takes the bracket `byte`; true when it closes the skipped value.
    /// A bracket that does not close the one open, or nesting deeper than
    /// [`Nesting::MAX_DEPTH`], is `Invalid`.
    #[inline(always)]
    pub(crate) fn take(&mut self, byte: u8) -> Result<bool, Invalid> {
        // `{` and `[` have the 0x02 bit, `}` and `]` not; braces the 0x20 bit.
        let curly = u64::from(byte & 0x20 != 0);
        if byte & 0x02 != 0 {
            if self.depth == Self::MAX_DEPTH {
                return Err(Invalid);
            }
            self.stack = (self.stack << 1) | curly;
            self.depth += 1;
            Ok(false)
        } else {
            if self.stack & 1 != curly {
                return Err(Invalid);
            }
            self.stack >>= 1;
            self.depth -= 1;
            Ok(self.depth == 0)
        }
    }
}

/// Tokens are produced this many blocks at a time. A reader that reaches a
/// task definition skips it by its brackets ([`Scanner::close_of`]), but
/// the batch it is in has already been tokenized past the definition's
/// start, and those tokens are walked one by one: with 16 blocks, half a
/// kilobyte per task on average. 4 blocks read the 72 MB benchmark graph
/// about 5% faster on one core (19.2-19.6 against 20.4-20.6 ms, the
/// median of ten runs' minimums), and a graph without definitions no
/// slower; 2 and 3 measured as 4.
const BATCH_BLOCKS: usize = 4;

/// Stage one over a whole text, producing token positions in batches.
pub(crate) struct Scanner<'a> {
    bytes: &'a [u8],
    /// The next block to classify.
    block: usize,
    blocks: usize,
    /// All ones while inside a string at the end of the last block.
    in_string: u64,
    escape_carry: bool,
    /// 1 if the last byte of the last block belonged to a scalar.
    scalar_carry: u64,
    /// The current batch of token positions (`len` of them, and room for
    /// the unconditional writes of `scan_block`), and the next one to hand out.
    tokens: Box<[u32]>,
    len: usize,
    next: usize,
    /// The first block of a run of blocks with non-ASCII bytes, not yet checked.
    non_ascii_from: Option<usize>,
    /// One bit per block: whether it holds a backslash.
    backslash_blocks: Vec<u64>,
    invalid: bool,
    /// Whether to classify with AVX-512BW.
    #[cfg(target_arch = "x86_64")]
    avx512: bool,
    /// Where to report how far the scan has gone, in bytes, for a reader on
    /// another thread to see.
    progress: Option<std::sync::Arc<std::sync::atomic::AtomicUsize>>,
}

impl<'a> Scanner<'a> {
    /// A scanner over `bytes`, which must be shorter than 4 GiB.
    pub(crate) fn new(bytes: &'a [u8]) -> Result<Scanner<'a>, Invalid> {
        if bytes.len() >= u32::MAX as usize - 64 {
            return Err(Invalid);
        }
        Ok(Scanner {
            bytes,
            block: 0,
            blocks: bytes.len().div_ceil(64),
            in_string: 0,
            escape_carry: false,
            scalar_carry: 0,
            tokens: vec![0; BATCH_BLOCKS * 64 + 64].into_boxed_slice(),
            len: 0,
            next: 0,
            non_ascii_from: None,
            backslash_blocks: vec![0; bytes.len().div_ceil(64 * 64) + 1],
            invalid: false,
            #[cfg(target_arch = "x86_64")]
            avx512: avx512::available(),
            progress: None,
        })
    }

    /// Reports, at each batch, how many bytes have been scanned to `progress`.
    pub(crate) fn reporting_to(
        mut self,
        progress: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    ) -> Scanner<'a> {
        self.progress = Some(progress);
        self
    }

    /// Whether bytes `[from, to)`, already scanned, may hold a backslash.
    #[inline]
    pub(crate) fn may_escape(&self, from: usize, to: usize) -> bool {
        (from / 64..=(to.max(from + 1) - 1) / 64)
            .any(|b| self.backslash_blocks[b / 64] & (1 << (b % 64)) != 0)
    }

    /// The position of the next token; `None` at the end of the text, or
    /// when stage one found it invalid (see [`Scanner::finish`]).
    #[inline(always)]
    pub(crate) fn next_token(&mut self) -> Option<usize> {
        if self.next == self.len && !self.refill() {
            return None;
        }
        let pos = self.tokens[self.next];
        self.next += 1;
        Some(pos as usize)
    }

    /// The positions of the tokens of the current batch not yet handed
    /// out: a reader that walks many tokens takes them from here with an
    /// index of its own, then says how many it used ([`Scanner::advance`]).
    #[inline(always)]
    pub(crate) fn pending(&self) -> &[u32] {
        &self.tokens[self.next..self.len]
    }

    /// Marks `n` tokens of [`Scanner::pending`] as handed out.
    #[inline(always)]
    pub(crate) fn advance(&mut self, n: usize) {
        self.next += n;
    }

    /// After the last token: whether the whole text passed stage one.
    pub(crate) fn finish(&mut self) -> Result<(), Invalid> {
        while self.refill() {}
        if self.invalid || self.in_string != 0 || self.next != self.len {
            return Err(Invalid);
        }
        Ok(())
    }

    /// Skips the rest of the value that `open` (`{` or `[`, the last token
    /// handed out) opens, as [`Scanner::skip_container`] does; returns the
    /// position of its closing bracket, the last token handed out.
    pub(crate) fn close_of(&mut self, open: u8) -> Result<usize, Invalid> {
        let mut nesting = Nesting::opened_by(open);
        // The batch's tokens first, then the blocks after it, unscanned.
        for (used, &token) in self.pending().iter().enumerate() {
            let byte = self.bytes[token as usize];
            if matches!(byte | 0x20, b'{' | b'}') && nesting.take(byte)? {
                self.advance(used + 1);
                return Ok(token as usize);
            }
        }
        self.next = self.len;
        self.skip_container(nesting)
    }

    /// Skips to the bracket that closes `nesting`, from the first block
    /// not yet scanned (the batch must be used up); returns its position,
    /// with the batch holding the tokens after it in its block. The blocks
    /// on the way get every check of stage one, and their brackets must
    /// pair, but no token is produced for them, so the order of their
    /// tokens (keys, colons, commas, the spelling of scalars) is not
    /// checked: this is for values nobody reads.
    fn skip_container(&mut self, nesting: Nesting) -> Result<usize, Invalid> {
        debug_assert_eq!(self.next, self.len, "the batch is used up");
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has every feature these are built with
            // (`avx512::available`, asked in `new`).
            return unsafe { self.skip_container_avx512(nesting) };
        }
        self.skip_container_with(nesting, classify, classify, quote_prefix)
    }

    /// [`Scanner::skip_container`] with AVX-512BW compiled in.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512bw,pclmulqdq,popcnt,bmi1,bmi2,lzcnt")]
    fn skip_container_avx512(&mut self, nesting: Nesting) -> Result<usize, Invalid> {
        self.skip_container_with(
            nesting,
            |block| avx512::classify_skipped(block),
            |block| avx512::classify(block),
            |x| avx512::quote_prefix(x),
        )
    }

    /// `classify_skipped` classifies the blocks on the way (it may leave
    /// the masks only tokens need empty), `classify` the block of the
    /// closing bracket, whose tokens after it are the batch's.
    #[inline(always)]
    fn skip_container_with(
        &mut self,
        mut nesting: Nesting,
        classify_skipped: impl Fn(&[u8; 64]) -> Masks + Copy,
        classify: impl Fn(&[u8; 64]) -> Masks + Copy,
        quote_prefix: impl Fn(u64) -> (u64, u64) + Copy,
    ) -> Result<usize, Invalid> {
        while self.block < self.blocks && !self.invalid {
            let b = self.block;
            self.block += 1;
            let masks = self.masks(b, classify_skipped);
            let (quotes, inside) = self.strings(b, &masks, quote_prefix);
            let mut brackets = masks.brackets & !inside;
            while brackets != 0 {
                let i = brackets.trailing_zeros();
                let at = b * 64 + i as usize;
                if nesting.take(self.bytes[at])? {
                    // The closing bracket is no scalar's: what came before
                    // it, in this block or the last, makes no token after it.
                    self.scalar_carry = 0;
                    let masks = self.masks(b, classify);
                    let tokens = self.tokens(&masks, quotes, inside);
                    self.len = 0;
                    self.next = 0;
                    self.emit(b * 64, tokens & ((!0u64 << i) << 1), place);
                    return if self.invalid { Err(Invalid) } else { Ok(at) };
                }
                brackets &= brackets - 1;
            }
        }
        Err(Invalid)
    }

    /// For a reader that stops before `end` (a line start it has scanned
    /// past, outside any string): whether the text before `end` passed
    /// stage one. A block past `end` that stage one rejects fails this too;
    /// such text is invalid anyway.
    pub(crate) fn finish_before(&mut self, end: usize) -> Result<(), Invalid> {
        debug_assert!(end <= self.block * 64, "scanned past the end");
        if let Some(from) = self.non_ascii_from
            && from * 64 < end
            && std::str::from_utf8(&self.bytes[from * 64..end]).is_err()
        {
            self.invalid = true;
        }
        if self.invalid {
            return Err(Invalid);
        }
        Ok(())
    }

    /// Classifies the next batch of blocks; false at the end or when invalid.
    #[inline(never)]
    fn refill(&mut self) -> bool {
        if let Some(progress) = &self.progress {
            progress.store(self.block * 64, std::sync::atomic::Ordering::Relaxed);
        }
        #[cfg(target_arch = "x86_64")]
        if self.avx512 {
            #[allow(unsafe_code)]
            // SAFETY: the CPU has every feature these are built with
            // (`avx512::available`, asked in `new`).
            return unsafe { self.refill_avx512() };
        }
        self.refill_with(classify, quote_prefix, place)
    }

    /// [`Scanner::refill`] with AVX-512BW compiled in.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,pclmulqdq,popcnt,bmi1,bmi2,lzcnt")]
    fn refill_avx512(&mut self) -> bool {
        self.refill_with(
            |block| avx512::classify(block),
            |x| avx512::quote_prefix(x),
            |out, base, tokens| avx512::place(out, base, tokens),
        )
    }

    #[inline(always)]
    fn refill_with(
        &mut self,
        classify: impl Fn(&[u8; 64]) -> Masks + Copy,
        quote_prefix: impl Fn(u64) -> (u64, u64) + Copy,
        place: impl Fn(&mut [u32], u32, u64) -> usize + Copy,
    ) -> bool {
        self.len = 0;
        self.next = 0;
        while self.len == 0 {
            if self.invalid || self.block == self.blocks {
                self.check_utf8(self.block);
                return false;
            }
            let end = (self.block + BATCH_BLOCKS).min(self.blocks);
            for b in self.block..end {
                self.scan_block(b, classify, quote_prefix, place);
            }
            self.block = end;
        }
        !self.invalid
    }

    #[inline(always)]
    fn scan_block(
        &mut self,
        b: usize,
        classify: impl Fn(&[u8; 64]) -> Masks,
        quote_prefix: impl Fn(u64) -> (u64, u64),
        place: impl Fn(&mut [u32], u32, u64) -> usize,
    ) {
        let (tokens, _) = self.step(b, classify, quote_prefix);
        self.emit(b * 64, tokens, place);
    }

    /// Classifies and checks block `b` and carries the scan's state past
    /// it; returns its tokens and its brackets outside strings.
    #[inline(always)]
    fn step(
        &mut self,
        b: usize,
        classify: impl Fn(&[u8; 64]) -> Masks,
        quote_prefix: impl Fn(u64) -> (u64, u64),
    ) -> (u64, u64) {
        let masks = self.masks(b, classify);
        let (quotes, inside) = self.strings(b, &masks, quote_prefix);
        (
            self.tokens(&masks, quotes, inside),
            masks.brackets & !inside,
        )
    }

    /// Block `b`'s masks (the last, partial block padded with spaces).
    #[inline(always)]
    fn masks(&self, b: usize, classify: impl Fn(&[u8; 64]) -> Masks) -> Masks {
        let start = b * 64;
        match self.bytes.get(start..start + 64) {
            Some(block) => classify(block.try_into().expect("64 bytes")),
            None => {
                let mut block = [b' '; 64];
                block[..self.bytes.len() - start].copy_from_slice(&self.bytes[start..]);
                classify(&block)
            }
        }
    }

    /// Checks block `b` (escapes, control bytes, UTF-8) and carries the
    /// strings' state past it; returns its unescaped quotes and the bytes
    /// inside strings (from an opening quote up to, not including, the
    /// closing one).
    #[inline(always)]
    fn strings(
        &mut self,
        b: usize,
        masks: &Masks,
        quote_prefix: impl Fn(u64) -> (u64, u64),
    ) -> (u64, u64) {
        let start = b * 64;
        let mut escaped_bytes = 0;
        if masks.backslash != 0 || self.escape_carry {
            self.backslash_blocks[b / 64] |= 1 << (b % 64);
            let (e, carry) = escaped(masks.backslash, self.escape_carry);
            escaped_bytes = e;
            self.escape_carry = carry;
            self.check_escapes(start, e);
        }
        let quotes = masks.quote & !escaped_bytes;
        // Inside a string: from its opening quote up to, not including, its closing one.
        let (prefix, flip) = quote_prefix(quotes);
        let inside = prefix ^ self.in_string;
        self.in_string ^= flip;
        if masks.control & inside != 0 {
            self.invalid = true;
        }
        let outside_controls = masks.control & !inside & !masks.newline;
        if outside_controls != 0 {
            self.check_whitespace(start, outside_controls);
        }
        if masks.non_ascii {
            self.non_ascii_from.get_or_insert(b);
        } else {
            self.check_utf8(b);
        }
        (quotes, inside)
    }

    /// The tokens of a block with `masks` and what [`Scanner::strings`]
    /// found in it; carries the scalar run past it.
    #[inline(always)]
    fn tokens(&mut self, masks: &Masks, quotes: u64, inside: u64) -> u64 {
        let structural = masks.structural & !inside;
        let opening = quotes & inside;
        let scalar = !(masks.blank | masks.structural | masks.quote | inside);
        let scalar_starts = scalar & !((scalar << 1) | self.scalar_carry);
        self.scalar_carry = scalar >> 63;
        structural | opening | scalar_starts
    }

    /// Appends the tokens of the block at `start` to the batch.
    #[inline(always)]
    fn emit(&mut self, start: usize, tokens: u64, place: impl Fn(&mut [u32], u32, u64) -> usize) {
        self.len += place(&mut self.tokens[self.len..], start as u32, tokens);
    }

    /// Control bytes outside strings other than line feeds must be tab or
    /// carriage return.
    #[cold]
    fn check_whitespace(&mut self, start: usize, mut controls: u64) {
        while controls != 0 {
            let at = start + controls.trailing_zeros() as usize;
            if !matches!(self.bytes.get(at), Some(b'\t' | b'\n' | b'\r')) {
                self.invalid = true;
            }
            controls &= controls - 1;
        }
    }

    /// Every escaped byte must make a valid escape.
    #[cold]
    fn check_escapes(&mut self, start: usize, mut escaped: u64) {
        while escaped != 0 {
            let at = start + escaped.trailing_zeros() as usize;
            let valid = match self.bytes.get(at) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => true,
                Some(b'u') => self
                    .bytes
                    .get(at + 1..at + 5)
                    .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit)),
                _ => false,
            };
            if !valid {
                self.invalid = true;
            }
            escaped &= escaped - 1;
        }
    }

    /// Checks the run of blocks with non-ASCII bytes that ends before block
    /// `end` (blocks on either side of a run are ASCII, so the run starts and
    /// ends on character boundaries).
    fn check_utf8(&mut self, end: usize) {
        if let Some(from) = self.non_ascii_from.take() {
            let run = &self.bytes[from * 64..(end * 64).min(self.bytes.len())];
            if std::str::from_utf8(run).is_err() {
                self.invalid = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(text: &str) -> Result<Vec<usize>, Invalid> {
        let mut scanner = Scanner::new(text.as_bytes())?;
        let mut out = Vec::new();
        while let Some(pos) = scanner.next_token() {
            out.push(pos);
        }
        scanner.finish().map(|()| out)
    }

    #[test]
    fn tokens_are_brackets_separators_opening_quotes_and_scalar_starts() {
        let text = r#" {"a": [1, -2.5e3, true], "b\"": "x,y}", "c": null}"#;
        let starts: String = tokens(text)
            .unwrap()
            .iter()
            .map(|&p| text.as_bytes()[p] as char)
            .collect();
        assert_eq!(starts, r#"{":[1,-,t],":",":n}"#);
    }

    #[test]
    fn strings_and_escapes_cross_blocks() {
        for pad in 0..70 {
            let text = format!(
                "{{\"{}\": \"a\\\\\\\"b\\u00e9{}\", \"k\": 1}}",
                "p".repeat(pad),
                "\\\\".repeat(pad % 5)
            );
            let starts: String = tokens(&text)
                .unwrap()
                .iter()
                .map(|&p| text.as_bytes()[p] as char)
                .collect();
            assert_eq!(starts, "{\":\",\":1}", "{text}");
        }
    }

    #[test]
    fn invalid_text_is_rejected() {
        for text in [
            "{\"a\": \"unterminated}",
            "{\"a\": \"tab\tinside\"}",
            "{\"a\": 1}\u{1}",
            "{\"a\": \"\\x\"}",
            "{\"a\": \"\\u12g4\"}",
            "{\"a\": \"\\u12\"}",
        ] {
            assert!(tokens(text).is_err(), "{text:?}");
        }
        let mut bytes = b"{\"a\": \"".to_vec();
        bytes.extend_from_slice(&[0xff, 0xfe]);
        bytes.extend_from_slice(b"\"}");
        let mut scanner = Scanner::new(&bytes).unwrap();
        while scanner.next_token().is_some() {}
        assert!(scanner.finish().is_err());
        assert!(tokens("{\"a\":\t\r\n\"\u{e9}\u{1F600}\"}").is_ok());
    }

    /// Skips the value opened by the first token of `text` with
    /// [`Scanner::close_of`]; returns the closing bracket's position and the
    /// tokens after it, with the AVX-512 path if `avx512`.
    fn skip_first(text: &[u8], avx512: bool) -> Result<(usize, Vec<usize>), Invalid> {
        let mut scanner = Scanner::new(text)?;
        #[cfg(target_arch = "x86_64")]
        {
            scanner.avx512 &= avx512;
        }
        let _ = avx512;
        let open = scanner.next_token().ok_or(Invalid)?;
        let close = scanner.close_of(text[open])?;
        let mut after = Vec::new();
        while let Some(pos) = scanner.next_token() {
            after.push(pos);
        }
        scanner.finish().map(|()| (close, after))
    }

    #[test]
    fn a_skipped_value_ends_at_its_closing_bracket_and_the_scan_goes_on_after_it() {
        // Brackets, escaped quotes and backslashes inside strings; the
        // value long enough to leave the first batch, its end at every
        // offset of a block.
        let item = r#"{"a": "x]}\"[{", "b\\": [1, -2.5e3, {"c": null}, []], "d": {}}"#;
        for items in [0, 1, 3, 40, 200] {
            for pad in 0..64 {
                let text = format!(
                    "{}[{}] ,\n 7, \"t]\" ]",
                    " ".repeat(pad),
                    vec![item; items].join(",")
                );
                let all = tokens(&text).unwrap();
                let close = 1 + pad + items * (item.len() + 1) - usize::from(items > 0);
                assert_eq!(text.as_bytes()[close], b']');
                let expected: Vec<usize> = all.into_iter().filter(|&t| t > close).collect();
                for avx512 in [false, true] {
                    let (found, after) = skip_first(text.as_bytes(), avx512).unwrap();
                    assert_eq!(
                        (found, &after),
                        (close, &expected),
                        "{items} items, {pad} spaces"
                    );
                }
            }
        }
    }

    #[test]
    fn a_skipped_value_still_gets_stage_ones_checks_and_paired_brackets() {
        let filler = format!("[{}]", vec!["\"x\""; 600].join(","));
        for (inside, ok) in [
            ("1,,2 x", true),
            ("\"a\": : }", false),
            ("[}", false),
            ("{]", false),
            ("\"\u{1}\"", false),
            ("\"\\q\"", false),
            ("\"\u{ff}\"", true),
        ] {
            for text in [format!("[{inside}]"), format!("[{filler}, {inside}]")] {
                for avx512 in [false, true] {
                    assert_eq!(skip_first(text.as_bytes(), avx512).is_ok(), ok, "{text}");
                }
            }
        }
        // Unclosed, and nested deeper than the limit.
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        for (text, ok) in [
            (format!("[{filler}"), false),
            (deep(Nesting::MAX_DEPTH as usize), true),
            (deep(Nesting::MAX_DEPTH as usize + 1), false),
            (
                format!("[{filler},{}]", deep(Nesting::MAX_DEPTH as usize - 1)),
                true,
            ),
            (
                format!("[{filler},{}]", deep(Nesting::MAX_DEPTH as usize)),
                false,
            ),
        ] {
            for avx512 in [false, true] {
                assert_eq!(skip_first(text.as_bytes(), avx512).is_ok(), ok, "{text}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn simd_and_bytewise_classification_agree(block in proptest::collection::vec(proptest::prelude::any::<u8>(), 64)) {
            let block: [u8; 64] = block.try_into().unwrap();
            proptest::prop_assert_eq!(classify(&block), classify_bytes(&block));
        }

        #[test]
        fn avx512_and_bytewise_classification_agree(block in proptest::collection::vec(proptest::sample::select(b"\"\\{}[]:, \t\n\r\x01\x1f a0-9e\xc3\xa9\x7f\x80\xff;Z".to_vec()), 64), any in proptest::collection::vec(proptest::prelude::any::<u8>(), 64)) {
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                for block in [block, any] {
                    let block: [u8; 64] = block.try_into().unwrap();
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX-512BW, asked just above.
                    let masks = unsafe { avx512::classify(&block) };
                    proptest::prop_assert_eq!(masks, classify_bytes(&block));
                    // What a skipped value's blocks need, the same.
                    #[allow(unsafe_code)]
                    // SAFETY: as above.
                    let skipped = unsafe { avx512::classify_skipped(&block) };
                    proptest::prop_assert_eq!(
                        skipped,
                        Masks { structural: 0, blank: 0, ..masks }
                    );
                }
            }
        }

        #[test]
        fn compressed_and_walked_token_positions_agree(tokens in proptest::prelude::any::<u64>(), base in proptest::prelude::any::<u32>(), sparse in proptest::prelude::any::<u64>()) {
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                for tokens in [tokens, tokens & sparse, 0, u64::MAX, 1 << 63] {
                    let (mut walked, mut compressed) = ([7u32; 80], [9u32; 80]);
                    let n = place(&mut walked, base, tokens);
                    #[allow(unsafe_code)]
                    // SAFETY: the CPU has AVX-512, asked just above.
                    let m = unsafe { avx512::place(&mut compressed, base, tokens) };
                    proptest::prop_assert_eq!(n, tokens.count_ones() as usize);
                    proptest::prop_assert_eq!(m, n);
                    proptest::prop_assert_eq!(&walked[..n], &compressed[..n]);
                }
            }
        }

        #[test]
        fn carry_less_and_shifted_prefix_xor_agree(x in proptest::prelude::any::<u64>()) {
            #[cfg(target_arch = "x86_64")]
            if avx512::available() {
                #[allow(unsafe_code)]
                // SAFETY: the CPU has PCLMULQDQ and POPCNT, asked just above.
                let (clmul, counted) = unsafe { (avx512::prefix_xor(x), avx512::quote_prefix(x)) };
                proptest::prop_assert_eq!(clmul, prefix_xor(x));
                // The flip by count is the shifted prefix's last bit.
                proptest::prop_assert_eq!(counted, quote_prefix(x));
            }
        }

        #[test]
        fn simd_classification_agrees_on_json_bytes(block in proptest::collection::vec(proptest::sample::select(b"\"\\{}[]:, \t\n\r\x01\x1f a0-9e\xc3\xa9\x7f\x80\xff;Z".to_vec()), 64)) {
            let block: [u8; 64] = block.try_into().unwrap();
            proptest::prop_assert_eq!(classify(&block), classify_bytes(&block));
        }
    }
}

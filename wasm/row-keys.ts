// AssemblyScript: the row-key kernel of src/trace/row-kernel.ts, built into dist/trace/row-keys.wasm by
// scripts/build-wasm.mjs. It reads CSV records of the common shape from bytes the caller put in memory, finds the
// fields, hashes the key columns' bytes and looks the key up in a table: a row whose key the caller said to count is
// counted here, as is a row the tally of its key takes (absorb); every other row becomes an event for the caller.
// Every address and size comes from configure(); the caller owns the layout (row-kernel.ts). The record grammar is
// CsvRecordScanner's (src/trace/tokenize.ts), on bytes.

const LF: i32 = 10;
const CR: i32 = 13;
const QUOTE: i32 = 34;
const AT: i32 = 64;
const COMMA: i32 = 44;
const SEMICOLON: i32 = 59;


// What scan() stops with.
const DONE: i32 = 0;
const HANDED_OVER: i32 = 1;
const EVENTS_FULL: i32 = 2;
const TABLE_FULL: i32 = 3;

// Events: a row for the caller.
/** A row whose key was not in the table: added with PENDING, for the caller to say what rows of that key get. */
const EVENT_NEW: i32 = 1;
/** A row whose key is in the table with a value other than a count (PENDING, 0 or negative). */
const EVENT_FOUND: i32 = 2;
/** A row of another length than the header's: no key. */
const EVENT_ODD: i32 = 3;

/** The value of a key the caller has not yet said anything of. */
const PENDING: i32 = 0x7fffffff;
/** Hits an entry counts before the caller takes them (TABLE_FULL). */
const MOST_HITS: i32 = 1 << 30;

// The record scanner's answers.
const NEEDS_MORE: i32 = -1;
const HAND_OVER: i32 = -2;

// Configuration.
let delimiter: i32 = 44;
let fields: i32 = 0;
let mostFields: i32 = 0;
/** The longest record read here, in bytes (CSV_FAST_RECORD of tokenize.ts, given to configure()): longer ones are handed over. */
let fastRecord: i32 = 0;
let keyCount: i32 = 0;
/** Slots a lookup looks at before it gives up (the table is then emptied): lookups stay short whatever the keys. */
let mostProbes: i32 = 0;
/** The hash's starting value, random per kernel: keys cannot be chosen to collide. */
let seed: u64 = 0;
/** Per key part: its column and how it takes part (0 whole, 1 domain, 2 recipients). */
let keyColumns: i32 = 0;
let input: i32 = 0;
/** Per field of the record being read: start and end (two i32). */
let spans: i32 = 0;
let events: i32 = 0;
let eventCapacity: i32 = 0;
/**
 * i32 words per event: kind, start, end, entry, row, the ids of its sender domain and of its interned column's value
 * (or -1), whether it is ASCII, its time (two words: timeOf), the id of its subject (for a key whose tally takes rows by
 * subject, else -1), then start and end per field when it has the header's length.
 */
let eventWords: i32 = 0;
let slots: i32 = 0;
/** The slots in use (a power of two, doubled as keys come, up to slotCapacity), less one. */
let slotMask: i32 = 0;
let slotCapacity: i32 = 0;
let arena: i32 = 0;
let arenaCapacity: i32 = 0;
let entryCapacity: i32 = 0;
/** Per key part: start, end, tag (three i32), for the row being read. */
let keySpans: i32 = 0;
/**
 * The named domains (a sender domain that is one of them, or below one, is a key part of its own; the others are one
 * class): a table of slots (hash, then the string's offset in `named` plus one; two i32 each) and the strings (a length,
 * an i32, then the bytes), lower-case ASCII. A domain being read is lower-cased into `scratch` to be looked up.
 */
let namedSlots: i32 = 0;
let namedMask: i32 = 0;
let named: i32 = 0;
let scratch: i32 = 0;
/** Where scan() writes what it did (i32 words): position, events, line feeds, arena used, entries, records. */
let result: i32 = 0;
/**
 * Values of the rows whose key's value is negative or pending (rows the caller reads one by one, or may), each given a
 * number the first time its bytes are seen, so that the caller works out what it needs of them once: the sender domain
 * of a key whose sender part is the other class (the domain bytes vary within the key), and the whole value of one
 * column (`internColumn`, or -1). A table of slots (hash, then the id plus one; two i32 each; at most half full), the ids'
 * offsets in the arena (`internAt`), and the arena: per id its hash, owner (-2 for a sender domain, -1 for the column),
 * length, then the bytes. Emptied with the key table.
 */
let internSlots: i32 = 0;
let internMask: i32 = 0;
let internAt: i32 = 0;
let internCapacity: i32 = 0;
let internArena: i32 = 0;
let internArenaCapacity: i32 = 0;
let internColumn: i32 = -1;
/** The column of times the events carry as numbers (timeOf), or -1. */
let timeColumn: i32 = -1;
/** The key part that is a sender (part 3), or -1. */
let senderPart: i32 = -1;
/**
 * Tallies (ABSORB_BYTES each) of the rows of keys that the caller lets the kernel count itself although their value is
 * negative (rows it otherwise reads one by one): a row of such a key whose interned value is one of its tally's, whose
 * subject is one of its tally's (unless the tally takes every subject) and whose time is an ISO time (timeValue)
 * changes nothing for the caller but a count and a time range, which the tally keeps (absorb). Per tally (i32 words):
 * rows, values, the first and last time (two i64 from word 2), up to ABSORB_VALUES interned values (from word 6), the
 * entry (word 14), whether it takes every subject (15), subjects (16), then up to ABSORB_SUBJECTS subject ids. The
 * caller gives a key its tally (an entry's word at ENTRY_TALLY), its values and its subjects.
 */
let tallies: i32 = 0;
const ABSORB_VALUES: i32 = 8;
const ABSORB_SUBJECTS: i32 = 4;
/** The subject column (its values are interned for rows of keys whose tally takes rows by subject), or -1. */
let subjectColumn: i32 = -1;
/**
 * inOtherClass's answers for the domains seen, by their bytes (the answer depends on them alone): CLASS_SLOTS slots of
 * CLASS_ENTRY bytes (hash, length, answer, then up to CLASS_BYTES bytes of the domain), a new domain replacing the one
 * in its slot. Longer domains are not remembered.
 */
let classCache: i32 = 0;
const CLASS_SLOTS: i32 = 4096;
const CLASS_BYTES: i32 = 64;
const CLASS_ENTRY: i32 = 16 + CLASS_BYTES;

// State.
let used: i32 = 0;
let entries: i32 = 0;
/** Line feeds inside quoted fields of the record being read. */
let quotedLines: i32 = 0;
let recordFields: i32 = 0;
let internUsed: i32 = 0;
let internCount: i32 = 0;
/** Where the sender domain of the record just read starts, when its key part is the other class (readKey). */
let classFrom: i32 = 0;
let classEnd: i32 = 0;

export function configure(
  delimiterByte: i32,
  headerFields: i32,
  most: i32,
  longestRecord: i32,
  probes: i32,
  hashSeed: i32,
  parts: i32,
  keyColumnsAt: i32,
  inputAt: i32,
  spansAt: i32,
  eventsAt: i32,
  eventsCapacity: i32,
  slotsAt: i32,
  slotCount: i32,
  arenaAt: i32,
  arenaBytes: i32,
  keySpansAt: i32,
  resultAt: i32,
  namedSlotsAt: i32,
  namedSlotCount: i32,
  namedAt: i32,
  namedCount: i32,
  scratchAt: i32,
  internSlotsAt: i32,
  internSlotCount: i32,
  internAtAt: i32,
  internArenaAt: i32,
  internArenaBytes: i32,
  internColumnAt: i32,
  classCacheAt: i32,
  timeColumnAt: i32,
  talliesAt: i32,
  subjectColumnAt: i32,
): void {
  delimiter = delimiterByte;
  fields = headerFields;
  mostFields = most;
  fastRecord = longestRecord;
  mostProbes = probes;
  seed = <u64>(<u32>hashSeed) * K;
  keyCount = parts;
  keyColumns = keyColumnsAt;
  input = inputAt;
  spans = spansAt;
  events = eventsAt;
  eventCapacity = eventsCapacity;
  eventWords = 11 + 2 * headerFields;
  slots = slotsAt;
  slotCapacity = slotCount;
  entryCapacity = slotCount >> 1;
  arena = arenaAt;
  arenaCapacity = arenaBytes;
  keySpans = keySpansAt;
  result = resultAt;
  namedSlots = namedSlotsAt;
  namedMask = namedSlotCount - 1;
  named = namedAt;
  scratch = scratchAt;
  internSlots = internSlotsAt;
  internMask = internSlotCount - 1;
  internCapacity = internSlotCount >> 1;
  internAt = internAtAt;
  internArena = internArenaAt;
  internArenaCapacity = internArenaBytes;
  internColumn = internColumnAt;
  classCache = classCacheAt;
  timeColumn = timeColumnAt;
  tallies = talliesAt;
  subjectColumn = subjectColumnAt;
  memory.fill(<usize>classCache, 0, <usize>(CLASS_SLOTS * CLASS_ENTRY));
  senderPart = -1;
  for (let k = 0; k < parts; k++) if (load<i32>(<usize>(keyColumnsAt + 8 * k + 4)) == 3) senderPart = k;
  memory.fill(<usize>namedSlots, 0, <usize>(8 * namedSlotCount));
  for (let k = 0, at = named; k < namedCount; k++) {
    const length = load<i32>(<usize>at);
    const hash = hashBytes(seed, at + 4, length);
    placeIn(namedSlots, namedMask, <i32>(hash ^ (hash >> 32)), at - named);
    at += (4 + length + 3) & ~3;
  }
  clear();
}

/** Whether the `length` bytes at `at` (absolute) are one of the named domains. */
function isNamed(at: i32, length: i32): bool {
  const hash = hashBytes(seed, at, length);
  const hash32 = <i32>(hash ^ (hash >> 32));
  // The table is at most half full and its strings are the configuration's: runs of slots stay short.
  let slot = hash32 & namedMask;
  while (true) {
    const entry = load<i32>(<usize>(namedSlots + 8 * slot + 4)) - 1;
    if (entry < 0) break;
    const string = named + entry;
    if (load<i32>(<usize>(namedSlots + 8 * slot)) == hash32 && load<i32>(<usize>string) == length && sameBytes(string + 4, at, length)) return true;
    slot = (slot + 1) & namedMask;
  }
  return false;
}

/**
 * Whether the domain from `from` to `end` (input offsets) is one the impact analysis puts in the class of all domains
 * that are not named (ImpactAnalysis.senderClass): plain ASCII as domainOf returns it lower-cased and as it is (no
 * space, control character, quote or `>`, not ending in a dot, not empty), and neither it nor any part after one of its
 * dots is named.
 */
function inOtherClass(from: i32, end: i32): bool {
  const length = end - from;
  if (length <= 0 || length > MOST_DOMAIN || byte(end - 1) == 46) return false;
  if (length > CLASS_BYTES) return classify(from, end);
  // Domains repeat: each answer is remembered by the domain's bytes.
  const hash = hashBytes(seed, input + from, length);
  const hash32 = <i32>(hash ^ (hash >> 32));
  const slot = classCache + CLASS_ENTRY * (hash32 & (CLASS_SLOTS - 1));
  if (load<i32>(<usize>slot) == hash32 && load<i32>(<usize>(slot + 4)) == length && sameBytes(slot + 16, input + from, length)) return load<i32>(<usize>(slot + 8)) != 0;
  const answer = classify(from, end);
  store<i32>(<usize>slot, hash32);
  store<i32>(<usize>(slot + 4), length);
  store<i32>(<usize>(slot + 8), answer ? 1 : 0);
  memory.copy(<usize>(slot + 16), <usize>(input + from), <usize>length);
  return answer;
}

/** inOtherClass's answer worked out (from `from` to `end`, a domain of 1 to MOST_DOMAIN bytes not ending in a dot). */
function classify(from: i32, end: i32): bool {
  const length = end - from;
  // 16 bytes at a time: any byte that is not plain, any upper-case letter, and where the dots are.
  const spaces = i8x16.splat(32);
  const tildes = i8x16.splat(126);
  const quotes = i8x16.splat(<i8>QUOTE);
  const greater = i8x16.splat(62);
  const upperA = i8x16.splat(65);
  const upperRange = i8x16.splat(25);
  const dots = i8x16.splat(46);
  let upper = false;
  for (let i = from; i < end; i += 16) {
    const block = v128.load(<usize>(input + i));
    const odd = v128.or(v128.or(i8x16.le_u(block, spaces), i8x16.gt_u(block, tildes)), v128.or(i8x16.eq(block, quotes), i8x16.eq(block, greater)));
    const left = end - i;
    const keep = left < 16 ? (1 << left) - 1 : 0xffff;
    if ((i8x16.bitmask(odd) & keep) != 0) return false;
    if ((i8x16.bitmask(i8x16.le_u(i8x16.sub(block, upperA), upperRange)) & keep) != 0) upper = true;
  }
  // The bytes as domainOf returns them: lower-cased (into scratch) when there is an upper-case letter.
  let at = input + from;
  if (upper) {
    for (let i = 0; i < length; i++) {
      let c = byte(from + i);
      if (c >= 65 && c <= 90) c += 32;
      store<u8>(<usize>(scratch + i), <u8>c);
    }
    at = scratch;
  }
  if (isNamed(at, length)) return false;
  // Each part after a dot (as classOf walks them).
  for (let i = 0; i < length; i += 16) {
    let bits = i8x16.bitmask(i8x16.eq(v128.load(<usize>(at + i)), dots));
    if (length - i < 16) bits &= (1 << (length - i)) - 1;
    while (bits != 0) {
      const dot = i + ctz<i32>(bits);
      if (isNamed(at + dot + 1, length - dot - 1)) return false;
      bits &= bits - 1;
    }
  }
  return true;
}

/** The longest domain looked up in the named ones (`scratch` holds it); a longer one is a key part of its own. */
const MOST_DOMAIN: i32 = 255;

/** Empties the table. */
export function clear(): void {
  // Few slots while keys are few: the table stays in the processor's caches.
  slotMask = min(FIRST_SLOTS, slotCapacity) - 1;
  memory.fill(<usize>slots, 0, <usize>((slotMask + 1) * 8));
  used = 0;
  entries = 0;
  if (internCount > 0) memory.fill(<usize>internSlots, 0, <usize>((internMask + 1) * 8));
  internUsed = 0;
  internCount = 0;
}

const FIRST_SLOTS: i32 = 4096;

/** Twice the slots, every entry placed again (each holds its hash). */
function grow(): void {
  slotMask = 2 * (slotMask + 1) - 1;
  memory.fill(<usize>slots, 0, <usize>((slotMask + 1) * 8));
  for (let entry = 0; entry < used; entry += load<i32>(<usize>(arena + entry + 8))) place(load<i32>(<usize>(arena + entry + 12)), entry);
}

function place(hash32: i32, entry: i32): void {
  placeIn(slots, slotMask, hash32, entry);
}

/** An entry (an offset) and its hash into the first free slot from the hash's in a table of slots (two i32 each). */
function placeIn(table: i32, mask: i32, hash32: i32, entry: i32): void {
  let slot = hash32 & mask;
  while (load<i32>(<usize>(table + 8 * slot + 4)) != 0) slot = (slot + 1) & mask;
  store<i32>(<usize>(table + 8 * slot), hash32);
  store<i32>(<usize>(table + 8 * slot + 4), entry + 1);
}

@inline function byte(at: i32): i32 {
  return <i32>load<u8>(<usize>(input + at));
}

/**
 * The first quote at or after `from` and before `end`, or -1; the line feeds before it (or before `end`) are added to
 * quotedLines.
 */
function nextQuote(from: i32, end: i32): i32 {
  const quotes = i8x16.splat(<i8>QUOTE);
  const feeds = i8x16.splat(<i8>LF);
  for (let i = from; i < end; i += 16) {
    const block = v128.load(<usize>(input + i));
    let quoteBits = i8x16.bitmask(i8x16.eq(block, quotes));
    let feedBits = i8x16.bitmask(i8x16.eq(block, feeds));
    const left = end - i;
    if (left < 16) {
      const keep = (1 << left) - 1;
      quoteBits &= keep;
      feedBits &= keep;
    }
    if (quoteBits != 0) {
      const at = ctz<i32>(quoteBits);
      quotedLines += popcnt<i32>(feedBits & ((1 << at) - 1));
      return i + at;
    }
    quotedLines += popcnt<i32>(feedBits);
  }
  return -1;
}

/** The first delimiter, line feed or quote at or after `from` and before `end`, or `end`. */
function nextStop(from: i32, end: i32): i32 {
  const delimiters = i8x16.splat(<i8>delimiter);
  const feeds = i8x16.splat(<i8>LF);
  const quotes = i8x16.splat(<i8>QUOTE);
  for (let i = from; i < end; i += 16) {
    const block = v128.load(<usize>(input + i));
    let bits = i8x16.bitmask(v128.or(v128.or(i8x16.eq(block, delimiters), i8x16.eq(block, feeds)), i8x16.eq(block, quotes)));
    const left = end - i;
    if (left < 16) bits &= (1 << left) - 1;
    if (bits != 0) return i + ctz<i32>(bits);
  }
  return end;
}

/**
 * One record (or an empty line) from `start` in the first `end` bytes: the index after it, NEEDS_MORE or HAND_OVER.
 * Its fields' spans go to `spans`, their count to recordFields (0: an empty line), its quoted line feeds to
 * quotedLines. As CsvRecordScanner.record reads text.
 */
function record(start: i32, end: i32, last: bool): i32 {
  recordFields = 0;
  quotedLines = 0;
  const first = byte(start);
  if (first == LF) return start + 1;
  if (first == CR) {
    if (start + 1 >= end) return last ? HAND_OVER : NEEDS_MORE;
    if (byte(start + 1) == LF) return start + 2;
  }
  let count = 0;
  let i = start;
  while (true) {
    if (i - start > fastRecord || count >= mostFields) return HAND_OVER;
    if (i < end && byte(i) == QUOTE) {
      const open = i;
      let from = i + 1;
      let close = 0;
      while (true) {
        const quote = nextQuote(from, end);
        if (quote < 0) return last ? HAND_OVER : NEEDS_MORE;
        if (quote + 1 >= end) {
          if (!last) return NEEDS_MORE;
          close = quote;
          break;
        }
        if (byte(quote + 1) == QUOTE) {
          from = quote + 2;
          continue;
        }
        close = quote;
        break;
      }
      store<i32>(<usize>(spans + 8 * count), open + 1);
      store<i32>(<usize>(spans + 8 * count + 4), close);
      count++;
      i = close + 1;
      if (i >= end) break;
      const c = byte(i);
      if (c == delimiter) {
        i++;
        continue;
      }
      if (c == LF) {
        i++;
        break;
      }
      if (c == CR) {
        if (i + 1 >= end) return last ? HAND_OVER : NEEDS_MORE;
        if (byte(i + 1) == LF) {
          i += 2;
          break;
        }
      }
      return HAND_OVER;
    }
    const k = nextStop(i, end);
    if (k >= end) {
      if (!last) return NEEDS_MORE;
      store<i32>(<usize>(spans + 8 * count), i);
      store<i32>(<usize>(spans + 8 * count + 4), k);
      count++;
      i = k;
      break;
    }
    const c = byte(k);
    if (c == QUOTE) return HAND_OVER;
    store<i32>(<usize>(spans + 8 * count), i);
    // The CR of a CR LF ends the record; a lone CR is text.
    store<i32>(<usize>(spans + 8 * count + 4), c == LF && k > i && byte(k - 1) == CR ? k - 1 : k);
    count++;
    i = k + 1;
    if (c == LF) break;
  }
  if (count >= mostFields || i - start > fastRecord) return HAND_OVER;
  recordFields = count;
  return i;
}

const K: u64 = 0x9e3779b97f4a7c15;

@inline function mix(hash: u64, word: u64): u64 {
  const h = (hash ^ word) * K;
  return h ^ (h >> 29);
}

/** `bytes` bytes from `at` (absolute), eight at a time; the last word's bytes past them are masked off. */
function hashBytes(hash: u64, at: i32, bytes: i32): u64 {
  let i = 0;
  for (; i + 8 <= bytes; i += 8) hash = mix(hash, load<u64>(<usize>(at + i)));
  if (i < bytes) hash = mix(hash, load<u64>(<usize>(at + i)) & ((<u64>1 << (<u64>(bytes - i) * 8)) - 1));
  return hash;
}

/** Whether `bytes` bytes at `a` and at `b` (absolute) are the same. */
function sameBytes(a: i32, b: i32, bytes: i32): bool {
  let i = 0;
  for (; i + 8 <= bytes; i += 8) if (load<u64>(<usize>(a + i)) != load<u64>(<usize>(b + i))) return false;
  if (i < bytes) {
    const mask = (<u64>1 << (<u64>(bytes - i) * 8)) - 1;
    if ((load<u64>(<usize>(a + i)) & mask) != (load<u64>(<usize>(b + i)) & mask)) return false;
  }
  return true;
}

/** Bits of the bytes equal to `byte` in the 16 from `at` that lie in [from, to). */
@inline function bitsOf(block: v128, byte: v128, at: i32, from: i32, to: i32): i32 {
  let bits = i8x16.bitmask(i8x16.eq(block, byte));
  if (at < from) bits &= ~((1 << (from - at)) - 1);
  if (at + 16 > to) bits &= (1 << (to - at)) - 1;
  return bits;
}

/** The key of the record just read: its parts to keySpans, and its hash. */
function readKey(): u64 {
  const ats = i8x16.splat(<i8>AT);
  const semicolons = i8x16.splat(<i8>SEMICOLON);
  const commas = i8x16.splat(<i8>COMMA);
  let hash: u64 = seed;
  for (let k = 0; k < keyCount; k++) {
    const column = load<i32>(<usize>(keyColumns + 8 * k));
    const part = load<i32>(<usize>(keyColumns + 8 * k + 4));
    const start = load<i32>(<usize>(spans + 8 * column));
    const end = load<i32>(<usize>(spans + 8 * column + 4));
    let from = start;
    let tag = 0;
    if (part != 0) {
      // The last `@`, and whether a list separator is anywhere in the value.
      let at = -1;
      let list = false;
      for (let i = start; i < end; i += 16) {
        const block = v128.load(<usize>(input + i));
        const bits = bitsOf(block, ats, i, start, end);
        if (bits != 0) at = i + 31 - clz<i32>(bits);
        if (part == 2 && (bitsOf(block, semicolons, i, start, end) | bitsOf(block, commas, i, start, end)) != 0) list = true;
      }
      // The domain after the last `@` decides, unless the value is a list of addresses; for a sender (part 3), only
      // whether it is named, when it is not (the other class: no bytes, tag 3).
      if (at >= 0 && !list) {
        from = at + 1;
        tag = 1;
        if (part == 3 && inOtherClass(from, end)) {
          classFrom = from;
          classEnd = end;
          from = end;
          tag = 3;
        }
      }
    }
    store<i32>(<usize>(keySpans + 12 * k), from);
    store<i32>(<usize>(keySpans + 12 * k + 4), end);
    store<i32>(<usize>(keySpans + 12 * k + 8), tag);
    hash = hashBytes(hash, input + from, end - from);
    hash = mix(hash, <u64>(0x100 + tag));
  }
  return hash;
}

// An entry in the arena (at a multiple of 4): hits, value, its size in bytes, its hash, its tally (one more than its
// number, 0: none), then per part its length and tag (two i32), then the parts' bytes.
const ENTRY_HEADER: i32 = 20;
const ENTRY_TALLY: i32 = 16;

/** The entry of the key just read, -1 (not there), or -2 (not found within mostProbes slots). */
function find(hash32: i32): i32 {
  let slot = hash32 & slotMask;
  for (let probe = 0; probe < mostProbes; probe++) {
    const at = slots + 8 * slot;
    const entry = load<i32>(<usize>(at + 4)) - 1;
    if (entry < 0) return -1;
    if (load<i32>(<usize>at) == hash32 && sameKey(entry)) return entry;
    slot = (slot + 1) & slotMask;
  }
  return -2;
}

function sameKey(entry: i32): bool {
  const base = arena + entry;
  let bytes = base + ENTRY_HEADER + 8 * keyCount;
  for (let k = 0; k < keyCount; k++) {
    const start = load<i32>(<usize>(keySpans + 12 * k));
    const length = load<i32>(<usize>(keySpans + 12 * k + 4)) - start;
    if (load<i32>(<usize>(base + ENTRY_HEADER + 8 * k)) != length || load<i32>(<usize>(base + ENTRY_HEADER + 4 + 8 * k)) != load<i32>(<usize>(keySpans + 12 * k + 8))) return false;
    if (!sameBytes(bytes, input + start, length)) return false;
    bytes += length;
  }
  return true;
}

/** Adds the key just read (not found) with PENDING: its entry, or -1 when the table is full. */
function insert(hash32: i32): i32 {
  let length = 0;
  for (let k = 0; k < keyCount; k++) length += load<i32>(<usize>(keySpans + 12 * k + 4)) - load<i32>(<usize>(keySpans + 12 * k));
  const size = (ENTRY_HEADER + 8 * keyCount + length + 3) & ~3;
  if (entries >= entryCapacity || used + size > arenaCapacity) return -1;
  if (2 * (entries + 1) > slotMask + 1) grow();
  const entry = used;
  const base = arena + entry;
  store<i32>(<usize>base, 0);
  store<i32>(<usize>(base + 4), PENDING);
  store<i32>(<usize>(base + 8), size);
  store<i32>(<usize>(base + 12), hash32);
  store<i32>(<usize>(base + ENTRY_TALLY), 0);
  let bytes = base + ENTRY_HEADER + 8 * keyCount;
  for (let k = 0; k < keyCount; k++) {
    const start = load<i32>(<usize>(keySpans + 12 * k));
    const partLength = load<i32>(<usize>(keySpans + 12 * k + 4)) - start;
    store<i32>(<usize>(base + ENTRY_HEADER + 8 * k), partLength);
    store<i32>(<usize>(base + ENTRY_HEADER + 4 + 8 * k), load<i32>(<usize>(keySpans + 12 * k + 8)));
    memory.copy(<usize>bytes, <usize>(input + start), <usize>partLength);
    bytes += partLength;
  }
  used += size;
  entries++;
  place(hash32, entry);
  return entry;
}

/**
 * The id of the bytes from `from` to `end` (input offsets) for `owner`, given them now if they are new; -1 when the
 * table is full or a lookup runs past mostProbes slots (the caller empties both tables and reads the record again).
 */
function intern(owner: i32, from: i32, end: i32): i32 {
  const length = end - from;
  const hash = hashBytes(mix(seed, <u64>(owner + 2)), input + from, length);
  const hash32 = <i32>(hash ^ (hash >> 32));
  let slot = hash32 & internMask;
  for (let probe = 0; probe < mostProbes; probe++) {
    const at = internSlots + 8 * slot;
    const id = load<i32>(<usize>(at + 4)) - 1;
    if (id < 0) {
      const size = (12 + length + 3) & ~3;
      if (internCount >= internCapacity || internUsed + size > internArenaCapacity) return -1;
      const base = internArena + internUsed;
      store<i32>(<usize>base, hash32);
      store<i32>(<usize>(base + 4), owner);
      store<i32>(<usize>(base + 8), length);
      memory.copy(<usize>(base + 12), <usize>(input + from), <usize>length);
      store<i32>(<usize>(internAt + 4 * internCount), internUsed);
      store<i32>(<usize>at, hash32);
      store<i32>(<usize>(at + 4), internCount + 1);
      internUsed += size;
      return internCount++;
    }
    if (load<i32>(<usize>at) == hash32) {
      const base = internArena + load<i32>(<usize>(internAt + 4 * id));
      if (load<i32>(<usize>(base + 4)) == owner && load<i32>(<usize>(base + 8)) == length && sameBytes(base + 12, input + from, length)) return id;
    }
    slot = (slot + 1) & internMask;
  }
  return -1;
}

/** Whether the bytes from `from` to `end` (input offsets) are all ASCII. */
function asciiBytes(from: i32, end: i32): bool {
  let any = i8x16.splat(0);
  let i = from;
  for (; i + 16 <= end; i += 16) any = v128.or(any, v128.load(<usize>(input + i)));
  let bits = i8x16.bitmask(any);
  if (i < end) bits |= i8x16.bitmask(v128.load(<usize>(input + i))) & ((1 << (end - i)) - 1);
  return bits == 0;
}

/** The `count`th event of this scan: its record from `start` to `end`, `row` records after the scan's first. */
function event(kind: i32, count: i32, start: i32, end: i32, entry: i32, row: i32, domain: i32, value: i32, subject: i32): void {
  const at = events + 4 * eventWords * count;
  store<i32>(<usize>at, kind);
  store<i32>(<usize>(at + 4), start);
  store<i32>(<usize>(at + 8), end);
  store<i32>(<usize>(at + 12), entry);
  store<i32>(<usize>(at + 16), row);
  store<i32>(<usize>(at + 20), domain);
  store<i32>(<usize>(at + 24), value);
  store<i32>(<usize>(at + 28), asciiBytes(start, end) ? 1 : 0);
  store<i32>(<usize>(at + 32), -1);
  store<i32>(<usize>(at + 40), subject);
  if (recordFields == fields) {
    const time = timeValue();
    if (time >= 0) {
      store<i32>(<usize>(at + 32), <i32>(time >> 32));
      store<i32>(<usize>(at + 36), <i32>time);
    }
    memory.copy(<usize>(at + 44), <usize>spans, <usize>(8 * fields));
  }
}

/** The time of the record just read (of the header's length) as timeOf gives it, high word first; -1 when none. */
function timeValue(): i64 {
  if (timeColumn < 0) return -1;
  return timeOf(load<i32>(<usize>(spans + 8 * timeColumn)), load<i32>(<usize>(spans + 8 * timeColumn + 4)));
}

/**
 * Counts the record just read into tally `tally` when its interned value `value` is one of the tally's, its subject's
 * id `subject` too (unless the tally takes every subject) and its time is an ISO time; false (the record is an event)
 * otherwise.
 */
function absorb(tally: i32, value: i32, subject: i32): bool {
  const at = tallies + ABSORB_BYTES * tally;
  if (!listed(at + TALLY_VALUE, load<i32>(<usize>(at + TALLY_VALUES)), value)) return false;
  if (!takesEverySubject(tally) && !listed(at + TALLY_SUBJECT, load<i32>(<usize>(at + TALLY_SUBJECTS)), subject)) return false;
  const time = timeValue();
  const rows = load<i32>(<usize>(at + TALLY_ROWS));
  if (time < 0 || rows >= MOST_HITS) return false;
  store<i32>(<usize>(at + TALLY_ROWS), rows + 1);
  if (rows == 0 || time < load<i64>(<usize>(at + TALLY_FIRST))) store<i64>(<usize>(at + TALLY_FIRST), time);
  if (rows == 0 || time > load<i64>(<usize>(at + TALLY_LAST))) store<i64>(<usize>(at + TALLY_LAST), time);
  return true;
}

/** Whether a tally takes rows whatever their subject. */
function takesEverySubject(tally: i32): bool {
  return load<i32>(<usize>(tallies + ABSORB_BYTES * tally + TALLY_EVERY_SUBJECT)) != 0;
}

/** Whether `id` is one of the `count` i32 from `at`. */
function listed(at: i32, count: i32, id: i32): bool {
  for (let k = 0; k < count; k++) if (load<i32>(<usize>(at + 4 * k)) == id) return true;
  return false;
}

// A tally's bytes (the words row-kernel.ts's TALLY names): rows, values, first and last time (i64), values, entry,
// whether it takes every subject, subjects, subject ids; 96 bytes in all (TALLY_WORDS there).
const TALLY_ROWS: i32 = 0;
const TALLY_VALUES: i32 = 4;
const TALLY_FIRST: i32 = 8;
const TALLY_LAST: i32 = 16;
const TALLY_VALUE: i32 = 24;
const TALLY_EVERY_SUBJECT: i32 = 24 + 4 * ABSORB_VALUES + 4;
const TALLY_SUBJECTS: i32 = TALLY_EVERY_SUBJECT + 4;
const TALLY_SUBJECT: i32 = TALLY_SUBJECTS + 4;
const ABSORB_BYTES: i32 = 96;

@inline function digits2(at: i32): i32 {
  const tens = byte(at) - 48;
  const ones = byte(at + 1) - 48;
  return <u32>tens > 9 || <u32>ones > 9 ? -1000 : tens * 10 + ones;
}

/**
 * The time from `from` to `end` (input offsets) as a number, when it is an ISO time as parseTime keeps it as it is
 * (`2026-11-01T00:00:00.000Z`: 24 bytes; month 1 to 12, day 1 to 31, hour below 24, minutes and seconds below 60, as
 * its canonicalTime and Date.parse accept them): two i32 (high, then low) such that numbers order as the texts do,
 * year, month, day and hour (14, 4, 5 and 5 bits: 28 bits), then minutes, seconds and milliseconds (6, 6 and 10 bits);
 * -1 for any other text.
 */
function timeOf(from: i32, end: i32): i64 {
  if (end - from != 24) return -1;
  if (byte(from + 4) != 45 || byte(from + 7) != 45 || byte(from + 10) != 84 || byte(from + 13) != 58 || byte(from + 16) != 58 || byte(from + 19) != 46 || byte(from + 23) != 90) return -1;
  const century = digits2(from);
  const year = digits2(from + 2);
  const month = digits2(from + 5);
  const day = digits2(from + 8);
  const hour = digits2(from + 11);
  const minute = digits2(from + 14);
  const second = digits2(from + 17);
  const tenths = digits2(from + 20);
  const last = byte(from + 22) - 48;
  if (century < 0 || year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59 || tenths < 0 || <u32>last > 9) return -1;
  const high = (((century * 100 + year) * 16 + month) * 32 + day) * 32 + hour;
  const low = (minute * 64 + second) * 1024 + tenths * 10 + last;
  return (<i64>high << 32) | <i64>low;
}

/**
 * Reads records from `from` in the first `end` bytes of the input (`last`: no more will come). Stops at the end, at a
 * record it does not read (HANDED_OVER), when the events are full (EVENTS_FULL) or when the table is (TABLE_FULL); the
 * result says where (the record to go on from), how many events there are and how many line feeds were passed.
 */
export function scan(from: i32, end: i32, last: bool): i32 {
  let i = from;
  let count = 0;
  let lines = 0;
  let rows = 0;
  let status = DONE;
  while (i < end) {
    if (count >= eventCapacity) {
      status = EVENTS_FULL;
      break;
    }
    const next = record(i, end, last);
    if (next == NEEDS_MORE) break;
    if (next == HAND_OVER) {
      status = HANDED_OVER;
      break;
    }
    if (recordFields == 0) {
      lines++;
      i = next;
      continue;
    }
    if (recordFields == fields) {
      const hash = readKey();
      const hash32 = <i32>(hash ^ (hash >> 32));
      let entry = find(hash32);
      if (entry == -2) {
        // A run of slots too long: the table is emptied (TABLE_FULL) and the record read again.
        status = TABLE_FULL;
        break;
      }
      if (entry < 0) {
        entry = insert(hash32);
        if (entry < 0) {
          status = TABLE_FULL;
          break;
        }
        event(EVENT_NEW, count++, i, next, entry, rows, -1, -1, -1);
      } else {
        const value = load<i32>(<usize>(arena + entry + 4));
        if (value > 0 && value != PENDING) {
          const hits = load<i32>(<usize>(arena + entry)) + 1;
          if (hits >= MOST_HITS) {
            status = TABLE_FULL;
            break;
          }
          store<i32>(<usize>(arena + entry), hits);
        } else {
          // A row the caller reads one by one (or may: the caller says what rows of a PENDING key get after the first,
          // which is an event of this scan): its sender domain (when the key has only its class) and its interned
          // column's value, by id.
          let domain = -1;
          let interned = -1;
          if (value < 0 || value == PENDING) {
            const classed = senderPart >= 0 && load<i32>(<usize>(keySpans + 12 * senderPart + 8)) == 3;
            if (classed) domain = intern(-2, classFrom, classEnd);
            if (internColumn >= 0) interned = intern(-1, load<i32>(<usize>(spans + 8 * internColumn)), load<i32>(<usize>(spans + 8 * internColumn + 4)));
            if ((classed && domain < 0) || (internColumn >= 0 && interned < 0)) {
              // The values' table is full: emptied with the key table, and the record read again.
              status = TABLE_FULL;
              break;
            }
          }
          // A row the caller let the kernel count (a tally of the key's, a value and a subject of the tally's): no event.
          const tally = value == PENDING || domain >= 0 ? -1 : load<i32>(<usize>(arena + entry + ENTRY_TALLY)) - 1;
          let subject = -1;
          if (tally >= 0 && subjectColumn >= 0 && !takesEverySubject(tally)) {
            subject = intern(-4, load<i32>(<usize>(spans + 8 * subjectColumn)), load<i32>(<usize>(spans + 8 * subjectColumn + 4)));
            if (subject < 0) {
              status = TABLE_FULL;
              break;
            }
          }
          if (tally < 0 || !absorb(tally, interned, subject)) event(EVENT_FOUND, count++, i, next, entry, rows, domain, interned, subject);
        }
      }
    } else event(EVENT_ODD, count++, i, next, -1, rows, -1, -1, -1);
    lines += 1 + quotedLines;
    rows++;
    i = next;
  }
  store<i32>(<usize>result, i);
  store<i32>(<usize>(result + 4), count);
  store<i32>(<usize>(result + 8), lines);
  store<i32>(<usize>(result + 12), used);
  store<i32>(<usize>(result + 16), entries);
  store<i32>(<usize>(result + 20), rows);
  return status;
}

import { readFileSync } from 'node:fs';
import { parseIpv4, parseIpv6 } from './ip';

/**
 * IP-to-ASN ranges held in typed arrays: ~515,000 rows as a string per line and an object per
 * row cost well over 100 MB of heap while loading; as parallel typed arrays they cost ~9 MB and
 * leave the GC nothing to trace. Organisation names are deduplicated into one string table that
 * rows point into, and the CSV is parsed from the file's bytes without a string per line.
 *
 * Lookups binary-search the range starts: the row that covers an address is the last one whose
 * start is <= the address, provided its end is >= the address. Where rows overlap (one case in
 * the IPv4 data), the later-starting, narrower row therefore wins.
 *
 * IPv6 keeps only the upper 64 bits of each bound (two Uint32 words, hi and lo) — a /64 is the
 * smallest block assigned to a site, and the 64-bit keys halve memory and comparisons against
 * 128-bit ones. The cost: a range narrower than a /64 is widened to the whole /64 it lies in,
 * and where several rows share a /64 the last of them answers for the entire /64 (51 of the
 * 103,197 rows in the 2026-06-17 data are narrower than a /64).
 */

/** Where a CSV lacks rows for an address; callers see `null` ASN and organisation. */
export const NOT_FOUND = -1;

export interface AsnTableStats {
  ipv4Ranges: number;
  ipv6Ranges: number;
  organisations: number;
}

const COMMA = 44;
const LF = 10;
const CR = 13;
const QUOTE = 34;
const HASH = 35;
const TWO_32 = 4294967296;

/** Growable parallel columns; trimmed to exact length (a copy) when parsing ends. */
class Columns {
  length = 0;
  startHi: Uint32Array;
  startLo: Uint32Array;
  endHi: Uint32Array;
  endLo: Uint32Array;
  asn: Uint32Array;
  org: Uint32Array;

  constructor(
    capacity: number,
    private readonly wide: boolean,
  ) {
    this.startHi = new Uint32Array(capacity);
    this.endHi = new Uint32Array(capacity);
    this.startLo = new Uint32Array(wide ? capacity : 0);
    this.endLo = new Uint32Array(wide ? capacity : 0);
    this.asn = new Uint32Array(capacity);
    this.org = new Uint32Array(capacity);
  }

  push(sHi: number, sLo: number, eHi: number, eLo: number, asn: number, org: number): void {
    if (this.length === this.startHi.length) this.grow();
    const i = this.length++;
    this.startHi[i] = sHi;
    this.endHi[i] = eHi;
    if (this.wide) {
      this.startLo[i] = sLo;
      this.endLo[i] = eLo;
    }
    this.asn[i] = asn;
    this.org[i] = org;
  }

  private grow(): void {
    const size = Math.max(1024, this.startHi.length * 2);
    const widen = (a: Uint32Array, wanted: boolean): Uint32Array => {
      const b = new Uint32Array(wanted ? size : 0);
      b.set(a);
      return b;
    };
    this.startHi = widen(this.startHi, true);
    this.endHi = widen(this.endHi, true);
    this.startLo = widen(this.startLo, this.wide);
    this.endLo = widen(this.endLo, this.wide);
    this.asn = widen(this.asn, true);
    this.org = widen(this.org, true);
  }

  trim(): void {
    const n = this.length;
    this.startHi = this.startHi.slice(0, n);
    this.endHi = this.endHi.slice(0, n);
    this.startLo = this.startLo.slice(0, this.wide ? n : 0);
    this.endLo = this.endLo.slice(0, this.wide ? n : 0);
    this.asn = this.asn.slice(0, n);
    this.org = this.org.slice(0, n);
  }
}

/**
 * Deduplicated organisation names; index 0 is the empty name (reported as null).
 *
 * Every ASN has one name, repeated on each of its rows and again in the other file, so the raw
 * bytes of a row's name are first compared with the bytes the ASN's name came from: that skips
 * decoding and hashing a string for ~75% of rows. The byte sources are only held while loading.
 */
class OrgTable {
  readonly names: string[] = [''];
  private readonly index = new Map<string, number>([['', 0]]);
  private readonly byAsn = new Map<number, number>();
  private readonly srcBuf: Buffer[] = [];
  private readonly srcStart: number[] = [];
  private readonly srcEnd: number[] = [];

  /** The org index for the name in `buf[start, end)` (raw CSV field, quotes included). */
  fromBytes(asn: number, buf: Buffer, start: number, end: number): number {
    const known = this.byAsn.get(asn);
    if (known !== undefined) {
      const b = this.srcBuf[known];
      if (
        b !== undefined &&
        sameBytes(buf, start, end, b, this.srcStart[known], this.srcEnd[known])
      ) {
        return known;
      }
    }
    let name: string;
    if (buf[start] === QUOTE) {
      name = buf.toString('utf8', start + 1, end - 1);
      if (name.includes('""')) name = name.replaceAll('""', '"');
    } else {
      name = buf.toString('utf8', start, end);
    }
    const org = this.intern(name.trim());
    this.byAsn.set(asn, org);
    this.srcBuf[org] = buf;
    this.srcStart[org] = start;
    this.srcEnd[org] = end;
    return org;
  }

  private intern(name: string): number {
    let i = this.index.get(name);
    if (i === undefined) {
      i = this.names.length;
      this.names.push(name);
      this.index.set(name, i);
    }
    return i;
  }
}

/** Byte equality of two short ranges; a JS loop beats Buffer.compare's call overhead here. */
function sameBytes(
  a: Buffer,
  aStart: number,
  aEnd: number,
  b: Buffer,
  bStart: number,
  bEnd: number,
): boolean {
  const n = aEnd - aStart;
  if (n !== bEnd - bStart) return false;
  for (let i = 0; i < n; i++) {
    if (a[aStart + i] !== b[bStart + i]) return false;
  }
  return true;
}

/** Parses one `start,end,asn,org` CSV held in a Buffer, without building a string per line. */
class CsvParser {
  private pos = 0;
  private line = 1;
  /** Limbs of a 128-bit decimal being parsed: 4 x 32 bits, least significant first. */
  private readonly limbs = new Float64Array(4);
  /** The upper 64 bits of the last 128-bit field, as two words. */
  hi = 0;
  lo = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly path: string,
    private readonly orgs: OrgTable,
  ) {}

  fail(message: string): never {
    throw new Error(`${this.path} line ${this.line}: ${message}`);
  }

  /** Skips blank lines, `#` comments and a header line; false at end of input. */
  nextRow(): boolean {
    const buf = this.buf;
    for (;;) {
      if (this.pos >= buf.length) return false;
      const c = buf[this.pos];
      if (c === LF || c === CR || c === HASH || (this.line === 1 && this.isHeader())) {
        this.skipLine();
        continue;
      }
      return true;
    }
  }

  /** A first line whose first field is not an address bound names the columns. */
  private isHeader(): boolean {
    const first = this.buf.toString('latin1', this.pos, this.fieldEnd());
    return !/^\d+$/.test(first) && parseIpv4(first) < 0 && parseIpv6(first) === null;
  }

  private skipLine(): void {
    const next = this.buf.indexOf(LF, this.pos);
    this.pos = next < 0 ? this.buf.length : next + 1;
    this.line++;
  }

  /** The end of the current unquoted field (the index of its comma or line end). */
  private fieldEnd(): number {
    const buf = this.buf;
    let i = this.pos;
    while (i < buf.length) {
      const c = buf[i];
      if (c === COMMA || c === LF || c === CR) break;
      i++;
    }
    return i;
  }

  expectComma(): void {
    if (this.buf[this.pos] !== COMMA) this.fail('expected 4 comma-separated fields');
    this.pos++;
  }

  /** An unsigned 32-bit integer field, e.g. an ASN or a numeric IPv4 bound. */
  readUint32(): number {
    const buf = this.buf;
    const start = this.pos;
    let value = 0;
    let i = start;
    for (; i < buf.length; i++) {
      const d = buf[i] - 48;
      if (d < 0 || d > 9) break;
      value = value * 10 + d;
    }
    if (i === start || i - start > 10 || value > 0xffffffff) return -1;
    this.pos = i;
    return value;
  }

  /** An IPv4 bound: an integer, or a dotted quad as in the non-`-num` files. */
  readIpv4(): number {
    const start = this.pos;
    const asInteger = this.readUint32();
    if (asInteger >= 0 && this.buf[this.pos] === COMMA) return asInteger;
    this.pos = start;
    const end = this.fieldEnd();
    const v4 = parseIpv4(this.buf.toString('latin1', start, end));
    if (v4 < 0) this.fail('bad IPv4 range bound');
    this.pos = end;
    return v4;
  }

  /** An IPv6 bound (decimal 128-bit integer or IPv6 text); sets `hi` and `lo`. */
  readIpv6(): void {
    const buf = this.buf;
    const start = this.pos;
    const end = this.fieldEnd();
    let decimal = end > start;
    for (let i = start; i < end && decimal; i++) decimal = buf[i] >= 48 && buf[i] <= 57;
    if (!decimal) {
      const v6 = parseIpv6(buf.toString('latin1', start, end));
      if (v6 === null) this.fail('bad IPv6 range bound');
      this.hi = v6.w0;
      this.lo = v6.w1;
      this.pos = end;
      return;
    }
    // Base-10^4 chunks multiplied into four 32-bit limbs held in doubles: every intermediate
    // stays below 2^46, so the arithmetic is exact and no BigInt is allocated per row.
    const limbs = this.limbs;
    limbs.fill(0);
    let i = start;
    while (i < end) {
      const chunkEnd = Math.min(end, i + 4);
      let chunk = 0;
      let scale = 1;
      for (; i < chunkEnd; i++) {
        chunk = chunk * 10 + (buf[i] - 48);
        scale *= 10;
      }
      let carry = chunk;
      for (let k = 0; k < 4; k++) {
        const t = limbs[k] * scale + carry;
        carry = Math.floor(t / TWO_32);
        limbs[k] = t - carry * TWO_32;
      }
      if (carry !== 0) this.fail('IPv6 range bound exceeds 128 bits');
    }
    this.hi = limbs[3];
    this.lo = limbs[2];
    this.pos = end;
  }

  /** The organisation field (CSV-quoted or bare) up to the line end, interned. */
  readOrg(asn: number): number {
    const buf = this.buf;
    const start = this.pos;
    let end: number;
    if (buf[start] === QUOTE) {
      let i = start;
      for (;;) {
        i = buf.indexOf(QUOTE, i + 1);
        if (i < 0) this.fail('unterminated quoted organisation');
        // A doubled quote is an escaped quote inside the name.
        if (buf[i + 1] !== QUOTE) break;
        i++;
      }
      end = i + 1;
    } else {
      // The name is the last field: it runs to the line end (memchr beats a byte loop here).
      end = buf.indexOf(LF, start);
      if (end < 0) end = buf.length;
      if (end > start && buf[end - 1] === CR) end--;
    }
    this.pos = end;
    return this.orgs.fromBytes(asn, buf, start, end);
  }

  endRow(): void {
    const buf = this.buf;
    if (this.pos < buf.length && buf[this.pos] === CR) this.pos++;
    if (this.pos < buf.length && buf[this.pos] !== LF)
      this.fail('unexpected text after the organisation');
    this.pos++;
    this.line++;
  }
}

/** Rough bytes per row, to size the columns once for the shipped files. */
const BYTES_PER_ROW_ESTIMATE = 48;

function parseCsv(path: string, wide: boolean, orgs: OrgTable): Columns {
  const buf = readFileSync(path);
  const cols = new Columns(Math.ceil(buf.length / BYTES_PER_ROW_ESTIMATE) + 16, wide);
  const p = new CsvParser(buf, path, orgs);
  while (p.nextRow()) {
    let sHi: number;
    let sLo = 0;
    let eHi: number;
    let eLo = 0;
    if (wide) {
      p.readIpv6();
      sHi = p.hi;
      sLo = p.lo;
      p.expectComma();
      p.readIpv6();
      eHi = p.hi;
      eLo = p.lo;
    } else {
      sHi = p.readIpv4();
      p.expectComma();
      eHi = p.readIpv4();
    }
    if (eHi < sHi || (eHi === sHi && eLo < sLo)) p.fail('range end before start');
    p.expectComma();
    const asn = p.readUint32();
    if (asn < 0) p.fail('bad ASN');
    p.expectComma();
    const org = p.readOrg(asn);
    p.endRow();
    // AS0 marks space that must not be routed (RFC 7607): it is no network, so no row.
    if (asn === 0) continue;
    // Rows that continue the previous one for the same ASN and name merge into it (at /64
    // granularity for IPv6); the shipped data is already merged, operator files may not be.
    const last = cols.length - 1;
    if (last >= 0 && cols.asn[last] === asn && cols.org[last] === org) {
      const pHi = cols.endHi[last];
      const pLo = wide ? cols.endLo[last] : 0;
      const contiguous = wide
        ? compare64(sHi, sLo, pHi, pLo) >= 0 && compare64(sHi, sLo, ...add1(pHi, pLo)) <= 0
        : sHi === pHi + 1;
      if (contiguous) {
        cols.endHi[last] = eHi;
        if (wide) cols.endLo[last] = eLo;
        continue;
      }
    }
    cols.push(sHi, sLo, eHi, eLo, asn, org);
  }
  cols.trim();
  sortIfNeeded(cols, wide);
  return resolveOverlaps(cols, wide);
}

function compare64(aHi: number, aLo: number, bHi: number, bLo: number): number {
  if (aHi !== bHi) return aHi < bHi ? -1 : 1;
  if (aLo !== bLo) return aLo < bLo ? -1 : 1;
  return 0;
}

function add1(hi: number, lo: number): [number, number] {
  return lo === 0xffffffff ? [(hi + 1) >>> 0, 0] : [hi, lo + 1];
}

/**
 * Binary search needs ascending starts. The shipped files are sorted, so this is one linear
 * check; an operator's concatenated file is sorted once here instead of failing.
 */
function sortIfNeeded(cols: Columns, wide: boolean): void {
  const n = cols.length;
  let sorted = true;
  for (let i = 1; i < n && sorted; i++) {
    const prevLo = wide ? cols.startLo[i - 1] : 0;
    const lo = wide ? cols.startLo[i] : 0;
    sorted = compare64(cols.startHi[i - 1], prevLo, cols.startHi[i], lo) <= 0;
  }
  if (sorted) return;
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort(
    (a, b) =>
      compare64(
        cols.startHi[a],
        wide ? cols.startLo[a] : 0,
        cols.startHi[b],
        wide ? cols.startLo[b] : 0,
      ) || a - b,
  );
  const permute = (a: Uint32Array): Uint32Array => {
    const b = new Uint32Array(a.length);
    for (let i = 0; i < a.length; i++) b[i] = a[order[i]];
    return b;
  };
  cols.startHi = permute(cols.startHi);
  cols.endHi = permute(cols.endHi);
  cols.asn = permute(cols.asn);
  cols.org = permute(cols.org);
  if (wide) {
    cols.startLo = permute(cols.startLo);
    cols.endLo = permute(cols.endLo);
  }
}

/**
 * Binary search also needs ranges that do not overlap: with a range nested inside another, the
 * outer range's addresses after the inner one would be missed. Overlapping rows are therefore
 * cut into disjoint pieces where, for each piece, the covering row with the latest start (the
 * more specific one; on a tie the later line) wins. The shipped data has one partial overlap
 * (two DoD ranges), so this is a linear check and a few BigInt operations on one small cluster;
 * the sweep stays linear however large a cluster an operator's file makes.
 */
function resolveOverlaps(cols: Columns, wide: boolean): Columns {
  const n = cols.length;
  const key = (hi: number, lo: number): bigint =>
    wide ? (BigInt(hi) << 32n) | BigInt(lo) : BigInt(hi);
  const startOf = (i: number): bigint => key(cols.startHi[i], wide ? cols.startLo[i] : 0);
  const endOf = (i: number): bigint => key(cols.endHi[i], wide ? cols.endLo[i] : 0);
  // Clusters of rows that overlap one another, as [first, last) in sorted order.
  const clusters: [number, number][] = [];
  let first = 0;
  let maxEndHi = n > 0 ? cols.endHi[0] : 0;
  let maxEndLo = n > 0 && wide ? cols.endLo[0] : 0;
  for (let i = 1; i <= n; i++) {
    const overlaps =
      i < n && compare64(cols.startHi[i], wide ? cols.startLo[i] : 0, maxEndHi, maxEndLo) <= 0;
    if (overlaps) {
      const eLo = wide ? cols.endLo[i] : 0;
      if (compare64(cols.endHi[i], eLo, maxEndHi, maxEndLo) > 0) {
        maxEndHi = cols.endHi[i];
        maxEndLo = eLo;
      }
      continue;
    }
    if (i - first > 1) clusters.push([first, i]);
    if (i < n) {
      first = i;
      maxEndHi = cols.endHi[i];
      maxEndLo = wide ? cols.endLo[i] : 0;
    }
  }
  if (clusters.length === 0) return cols;

  const out = new Columns(n + clusters.length * 4, wide);
  const push = (start: bigint, end: bigint, row: number): void => {
    const last = out.length - 1;
    const asn = cols.asn[row];
    const org = cols.org[row];
    if (last >= 0 && out.asn[last] === asn && out.org[last] === org) {
      const prevEnd = key(out.endHi[last], wide ? out.endLo[last] : 0);
      if (prevEnd + 1n === start) {
        out.endHi[last] = Number(end >> (wide ? 32n : 0n));
        if (wide) out.endLo[last] = Number(end & 0xffffffffn);
        return;
      }
    }
    out.push(
      Number(start >> (wide ? 32n : 0n)),
      wide ? Number(start & 0xffffffffn) : 0,
      Number(end >> (wide ? 32n : 0n)),
      wide ? Number(end & 0xffffffffn) : 0,
      asn,
      org,
    );
  };
  const copy = (i: number): void =>
    out.push(
      cols.startHi[i],
      wide ? cols.startLo[i] : 0,
      cols.endHi[i],
      wide ? cols.endLo[i] : 0,
      cols.asn[i],
      cols.org[i],
    );
  let next = 0;
  for (const [from, to] of clusters) {
    for (; next < from; next++) copy(next);
    // Sweep in start order with a stack of the rows still open. A row takes over from its own
    // start; when it ends, the row below it on the stack resumes if it extends further.
    const stack: number[] = [];
    let cursor = startOf(from);
    const closeUntil = (limit: bigint | null): void => {
      while (stack.length > 0) {
        const top = stack[stack.length - 1];
        const end = endOf(top);
        if (limit !== null && end >= limit) return;
        if (cursor <= end) {
          push(cursor, end, top);
          cursor = end + 1n;
        }
        stack.pop();
      }
    };
    for (let i = from; i < to; i++) {
      const start = startOf(i);
      closeUntil(start);
      if (stack.length > 0 && cursor < start) push(cursor, start - 1n, stack[stack.length - 1]);
      cursor = start;
      stack.push(i);
    }
    closeUntil(null);
    next = to;
  }
  for (; next < n; next++) copy(next);
  out.trim();
  return out;
}

export class AsnTable {
  private constructor(
    private readonly v4: Columns,
    private readonly v6: Columns,
    private readonly orgNames: readonly string[],
  ) {}

  /** Reads both CSVs synchronously; throws with file and line on a malformed row. */
  static load(ipv4Csv: string, ipv6Csv: string): AsnTable {
    const orgs = new OrgTable();
    const v4 = parseCsv(ipv4Csv, false, orgs);
    const v6 = parseCsv(ipv6Csv, true, orgs);
    return new AsnTable(v4, v6, orgs.names);
  }

  get stats(): AsnTableStats {
    return {
      ipv4Ranges: this.v4.length,
      ipv6Ranges: this.v6.length,
      organisations: this.orgNames.length - 1,
    };
  }

  /** The row covering an IPv4 address (unsigned 32-bit), or NOT_FOUND. */
  findIpv4(address: number): number {
    const starts = this.v4.startHi;
    let low = 0;
    let high = starts.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      if (starts[mid] <= address) low = mid + 1;
      else high = mid - 1;
    }
    return high >= 0 && this.v4.endHi[high] >= address ? high : NOT_FOUND;
  }

  /** The row covering an IPv6 address given by its upper 64 bits, or NOT_FOUND. */
  findIpv6(hi: number, lo: number): number {
    const sHi = this.v6.startHi;
    const sLo = this.v6.startLo;
    let low = 0;
    let high = sHi.length - 1;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const h = sHi[mid];
      if (h < hi || (h === hi && sLo[mid] <= lo)) low = mid + 1;
      else high = mid - 1;
    }
    if (high < 0) return NOT_FOUND;
    const eHi = this.v6.endHi[high];
    return eHi > hi || (eHi === hi && this.v6.endLo[high] >= lo) ? high : NOT_FOUND;
  }

  asnV4(row: number): number {
    return this.v4.asn[row];
  }

  asnV6(row: number): number {
    return this.v6.asn[row];
  }

  /** The organisation name of a row; null when the file gave none. */
  orgV4(row: number): string | null {
    return this.orgNames[this.v4.org[row]] || null;
  }

  orgV6(row: number): string | null {
    return this.orgNames[this.v6.org[row]] || null;
  }

  /** Every (ASN, organisation) pair in the data, for checking the curated lists against it. */
  asnOrganisations(): Map<number, Set<string>> {
    const out = new Map<number, Set<string>>();
    for (const cols of [this.v4, this.v6]) {
      for (let i = 0; i < cols.length; i++) {
        const asn = cols.asn[i];
        let set = out.get(asn);
        if (set === undefined) out.set(asn, (set = new Set()));
        set.add(this.orgNames[cols.org[i]]);
      }
    }
    return out;
  }
}

/**
 * Hand-written IP parsing. Lookups are on the hot path of every protected request, and
 * `net.isIP` plus `split`/`parseInt` cost more than the table searches that follow, so the
 * parsers below walk the string once, allocate nothing but the result, and reject anything
 * that is not a plain address (no ports, no brackets, no whitespace, no leading zeros).
 */

export interface ParsedIpv4 {
  version: 4;
  /** The address as an unsigned 32-bit integer. */
  v4: number;
}

export interface ParsedIpv6 {
  version: 6;
  /** The 128-bit address as four unsigned 32-bit words, most significant first. */
  w0: number;
  w1: number;
  w2: number;
  w3: number;
}

export type ParsedIp = ParsedIpv4 | ParsedIpv6;

/** Longest valid textual forms: a dotted quad, and full IPv6 with an embedded IPv4 tail. */
const MAX_V4_LENGTH = 15;
const MAX_V6_LENGTH = 45;
/** Zone ids (`fe80::1%eth0`) are accepted and dropped; bound them like interface names. */
const MAX_ZONE_LENGTH = 64;

/**
 * Parses a dotted quad between `start` and `end`; returns the unsigned value or -1.
 * Leading zeros are rejected: `010.0.0.1` means 8.0.0.1 to some parsers and 10.0.0.1 to others,
 * so an ambiguous address must not be looked up as either.
 */
export function parseIpv4(s: string, start = 0, end = s.length): number {
  if (end - start > MAX_V4_LENGTH) return -1;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = start; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return -1;
      octet = octet * 10 + (c - 48);
      if (octet > 255) return -1;
      digits++;
    } else if (c === 46) {
      if (digits === 0 || dots === 3) return -1;
      // Multiplication, not `<<`, keeps the value unsigned past 2^31.
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else {
      return -1;
    }
  }
  if (dots !== 3 || digits === 0) return -1;
  return value * 256 + octet;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Scratch for parseIpv6 and formatIpv6; safe because both are synchronous and copy out. */
const groups = new Uint16Array(8);

/** Parses IPv6 text (with `::`, embedded IPv4 tail and `%zone`) or returns null. */
export function parseIpv6(s: string): ParsedIpv6 | null {
  let end = s.length;
  const zone = s.indexOf('%');
  if (zone >= 0) {
    if (zone === end - 1 || end - zone - 1 > MAX_ZONE_LENGTH) return null;
    end = zone;
  }
  if (end < 2 || end > MAX_V6_LENGTH) return null;
  let i = 0;
  let count = 0;
  // Index in `groups` where `::` stands, or -1 when the address has none.
  let gap = -1;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return null;
    gap = 0;
    i = 2;
  }
  while (i < end) {
    let value = 0;
    let digits = 0;
    let j = i;
    for (; j < end; j++) {
      const h = hexValue(s.charCodeAt(j));
      if (h < 0) break;
      value = value * 16 + h;
      digits++;
    }
    if (j < end && s.charCodeAt(j) === 46) {
      // An IPv4 tail fills the last two groups and must end the address.
      if (count > 6) return null;
      const v4 = parseIpv4(s, i, end);
      if (v4 < 0) return null;
      groups[count++] = v4 >>> 16;
      groups[count++] = v4 & 0xffff;
      i = end;
      break;
    }
    if (digits === 0 || digits > 4 || count === 8) return null;
    groups[count++] = value;
    if (j === end) {
      i = j;
      break;
    }
    if (s.charCodeAt(j) !== 58) return null;
    j++;
    if (j < end && s.charCodeAt(j) === 58) {
      if (gap >= 0) return null;
      gap = count;
      j++;
    } else if (j === end) {
      // A single trailing colon: `1::2:` is not an address.
      return null;
    }
    i = j;
  }
  if (gap < 0) {
    if (count !== 8) return null;
  } else {
    if (count > 7) return null;
    // Slide the groups written after `::` to the end and zero the hole.
    const tail = count - gap;
    for (let k = 0; k < tail; k++) groups[7 - k] = groups[count - 1 - k];
    for (let k = gap; k < 8 - tail; k++) groups[k] = 0;
  }
  return {
    version: 6,
    w0: ((groups[0] << 16) | groups[1]) >>> 0,
    w1: ((groups[2] << 16) | groups[3]) >>> 0,
    w2: ((groups[4] << 16) | groups[5]) >>> 0,
    w3: ((groups[6] << 16) | groups[7]) >>> 0,
  };
}

/**
 * Parses IPv4 or IPv6 text; null when it is not an address. IPv4-mapped IPv6 (`::ffff:a.b.c.d`,
 * what dual-stack sockets report for IPv4 clients) comes back as IPv4 so both spellings of one
 * client get the same answer.
 */
export function parseIp(s: string): ParsedIp | null {
  if (s.indexOf(':') < 0) {
    const v4 = parseIpv4(s);
    return v4 < 0 ? null : { version: 4, v4 };
  }
  const v6 = parseIpv6(s);
  if (v6 === null) return null;
  if (v6.w0 === 0 && v6.w1 === 0 && v6.w2 === 0xffff) return { version: 4, v4: v6.w3 };
  return v6;
}

export function formatIpv4(v4: number): string {
  return `${v4 >>> 24}.${(v4 >>> 16) & 0xff}.${(v4 >>> 8) & 0xff}.${v4 & 0xff}`;
}

/**
 * RFC 5952 text: lower case, no leading zeros, the first longest run of 2+ zero groups as `::`.
 * Built by concatenation: this runs for every IPv6 lookup, and map/join cost twice as much.
 */
export function formatIpv6(ip: ParsedIpv6): string {
  const g = groups;
  g[0] = ip.w0 >>> 16;
  g[1] = ip.w0 & 0xffff;
  g[2] = ip.w1 >>> 16;
  g[3] = ip.w1 & 0xffff;
  g[4] = ip.w2 >>> 16;
  g[5] = ip.w2 & 0xffff;
  g[6] = ip.w3 >>> 16;
  g[7] = ip.w3 & 0xffff;
  let bestStart = -1;
  let bestEnd = -1;
  for (let k = 0; k < 8; k++) {
    if (g[k] !== 0) continue;
    let e = k + 1;
    while (e < 8 && g[e] === 0) e++;
    if (e - k >= 2 && e - k > bestEnd - bestStart) {
      bestStart = k;
      bestEnd = e;
    }
    k = e;
  }
  let text = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      text += '::';
      k = bestEnd - 1;
      continue;
    }
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += g[k].toString(16);
  }
  return text;
}

/**
 * What a non-public address is. `private`: a network of its own behind the Internet (RFC 1918,
 * RFC 6598 shared address space, loopback, link-local, IPv6 unique-local and the deprecated
 * site-local), where a client really sits. `reserved`: not assigned to any network at all
 * (documentation, benchmarking, multicast, unspecified, IETF protocol use, future use), so a
 * request "from" it is forged, misconfigured or a test. Public addresses have neither.
 */
export type SpecialRange = 'private' | 'reserved';

/**
 * Non-public IPv4 blocks (the IANA special-purpose registry, RFC 6890 and successors) as
 * [network, prefix length, range]. Kept as a table rather than taken from a library because it
 * is read on the hot path of every decision (see the parsers above); ip.spec.ts pins each block.
 */
const SPECIAL_V4: readonly (readonly [number, number, SpecialRange])[] = [
  [0x00000000, 8, 'reserved'], // 0/8 "this network" (RFC 791)
  [0x0a000000, 8, 'private'], // 10/8 (RFC 1918)
  [0x64400000, 10, 'private'], // 100.64/10 carrier-grade NAT shared space (RFC 6598)
  [0x7f000000, 8, 'private'], // 127/8 loopback (RFC 1122)
  [0xa9fe0000, 16, 'private'], // 169.254/16 link-local (RFC 3927)
  [0xac100000, 12, 'private'], // 172.16/12 (RFC 1918)
  [0xc0000000, 24, 'reserved'], // 192.0.0/24 IETF protocol assignments (RFC 6890)
  [0xc0000200, 24, 'reserved'], // 192.0.2/24 TEST-NET-1 documentation (RFC 5737)
  [0xc0a80000, 16, 'private'], // 192.168/16 (RFC 1918)
  [0xc6120000, 15, 'reserved'], // 198.18/15 benchmarking (RFC 2544)
  [0xc6336400, 24, 'reserved'], // 198.51.100/24 TEST-NET-2 documentation (RFC 5737)
  [0xcb007100, 24, 'reserved'], // 203.0.113/24 TEST-NET-3 documentation (RFC 5737)
  [0xe0000000, 4, 'reserved'], // 224/4 multicast (RFC 5771)
  [0xf0000000, 4, 'reserved'], // 240/4 future use, including 255.255.255.255 (RFC 1112)
];

/** First octets that start a special block, so public addresses cost one array read. */
const SPECIAL_V4_FIRST_OCTET = new Uint8Array(256);
for (const [net, bits] of SPECIAL_V4) {
  const first = net >>> 24;
  const span = bits >= 8 ? 1 : 1 << (8 - bits);
  for (let k = 0; k < span; k++) SPECIAL_V4_FIRST_OCTET[first + k] = 1;
}

/** The special range an IPv4 address is in; null for a public address. */
export function specialRangeIpv4(v4: number): SpecialRange | null {
  if (SPECIAL_V4_FIRST_OCTET[v4 >>> 24] === 0) return null;
  for (const [net, bits, range] of SPECIAL_V4) {
    const shift = 32 - bits;
    if (v4 >>> shift === net >>> shift) return range;
  }
  return null;
}

/**
 * The special range an IPv6 address is in; null for a public address. Only the first word
 * decides all but `::/96`, which holds the loopback `::1`, the unspecified `::` and the
 * deprecated IPv4-compatible form.
 */
export function specialRangeIpv6(ip: ParsedIpv6): SpecialRange | null {
  const w0 = ip.w0;
  if (w0 === 0 && ip.w1 === 0 && ip.w2 === 0) {
    return ip.w3 === 1 ? 'private' : 'reserved'; // ::1 loopback; the rest of ::/96
  }
  if (w0 === 0x01000000 && ip.w1 === 0) return 'reserved'; // 100::/64 discard-only (RFC 6666)
  if (w0 === 0x20010db8) return 'reserved'; // 2001:db8::/32 documentation (RFC 3849)
  const top16 = w0 >>> 16;
  if ((top16 & 0xfe00) === 0xfc00) return 'private'; // fc00::/7 unique local (RFC 4193)
  if ((top16 & 0xffc0) === 0xfe80) return 'private'; // fe80::/10 link-local (RFC 4291)
  if ((top16 & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 deprecated site-local (RFC 3879)
  if ((top16 & 0xff00) === 0xff00) return 'reserved'; // ff00::/8 multicast (RFC 4291)
  return null;
}

import { readFileSync, statSync } from 'node:fs';
import { z } from 'zod';
import { formatIpv6, parseIp } from './ip';

/**
 * The curated lists: which ASNs belong to hosting, VPN and Tor operators, and which addresses are
 * Tor exits. They are data, not code, so an operator can replace any file without a release.
 */

const MAX_ASN = 0xffffffff;

export const asnListSchema = z.object({
  /** The day the list was last checked against its sources, YYYY-MM-DD. */
  updated: z.iso.date(),
  description: z.string().optional(),
  /** May be empty: an operator can switch a category off with `"asns": []`. */
  asns: z.array(
    z.object({
      asn: z.number().int().min(1).max(MAX_ASN),
      /** The provider as people know it ("AWS", "Mullvad"). */
      name: z.string().min(1),
      /** The organisation name the ASN data gives, to check the entry against it. */
      org: z.string().min(1),
    }),
  ),
});
export type AsnList = z.infer<typeof asnListSchema>;

export interface LoadedAsnList {
  path: string;
  updated: string;
  asns: ReadonlySet<number>;
  entries: AsnList['asns'];
}

export function loadAsnList(path: string): LoadedAsnList {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not readable JSON (${(error as Error).message})`);
  }
  const parsed = asnListSchema.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${path}: not an ASN list: ${z.prettifyError(parsed.error)}`);
  }
  return {
    path,
    updated: parsed.data.updated,
    asns: new Set(parsed.data.asns.map((a) => a.asn)),
    entries: parsed.data.asns,
  };
}

export interface TorExitList {
  path: string;
  /** IPv4 exits as unsigned 32-bit integers. */
  v4: ReadonlySet<number>;
  /** IPv6 exits in RFC 5952 text, the form IntelService puts in `IpIntel.ip`. */
  v6: ReadonlySet<string>;
  /** From a `# updated: YYYY-MM-DD` comment, else the file's modification day. */
  updated: string | null;
}

const UPDATED_COMMENT = /^#\s*updated:\s*(\d{4}-\d{2}-\d{2})\b/i;

/**
 * Reads a Tor exit list in the format of https://check.torproject.org/torbulkexitlist: one
 * address per line; blank lines and `#` comments are allowed. A line that is not an address
 * fails the load with its line number: a truncated or wrong download must not silently shrink
 * the list.
 */
export function loadTorExits(path: string): TorExitList {
  const text = readFileSync(path, 'utf8');
  const v4 = new Set<number>();
  const v6 = new Set<string>();
  let updated: string | null = null;
  let lineNo = 0;
  for (const rawLine of text.split('\n')) {
    lineNo++;
    const line = rawLine.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      updated ??= UPDATED_COMMENT.exec(line)?.[1] ?? null;
      continue;
    }
    const address = line.split('#', 1)[0].trim();
    const ip = parseIp(address);
    if (ip === null) throw new Error(`${path} line ${lineNo}: not an IP address`);
    if (ip.version === 4) v4.add(ip.v4);
    else v6.add(formatIpv6(ip));
  }
  return { path, v4, v6, updated: updated ?? fileDay(path) };
}

/** The modification day of a file, the best date a drop-in file without one can offer. */
export function fileDay(path: string): string {
  return statSync(path).mtime.toISOString().slice(0, 10);
}

import type { NetworkType } from '../rules/engine/types';

export type { NetworkType };

/** Risk tiers, lowest first. A `const` tuple so zod can build `z.enum(RISK_LEVELS)`. */
export const RISK_LEVELS = ['low', 'medium', 'high'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];

/**
 * Why an address got its network type and risk. Only these server-defined values ever appear,
 * never text derived from the address or the data files, so an agent may read them as facts.
 * Every signal that matched is listed (a Tor exit on a hosting ASN carries both), strongest
 * first; the network type is decided by precedence among them (see intel.classify.ts).
 */
export const RISK_REASONS = [
  /** The address is in the Tor exit list (tor-exits.txt). */
  'TOR_EXIT_LIST',
  /** The ASN belongs to an operator that runs Tor exits only (tor-asns.json). */
  'TOR_OPERATOR_ASN',
  /** The ASN belongs to a commercial VPN provider (vpn-asns.json). */
  'VPN_PROVIDER',
  /** The ASN belongs to a hosting, cloud or CDN provider (hosting-asns.json). */
  'HOSTING_PROVIDER',
  /** The ASN is known and in none of the lists: presumed an access (residential/mobile) ISP. */
  'RESIDENTIAL_NETWORK',
  /** A public address that no ASN range covers: nothing is known about the network. */
  'NO_ASN',
  /**
   * A private network's address: RFC 1918, RFC 6598 shared (carrier-grade NAT) space, loopback,
   * link-local, IPv6 unique-local. The client sits behind the same network as the app or a proxy.
   */
  'PRIVATE_ADDRESS',
  /**
   * An address no network is assigned: documentation (TEST-NET, 2001:db8::/32), benchmarking,
   * multicast, unspecified, IETF protocol use, future use. A client cannot really send from it.
   */
  'RESERVED_ADDRESS',
] as const;
export type RiskReason = (typeof RISK_REASONS)[number];

/** Everything the intel module knows about one IP address. */
export interface IpIntel {
  /** Normalised address: dotted quad for IPv4 (also for IPv4-mapped IPv6), RFC 5952 for IPv6. */
  ip: string;
  version: 4 | 6;
  /** ISO 3166-1 alpha-2, upper case; null when private, reserved or not in the country database. */
  country: string | null;
  asn: number | null;
  asOrg: string | null;
  networkType: NetworkType;
  risk: RiskLevel;
  riskReasons: RiskReason[];
}

/** Where the module reads its data; every file can be replaced by an operator. */
export interface IntelPaths {
  /** MaxMind DB with a `country_code` (or GeoIP2 `country.iso_code`) record per network. */
  countryMmdb: string;
  /** `start,end,asn,org` rows; start/end as integers or dotted quads. */
  asnIpv4Csv: string;
  /** `start,end,asn,org` rows; start/end as decimal 128-bit integers or IPv6 text. */
  asnIpv6Csv: string;
  /** JSON `{ updated, asns: [{ asn, name, org }] }`. */
  hostingAsns: string;
  vpnAsns: string;
  torAsns: string;
  /** One address per line, `#` comments; the format of check.torproject.org/torbulkexitlist. */
  torExits: string;
}

/** Provenance of the loaded data, for the health endpoint and the README. */
export interface IntelDataInfo {
  country: {
    source: string;
    /** Licence and attribution to display; null for operator-supplied files. */
    licence: string | null;
    path: string;
    builtAt: string;
    databaseType: string;
  };
  asn: {
    source: string;
    licence: string | null;
    ipv4Path: string;
    ipv6Path: string;
    ipv4Ranges: number;
    ipv6Ranges: number;
    organisations: number;
    /** Date of the data: from the npm package version, else the file's modification day. */
    dataDate: string;
  };
  lists: {
    hosting: AsnListInfo;
    vpn: AsnListInfo;
    torAsns: AsnListInfo;
    torExits: { path: string; addresses: number; updated: string | null };
  };
  loadMs: number;
}

export interface AsnListInfo {
  path: string;
  updated: string;
  asns: number;
}

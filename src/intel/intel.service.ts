import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { AsnTable } from './asn-table';
import { CountryDb } from './country-db';
import { assessNetwork } from './intel.classify';
import {
  fileDay,
  loadAsnList,
  loadTorExits,
  type LoadedAsnList,
  type TorExitList,
} from './intel.lists';
import type { IntelDataInfo, IntelPaths, IpIntel } from './intel.types';
import {
  formatIpv4,
  formatIpv6,
  parseIp,
  type ParsedIpv6,
  specialRangeIpv4,
  specialRangeIpv6,
  type SpecialRange,
} from './ip';

/** The curated files shipped in `src/intel/data`; the bundler copies these into `intel-data`. */
export const INTEL_DATA_FILES = [
  'hosting-asns.json',
  'vpn-asns.json',
  'tor-asns.json',
  'tor-exits.txt',
] as const;
export type IntelDataFile = (typeof INTEL_DATA_FILES)[number];

/**
 * A curated file beside this module: `data/` when running from `src` or from `tsc` output
 * (the build copies the folder), `intel-data/` when running from the esbuild bundle, whose
 * `__dirname` is the bundle directory shared with other modules' assets.
 */
function dataFile(name: IntelDataFile): string {
  const beside = join(__dirname, 'data', name);
  if (existsSync(beside)) return beside;
  const bundled = join(__dirname, 'intel-data', name);
  return existsSync(bundled) ? bundled : beside;
}

/** The shipped data: npm packages for country and ASN, in-repo lists for the rest. */
export function defaultIntelPaths(): IntelPaths {
  return {
    countryMmdb:
      require.resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb'),
    asnIpv4Csv: require.resolve('@ip-location-db/asn/asn-ipv4-num.csv'),
    asnIpv6Csv: require.resolve('@ip-location-db/asn/asn-ipv6-num.csv'),
    hostingAsns: dataFile('hosting-asns.json'),
    vpnAsns: dataFile('vpn-asns.json'),
    torAsns: dataFile('tor-asns.json'),
    torExits: dataFile('tor-exits.txt'),
  };
}

/** Where the ASN CSV's date comes from: the version of its npm package (`2.3.YYYYMMDDHH`). */
function asnDataDate(csvPath: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(dirname(csvPath), 'package.json'), 'utf8')) as {
      name?: unknown;
      version?: unknown;
    };
    const match =
      typeof pkg.name === 'string' && pkg.name.startsWith('@ip-location-db/')
        ? /\.(\d{4})(\d{2})(\d{2})\d{2}$/.exec(String(pkg.version))
        : null;
    if (match) return `${match[1]}-${match[2]}-${match[3]}`;
  } catch {
    // A file dropped in by an operator has no package.json beside it: use its date instead.
  }
  return fileDay(csvPath);
}

/**
 * Threat intelligence for one IP address: country, ASN and organisation, network type and a
 * risk level with server-defined reasons. Everything is loaded into memory once, synchronously,
 * so `lookup` is a synchronous in-memory computation (~0.5 µs) with no I/O.
 */
export class IntelService {
  private constructor(
    private readonly paths: IntelPaths,
    private readonly countries: CountryDb,
    private readonly asns: AsnTable,
    private readonly hosting: LoadedAsnList,
    private readonly vpn: LoadedAsnList,
    private readonly torAsns: LoadedAsnList,
    private readonly torExits: TorExitList,
    private readonly asnDate: string,
    private readonly loadMs: number,
  ) {}

  /** Reads every file synchronously; throws naming the file (and line) that is unusable. */
  static load(paths: IntelPaths): IntelService {
    const started = process.hrtime.bigint();
    const countries = new CountryDb(paths.countryMmdb);
    const asns = AsnTable.load(paths.asnIpv4Csv, paths.asnIpv6Csv);
    const hosting = loadAsnList(paths.hostingAsns);
    const vpn = loadAsnList(paths.vpnAsns);
    const torAsns = loadAsnList(paths.torAsns);
    const torExits = loadTorExits(paths.torExits);
    const asnDate = asnDataDate(paths.asnIpv4Csv);
    const loadMs = Number(process.hrtime.bigint() - started) / 1e6;
    return new IntelService(
      { ...paths },
      countries,
      asns,
      hosting,
      vpn,
      torAsns,
      torExits,
      asnDate,
      loadMs,
    );
  }

  /** Everything known about an address; null when `ip` is not an IPv4 or IPv6 address. */
  lookup(ip: string): IpIntel | null {
    const parsed = parseIp(ip);
    if (parsed === null) return null;
    if (parsed.version === 4) {
      const v4 = parsed.v4;
      // Plain dotted input is already canonical (the parser rejects leading zeros).
      const text = ip.indexOf(':') < 0 ? ip : formatIpv4(v4);
      const special = specialRangeIpv4(v4);
      if (special) return specialIntel(text, 4, special);
      const row = this.asns.findIpv4(v4);
      const asn = row < 0 ? null : this.asns.asnV4(row);
      const asOrg = row < 0 ? null : this.asns.orgV4(row);
      const country = this.countries.countryOfIpv4(v4);
      return this.build(text, 4, country, asn, asOrg, this.torExits.v4.has(v4));
    }
    return this.lookupV6(parsed);
  }

  private lookupV6(parsed: ParsedIpv6): IpIntel {
    const text = formatIpv6(parsed);
    const special = specialRangeIpv6(parsed);
    if (special) return specialIntel(text, 6, special);
    const row = this.asns.findIpv6(parsed.w0, parsed.w1);
    const asn = row < 0 ? null : this.asns.asnV6(row);
    const asOrg = row < 0 ? null : this.asns.orgV6(row);
    const torExit = this.torExits.v6.size > 0 && this.torExits.v6.has(text);
    const country = this.countries.countryOfIpv6(parsed);
    return this.build(text, 6, country, asn, asOrg, torExit);
  }

  private build(
    ip: string,
    version: 4 | 6,
    country: string | null,
    asn: number | null,
    asOrg: string | null,
    torExit: boolean,
  ): IpIntel {
    const assessment = assessNetwork({
      specialRange: null,
      torExit,
      hasAsn: asn !== null,
      torAsn: asn !== null && this.torAsns.asns.has(asn),
      vpnAsn: asn !== null && this.vpn.asns.has(asn),
      hostingAsn: asn !== null && this.hosting.asns.has(asn),
    });
    return { ip, version, country, asn, asOrg, ...assessment };
  }

  /** Sources, files, record counts and data dates, for health checks and the README. */
  get dataInfo(): IntelDataInfo {
    const meta = this.countries.metadata;
    const stats = this.asns.stats;
    const list = (l: LoadedAsnList) => ({ path: l.path, updated: l.updated, asns: l.asns.size });
    return {
      country: {
        source: shipped(this.paths.countryMmdb)
          ? 'ip-location-db geo-whois-asn-country-mmdb (GeoFeed > RIR WHOIS > RIR ASN)'
          : 'operator-supplied MaxMind DB',
        licence: shipped(this.paths.countryMmdb) ? COUNTRY_LICENCE : null,
        path: this.paths.countryMmdb,
        builtAt: meta.buildEpoch.toISOString(),
        databaseType: meta.databaseType,
      },
      asn: {
        source: shipped(this.paths.asnIpv4Csv)
          ? 'ip-location-db asn (RouteViews > RIR ASN > DB-IP IP to ASN Lite)'
          : 'operator-supplied CSV',
        licence: shipped(this.paths.asnIpv4Csv) ? ASN_LICENCE : null,
        ipv4Path: this.paths.asnIpv4Csv,
        ipv6Path: this.paths.asnIpv6Csv,
        ...stats,
        dataDate: this.asnDate,
      },
      lists: {
        hosting: list(this.hosting),
        vpn: list(this.vpn),
        torAsns: list(this.torAsns),
        torExits: {
          path: this.torExits.path,
          addresses: this.torExits.v4.size + this.torExits.v6.size,
          updated: this.torExits.updated,
        },
      },
      loadMs: Math.round(this.loadMs),
    };
  }
}

/** Whether a path is one of the npm data packages rather than a file an operator dropped in. */
function shipped(path: string): boolean {
  return /[\\/]node_modules[\\/]@ip-location-db[\\/]/.test(path);
}

/**
 * Attribution the data licences require wherever results are shown (CC BY 4.0 section 3(a)).
 * The MMDB package is marked CC0, but its README credits NRO data under CC BY 4.0 and ships the
 * NRO licence, so it is attributed as well.
 */
const COUNTRY_LICENCE =
  'CC BY 4.0: country data by the NRO (https://www.nro.net/) and the five RIRs, compiled by ' +
  'ip-location-db (https://github.com/sapics/ip-location-db)';
const ASN_LICENCE =
  'CC BY 4.0: ASN data by RouteViews (https://www.routeviews.org/), the NRO ' +
  "(https://www.nro.net/) and DB-IP (<a href='https://db-ip.com'>IP Geolocation by DB-IP</a>), " +
  'compiled and modified by ip-location-db (https://github.com/sapics/ip-location-db)';

/** A private or reserved address: no country, ASN or list is looked up for it. */
function specialIntel(ip: string, version: 4 | 6, specialRange: SpecialRange): IpIntel {
  return {
    ip,
    version,
    country: null,
    asn: null,
    asOrg: null,
    ...assessNetwork({
      specialRange,
      torExit: false,
      hasAsn: false,
      torAsn: false,
      vpnAsn: false,
      hostingAsn: false,
    }),
  };
}

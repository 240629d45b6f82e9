import { AsnTable } from './asn-table';
import { defaultIntelPaths } from './intel.service';
import { loadAsnList, loadTorExits, type LoadedAsnList } from './intel.lists';

/**
 * The curated lists are only as good as their match with the ASN data: every entry must name
 * an ASN present in the shipped data, with the organisation that data gives it, so a typo or a
 * re-assigned ASN fails here instead of mislabelling traffic.
 */
describe('shipped ASN lists', () => {
  const paths = defaultIntelPaths();
  const lists: Record<string, LoadedAsnList> = {
    hosting: loadAsnList(paths.hostingAsns),
    vpn: loadAsnList(paths.vpnAsns),
    tor: loadAsnList(paths.torAsns),
  };
  let organisations: Map<number, Set<string>>;

  beforeAll(() => {
    organisations = AsnTable.load(paths.asnIpv4Csv, paths.asnIpv6Csv).asnOrganisations();
  });

  it.each(Object.keys(lists))(
    '%s: every ASN exists in the ASN data with the listed org',
    (name) => {
      const mismatches = lists[name].entries
        .filter((e) => !organisations.get(e.asn)?.has(e.org))
        .map(
          (e) => `${e.asn} ${e.org} (data: ${[...(organisations.get(e.asn) ?? [])].join(' | ')})`,
        );
      expect(mismatches).toEqual([]);
    },
  );

  it.each(Object.keys(lists))('%s: lists each ASN once', (name) => {
    expect(lists[name].asns.size).toBe(lists[name].entries.length);
  });

  it('puts no ASN in two lists', () => {
    const seen = new Map<number, string>();
    const clashes: string[] = [];
    for (const [name, list] of Object.entries(lists)) {
      for (const asn of list.asns) {
        const other = seen.get(asn);
        if (other !== undefined) clashes.push(`${asn} in ${other} and ${name}`);
        seen.set(asn, name);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('includes the providers the README promises', () => {
    for (const asn of [16509, 14618, 396982, 15169, 8075, 14061, 16276, 24940, 63949, 20473]) {
      expect(lists.hosting.asns.has(asn)).toBe(true);
    }
    for (const asn of [31898, 45102, 132203, 51167, 12876, 60781, 28753, 13335, 54113, 8560]) {
      expect(lists.hosting.asns.has(asn)).toBe(true);
    }
    expect(lists.hosting.asns.has(47583)).toBe(true);
    for (const asn of [39351, 62371, 136787]) expect(lists.vpn.asns.has(asn)).toBe(true);
    for (const asn of [60729, 208323, 396507]) expect(lists.tor.asns.has(asn)).toBe(true);
  });

  it('dates every list', () => {
    for (const list of Object.values(lists)) expect(list.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});

describe('shipped Tor exit list', () => {
  it('parses, is dated and holds no invented addresses', () => {
    const exits = loadTorExits(defaultIntelPaths().torExits);
    expect(exits.updated).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(exits.v4.size + exits.v6.size).toBe(0);
  });
});

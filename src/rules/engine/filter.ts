import { BlockList, isIP } from 'node:net';
import type { z } from 'zod';
import type { FilterConfig } from '../rules.schemas';
import type { Enrichment, RequestFacts, RuleEvaluator, RuleVerdict } from './types';
import { ALLOWED } from './types';

type Config = z.infer<typeof FilterConfig>;

/**
 * Allow or deny by IP/CIDR, country, ASN, network type, path prefix and method. A request matches
 * when it meets every condition given (any entry within a list). `deny` denies matches; `allow`
 * is an allow-list and denies everything that does NOT match.
 */
export class FilterRule implements RuleEvaluator {
  private readonly ips?: BlockList;
  private readonly countries?: ReadonlySet<string>;
  private readonly asns?: ReadonlySet<number>;
  private readonly networkTypes?: ReadonlySet<string>;
  private readonly methods?: ReadonlySet<string>;

  constructor(private readonly config: Config) {
    const m = config.match;
    if (m.ips?.length) {
      this.ips = new BlockList();
      for (const entry of m.ips) {
        const [ip, bits] = entry.split('/') as [string, string | undefined];
        const family = isIP(ip) === 6 ? 'ipv6' : 'ipv4';
        if (bits === undefined) this.ips.addAddress(ip, family);
        else this.ips.addSubnet(ip, Number(bits), family);
      }
    }
    if (m.countries?.length) this.countries = new Set(m.countries);
    if (m.asns?.length) this.asns = new Set(m.asns);
    if (m.networkTypes?.length) this.networkTypes = new Set(m.networkTypes);
    if (m.methods?.length) this.methods = new Set(m.methods);
  }

  evaluate(facts: RequestFacts, enrichment: Enrichment): RuleVerdict {
    const matched = this.matches(facts, enrichment);
    if (this.config.action === 'deny') {
      return matched ? { conclusion: 'DENY', reason: 'FILTER_DENIED' } : ALLOWED;
    }
    return matched ? ALLOWED : { conclusion: 'DENY', reason: 'FILTER_NOT_ALLOWED' };
  }

  private matches(facts: RequestFacts, e: Enrichment): boolean {
    const m = this.config.match;
    if (this.methods && !this.methods.has(facts.method)) return false;
    if (m.pathPrefixes?.length && !m.pathPrefixes.some((p) => facts.path.startsWith(p))) {
      return false;
    }
    if (this.countries && (e.country === null || !this.countries.has(e.country))) return false;
    if (this.asns && (e.asn === null || !this.asns.has(e.asn))) return false;
    if (this.networkTypes && !this.networkTypes.has(e.networkType)) return false;
    if (this.ips && !this.ips.check(facts.ip, isIP(facts.ip) === 6 ? 'ipv6' : 'ipv4')) {
      return false;
    }
    return true;
  }
}

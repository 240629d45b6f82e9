import type { FilterResult, initializeWasm } from '@arcjet/analyze-wasm';
import type { IpIntel } from '../intel/intel.types';

type Root = NonNullable<Awaited<ReturnType<typeof initializeWasm>>>;

/** The request as the Arcjet SDK's analysis reads it (its `toAnalyzeRequest` shape). */
export interface AnalyzeRequest {
  ip: string;
  method: string;
  protocol: string;
  host: string;
  path: string;
  headers: Record<string, string>;
  cookies: string;
  query: string;
  extra: Record<string, string>;
}

/**
 * Arcjet's own request analysis (`@arcjet/analyze-wasm`, the WebAssembly component the SDK runs
 * in the protected app), run by Bulwark for the two things that must match the SDK bit for bit:
 * - fingerprints: the SDK caches a DENY under (rule id, fingerprint) and only finds it again when
 *   the fingerprint Bulwark returns is the one it computes itself;
 * - filter expressions: the SDK's expression language, evaluated with Bulwark's threat
 *   intelligence answering the `ip.src.*` fields the SDK cannot know locally.
 *
 * One instance serves every call (the component is synchronous and the process single-threaded);
 * instantiating one per call, as the SDK does, costs milliseconds.
 */
export class SdkAnalyzer {
  private root?: Root;
  private loading?: Promise<Root>;
  /** The address facts `ipLookup` answers during one synchronous matchFilters call. */
  private lookup: string | undefined;

  /**
   * Loads the component on first use: its module inlines 4 MB of WebAssembly (~160 ms to
   * import), which processes that never serve the Arcjet protocol (the CLI) should not pay.
   */
  async ready(): Promise<Root> {
    if (this.root) return this.root;
    this.loading ??= this.instantiate();
    return this.loading;
  }

  private async instantiate(): Promise<Root> {
    const { initializeWasm } = await import('@arcjet/analyze-wasm');
    const root = await initializeWasm({
      'arcjet:js-req/bot-identifier': { detect: () => [] },
      // Email checks are Bulwark's (its maintained lists), never the component's.
      'arcjet:js-req/email-validator-overrides': {
        isFreeEmail: () => 'unknown',
        isDisposableEmail: () => 'unknown',
        hasMxRecords: () => 'unknown',
        hasGravatar: () => 'unknown',
      },
      'arcjet:js-req/filter-overrides': { ipLookup: () => this.lookup },
      'arcjet:js-req/sensitive-information-identifier': { detect: () => [] },
      'arcjet:js-req/verify-bot': { verify: () => 'unverifiable' },
    });
    if (!root) throw new Error('WebAssembly is not available: the Arcjet analysis cannot run');
    this.root = root;
    return root;
  }

  /** The SDK's fingerprint of `request` for `characteristics` (`fp::2::...`). */
  async fingerprint(request: AnalyzeRequest, characteristics: readonly string[]): Promise<string> {
    const root = await this.ready();
    return root.generateFingerprint(JSON.stringify(request), [...characteristics]);
  }

  /**
   * Evaluates filter expressions as the SDK's `filter` rule does: with `allowIfMatch` the request
   * is allowed only when an expression matches, otherwise it is denied when one matches.
   */
  async matchFilters(
    request: AnalyzeRequest,
    localFields: string,
    expressions: readonly string[],
    allowIfMatch: boolean,
    intel: IpIntel | null,
  ): Promise<FilterResult> {
    const root = await this.ready();
    this.lookup = intel ? JSON.stringify(ipFields(intel)) : undefined;
    try {
      return root.matchFilters(
        JSON.stringify(request),
        localFields,
        [...expressions],
        allowIfMatch,
      );
    } finally {
      this.lookup = undefined;
    }
  }
}

/**
 * Bulwark's intelligence in the field names the component's `ip.src.*` lookups read (found by
 * probing the component: snake_case IpDetails). Fields Bulwark does not know stay absent, so
 * expressions on them remain undetermined rather than false.
 */
function ipFields(intel: IpIntel): Record<string, string | boolean> {
  const fields: Record<string, string | boolean> = {
    is_hosting: intel.networkType === 'hosting',
    is_vpn: intel.networkType === 'vpn',
    is_tor: intel.networkType === 'tor',
  };
  if (intel.country) fields.country = intel.country;
  if (intel.asn !== null) fields.asn = String(intel.asn);
  if (intel.asOrg) fields.asn_name = intel.asOrg;
  if (intel.networkType === 'hosting') fields.asn_type = 'hosting';
  else if (intel.networkType === 'residential') fields.asn_type = 'isp';
  return fields;
}

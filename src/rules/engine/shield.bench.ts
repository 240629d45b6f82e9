import { performance } from 'node:perf_hooks';
import { SHIELD_ATTACKS } from '../rules.schemas';
import { SHIELD_REASONS, ShieldDetector, ShieldRule, type ShieldAttack } from './shield';
import samplesFile from './shield-samples.json';
import type { Enrichment, RequestFacts, RuleVerdict } from './types';

/** One labelled input of shield-samples.json. */
export interface ShieldSample {
  /** query: a raw query string as sent; path: a raw path; header: the value of `header`. */
  location: 'path' | 'query' | 'header';
  header?: string;
  value: string;
  expected: ShieldAttack | 'benign';
  note?: string;
}

const LOCATIONS: ReadonlySet<string> = new Set(['path', 'query', 'header']);
const EXPECTED: ReadonlySet<string> = new Set([...SHIELD_ATTACKS, 'benign']);

/** The committed sample set, checked as it is read so a malformed entry fails loudly. */
export const SHIELD_SAMPLES: readonly ShieldSample[] = samplesFile.samples.map((raw, i) => {
  const sample = raw as ShieldSample;
  if (
    !LOCATIONS.has(sample.location) ||
    !EXPECTED.has(sample.expected) ||
    typeof sample.value !== 'string' ||
    (sample.location === 'header') !== (typeof sample.header === 'string')
  ) {
    throw new Error(`shield-samples.json: sample ${i} is malformed`);
  }
  return sample;
});

/** What a desktop Chrome sends on a page view; every sample is set into a copy of it. */
export const BROWSER_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  host: 'shop.example.com',
  connection: 'keep-alive',
  'sec-ch-ua': '"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"',
  'sec-ch-ua-mobile': '?0',
  'sec-ch-ua-platform': '"Windows"',
  'upgrade-insecure-requests': '1',
  'user-agent':
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  accept:
    'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8',
  'sec-fetch-site': 'same-origin',
  'sec-fetch-mode': 'navigate',
  'sec-fetch-user': '?1',
  'sec-fetch-dest': 'document',
  referer: 'https://shop.example.com/',
  'accept-encoding': 'gzip, deflate, br, zstd',
  'accept-language': 'en-GB,en;q=0.9,de;q=0.8',
  cookie: '_ga=GA1.1.1234567890.1699999999; theme=dark; session=s%3A8f2b1c.x9Kq2Lm',
});

/** The request and enrichment a sample stands for. */
export function sampleRequest(sample: ShieldSample): [RequestFacts, Enrichment] {
  const headers: Record<string, string> = { ...BROWSER_HEADERS };
  if (sample.location === 'header') headers[sample.header!] = sample.value;
  const facts: RequestFacts = {
    ip: '203.0.113.10',
    method: 'GET',
    protocol: 'https',
    host: 'shop.example.com',
    path: sample.location === 'path' ? sample.value : '/search',
    query: sample.location === 'query' ? sample.value : '',
    headers,
    characteristics: {},
  };
  const enrichment: Enrichment = {
    country: 'GB',
    asn: 64500,
    asOrg: 'Example Broadband',
    networkType: 'residential',
    botCategory: null,
    userAgent: headers['user-agent'] ?? '',
  };
  return [facts, enrichment];
}

export interface ShieldSampleStats {
  attacks: number;
  /** Attacks denied with their own class as the reason. */
  detected: number;
  recall: number;
  benign: number;
  /** Benign samples denied for any reason. */
  falsePositives: number;
  fpRate: number;
  perClass: Record<string, { total: number; detected: number }>;
  /** Wall time of one ShieldRule.evaluate, all classes enabled: mean over the sample set,
   * median over the rounds. */
  usPerEvaluation: number;
}

/** Each sample's verdict with every class enabled. */
export function shieldSampleVerdicts(
  rule = new ShieldRule({ detect: [...SHIELD_ATTACKS] }, ShieldDetector.shared()),
): { sample: ShieldSample; verdict: RuleVerdict }[] {
  return SHIELD_SAMPLES.map((sample) => ({
    sample,
    verdict: rule.evaluate(...sampleRequest(sample)),
  }));
}

/**
 * Recall, false positives and cost of the shield over the committed sample set
 * (shield-samples.json), with every class enabled. Timing runs the whole set `rounds` times
 * after one warm-up round and reports the median round.
 */
export function shieldSampleStats(rounds = 20): ShieldSampleStats {
  const rule = new ShieldRule({ detect: [...SHIELD_ATTACKS] }, ShieldDetector.shared());
  const perClass: Record<string, { total: number; detected: number }> = {};
  for (const attack of SHIELD_ATTACKS) perClass[attack] = { total: 0, detected: 0 };
  let attacks = 0;
  let detected = 0;
  let benign = 0;
  let falsePositives = 0;
  for (const { sample, verdict } of shieldSampleVerdicts(rule)) {
    if (sample.expected === 'benign') {
      benign++;
      if (verdict.conclusion === 'DENY') falsePositives++;
      continue;
    }
    attacks++;
    const tally = perClass[sample.expected];
    tally.total++;
    if (verdict.conclusion === 'DENY' && verdict.reason === SHIELD_REASONS[sample.expected]) {
      detected++;
      tally.detected++;
    }
  }

  // Each round timed on its own and the median taken: robust to a busy machine and to a GC
  // pause landing in one round.
  const requests = SHIELD_SAMPLES.map(sampleRequest);
  for (const [facts, enrichment] of requests) rule.evaluate(facts, enrichment);
  const perRound: number[] = [];
  for (let r = 0; r < Math.max(1, rounds); r++) {
    const start = performance.now();
    for (const [facts, enrichment] of requests) rule.evaluate(facts, enrichment);
    perRound.push(((performance.now() - start) * 1000) / requests.length);
  }
  perRound.sort((a, b) => a - b);
  const usPerEvaluation = perRound[Math.floor(perRound.length / 2)];

  return {
    attacks,
    detected,
    recall: attacks === 0 ? 0 : detected / attacks,
    benign,
    falsePositives,
    fpRate: benign === 0 ? 0 : falsePositives / benign,
    perClass,
    usPerEvaluation,
  };
}

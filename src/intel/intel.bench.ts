import type { IntelService } from './intel.service';

export interface IntelBenchResult {
  nsPerLookup: number;
  /** Lookups timed: `ips.length * iterations`. */
  lookups: number;
  /** How many of them returned intel (not null); also keeps the calls from being optimised away. */
  found: number;
}

/** Warm-up passes, so the measured loop runs optimised code rather than the interpreter. */
const WARMUP_ITERATIONS = 20;

/**
 * Mean cost of `service.lookup` over `iterations` passes through `ips`, measured with a plain
 * loop and `process.hrtime.bigint`, after a warm-up.
 */
export function benchIntelLookup(
  service: IntelService,
  ips: readonly string[],
  iterations: number,
): IntelBenchResult {
  if (ips.length === 0 || iterations < 1)
    throw new Error('benchIntelLookup needs IPs and >= 1 pass');
  let found = 0;
  for (let pass = 0; pass < WARMUP_ITERATIONS; pass++) {
    for (const ip of ips) if (service.lookup(ip) !== null) found++;
  }
  found = 0;
  const started = process.hrtime.bigint();
  for (let pass = 0; pass < iterations; pass++) {
    for (const ip of ips) if (service.lookup(ip) !== null) found++;
  }
  const elapsed = Number(process.hrtime.bigint() - started);
  const lookups = ips.length * iterations;
  return { nsPerLookup: elapsed / lookups, lookups, found };
}

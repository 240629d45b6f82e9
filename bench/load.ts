import autocannon from 'autocannon';
import type { WireRequest } from './wire';

export interface LoadSettings {
  connections: number;
  /** Load on a freshly started server, per request kind, before any row is measured. */
  serverWarmupSeconds: number;
  /** Load right before each measured run, thrown away. */
  warmupSeconds: number;
  seconds: number;
}

export interface Measurement {
  /** Mean of the per-second request counts (autocannon's requests.average). */
  reqPerSec: number;
  /** Latency percentiles of the 2xx answers, in ms, from every response's own timing. */
  p50: number;
  p99: number;
  requests: number;
  /**
   * Socket errors and timeouts, plus failed answers: non-2xx, or 2xx whose body fails the check.
   * autocannon checks the body of every answer, and an error body never passes the checks used
   * here, so its mismatch count already includes the non-2xx answers; the larger of the two
   * counts is taken so that a looser check could not hide them.
   */
  errors: number;
  errorDetail: { socket: number; timeouts: number; non2xx: number; failedCheck: number };
}

function run(
  baseUrl: string,
  request: WireRequest,
  connections: number,
  seconds: number,
  verifyBody: (body: string) => boolean,
  onLatency?: (ms: number) => void,
  overallRate?: number,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: new URL(request.path, baseUrl).toString(),
        method: request.method,
        headers: request.headers,
        body: request.body,
        connections,
        pipelining: 1,
        duration: seconds,
        ...(overallRate ? { overallRate } : {}),
        timeout: 10,
        // autocannon collects the body as a string.
        verifyBody: (body) => verifyBody(typeof body === 'string' ? body : String(body ?? '')),
      },
      (error: unknown, result) => (error ? reject(toError(error)) : resolve(result)),
    );
    if (onLatency) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) onLatency(responseTime);
      });
    }
  });
}

/**
 * Warms a freshly started server up with every request it will be measured on, in turn: its
 * first seconds under load (JIT, and on the app the embedded database's WASM tiering up) are
 * much slower than the rest and would penalise whichever row came first.
 */
export async function warmUp(
  baseUrl: string,
  requests: WireRequest[],
  verifyBody: (body: string) => boolean,
  settings: LoadSettings,
): Promise<void> {
  for (const request of requests) {
    await run(baseUrl, request, settings.connections, settings.serverWarmupSeconds, verifyBody);
  }
}

/**
 * Loads `request` on `connections` keep-alive connections: a warm-up whose numbers are thrown
 * away, then the measured run. autocannon's own latency histogram has 1 ms resolution, so the
 * percentiles come from the response timings it reports (hrtime, sub-millisecond).
 */
export async function measure(
  baseUrl: string,
  request: WireRequest,
  verifyBody: (body: string) => boolean,
  settings: LoadSettings,
  /** Requests per second across all connections; as fast as the server answers when omitted. */
  overallRate?: number,
): Promise<Measurement> {
  await run(baseUrl, request, settings.connections, settings.warmupSeconds, verifyBody);
  const latencies: number[] = [];
  const result = await run(
    baseUrl,
    request,
    settings.connections,
    settings.seconds,
    verifyBody,
    (ms) => latencies.push(ms),
    overallRate,
  );
  latencies.sort((a, b) => a - b);
  const errorDetail = {
    socket: result.errors - result.timeouts,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    failedCheck: result.mismatches,
  };
  return {
    reqPerSec: result.requests.average,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: result.requests.total,
    errors: result.errors + Math.max(result.non2xx, result.mismatches),
    errorDetail,
  };
}

/** Nearest-rank percentile of sorted values; NaN when there are none. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/**
 * Open-loop load at a constant rate: one request every 1000/rate ms on a pool of keep-alive
 * connections, each timed from its own send to its answer, whatever the others do. autocannon's
 * rate mode sends each tick's requests on all its connections at once, which measures the burst
 * it creates rather than the server (bare node:http shows a p99 of ~4 ms at 1,000 req/s that way).
 */
export async function measureAtRate(
  baseUrl: string,
  request: WireRequest,
  verifyBody: (body: string) => boolean,
  rate: number,
  seconds: number,
): Promise<Measurement> {
  const { Agent, request: send } = await import('node:http');
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const url = new URL(request.path, baseUrl);
  const latencies: number[] = [];
  let errors = 0;
  let failedCheck = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const started = process.hrtime.bigint();
      const req = send(url, { method: request.method, headers: request.headers, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          if (res.statusCode && res.statusCode < 300 && verifyBody(body)) latencies.push(ms);
          else failedCheck++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(request.body);
    });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    inflight.push(one());
  }
  await Promise.all(inflight);
  agent.destroy();
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    reqPerSec: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    requests: total,
    errors: errors + failedCheck,
    errorDetail: { socket: errors, timeouts: 0, non2xx: 0, failedCheck },
  };
}

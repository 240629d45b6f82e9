import * as http2 from 'node:http2';
import type { Measurement } from './load';

/** One HTTP/2 request to repeat: a unary RPC with a fixed, pre-encoded body. */
export interface H2Request {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

interface Answer {
  status: number;
  body: Buffer;
}

function send(session: http2.ClientHttp2Session, request: H2Request): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': request.path,
      ...request.headers,
    });
    let status = 0;
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (status = Number(h[':status'])));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve({ status, body: Buffer.concat(chunks) }));
    stream.on('error', reject);
    stream.end(request.body);
  });
}

/**
 * Closed-loop load over ONE HTTP/2 connection, as an Arcjet SDK client makes it (it multiplexes
 * every call on one session): `concurrency` requests in flight, each sent as soon as the previous
 * one on its slot is answered, timed from send to answer. autocannon speaks HTTP/1.1 only.
 */
async function run(
  origin: string,
  request: H2Request,
  concurrency: number,
  seconds: number,
  verify: (answer: Answer) => boolean,
  latencies?: number[],
): Promise<{ requests: number; errors: number }> {
  const session = http2.connect(origin);
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  const until = performance.now() + seconds * 1000;
  let requests = 0;
  let errors = 0;
  const slot = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      try {
        const answer = await send(session, request);
        const ms = performance.now() - started;
        requests++;
        if (verify(answer)) latencies?.push(ms);
        else errors++;
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, slot));
  session.close();
  return { requests, errors };
}

export async function measureH2(
  origin: string,
  request: H2Request,
  verify: (answer: Answer) => boolean,
  settings: { connections: number; warmupSeconds: number; seconds: number },
): Promise<Measurement> {
  await run(origin, request, settings.connections, settings.warmupSeconds, verify);
  const latencies: number[] = [];
  const { requests, errors } = await run(
    origin,
    request,
    settings.connections,
    settings.seconds,
    verify,
    latencies,
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) =>
    latencies.length === 0
      ? NaN
      : latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)];
  return {
    reqPerSec: requests / settings.seconds,
    p50: at(50),
    p99: at(99),
    requests,
    errors,
    errorDetail: { socket: 0, timeouts: 0, non2xx: errors, failedCheck: 0 },
  };
}

import type { IncomingMessage } from 'node:http';
import {
  CallHandler,
  ExecutionContext,
  Injectable,
  NestInterceptor,
  OnApplicationShutdown,
} from '@nestjs/common';
import { Span, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Request } from 'express';
import type { Observable } from 'rxjs';

/**
 * Tracing as the rest of the code sees it: the OpenTelemetry API only, which does nothing until
 * `startTracing` (tracing-sdk.ts, loaded only when configured) registers a provider. So the
 * decide path pays a no-op call when tracing is off.
 */
const tracer = trace.getTracer('bulwark');

let stop: (() => Promise<void>) | null = null;

/** Called by startTracing: how to flush and stop the provider at shutdown. */
export function onTracingStop(fn: () => Promise<void>): void {
  stop = fn;
}

/** Flushes the spans still queued and stops tracing; nothing when it never started. */
export async function stopTracing(): Promise<void> {
  const fn = stop;
  stop = null;
  await fn?.();
}

/** Flushes the last spans when the app shuts down (SIGTERM included). */
@Injectable()
export class TracingShutdown implements OnApplicationShutdown {
  onApplicationShutdown(): Promise<void> {
    return stopTracing();
  }
}

/**
 * Names the current request's server span by its route (`POST /mcp`), as the routers that the
 * HTTP instrumentation cannot see (the hot routes served ahead of Nest, Nest's own router) know it.
 */
export function nameRequestSpan(req: IncomingMessage, route: string): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.updateName(`${req.method ?? 'GET'} ${route}`);
  span.setAttribute('http.route', route);
}

/** Names the server span of every request Nest's router matched by its route pattern. */
@Injectable()
export class TraceRouteInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() === 'http') {
      const req = context.switchToHttp().getRequest<Request>();
      const route = (req.route as { path?: string } | undefined)?.path;
      if (route !== undefined) nameRequestSpan(req, `${req.baseUrl}${route}`);
    }
    return next.handle();
  }
}

/**
 * Runs `work` in a child span named `name`; a failure marks the span as an error. Outside a
 * recording span (tracing off, or the request not sampled) it just runs `work`: no span, no
 * context switch on the /mcp hot path.
 */
export function inSpan<T>(
  name: string,
  attributes: Record<string, string>,
  work: () => Promise<T>,
): Promise<T> {
  if (!trace.getActiveSpan()?.isRecording()) return work();
  return tracer.startActiveSpan(name, { attributes }, async (span: Span) => {
    try {
      return await work();
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The current trace and span ids, for log lines; empty when no span is recording. */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

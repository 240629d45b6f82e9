import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { AppConfig } from '../config/config';
import { onTracingStop } from './tracing';

/** Requests that are not worth a span: probes and scrapes, many times a minute. */
const UNTRACED = new Set(['/health', '/metrics']);

/**
 * Starts OpenTelemetry tracing: every incoming HTTP request (REST, /v1/decide, /mcp, OAuth)
 * becomes a server span that continues the caller's W3C `traceparent`, exported in batches
 * over OTLP/HTTP. Must run before the server code loads, so that `node:http` is instrumented
 * when it creates the server. Only incoming requests are traced: outgoing calls (ClickHouse,
 * the OAuth provider) would put their URLs, which may hold credentials, into span attributes.
 * No header is recorded (the HTTP instrumentation records none unless told to).
 */
export function startTracing(tracing: NonNullable<AppConfig['tracing']>): void {
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': tracing.serviceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracing.tracesUrl }))],
  });
  provider.register();
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.has((req.url ?? '').split('?')[0]),
        ignoreOutgoingRequestHook: () => true,
      }),
    ],
  });
  onTracingStop(() => provider.shutdown());
}

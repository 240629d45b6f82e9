import {
  Controller,
  Get,
  Global,
  Header,
  Injectable,
  Module,
  NestMiddleware,
} from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Public } from '../auth/auth.decorators';

/** One Prometheus registry per application instance (so tests can run several apps at once). */
@Injectable()
export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new Counter({
    name: 'bulwark_http_requests_total',
    help: 'HTTP requests answered, by method, route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'bulwark_http_request_duration_seconds',
    help: 'HTTP request duration by method and route.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly decisions = {
    queued: new Gauge({
      name: 'bulwark_decisions_queued',
      help: 'Decisions waiting in memory for the analytics store.',
      registers: [this.registry],
    }),
    written: this.counter('bulwark_decisions_written_total', 'Decisions stored in analytics.'),
    spilled: this.counter(
      'bulwark_decisions_spilled_total',
      'Decisions written to the local spill file because the analytics store failed.',
    ),
    replayed: this.counter(
      'bulwark_decisions_replayed_total',
      'Spilled decisions sent to the analytics store once it was back.',
    ),
    dropped: this.counter(
      'bulwark_decisions_dropped_total',
      'Decisions lost: the analytics store and the spill file both failed.',
    ),
  };

  private counter(name: string, help: string): Counter {
    return new Counter({ name, help, registers: [this.registry] });
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'bulwark_' });
  }
}

/** Records every request, labelled by the route pattern (never the raw path, which has ids). */
@Injectable()
export class MetricsMiddleware implements NestMiddleware {
  constructor(private readonly metrics: Metrics) {}

  use(req: Request, res: Response, next: NextFunction): void {
    const end = this.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route
        ? `${req.baseUrl}${String((req.route as { path: string }).path)}`
        : 'unmatched';
      end({ method: req.method, route });
      this.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    });
    next();
  }
}

@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: Metrics) {}

  /** Prometheus exposition. Public like /health: restrict it at your reverse proxy if needed. */
  @Public()
  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4')
  scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

/** Global, so every module records into the one registry of this application instance. */
@Global()
@Module({ providers: [Metrics], exports: [Metrics] })
export class MetricsModule {}

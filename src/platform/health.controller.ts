import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { DataSource } from 'typeorm';
import { Public } from '../auth/auth.decorators';

@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly dataSource: DataSource,
  ) {}

  /** Liveness and readiness: 200 when the relational store answers, 503 otherwise. */
  @Public()
  @Get()
  @HealthCheck()
  check() {
    return this.health.check([
      async () => {
        const indicator = this.indicators.check('database');
        try {
          await this.dataSource.query('SELECT 1');
          return indicator.up();
        } catch (error) {
          return indicator.down({
            message: error instanceof Error ? error.message : String(error),
          });
        }
      },
    ]);
  }
}

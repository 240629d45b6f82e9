import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { CounterStore } from '../rules/engine/rate-limit';

/**
 * Rate-limit counters: in Redis when REDIS_URL is set, so every instance counts together;
 * in process memory otherwise. Redis commands fail fast while it is unreachable (no offline
 * queue), and the rule engine fails open on them rather than stalling every decision.
 */
@Injectable()
export class ManagedCounterStore extends CounterStore implements OnApplicationShutdown {
  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    super(
      config.redisUrl
        ? new Redis(config.redisUrl, {
            enableOfflineQueue: false,
            maxRetriesPerRequest: 1,
            connectTimeout: 2000,
            lazyConnect: false,
          })
        : undefined,
    );
  }

  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}

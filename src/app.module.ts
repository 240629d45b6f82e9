import {
  DynamicModule,
  MiddlewareConsumer,
  Module,
  NestModule,
  RequestMethod,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { AdminCommands } from './admin/admin-commands';
import { OAUTH_SECRETS } from './oauth/keys';
import { oauthSecretsFor } from './admin/admin.module';
import { AdminSocket } from './admin/admin-socket';
import { AnalyticsController } from './analytics/analytics.controller';
import { AnalyticsModule } from './analytics/analytics.module';
import { AnalyticsService } from './analytics/analytics.service';
import { AnalyticsTools } from './analytics/analytics.tools';
import { AuditController } from './audit/audit.controller';
import { AuditService } from './audit/audit.service';
import { AuditTools } from './audit/audit.tools';
import { AccessService } from './auth/access.service';
import { AuthGuard } from './auth/auth.guard';
import { TokenVerifier } from './auth/token-verifier';
import { Clock, SystemClock } from './common/clock';
import { ZodPipe } from './common/zod-pipe';
import { AppConfig } from './config/config';
import { AppConfigModule, AppOptions } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { DemoService } from './demo/demo.service';
import { ArcjetDecideService } from './arcjet/arcjet-decide.service';
import { ArcjetServer } from './arcjet/arcjet.server';
import { SdkAnalyzer } from './arcjet/sdk-analyzer';
import { ManagedCounterStore } from './decisions/counters';
import { DecideHttpHandler } from './decisions/decide.http';
import { DecideService } from './decisions/decide.service';
import { DecisionsController } from './decisions/decisions.controller';
import { DecisionsService } from './decisions/decisions.service';
import { DecisionsTools } from './decisions/decisions.tools';
import { SiteChanges } from './decisions/site-changes';
import { SiteDirectory } from './decisions/site-directory';
import { defaultIntelPaths, IntelService } from './intel/intel.service';
import { CounterStore } from './rules/engine/rate-limit';
import { McpModule } from './mcp/mcp.module';
import { OAuthAbuseLimits } from './oauth/abuse-limits';
import { AuthorizationServer } from './oauth/authorization-server';
import { AuthorizationServerController } from './oauth/authorization-server.controller';
import { DiscoveryController } from './oauth/discovery.controller';
import { InteractionController } from './oauth/interaction.controller';
import { OAuthProxyController } from './oauth/oauth-proxy.controller';
import { OAuthReadyMiddleware } from './oauth/oauth-ready.middleware';
import { OAuthUpstream } from './oauth/upstream';
import { UsersService } from './users/users.service';
import { HealthController } from './platform/health.controller';
import { TraceRouteInterceptor, TracingShutdown } from './platform/tracing';
import { loggerParams } from './platform/logging';
import { MetricsController, MetricsMiddleware, MetricsModule } from './platform/metrics';
import { ProblemFilter } from './platform/problem.filter';
import { RulesController } from './rules/rules.controller';
import { RulesService } from './rules/rules.service';
import { RulesTools } from './rules/rules.tools';
import { SiteKeyCipher } from './sites/site-keys';
import { SitesController } from './sites/sites.controller';
import { SitesService } from './sites/sites.service';
import { SitesTools } from './sites/sites.tools';
import { TeamsController } from './teams/teams.controller';
import { TeamsService } from './teams/teams.service';
import { TeamsTools } from './teams/teams.tools';

@Module({})
export class AppModule implements NestModule {
  static forRoot(config: AppConfig, options: AppOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        AppConfigModule.forRoot(config, options),
        LoggerModule.forRoot(loggerParams(config)),
        MetricsModule,
        DatabaseModule,
        AnalyticsModule,
        TerminusModule.forRoot({ logger: false }),
        McpModule,
      ],
      controllers: [
        HealthController,
        MetricsController,
        TeamsController,
        SitesController,
        RulesController,
        AuditController,
        DecisionsController,
        AnalyticsController,
        DiscoveryController,
        OAuthProxyController,
        // The built-in authorization server; the pages first, they sit under its path prefix.
        ...(config.oauth.external ? [] : [InteractionController, AuthorizationServerController]),
      ],
      providers: [
        { provide: Clock, useValue: options.clock ?? new SystemClock() },
        { provide: APP_GUARD, useClass: AuthGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_PIPE, useClass: ZodPipe },
        { provide: APP_INTERCEPTOR, useClass: TraceRouteInterceptor },
        TokenVerifier,
        AccessService,
        AuditService,
        TeamsService,
        SitesService,
        SiteKeyCipher,
        RulesService,
        TeamsTools,
        SitesTools,
        RulesTools,
        AuditTools,
        SiteChanges,
        SiteDirectory,
        DecideHttpHandler,
        { provide: CounterStore, useClass: ManagedCounterStore },
        {
          provide: IntelService,
          useFactory: () => IntelService.load({ ...defaultIntelPaths(), ...config.intelFiles }),
        },
        DecideService,
        // Arcjet SDK compatibility: its DecideService on ports of its own (README).
        { provide: SdkAnalyzer, useValue: new SdkAnalyzer() },
        ArcjetDecideService,
        ArcjetServer,
        DecisionsService,
        DecisionsTools,
        AnalyticsService,
        AnalyticsTools,
        DemoService,
        UsersService,
        OAuthUpstream,
        OAuthAbuseLimits,
        ...(config.oauth.external ? [] : [AuthorizationServer]),
        { provide: OAUTH_SECRETS, useFactory: () => oauthSecretsFor(config) },
        AdminCommands,
        TracingShutdown,
        // The CLI's way in while the server runs on embedded PGlite (see AdminSocket).
        ...(config.mode === 'embedded' && config.dataDir !== 'memory://' ? [AdminSocket] : []),
      ],
    };
  }

  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(MetricsMiddleware).forRoutes('*path');
    consumer.apply(OAuthReadyMiddleware).forRoutes({ path: 'mcp', method: RequestMethod.ALL });
  }
}

import { Inject, MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { hostHeaderValidation, originValidation } from '@modelcontextprotocol/express';
import { AppConfig } from '../config/config';
import { APP_CONFIG } from '../config/config.module';
import { McpController } from './mcp.controller';
import { McpEndpoint } from './mcp.endpoint';
import { McpToolDispatcher } from './mcp-tool.dispatcher';
import { McpToolRegistry } from './mcp-tool.registry';

/**
 * The MCP transport: discovers `@McpTool` methods, serves them at /mcp. Knows nothing of
 * teams, sites or rules; domain modules declare their tools next to their services.
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [McpController],
  providers: [McpToolRegistry, McpToolDispatcher, McpEndpoint],
  exports: [McpToolRegistry],
})
export class McpModule implements NestModule {
  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {}

  /**
   * DNS-rebinding protection: a browser page on another origin must not reach a Bulwark on
   * the user's machine or network. Host and Origin (when sent) must name this server's host.
   */
  configure(consumer: MiddlewareConsumer): void {
    consumer
      .apply(
        hostHeaderValidation(this.config.allowedHosts),
        originValidation(this.config.allowedHosts),
      )
      .forRoutes(McpController);
  }
}

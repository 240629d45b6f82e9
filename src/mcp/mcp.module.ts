import { MiddlewareConsumer, Module, NestModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HostCheckMiddleware } from './host-check.middleware';
import { McpController } from './mcp.controller';
import { McpEndpoint } from './mcp.endpoint';
import { McpHttpHandler } from './mcp.http';
import { McpToolDispatcher } from './mcp-tool.dispatcher';
import { McpToolRegistry } from './mcp-tool.registry';

/**
 * The MCP transport: discovers `@McpTool` methods, serves them at /mcp. Knows nothing of
 * teams, sites or rules; domain modules declare their tools next to their services.
 */
@Module({
  imports: [DiscoveryModule],
  controllers: [McpController],
  providers: [McpToolRegistry, McpToolDispatcher, McpEndpoint, McpHttpHandler],
  exports: [McpToolRegistry],
})
export class McpModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HostCheckMiddleware).forRoutes(McpController);
  }
}

import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express, { RequestHandler } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { AppModule } from './app.module';
import { AppOptions } from './config/config.module';
import { AppConfig, BUILT_IN_ISSUER_PATH } from './config/config';
import { DecideHttpHandler, documentDecide } from './decisions/decide.http';
import { BODY_LIMIT } from './platform/limits';
import { requestId } from './platform/logging';

/** Builds the application (REST API, docs, health, metrics) without listening. */
export async function createApp(
  config: AppConfig,
  options: AppOptions = {},
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, options), {
    bufferLogs: true,
    bodyParser: false,
  });
  app.useLogger(app.get(Logger));
  // The request id first: an answer the body parsers give (malformed JSON, too large) names it
  // too. The logging middleware keeps an id already set.
  app.use((req: IncomingMessage & { id?: string }, res: ServerResponse, next: () => void) => {
    req.id ??= requestId(req, res);
    next();
  });
  app.use(bodyParsers());
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.enableShutdownHooks();
  app.get(DecideHttpHandler).install(app.getHttpServer());

  // Built on first request to /docs, not at start-up.
  const document = () =>
    documentDecide(
      cleanupOpenApiDoc(
        SwaggerModule.createDocument(
          app,
          new DocumentBuilder()
            .setTitle('Bulwark API')
            .setDescription(
              'Teams own sites, sites have rules (LIVE or DRY_RUN). Authenticate with an OAuth access token carrying bulwark:read and/or bulwark:write.',
            )
            .setVersion('0.1.0')
            .addBearerAuth()
            .build(),
        ),
      ),
    );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

/**
 * JSON bodies for the API; form bodies for the sign-in pages. The OAuth endpoints read their own
 * bodies: the built-in authorization server parses them itself and the proxy forwards them as
 * they came.
 */
function bodyParsers(): RequestHandler {
  const json = express.json({ limit: BODY_LIMIT });
  const form = express.urlencoded({ limit: '16kb', extended: false });
  const interactions = `${BUILT_IN_ISSUER_PATH}/interaction/`;
  return (req, res, next) => {
    // Spelt as Express routes it: case-insensitive, a trailing slash ignored.
    const path = req.path.toLowerCase().replace(/\/+$/, '');
    if (path.startsWith(interactions)) return form(req, res, next);
    if (
      path.startsWith(`${BUILT_IN_ISSUER_PATH}/`) ||
      path === '/mcp/register' ||
      path === '/mcp/token'
    ) {
      return next();
    }
    return json(req, res, next);
  };
}

/** Builds the application and listens on the configured host and port. */
export async function serve(
  config: AppConfig,
  options: AppOptions = {},
): Promise<INestApplication> {
  const app = await createApp(config, options);
  await app.listen(config.port, config.host);
  return app;
}

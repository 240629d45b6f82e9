import 'reflect-metadata';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { INestApplication } from '@nestjs/common';
import { NestFactory, Reflector } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger } from 'nestjs-pino';
import { cleanupOpenApiDoc } from 'nestjs-zod';
import { AppModule } from './app.module';
import { AppOptions } from './config/config.module';
import { AppConfig } from './config/config';
import { DecideHttpHandler, documentDecide } from './decisions/decide.http';
import { bodyParsers } from './platform/body-parsers';
import { requestId } from './platform/logging';
import { NoUnknownQueryParameters } from './platform/query-parameters';

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
  app.useGlobalInterceptors(new NoUnknownQueryParameters(app.get(Reflector)));
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

/** Builds the application and listens on the configured host and port. */
export async function serve(
  config: AppConfig,
  options: AppOptions = {},
): Promise<INestApplication> {
  const app = await createApp(config, options);
  await app.listen(config.port, config.host);
  return app;
}

import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpException, type INestApplication } from '@nestjs/common';
import type { TrainyardConfig } from '@trainyard/config';
import { ApiKeyAuthenticator } from '../auth/api-key.authenticator';
import { requestPrincipal } from '../auth/api-key.guard';
import { RequestRateLimiter } from '../auth/request-rate.limiter';
import { problem, sendProblem } from '../http/problem-details.filter';
import { requestIdOf } from '../logging/request-id';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { openApiComponentSchemas } from './openapi-schemas';
import { CONFIG } from '@trainyard/infrastructure';

/**
 * Swagger UI at /docs, the document at /docs-json and /docs-yaml — behind a key like every route (the dashboard's
 * session cookie opens it in a browser), since they are served outside Nest's guards.
 */
export function setupOpenApi(app: INestApplication): void {
  const config = app.get<TrainyardConfig>(CONFIG);
  const authenticator = app.get(ApiKeyAuthenticator);
  const rateLimiter = app.get(RequestRateLimiter);
  app.use(
    ['/docs', '/docs-json', '/docs-yaml'],
    (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => {
      if (!config.auth.enabled) return next();
      // The guard's own check, budgets included: a token that fails spends its address's.
      void requestPrincipal(req, res, authenticator, rateLimiter).then(
        () => next(),
        (error: unknown) => {
          if (!(error instanceof HttpException)) return next(error);
          // Served outside Nest's controllers, so outside its exception filter: answered in the same shape by hand.
          const fields = error.getResponse() as Record<string, unknown> & { message: string };
          sendProblem(res, problem(error.getStatus(), fields, requestIdOf(req)));
        },
      );
    },
  );
  const documentConfig = new DocumentBuilder()
    .setTitle('Trainyard API')
    .setDescription('Submit pretrain and fine-tune runs, follow their progress, metrics and checkpoints.')
    .setVersion('1')
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        description: 'An API key: `Authorization: Bearer <key>` (see docs/security.md)',
      },
      'bearer',
    )
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, documentConfig);
  // Request bodies are validated by zod, not class-validator DTOs, so Swagger cannot derive
  // their schemas; put the zod-generated ones into the components the decorators refer to.
  document.components = {
    ...document.components,
    schemas: { ...document.components?.schemas, ...openApiComponentSchemas() },
  };
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}

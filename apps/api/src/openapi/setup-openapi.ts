import type { INestApplication } from '@nestjs/common';
import { authenticateEarly } from '../auth/authenticate-early';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { openApiComponentSchemas } from './openapi-schemas';

/**
 * Swagger UI at /docs, the document at /docs-json and /docs-yaml — behind a key like every route (the dashboard's
 * session cookie opens it in a browser), since they are served outside Nest's guards.
 */
export function setupOpenApi(app: INestApplication): void {
  // The guard's own check, budgets included (a token that fails spends its address's), since
  // these are served outside Nest's guards.
  app.use(
    ['/docs', '/docs-json', '/docs-yaml'],
    authenticateEarly(app, () => true),
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

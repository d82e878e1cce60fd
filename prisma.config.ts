import { defineConfig } from 'prisma/config';

// Only `prisma generate` uses this file: migrations are applied by libs/db's migrator, and the
// runtime connects through a driver adapter (@prisma/adapter-pg or PGlite), not a URL here.
export default defineConfig({
  schema: 'prisma/schema.prisma',
});

// PGlite's contrib extensions are reached through its package's `exports` map
// (`./contrib/*`), which this repository's `moduleResolution: node` does not read: the one used here.
declare module '@electric-sql/pglite/contrib/pg_trgm' {
  import type { Extension } from '@electric-sql/pglite';
  export const pg_trgm: Extension;
}

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The compiled file of one of this library's process or thread entries (`training.child`,
 * `device-probe.child`), next to this module's own. Under Jest this module runs from its
 * TypeScript source, and Node cannot start a .ts file, so the copy built by
 * `node tools/build.mjs libs` into dist/ is used.
 */
export function compiledEntry(name: string): string {
  if (!__filename.endsWith('.ts')) return join(__dirname, `${name}.js`);
  const built = resolve(__dirname, '../../../dist/libs/training/src', `${name}.js`);
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`node tools/build.mjs libs\` first`);
  return built;
}

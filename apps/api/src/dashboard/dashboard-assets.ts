import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface DashboardAsset {
  body: Buffer;
  contentType: string;
}

/**
 * The built dashboard (`npm run build` writes dist/dashboard), found from the repository root
 * whether the API runs from dist/ or from sources under Jest. Read once into memory (a few
 * hundred KB): the set of servable paths is fixed at boot, so no request path touches the disk.
 */
export function loadDashboardAssets(start = __dirname): Map<string, DashboardAsset> | null {
  const dir = findBuiltDashboard(start);
  if (!dir) return null;
  const assets = new Map<string, DashboardAsset>();
  const walk = (folder: string) => {
    for (const name of readdirSync(folder)) {
      const path = join(folder, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (CONTENT_TYPES[extname(name)]) {
        assets.set(relative(dir, path).split('\\').join('/'), {
          body: readFileSync(path),
          contentType: CONTENT_TYPES[extname(name)]!,
        });
      }
    }
  };
  walk(dir);
  return assets;
}

function findBuiltDashboard(start: string): string | null {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'dashboard');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

// Bundles each app into dist/apps/<name>/main.js. Workspace libs are compiled in; npm packages stay
// external and load from node_modules at run time.
import { readFileSync } from 'node:fs';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

import { build } from 'esbuild';

const root = new URL('..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)];
const only = process.argv.slice(2);
const apps = readdirSync(join(root, 'apps')).filter((name) => only.length === 0 || only.includes(name));

await Promise.all(
  apps.map((name) =>
    build({
      entryPoints: [join(root, 'apps', name, 'src', 'main.ts')],
      outfile: join(root, 'dist', 'apps', name, 'main.js'),
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      sourcemap: true,
      external,
      logLevel: 'warning',
    }),
  ),
);
console.error(`built ${apps.join(', ')} into dist/apps`);

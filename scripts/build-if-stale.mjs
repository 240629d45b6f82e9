// `npm start` builds only when a source file is newer than the bundle, so a restart stays fast.
import { execSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((max, entry) => {
    const path = join(dir, entry.name);
    return Math.max(max, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }, 0);

let built = 0;
try {
  built = statSync('dist/bundle/cli.js').mtimeMs;
} catch {
  // Not built yet.
}
const sources = Math.max(newest('src'), statSync('package-lock.json').mtimeMs);
if (sources > built) execSync('npm run build', { stdio: 'inherit' });

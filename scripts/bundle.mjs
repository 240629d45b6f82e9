// Bundles the compiled CLI into one file. Start-up on Node 20 is dominated by resolving and
// loading ~2,000 module files; one bundle roughly halves the time to a ready server.
import { copyFileSync, cpSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';

const require = createRequire(import.meta.url);

// Optional integrations that Nest and Terminus require only when installed.
const optional = {
  name: 'optional-externals',
  setup(b) {
    b.onResolve({ filter: /^[@a-z]/ }, (args) => {
      if (args.kind !== 'require-call') return undefined;
      try {
        require.resolve(args.path, { paths: [args.resolveDir] });
        return undefined;
      } catch {
        return { path: args.path, external: true };
      }
    });
  },
};

await build({
  entryPoints: ['dist/src/cli.js'],
  outfile: 'dist/bundle/cli.js',
  bundle: true,
  minify: true,
  keepNames: true,
  sourcemap: true,
  platform: 'node',
  target: 'node20',
  // PGlite loads its WASM and data files relative to its own module; it runs in a worker.
  // Native addons (libddwaf, DuckDB) load their binaries relative to their own packages.
  external: [
    '@electric-sql/pglite',
    '@electric-sql/pglite-socket',
    '@datadog/native-appsec',
    '@duckdb/node-api',
  ],
  plugins: [optional],
  logLevel: 'error',
});
copyFileSync('src/database/pglite.worker.js', 'dist/bundle/pglite.worker.js');
// Read at start-up from beside the code that loads it.
copyFileSync('src/mcp/instructions.md', 'dist/bundle/instructions.md');
// Curated threat-intelligence lists (the large npm datasets are resolved from node_modules).
cpSync('src/intel/data', 'dist/bundle/intel-data', { recursive: true });

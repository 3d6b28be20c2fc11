import { build, type Plugin } from 'esbuild';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../service/util/package-root.js';

/**
 * The CLI as the image runs it: dist/service/cli/main.js and every dependency in one tree-shaken
 * ESM bundle under dist/image/ (one chunk per subcommand, loaded on use; no demo), with source maps. The
 * point is memory: @kubernetes/client-node's config module imports its generated API index, and
 * unbundled that loads every generated API and model class (about 60 MB of RSS) although the
 * service uses none of them.
 */
const ROOT = packageRoot();
export const IMAGE_DIR = join(ROOT, 'dist', 'image');

/**
 * client-node's generated code (dist/gen/) only defines API and model classes; esbuild keeps such
 * modules because their static class fields look like side effects. Declaring them side-effect
 * free lets it drop every class the service does not reach.
 */
const generatedCodeHasNoSideEffects: Plugin = {
  name: 'client-node-generated-code-has-no-side-effects',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (
        args.pluginData === 'resolved' ||
        !/@kubernetes[\\/]client-node[\\/]dist/.test(args.importer + args.path)
      )
        return undefined;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'resolved',
      });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return /[\\/]client-node[\\/]dist[\\/]gen[\\/]/.test(resolved.path)
        ? { ...resolved, sideEffects: false }
        : resolved;
    });
  },
};

/**
 * The demo and its simulators (service/demo/, service/sandbox/, ajv) are test and demo tooling, not
 * the service: the CLI's `demo` command resolves to a module that says so.
 */
const demoLeftOut: Plugin = {
  name: 'demo-left-out',
  setup(b) {
    b.onResolve({ filter: /^\.\/demo\.js$/ }, (args) =>
      /[\\/]service[\\/]cli[\\/]main\.js$/.test(args.importer)
        ? { path: join(ROOT, 'dist', 'service', 'cli', 'demo-not-in-image.js') }
        : undefined,
    );
  },
};

async function main(): Promise<void> {
  rmSync(IMAGE_DIR, { recursive: true, force: true });
  await build({
    entryPoints: { main: join(ROOT, 'dist', 'service', 'cli', 'main.js') },
    outdir: IMAGE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
    // CommonJS dependencies (winston, prom-client...) call require(): give the ESM bundle one.
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    plugins: [generatedCodeHasNoSideEffects, demoLeftOut],
  });
}

await main();

// Bundles test files for node (resolving `fastlane-guest`, apache-arrow and the toolchain's
// packages as build.sh does), one output per test file.
//
//   node bundle-tests.mjs OUT_DIR TEST_FILE...
//
// FASTLANE_JS_NODE_MODULES is the toolchain's node_modules directory (test.sh sets it).

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const modules = process.env.FASTLANE_JS_NODE_MODULES;
const esbuild = createRequire(path.join(modules, 'noop.js'))('esbuild');

const [out, ...files] = process.argv.slice(2);
const outputs = [];
for (const [i, file] of files.entries()) {
  const outfile = path.join(out, `${String(i).padStart(3, '0')}-${path.basename(file).replace(/\.[cm]?js$/, '')}.mjs`);
  try {
    await esbuild.build({
      entryPoints: [path.resolve(file)],
      outfile,
      bundle: true,
      format: 'esm',
      platform: 'node',
      alias: { 'fastlane-guest': path.join(sdk, 'src', 'index.js') },
      nodePaths: [path.join(path.dirname(path.resolve(file)), 'node_modules'), modules],
      // CommonJS packages inside an ES module bundle still call require() for node built-ins.
      banner: { js: "import { createRequire as __fastlaneRequire } from 'node:module'; const require = __fastlaneRequire(import.meta.url);" },
      logLevel: 'warning',
    });
  } catch {
    process.exit(1);
  }
  outputs.push(outfile);
}
console.log(outputs.join('\n'));

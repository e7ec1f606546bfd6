// Wraps a core wasm module (with its embedded component type) into a component, adapting
// its wasi_snapshot_preview1 imports to WASI 0.2: wasm-tools' `component new --adapt`, as
// compiled to wasm in @bytecodealliance/jco-transpile, run on node.
//
//   FL_C_NODE_MODULES=<dir> node componentize.mjs CORE.wasm ADAPTER.wasm OUT.wasm
import { readFile, writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

const [core, adapter, out] = process.argv.slice(2);
if (!out || !process.env.FL_C_NODE_MODULES) {
  console.error('usage: FL_C_NODE_MODULES=DIR node componentize.mjs CORE.wasm ADAPTER.wasm OUT.wasm');
  process.exit(2);
}
const tools = pathToFileURL(
  `${process.env.FL_C_NODE_MODULES}/@bytecodealliance/jco-transpile/dist/wasm-tools.js`);
const { componentNew } = await import(tools.href);
try {
  const component = await componentNew(await readFile(core), [
    ['wasi_snapshot_preview1', await readFile(adapter)],
  ]);
  await writeFile(out, component);
} catch (e) {
  console.error(`error: component new failed: ${e?.payload ?? e?.message ?? e}`);
  process.exit(1);
}

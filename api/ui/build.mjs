// Build the UI into dist/: one script, one stylesheet and the page that loads them (with a
// content hash in their URLs, so a browser never mixes an old script with a new page). The fastlane binary embeds
// dist/ (api/src/ui.rs); dist/ is committed so `cargo build` needs no Node, and the test command
// rebuilds it and fails if it differs from what is committed.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, "dist");

const result = await build({
  entryPoints: [join(root, "src/main.tsx")],
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  outdir: "out",
  write: false,
  legalComments: "eof",
  logLevel: "warning",
});

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
const version = {};
for (const file of result.outputFiles) {
  const ext = file.path.endsWith(".css") ? "css" : "js";
  writeFileSync(join(dist, `app.${ext}`), file.contents);
  version[ext] = createHash("sha256").update(file.contents).digest("hex").slice(0, 12);
}

writeFileSync(
  join(dist, "index.html"),
  `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <meta name="color-scheme" content="light dark" />
    <title>fastlane</title>
    <link rel="icon" href="data:," />
    <link rel="stylesheet" href="/assets/app.css?v=${version.css}" />
    <script type="module" src="/assets/app.js?v=${version.js}"></script>
  </head>
  <body>
    <div id="app"></div>
    <noscript>The fastlane UI needs JavaScript; the same data is in the API at /docs.</noscript>
  </body>
</html>
`,
);
console.log(`dist/: ${readdirSync(dist).sort().join(", ")}`);

// What the UI tests and the UI benchmark share: a real `fastlane serve`, real runs made by
// `fastlane run --api`, and Debian's Chromium driven by Playwright.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
export const fastlane = process.env.FASTLANE_BIN
  ? resolve(process.env.FASTLANE_BIN)
  : join(repo, "target/release/fastlane");
export const chromiumPath = process.env.CHROMIUM_BIN ?? "/usr/bin/chromium";
export const screenshots = join(repo, "target/ui-screenshots");

/** A temporary directory for one test's files. */
export function scratch(prefix = "fastlane-ui-") {
  return mkdtempSync(join(tmpdir(), prefix));
}

/**
 * `fastlane serve` on a free port (or `bind`) with the SQLite database of `dir`; resolves once it
 * listens.
 */
export async function serve(dir, extra = [], bind = "127.0.0.1:0") {
  const child = spawn(
    fastlane,
    ["serve", "--bind", bind, "--database-url", `sqlite://${join(dir, "monitor.db")}?mode=rwc`, ...extra],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`fastlane serve did not start:\n${stderr}`)), 30_000);
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
      const found = /listening on (http:\/\/[0-9.:]+)/.exec(stderr);
      if (found) {
        clearTimeout(timer);
        resolveUrl(found[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`fastlane serve exited with ${code}:\n${stderr}`));
    });
  });
  return {
    url,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once("exit", done);
        child.kill("SIGTERM");
      }),
  };
}

/**
 * Start `fastlane run --config` on `pipeline` (written to `dir`), reporting to `api`. Returns
 * the child and a promise of its exit (code, stdout, stderr).
 */
export function run(dir, name, pipeline, api, extra = []) {
  const config = join(dir, `${name}.json`);
  writeFileSync(config, JSON.stringify(pipeline, null, 2));
  const child = spawn(fastlane, ["run", "--config", config, "--api", api, "--api-interval", "0.2", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    cwd: repo,
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => (stdout += c));
  child.stderr.on("data", (c) => (stderr += c));
  const done = new Promise((resolveDone) => child.on("exit", (code) => resolveDone({ code, stdout, stderr })));
  return { child, done };
}

/** A pipeline of generated rows through the test transform `hostile` (mode and options). */
export function hostilePipeline(dir, name, { rows, batch, transform }) {
  return {
    source: { generate: { rows, batch_size: batch, seed: 3 } },
    transform: { wasm: join(repo, "transforms/dist/hostile.wasm"), concurrency: 1, config: transform },
    target: { file: { path: join(dir, `${name}.parquet`) } },
  };
}

/** JSON of `path` on the service (with the token when given). */
export async function api(url, path, token) {
  const response = await fetch(`${url}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** Poll `check` until it returns a truthy value (or fail after `ms`). */
export async function until(what, check, ms = 30_000) {
  const started = Date.now();
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Headless Chromium. */
export async function browser() {
  return chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox", "--disable-gpu"] });
}

/**
 * A page that records console errors and uncaught exceptions (the tests assert there are none).
 */
export async function page(b, options = {}) {
  const context = await b.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const p = await context.newPage();
  p.problems = [];
  p.on("console", (m) => {
    if (m.type() === "error") p.problems.push(`console: ${m.text()}`);
  });
  p.on("pageerror", (e) => p.problems.push(`page error: ${e.message}`));
  return p;
}

// The web UI in a real browser (Debian's Chromium, driven by Playwright) against a real
// `fastlane serve`, with real runs made by `fastlane run --api`. Screenshots of every page go to
// target/ui-screenshots/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { api, browser, hostilePipeline, page, run, scratch, screenshots, serve, until } from "./harness.mjs";

mkdirSync(screenshots, { recursive: true });

describe("the UI of a service without a token", () => {
  let dir, service, b;
  let liveRun, failedRunId, doneRunId;

  before(async () => {
    dir = scratch();
    service = await serve(dir);
    b = await browser();
  });
  after(async () => {
    await b?.close();
    await service?.stop();
  });

  test("a run appears while it runs, its charts update, and it ends completed", async () => {
    // ~40 batches at 250 ms each in the guest: about ten seconds of run to watch.
    const pipeline = hostilePipeline(dir, "slow", {
      rows: 40_000,
      batch: 1000,
      transform: { mode: "slow", millis: 250 },
    });
    liveRun = run(dir, "slow", pipeline, service.url);
    const p = await page(b);
    await p.goto(service.url);
    const row = p.locator("tr[data-pipeline]", { has: p.locator('[data-status="running"]') });
    await row.waitFor({ timeout: 20_000 });
    await p.screenshot({ path: join(screenshots, "pipelines.png"), fullPage: true });
    await row.locator('a[aria-label^="last run"]').click();
    await p.waitForURL(/\/runs\//);
    const runUrl = p.url();
    liveRun.id = decodeURIComponent(runUrl.split("/runs/")[1]);
    await p.locator("h1 [data-status=running]").waitFor();
    await p.locator(".live").waitFor();
    const points = p.locator(".chart-canvas").first();
    await points.waitFor();
    const first = Number(await points.getAttribute("data-points"));
    await until("the charts to grow", async () => Number(await points.getAttribute("data-points")) > first + 3, 20_000);
    const extracted = await p.locator(".card", { hasText: "Extracted" }).locator(".card-value").textContent();
    await p.screenshot({ path: join(screenshots, "run-live.png"), fullPage: true });
    const exit = await liveRun.done;
    assert.equal(exit.code, 0, exit.stderr);
    await p.locator("h1 [data-status=completed]").waitFor({ timeout: 20_000 });
    const loaded = await p.locator(".card", { hasText: "Loaded" }).locator(".card-value").textContent();
    assert.equal(loaded, "40,000");
    assert.notEqual(extracted, "40,000", "the page showed the run before it ended");
    doneRunId = liveRun.id;
    await p.screenshot({ path: join(screenshots, "run-completed.png"), fullPage: true });
    assert.deepEqual(p.problems, []);
  });

  test("a failed run shows its cause, and the log filters by level and text", async () => {
    const pipeline = hostilePipeline(dir, "failing", {
      rows: 5000,
      batch: 1000,
      transform: { mode: "fail-after", batches: 2 },
    });
    const failing = run(dir, "failing", pipeline, service.url);
    const exit = await failing.done;
    assert.notEqual(exit.code, 0);
    const runs = await api(service.url, "/api/v1/pipeline-summaries?status=failed");
    assert.equal(runs.items.length, 1);
    failedRunId = runs.items[0].last_run.id;
    const p = await page(b);
    await p.goto(`${service.url}/runs/${failedRunId}`);
    const alert = p.locator(".error-box[role=alert]");
    await alert.waitFor();
    assert.match(await alert.textContent(), /failing on purpose at batch 3/);
    const lines = p.locator(".log .line");
    await lines.first().waitFor();
    const all = await lines.count();
    await p.selectOption("select[name=level]", "error");
    await until("error lines only", async () => {
      const levels = await p.locator(".log .line").evaluateAll((ls) => ls.map((l) => l.dataset.level));
      return levels.length > 0 && levels.length < all && levels.every((l) => l === "error");
    });
    await p.selectOption("select[name=level]", "trace");
    await p.fill("input[name=q]", "FAILING ON PURPOSE");
    await until("lines with the text only", async () => {
      const texts = await p.locator(".log .line .msg").allTextContents();
      return texts.length > 0 && texts.length < all && texts.every((t) => /failing on purpose/i.test(t));
    });
    await p.fill("input[name=q]", "no line says this");
    await p.locator(".log", { hasText: "No lines match" }).waitFor();
    await p.fill("input[name=q]", "");
    await p.screenshot({ path: join(screenshots, "run-failed.png"), fullPage: true });
    assert.deepEqual(p.problems, []);
  });

  test("deep links load every page, including a comparison of two runs", async () => {
    assert.ok(doneRunId && failedRunId, "the runs of the tests above");
    const done = await api(service.url, `/api/v1/runs/${doneRunId}`);
    const p = await page(b);
    await p.goto(`${service.url}/pipelines/${encodeURIComponent(done.pipeline_id)}`);
    await p.locator(`tr[data-run="${doneRunId}"]`).waitFor();
    assert.match(await p.locator("h1").textContent(), new RegExp(done.pipeline_id));
    await p.locator(".chart-canvas").first().waitFor();
    await p.locator("details.config summary").click();
    assert.match(await p.locator("details.config pre").textContent(), /"generate"/);
    await p.screenshot({ path: join(screenshots, "pipeline.png"), fullPage: true });

    await p.goto(`${service.url}/compare?a=${doneRunId}&b=${failedRunId}`);
    const table = p.locator("table.compare");
    await table.waitFor();
    const text = await table.textContent();
    assert.match(text, /completed/);
    assert.match(text, /failed/);
    assert.match(text, /40,000/);
    await p.screenshot({ path: join(screenshots, "compare.png"), fullPage: true });

    await p.goto(`${service.url}/?status=failed`);
    await p.locator("tr[data-pipeline]").first().waitFor();
    const shown = await p.locator("tr[data-pipeline]").count();
    assert.equal(shown, 1, "the status filter from the URL applies");

    await p.goto(`${service.url}/runs/no-such-run`);
    await p.locator(".error-box", { hasText: "no run" }).waitFor();
    p.problems = p.problems.filter((m) => !/404/.test(m));
    assert.deepEqual(p.problems, []);
  });

  test("phone width, dark theme and the keyboard", async () => {
    const p = await page(b, { viewport: { width: 390, height: 844 }, colorScheme: "dark" });
    await p.goto(`${service.url}/runs/${doneRunId}`);
    await p.locator("h1 [data-status=completed]").waitFor();
    // The charts come with the run's history, just after its record.
    await until("the four charts", async () => (await p.locator(".chart-canvas canvas").count()) >= 4);
    assert.equal(await p.evaluate(() => document.documentElement.dataset.theme), "dark");
    const overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than the phone`);
    // Charts say what they show; status is a word, not only a colour.
    const labels = await p.locator(".chart-canvas").evaluateAll((cs) => cs.map((c) => c.getAttribute("aria-label")));
    assert.ok(labels.length >= 4 && labels.every((l) => /points/.test(l)), labels.join("\n"));
    assert.match(await p.locator("h1 .status").textContent(), /completed/);
    await p.screenshot({ path: join(screenshots, "run-phone-dark.png"), fullPage: true });
    // The first Tab reaches the skip link, which moves focus to the content.
    await p.keyboard.press("Tab");
    assert.equal(await p.evaluate(() => document.activeElement?.textContent), "Skip to content");
    await p.keyboard.press("Enter");
    // The theme switch works from the keyboard.
    await p.locator("button", { hasText: "light" }).focus();
    await p.keyboard.press("Enter");
    await until("the light theme", async () => (await p.evaluate(() => document.documentElement.dataset.theme)) === "light");
    assert.deepEqual(p.problems, []);
  });
});

describe("a service restarted while a run is watched", () => {
  test("the live view reconnects and misses nothing stored meanwhile", async () => {
    const dir = scratch();
    let service = await serve(dir);
    const b = await browser();
    try {
      const pipeline = hostilePipeline(dir, "restart", {
        rows: 40_000,
        batch: 1000,
        transform: { mode: "slow", millis: 250 },
      });
      const running = run(dir, "restart", pipeline, service.url);
      const p = await page(b);
      const summary = await until("the run to be reported", async () => {
        const page = await api(service.url, "/api/v1/pipeline-summaries");
        return page.items[0]?.last_run;
      });
      await p.goto(`${service.url}/runs/${summary.id}`);
      await p.locator(".live").waitFor();
      const points = p.locator(".chart-canvas").first();
      await until("a few points", async () => Number(await points.getAttribute("data-points")) > 3);
      const before = Number(await points.getAttribute("data-points"));
      // Down for two seconds: the run buffers its reports, the page retries its stream.
      const bind = new URL(service.url).host;
      await service.stop();
      await new Promise((r) => setTimeout(r, 2000));
      service = await serve(dir, [], bind);
      await until("the charts to grow again", async () => Number(await points.getAttribute("data-points")) > before + 15, 30_000);
      const exit = await running.done;
      assert.equal(exit.code, 0, exit.stderr);
      await p.locator("h1 [data-status=completed]").waitFor({ timeout: 30_000 });
      // Every sample the service stored is on the page: the gap was filled, none drawn twice.
      const stored = await api(service.url, `/api/v1/runs/${summary.id}/metrics?limit=10000`);
      await until("every stored sample on the page", async () => {
        const shown = await p.locator("[data-testid=samples]").textContent();
        return shown.startsWith(`${stored.total.toLocaleString("en-US")} samples`);
      }, 10_000);
      p.problems = p.problems.filter((m) => !/ERR_CONNECTION_REFUSED|ERR_INCOMPLETE_CHUNKED_ENCODING|Failed to fetch|network/i.test(m));
      assert.deepEqual(p.problems, []);
    } finally {
      await b.close();
      await service.stop();
    }
  });
});

describe("a service with a token and --protect-reads", () => {
  let dir, service, b;
  const token = "ui-test-token-1234";

  before(async () => {
    dir = scratch();
    service = await serve(dir, ["--token", token, "--protect-reads"]);
    b = await browser();
  });
  after(async () => {
    await b?.close();
    await service?.stop();
  });

  test("the API refuses reads without the token, the UI asks for it and then shows the data", async () => {
    const pipeline = hostilePipeline(dir, "quick", { rows: 3000, batch: 1000, transform: { mode: "log" } });
    const done = await run(dir, "quick", pipeline, service.url, ["--api-token", token]).done;
    assert.equal(done.code, 0, done.stderr);
    const refused = await fetch(`${service.url}/api/v1/pipeline-summaries`);
    assert.equal(refused.status, 401);
    const health = await api(service.url, "/healthz");
    assert.equal(health.auth, "all");

    const p = await page(b);
    await p.goto(service.url);
    const dialog = p.locator("dialog[open]");
    await dialog.waitFor();
    await p.screenshot({ path: join(screenshots, "token.png") });
    await dialog.locator("input[name=token]").fill("wrong-token");
    await dialog.locator("button[type=submit]").click();
    await p.locator("dialog[open] .error-text", { hasText: "refused" }).waitFor();
    await p.locator("dialog[open] input[name=token]").fill(token);
    await p.locator("dialog[open] button[type=submit]").click();
    await p.locator("tr[data-pipeline]").first().waitFor();
    assert.equal(await p.locator("dialog[open]").count(), 0);
    // The token stays with the tab: a deep link in it needs no new prompt.
    const runId = (await api(service.url, "/api/v1/pipeline-summaries", token)).items[0].last_run.id;
    await p.goto(`${service.url}/runs/${runId}`);
    await p.locator("h1 [data-status=completed]").waitFor();
    await p.locator(".log .line", { hasText: "hello from hostile log" }).first().waitFor();
    // A write from the UI carries the token too: deleting the run.
    p.once("dialog", (d) => d.accept());
    await p.locator("button", { hasText: "delete run" }).click();
    await p.waitForURL(/\/pipelines\//);
    const gone = await fetch(`${service.url}/api/v1/runs/${runId}`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(gone.status, 404);
    p.problems = p.problems.filter((m) => !/401|404/.test(m));
    assert.deepEqual(p.problems, []);
  });
});

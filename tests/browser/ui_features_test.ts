import assert from "node:assert/strict";
import { Model, openStore, OutputModel, startServer, type Store, Task } from "../../mod.ts";
import { uiPages } from "../../lib/server/ui.ts";
import { launchBrowser, openAndCheck, type Page } from "./browser.ts";

/** Screenshots of this test, kept with the test output (git-ignored). */
const OUT = new URL("./out/ui_features/", import.meta.url);
const WRITER = "writer-token-123456";
const READER = "reader-token-123456";

/** Three models with a shared loss curve of different values, a confusion matrix on alpha. */
async function seed(store: Store): Promise<Record<string, string>> {
  const task = await Task.init({ projectName: "vision", taskName: "train", store });
  const ids: Record<string, string> = {};
  const specs = [["alpha", 0.1, 3], ["beta", 0.2, 1], ["gamma", 0.3, 2]] as const;
  for (const [name, lr, scale] of specs) {
    const m = new OutputModel({ task, name, tags: name === "beta" ? ["x", "y"] : ["x"] });
    await m.setMetadata("lr", lr);
    for (let i = 0; i < 300; i++) {
      // A spike at the start, then a slow decay: log scale and smoothing both matter.
      await m.reportScalar(
        "loss",
        "train",
        (i === 0 ? 500 : scale / (1 + i / 10)) + (i % 7) / 50,
        i,
      );
    }
    await m.reportSingleValue("acc", 0.5 + lr);
    if (name === "alpha") {
      await m.reportConfusionMatrix({
        title: "confusion",
        series: "val",
        matrix: [[6, 12], [3, 94]],
        xlabels: ["cat", "dog"],
        ylabels: ["cat", "dog"],
      });
    }
    await m.flush();
    ids[name] = m.id;
  }
  await task.close();
  await store.flush();
  return ids;
}

async function shot(page: Page, name: string, fullPage = true): Promise<void> {
  await page.screenshot({ path: new URL(name, OUT).pathname as `${string}.png`, fullPage });
}

async function login(page: Page, base: string, token: string): Promise<void> {
  await page.goto(`${base}/login`);
  await page.type("input[name=token]", token);
  await Promise.all([page.waitForNavigation({ waitUntil: "load" }), page.click("#login button")]);
}

const ready = { readyExpression: "window.modelogReady !== undefined" };

/** Waits until the chart `id` has been redrawn more than `n` times. */
async function redrawn(page: Page, id: string, n: number): Promise<void> {
  await page.waitForFunction(
    `Number(document.getElementById(${JSON.stringify(id)}).dataset.drawn ?? 0) > ${n}`,
  );
}

Deno.test({
  name:
    "web UI: compare, sort by a metric, chart controls, counts, prefixes, 420 px, writes (Chromium)",
  async fn(t) {
    const home = await Deno.makeTempDir({ prefix: "modelog-ui-features-" });
    const store = await openStore({ home });
    const launched = await launchBrowser();
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      const ids = await seed(store);
      server = await startServer({
        store,
        tokens: [{ token: WRITER, role: "write" }, { token: READER, role: "read" }],
        pages: uiPages,
        port: 0,
        hostname: "127.0.0.1",
        log: () => {},
      });
      const base = server.url;
      await Deno.mkdir(OUT, { recursive: true });
      const page = await launched.browser.newPage();
      await login(page, base, WRITER);

      await t.step("the table sorts by a metric column, in SQL, both ways", async () => {
        await openAndCheck(page, `${base}/?col=last:loss/train&sort=last:loss/train&dir=asc`);
        const names = () =>
          page.$$eval("#models a.model-link", (els) => els.map((e) => e.textContent ?? ""));
        assert.deepEqual(await names(), ["beta", "gamma", "alpha"]);
        assert.match(await page.$eval("#summary", (e) => e.textContent ?? ""), /^3 models/);
        await Promise.all([
          page.waitForNavigation({ waitUntil: "load" }),
          page.click('a.sort[data-sort="last:loss/train"]'),
        ]);
        assert.deepEqual(await names(), ["alpha", "gamma", "beta"]);
        assert.ok(page.url().includes("dir=desc"));
        await shot(page, "list_sorted_by_metric.png");
      });

      await t.step(
        "ticked rows open the comparison: one trace per model, differences marked",
        async () => {
          await openAndCheck(page, `${base}/?sort=name`);
          await page.click(`input[name=ids][value="${ids.alpha}"]`);
          await page.click(`input[name=ids][value="${ids.beta}"]`);
          await Promise.all([
            page.waitForNavigation({ waitUntil: "load" }),
            page.click("#compare-button"),
          ]);
          assert.ok(new URL(page.url()).pathname === "/compare");
          await page.waitForFunction("window.modelogReady !== undefined");
          assert.equal(await page.evaluate("window.modelogReady"), true);
          const traces = await page.evaluate(
            `document.getElementById("cmp-scalar-0").data.map((t) => t.name)`,
          );
          assert.deepEqual(traces, ["alpha", "beta"]);
          const differs = await page.$$eval(
            "#cmp-metadata tr.differs td:nth-child(2)",
            (els) => els.map((e) => e.textContent),
          );
          assert.deepEqual(differs, ["lr"]);
          const tagRows = await page.$$eval(
            "#cmp-tags tbody tr",
            (rows) => rows.map((r) => [r.querySelector("code")?.textContent, r.className]),
          );
          assert.deepEqual(tagRows, [["x", ""], ["y", "differs"]]);
          await shot(page, "compare.png");
        },
      );

      const mpage = await launched.browser.newPage();
      await t.step("log scale, smoothing and the wall-time axis change what is drawn", async () => {
        const check = await openAndCheck(mpage, `${base}/models/${ids.alpha}`, ready);
        assert.deepEqual(check.pageErrors, []);
        assert.equal(await mpage.evaluate("window.modelogReady"), true);
        const id = "scalar-0";
        const yType = () => mpage.evaluate(`document.getElementById("${id}").layout.yaxis.type`);
        const yOf = () =>
          mpage.evaluate(
            `(() => { const d = document.getElementById("${id}").data; return d[d.length - 1].y.slice(0, 5); })()`,
          ) as Promise<number[]>;
        const raw = await yOf();
        assert.notEqual(await yType(), "log");
        await mpage.click(`.chart-controls[data-for="${id}"] .log-y`);
        await redrawn(mpage, id, 0);
        assert.equal(await yType(), "log");
        await mpage.$eval(`.chart-controls[data-for="${id}"] .smooth`, (el) => {
          const input = el as unknown as { value: string; dispatchEvent(e: Event): boolean };
          input.value = "0.9";
          input.dispatchEvent(new Event("input", { bubbles: true }));
        });
        await redrawn(mpage, id, 1);
        const smoothed = await yOf();
        assert.ok(Math.abs(smoothed[0]! - raw[0]!) < 1e-9, "debiased: the first point is kept");
        assert.ok(smoothed[1]! > raw[1]! * 5, `the spike carries over: ${smoothed} vs ${raw}`);
        const count = await mpage.evaluate(`document.getElementById("${id}").data.length`);
        assert.equal(count, 2, "the raw series stays, faint, behind the smoothed one");
        await mpage.select(`.chart-controls[data-for="${id}"] .x-axis`, "wall");
        await redrawn(mpage, id, 2);
        assert.equal(
          await mpage.evaluate(`document.getElementById("${id}").layout.xaxis.type`),
          "date",
        );
        const card = await mpage.$(".scalar-card");
        await card!.screenshot({
          path: new URL("chart_log_smoothed.png", OUT).pathname as `${string}.png`,
        });
        await card!.dispose();
      });

      await t.step(
        "the confusion matrix writes its counts and its colour bar spans them",
        async () => {
          const heat = await mpage.evaluate(`(() => {
          const el = [...document.querySelectorAll(".plot-card .chart")][0];
          return {
            zmin: el.data[0].zmin,
            zmax: el.data[0].zmax,
            cells: [...el.querySelectorAll("text")].map((t) => t.textContent),
          };
        })()`) as { zmin: number; zmax: number; cells: string[] };
          assert.equal(heat.zmin, 3);
          assert.equal(heat.zmax, 94);
          for (const n of ["6", "12", "3", "94"]) assert.ok(heat.cells.includes(n), n);
          const card = await mpage.$(".plot-card");
          await card!.screenshot({
            path: new URL("confusion_counts.png", OUT).pathname as `${string}.png`,
          });
          await card!.dispose();
        },
      );

      await t.step("a unique id prefix opens the model", async () => {
        await openAndCheck(mpage, `${base}/models/${ids.gamma!.slice(0, 10)}`, ready);
        assert.equal(await mpage.$eval("h1", (e) => e.firstChild?.textContent), "gamma");
      });

      await t.step("at 420 px wide the model page does not scroll sideways", async () => {
        await mpage.setViewport({ width: 420, height: 900 });
        await openAndCheck(mpage, `${base}/models/${ids.alpha}`, ready);
        const w = await mpage.evaluate(
          "[document.documentElement.scrollWidth, document.documentElement.clientWidth]",
        ) as number[];
        assert.ok(w[0]! <= w[1]!, `scrollWidth ${w[0]} > clientWidth ${w[1]}`);
        await shot(mpage, "model_420px.png");
        await mpage.setViewport({ width: 1280, height: 900 });
      });

      await t.step("a write token tags, publishes and archives from the model page", async () => {
        await openAndCheck(mpage, `${base}/models/${ids.beta}`, ready);
        await mpage.type("#add-tags input[name=add]", "fresh, reviewed");
        await Promise.all([
          mpage.waitForNavigation({ waitUntil: "load" }),
          mpage.click("#add-tags button"),
        ]);
        assert.match(await mpage.$eval("#notice", (e) => e.textContent ?? ""), /Tags saved/);
        const tags = await mpage.$$eval("#fields .chip", (els) => els.map((e) => e.textContent));
        assert.deepEqual(tags, ["fresh", "reviewed", "x", "y"]);
        await Promise.all([
          mpage.waitForNavigation({ waitUntil: "load" }),
          mpage.click("#archive button"),
        ]);
        assert.match(await mpage.$eval("h1", (e) => e.textContent ?? ""), /archived/);
        await Promise.all([
          mpage.waitForNavigation({ waitUntil: "load" }),
          mpage.click("#publish button"),
        ]);
        assert.match(await mpage.$eval("h1", (e) => e.textContent ?? ""), /published/);
        await shot(mpage, "model_after_writes.png");
      });

      await t.step("a read token sees no actions, and posts are refused", async () => {
        const ctx = await launched.browser.createBrowserContext();
        const rpage = await ctx.newPage();
        await login(rpage, base, READER);
        await openAndCheck(rpage, `${base}/models/${ids.gamma}`, ready);
        assert.equal(await rpage.$("#add-tags"), null);
        assert.ok(await rpage.$("#read-only"));
        const cookies = await rpage.cookies();
        const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");
        const post = (headers: Record<string, string>, body: string) =>
          fetch(`${base}/models/${ids.gamma}/archive`, {
            method: "POST",
            redirect: "manual",
            headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
            body,
          });
        const asReader = await post({ cookie, origin: base }, "archived=1&csrf=x");
        assert.equal(asReader.status, 403);
        assert.match(await asReader.text(), /role read cannot write/);
        // The writer's cookie, but no form token, or a foreign origin: refused too.
        const wcookie = (await page.cookies()).map((c) => `${c.name}=${c.value}`).join("; ");
        const noToken = await post({ cookie: wcookie, origin: base }, "archived=1");
        assert.equal(noToken.status, 403);
        await noToken.body?.cancel();
        const foreign = await post(
          { cookie: wcookie, origin: "http://evil.example" },
          "archived=1",
        );
        assert.equal(foreign.status, 403);
        await foreign.body?.cancel();
        assert.equal((await Model.get(ids.gamma!, { store })).archived, false);
        await ctx.close();
      });
      await mpage.close();
      await page.close();
    } finally {
      await launched.close();
      await server?.close();
      await store.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { InputModel, openStore, OutputModel, startServer, type Store, Task } from "../../mod.ts";
import { uiPages } from "../../lib/server/ui.ts";
import { isLocalUrl, launchBrowser, openAndCheck, type Page } from "./browser.ts";
import { sha256Hex } from "../fixtures/helpers.ts";

const XSS_NAME = `<img src=x onerror="window.pwned=1">&"'`;
const OUT = new URL("../out/", import.meta.url);

/**
 * Seeds a store: 6 visible models (one archived on top), tags, metadata, weights in the blob
 * store, a parent link, a task input, scalars over 3 titles (one series of 5,000 points) and 5
 * plots of different kinds on `resnet-a`.
 */
async function seed(store: Store, home: string): Promise<Record<string, string>> {
  const train = await Task.init({ projectName: "vision", taskName: "train", store });
  const evalTask = await Task.init({ projectName: "vision", taskName: "eval", store });
  const ids: Record<string, string> = {};
  const a = new OutputModel({
    task: train,
    name: "resnet-a",
    tags: ["best", "odd"],
    framework: "PyTorch",
    configDict: { layers: 50, act: "relu" },
    labelEnumeration: { background: 0, cat: 1, dog: 2 },
  });
  await a.setMetadata("dataset", "imagenet");
  await a.setMetadata("epochs", 90);
  const weights = join(home, "resnet-a.pt");
  await Deno.writeTextFile(weights, "resnet-a weights bytes");
  await a.updateWeights({ weightsFilename: weights, iteration: 4999 });
  for (let i = 0; i < 5000; i++) {
    await a.reportScalar("loss", "train", 2 / (1 + i / 100) + (i === 2500 ? 3 : 0), i);
    if (i % 10 === 0) await a.reportScalar("loss", "val", 2.2 / (1 + i / 120), i);
    if (i % 100 === 0) {
      await a.reportScalar("accuracy", "top1", 1 - 1 / (1 + i / 500), i);
      await a.reportScalar("accuracy", "top5", 1 - 0.5 / (1 + i / 400), i);
      await a.reportScalar("lr", "lr", 0.1 * 0.99 ** (i / 100), i);
    }
  }
  await a.reportSingleValue("test_acc", 0.913);
  await a.reportSingleValue("params_m", 25.6);
  await a.reportHistogram({
    title: "weights",
    series: "layer1",
    values: [3, 9, 14, 7, 2],
    xlabels: ["-2", "-1", "0", "1", "2"],
    iteration: 10,
  });
  await a.reportConfusionMatrix({
    title: "confusion",
    series: "val",
    matrix: [[50, 3, 1], [4, 40, 6], [0, 5, 45]],
    xlabels: ["bg", "cat", "dog"],
    ylabels: ["bg", "cat", "dog"],
  });
  await a.reportTable({
    title: "per-class",
    series: "val",
    tablePlot: [["class", "precision", "recall"], ["cat", 0.91, 0.88], ["dog", 0.87, 0.9]],
  });
  await a.reportScatter3d({
    title: "embedding",
    series: "pca",
    scatter: [[0, 0, 0], [1, 2, 1], [2, 1, 3], [3, 3, 2]],
  });
  await a.reportLinePlot({
    title: "pr curve",
    series: [{ name: "cat", data: [[0, 1], [0.5, 0.9], [1, 0.4]] }],
    xaxis: "recall",
    yaxis: "precision",
  });
  await a.flush();
  await evalTask.connect(await InputModel.get(a.id, { store }), "backbone");
  ids.a = a.id;

  const b = new OutputModel({ task: train, name: "resnet-b", tags: ["odd", "draft"] });
  await b.setMetadata("dataset", "coco");
  await b.reportScalar("loss", "train", 1, 0);
  await b.flush();
  ids.b = b.id;
  // A fine-tuned child of resnet-a (no API sets the parent: write the register directly).
  await store.append([{
    stream: `model:${b.id}`,
    type: "model.updated",
    data: { fields: { parent: a.id } },
  }]);

  const bert = new OutputModel({ task: evalTask, name: "bert", tags: ["nlp"] });
  await bert.setMetadata("dataset", "wiki");
  await bert.publish();
  ids.bert = bert.id;

  const xss = new OutputModel({ task: evalTask, name: XSS_NAME, tags: ["<b>x</b>"] });
  await xss.setMetadata("note", "</script><script>window.pwned=2</script>");
  ids.xss = xss.id;

  const plain = new OutputModel({ task: evalTask, name: "plain", tags: [] });
  await plain.setComment("nothing special");
  ids.plain = plain.id;

  const old = new OutputModel({ task: evalTask, name: "old", tags: ["odd"] });
  await old.archive();
  ids.old = old.id;

  await evalTask.close();
  await train.close();
  await store.flush();
  return ids;
}

async function rowNames(page: Page): Promise<string[]> {
  return await page.$$eval("#models a.model-link", (els) => els.map((e) => e.textContent ?? ""));
}

async function submitFilter(page: Page, fields: Record<string, string>): Promise<void> {
  for (const [name, value] of Object.entries(fields)) {
    await page.$eval(`#filters [name=${name}]`, (el, v) => {
      (el as unknown as { value: string }).value = v as string;
    }, value);
  }
  await Promise.all([
    page.waitForNavigation({ waitUntil: "load" }),
    page.click("#filters button[type=submit]"),
  ]);
}

Deno.test({
  name: "web UI: filter the models table, open a model page with charts and plots (Chromium)",
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "modelog-ui-" });
    const store = await openStore({ home });
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    const launched = await launchBrowser();
    try {
      const ids = await seed(store, home);
      server = await startServer({
        store,
        readOnly: true,
        pages: uiPages,
        port: 0,
        hostname: "127.0.0.1",
        log: () => {},
      });
      await Deno.mkdir(OUT, { recursive: true });

      // The models table: every visible model, newest first; archived ones hidden.
      const page = await launched.browser.newPage();
      const check = await openAndCheck(page, `${server.url}/`);
      assert.deepEqual(await rowNames(page), ["plain", XSS_NAME, "bert", "resnet-b", "resnet-a"]);
      assert.equal(await page.evaluate("window.pwned"), undefined, "names are escaped");

      await submitFilter(page, { tags: "odd" });
      assert.deepEqual(await rowNames(page), ["resnet-b", "resnet-a"]);
      assert.ok(page.url().includes("tags=odd"));
      await submitFilter(page, { tags: "-odd" });
      assert.deepEqual(await rowNames(page), ["plain", XSS_NAME, "bert"]);
      await submitFilter(page, { tags: "odd, -draft" });
      assert.deepEqual(await rowNames(page), ["resnet-a"]);
      await submitFilter(page, { tags: "odd", archived: "include" });
      assert.deepEqual(await rowNames(page), ["old", "resnet-b", "resnet-a"]);
      await submitFilter(page, { tags: "", archived: "", metadata: "dataset=coco" });
      assert.deepEqual(await rowNames(page), ["resnet-b"]);
      await submitFilter(page, { metadata: "", published: "yes" });
      assert.deepEqual(await rowNames(page), ["bert"]);
      await submitFilter(page, { published: "", project: "vision", tags: "odd" });
      await page.screenshot({ path: new URL("ui_models.png", OUT).pathname as `${string}.png` });
      assert.deepEqual(await rowNames(page), ["resnet-b", "resnet-a"]);

      // The model page: fields, weights link, lineage, history, charts and plots.
      const mpage = await launched.browser.newPage();
      const mcheck = await openAndCheck(mpage, `${server.url}/models/${ids.a}`, {
        readyExpression: "window.modelogReady !== undefined",
      });
      assert.equal(await mpage.evaluate("window.modelogReady"), true);
      const counts = await mpage.evaluate(`(() => {
        const charts = [...document.querySelectorAll(".chart")];
        return {
          scalars: document.querySelectorAll(".scalar-card .chart").length,
          plots: document.querySelectorAll(".plot-card .chart").length,
          rendered: charts.filter((d) => d.classList.contains("js-plotly-plot")).length,
          withSvg: charts.filter((d) => d.querySelector("svg.main-svg")).length,
          all: document.querySelectorAll(".js-plotly-plot").length,
        };
      })()`);
      assert.deepEqual(counts, { scalars: 3, plots: 5, rendered: 8, withSvg: 8, all: 8 });
      const titles = await mpage.$$eval(
        ".scalar-card .gtitle",
        (els) => els.map((e) => e.textContent ?? ""),
      );
      assert.equal(titles.length, 3);
      const lossTitle = titles.find((t) => t.startsWith("loss"));
      assert.match(lossTitle ?? "", /downsampled/);
      assert.match(lossTitle ?? "", /5,000/);
      assert.ok(titles.some((t) => t === "accuracy"), titles.join(" | "));
      // One line per series: loss has train and val.
      const traces = await mpage.evaluate(
        `document.querySelectorAll(".scalar-card")[${
          titles.indexOf(lossTitle!)
        }].querySelector(".chart").data.map((t) => [t.name, t.x.length])`,
      ) as [string, number][];
      assert.deepEqual(traces.map((t) => t[0]), ["train", "val"]);
      assert.ok(traces[0]![1] <= 2000 && traces[0]![1] > 1000, String(traces[0]![1]));
      assert.equal(traces[1]![1], 500);

      const text = await mpage.$eval("main", (el) => el.textContent ?? "");
      for (
        const s of ["imagenet", "test_acc", "0.913", "background", "layers", "backbone", "eval"]
      ) {
        assert.ok(text.includes(s), `model page shows ${s}`);
      }
      const history = await mpage.$$eval(
        "#history tbody tr",
        (rows) => rows.map((r) => r.textContent ?? ""),
      );
      assert.ok(history.length >= 4);
      assert.ok(history[history.length - 1]!.includes("created"), "oldest last");
      // The download link serves the blob.
      const href = await mpage.$eval("#download", (a) => a.getAttribute("href"));
      const blob = new Uint8Array(await (await fetch(`${server.url}${href}`)).arrayBuffer());
      assert.equal(new TextDecoder().decode(blob), "resnet-a weights bytes");
      assert.equal(href, `/v1/blobs/sha256/${await sha256Hex("resnet-a weights bytes")}`);
      await mpage.screenshot({
        path: new URL("ui_model.png", OUT).pathname as `${string}.png`,
        fullPage: true,
      });

      const card = await mpage.$(".scalar-card");
      await card!.screenshot({
        path: new URL("ui_model_chart.png", OUT).pathname as `${string}.png`,
      });
      await card!.dispose();

      // Lineage from the child: its parent links back.
      const cpage = await launched.browser.newPage();
      const ccheck = await openAndCheck(cpage, `${server.url}/models/${ids.b}`, {
        readyExpression: "window.modelogReady !== undefined",
      });
      const parentHref = await cpage.$eval("#lineage a", (a) => a.getAttribute("href"));
      assert.equal(parentHref, `/models/${ids.a}`);

      // The escaped model: no script ran, the text is shown as typed.
      const xpage = await launched.browser.newPage();
      const xcheck = await openAndCheck(xpage, `${server.url}/models/${ids.xss}`, {
        readyExpression: "window.modelogReady !== undefined",
      });
      assert.equal(await xpage.$eval("h1", (e) => e.firstChild?.textContent), XSS_NAME);
      assert.equal(await xpage.evaluate("window.pwned"), undefined);

      for (const c of [check, mcheck, ccheck, xcheck]) {
        assert.deepEqual(c.consoleErrors, []);
        assert.deepEqual(c.pageErrors, []);
        assert.deepEqual(c.failedRequests, []);
        assert.deepEqual(c.requests.filter((u) => !isLocalUrl(u)), []);
        assert.ok(c.requests.every((u) => u.startsWith(server!.url) || u.startsWith("data:")));
      }
      assert.ok(mcheck.requests.includes(`${server.url}/static/plotly.min.js`));
      for (const p of [page, mpage, cpage, xpage]) await p.close();
    } finally {
      await launched.close();
      await server?.close();
      await store.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

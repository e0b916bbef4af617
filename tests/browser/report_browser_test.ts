/**
 * `model.writeReport(path)` end to end: a model with every plot kind, scalars (with NaN and
 * Infinity, one long series that is down-sampled), single values, metadata and labels is written
 * to one HTML file and opened in headless Chromium from `file://`. Every figure must render, with
 * no console or page errors and no request leaving this machine. A screenshot is kept in
 * `tests/out/model_report.png` (git-ignored) for looking at by hand.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { InputModel, openStore, OutputModel, Task } from "../../mod.ts";
import { isLocalUrl, launchBrowser, openAndCheck } from "./browser.ts";

Deno.test({
  name: "writeReport() writes one HTML file whose every plot renders in Chromium, offline",
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "modelog-report-browser-" });
    const store = await openStore({ home });
    let launched: Awaited<ReturnType<typeof launchBrowser>> | undefined;
    try {
      const task = await Task.init({ projectName: "vision", taskName: "train", store });
      const out = new OutputModel({
        task,
        name: "resnet <50> & friends",
        framework: "PyTorch",
        tags: ["best", "v2"],
        labelEnumeration: { background: 0, cat: 1, dog: 2 },
        configDict: { lr: 0.1, layers: 50 },
      });
      await out.setMetadata("epochs", 10);
      await out.setMetadata("optimizer", { name: "adam", betas: [0.9, 0.999] });
      await out.setMetadata("note", "</script><b>not bold</b>");
      await out.publish(); // reports stay allowed on a published model
      // Read it back through another class, as a user inspecting a stored model would.
      const m = await InputModel.get(out.id, { store });

      // Scalars: three titles (one with a 20,000-point series that the report down-samples).
      for (let i = 0; i < 50; i++) {
        await m.reportScalar("loss", "train", 1 / (i + 1), i);
        if (i % 5 === 0) await m.reportScalar("loss", "val", i === 20 ? NaN : 1.2 / (i + 1), i);
        await m.reportScalar("accuracy", "top1", Math.min(1, i / 40), i);
      }
      await m.reportScalar("accuracy", "top1", Infinity, 60);
      for (let i = 0; i < 20_000; i++) {
        await m.reportScalar("lr", "schedule", Math.cos(i / 3000) * 0.1, i);
      }
      await m.reportSingleValue("f1", 0.91);
      await m.reportSingleValue("bad", NaN);
      await m.reportSingleValue("big", Infinity);

      // Every plot kind (11 methods; tables from rows, records and CSV).
      const csv = join(home, "animals.csv");
      await Deno.writeTextFile(csv, ",num_legs,num_wings\nfalcon,2,2\ndog,4,0\nspider,8,0\n");
      await m.reportHistogram({
        title: "weights",
        series: "layer1",
        values: [[1, 4, 2, 8], Float32Array.of(2, 3, 5, 1)],
        labels: ["w", "b"],
        xlabels: ["a", "b", "c", "d"],
        xaxis: "bucket",
        yaxis: "count",
      });
      await m.reportVector({
        title: "vector",
        series: "v",
        values: Float64Array.of(3, 1, 4, 1, 5),
      });
      await m.reportTable({
        title: "table",
        series: "rows",
        tablePlot: [["name", "score"], ["a", 0.5], ["b", NaN]],
      });
      await m.reportTable({ title: "table", series: "records", tablePlot: [{ k: "x", v: 1 }] });
      await m.reportTable({ title: "table", series: "csv", csv });
      await m.reportLinePlot({
        title: "pr curve",
        series: [
          { name: "cls A", data: [[0, 1], [0.5, 0.8], [1, NaN], [1.2, 0.1]] },
          { name: "cls B", data: [[0, 0.9], [0.5, 0.7], [1, 0.3]], labels: ["p", "q", "r"] },
        ],
        xaxis: "recall",
        yaxis: "precision",
        comment: "validation set",
      });
      await m.reportScatter2d({
        title: "scatter",
        series: "s1",
        scatter: [[0, 1], [1, 3], [2, Infinity], [3, 2]],
        mode: "lines+markers",
      });
      await m.reportScatter3d({
        title: "embedding",
        series: ["cats", "dogs"],
        scatter: [[[0, 0, 0], [1, 1, 1], [2, 1, 0]], [[0, 1, 2], [2, 2, 2]]],
        xaxis: "x",
        yaxis: "y",
        zaxis: "z",
      });
      await m.reportScatter3d({ title: "cloud", series: "pts", scatter: [[0, 1, 2], [1, 2, 0]] });
      await m.reportConfusionMatrix({
        title: "confusion",
        series: "val",
        matrix: [Int32Array.of(10, 2, 0), Int32Array.of(1, 12, 3), Int32Array.of(0, 1, 9)],
        xlabels: ["cat", "dog", "bird"],
        ylabels: ["cat", "dog", "bird"],
        yaxisReversed: true,
      });
      await m.reportMatrix({ title: "matrix", series: "m", matrix: [[0.1, 0.9], [NaN, 0.5]] });
      await m.reportSurface({
        title: "loss surface",
        series: "grid",
        matrix: Array.from(
          { length: 20 },
          (_, r) => Float64Array.from({ length: 20 }, (_, c) => Math.sin(r / 4) * Math.cos(c / 5)),
        ),
        xaxis: "lr",
        yaxis: "decay",
        zaxis: "loss",
        camera: [1.6, 1.6, 0.9],
      });

      const plots = await m.getReportedPlots();
      const kinds = new Set(plots.map((p) => p.kind));
      assert.deepEqual([...kinds].sort(), [
        "confusion_matrix",
        "histogram",
        "line",
        "matrix",
        "scatter2d",
        "scatter3d",
        "surface",
        "table",
        "vector",
      ]);
      const scalarTitles = Object.keys(await m.getReportedScalars());
      assert.deepEqual(scalarTitles.sort(), ["accuracy", "loss", "lr"]);
      const expected = scalarTitles.length + plots.length;
      assert.equal(expected, 3 + 12);

      const file = join(home, "model_report.html");
      await m.writeReport(file);
      const html = await Deno.readTextFile(file);
      assert.ok(html.includes("resnet &lt;50&gt; &amp; friends"));
      assert.ok(!html.includes("<b>not bold</b>"), "metadata is escaped");
      assert.ok(html.includes("downsampled from 20000 points"));
      await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
      await Deno.writeTextFile(new URL("../out/model_report.html", import.meta.url), html);

      launched = await launchBrowser();
      const page = await launched.browser.newPage();
      const check = await openAndCheck(page, `file://${file}`, {
        readyExpression: "window.modelogReady !== undefined",
      });
      assert.equal(await page.evaluate("window.modelogReady"), true);
      const seen = await page.evaluate(`(() => {
        const charts = [...document.querySelectorAll(".chart")];
        const text = (sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent);
        return {
          charts: charts.length,
          rendered: charts.filter((d) => d.classList.contains("js-plotly-plot")).length,
          withSvg: charts.filter((d) => d.querySelector("svg.main-svg")).length,
          all: document.querySelectorAll(".js-plotly-plot").length,
          gl3d: charts.filter((d) => d.querySelector(".gl-container canvas")).length,
          tables: charts.filter((d) => d.querySelector(".table")).length,
          headings: text(".plot-head h3"),
          fields: text("table.kv th"),
          cells: text("td"),
        };
      })()`) as {
        charts: number;
        rendered: number;
        withSvg: number;
        all: number;
        gl3d: number;
        tables: number;
        headings: string[];
        fields: string[];
        cells: string[];
      };
      assert.deepEqual(
        { charts: seen.charts, rendered: seen.rendered, withSvg: seen.withSvg, all: seen.all },
        { charts: expected, rendered: expected, withSvg: expected, all: expected },
      );
      assert.equal(seen.gl3d, 3, "the two 3-D scatters and the surface draw on WebGL canvases");
      assert.equal(seen.tables, 3, "the three tables render as plotly tables");
      for (const h of ["loss", "accuracy", "lr", "weights / layer1", "table / csv", "pr curve"]) {
        assert.ok(seen.headings.includes(h), `heading ${h}`);
      }
      // Labels and metadata have their own sections, not raw JSON rows in the fields table.
      assert.ok(seen.fields.includes("name") && seen.fields.includes("published"));
      assert.ok(!seen.fields.includes("labels") && !seen.fields.includes("metadata"));
      for (const c of ["cat", "dog", "epochs", "f1", "0.91", "NaN", "Infinity"]) {
        assert.ok(seen.cells.includes(c), `cell ${c} in the labels/metadata/single values`);
      }
      assert.deepEqual(check.consoleErrors, []);
      assert.deepEqual(check.pageErrors, []);
      assert.deepEqual(check.failedRequests, []);
      assert.deepEqual(check.requests.filter((u) => !isLocalUrl(u)), []);
      assert.ok(check.requests.every((u) => u.startsWith("file://") || u.startsWith("data:")));
      await page.screenshot({
        path: new URL("../out/model_report.png", import.meta.url).pathname as `${string}.png`,
        fullPage: true,
      });
      await page.close();
      await task.close();
    } finally {
      await launched?.close();
      await store.close();
      await Deno.remove(home, { recursive: true });
    }
  },
});

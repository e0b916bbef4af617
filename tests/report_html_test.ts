import assert from "node:assert/strict";
import { loadPlotlyJs } from "../lib/deps.ts";
import {
  confusionMatrixFigure,
  histogramFigure,
  linePlotFigure,
  type PlotResult,
  scatter2dFigure,
  scatter3dFigure,
  surfaceFigure,
  tableFigure,
  vectorFigure,
} from "../lib/reports/figures.ts";
import { renderReportHtml, type ReportSnapshot, toPlotly3 } from "../lib/reports/html.ts";
import { isLocalUrl, launchBrowser, openAndCheck } from "./browser.ts";

function allPlots(): PlotResult[] {
  return [
    histogramFigure({
      title: "weights",
      series: "layer1",
      values: [[1, 4, 2, 8], [2, 3, 5, 1]],
      labels: ["w", "b"],
      xlabels: ["a", "b", "c", "d"],
      xaxis: "bucket",
      yaxis: "count",
    }),
    vectorFigure({ title: "vec", series: "v", values: new Float32Array([3, 1, 4, 1, 5]) }),
    tableFigure({
      title: "table",
      series: "animals",
      csvText: ",num_legs,num_wings\nfalcon,2,2\ndog,4,0\nspider,8,0\n",
    }),
    linePlotFigure({
      title: "pr curve",
      series: [
        { name: "cls A", data: [[0, 1], [0.5, 0.8], [1, NaN], [1.2, 0.1]] },
        { name: "cls B", data: [[0, 0.9], [0.5, 0.7], [1, 0.3]], labels: ["p", "q", "r"] },
      ],
      xaxis: "recall",
      yaxis: "precision",
      comment: "validation set",
    }),
    scatter2dFigure({
      title: "scatter",
      series: "s1",
      scatter: [[0, 1], [1, 3], [2, Infinity], [3, 2]],
      mode: "lines+markers",
    }),
    scatter3dFigure({
      title: "embedding",
      series: ["cats", "dogs"],
      scatter: [[[0, 0, 0], [1, 1, 1], [2, 1, 0]], [[0, 1, 2], [2, 2, 2]]],
      xaxis: "x",
      yaxis: "y",
      zaxis: "z",
    }),
    confusionMatrixFigure({
      title: "confusion",
      series: "val",
      matrix: [[10, 2, 0], [1, 12, 3], [0, 1, 9]],
      xlabels: ["cat", "dog", "bird"],
      ylabels: ["cat", "dog", "bird"],
      yaxisReversed: true,
    }),
    confusionMatrixFigure(
      { title: "matrix", series: "m", matrix: [[0.1, 0.9], [NaN, 0.5]] },
      "matrix",
    ),
    surfaceFigure({
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
    }),
  ];
}

function snapshot(): ReportSnapshot {
  const n = 20_000;
  const x = Array.from({ length: n }, (_, i) => i);
  return {
    model: {
      id: "m_0123",
      name: "resnet <50> & friends",
      project: "vision",
      framework: "PyTorch",
      tags: ["best", "v2"],
      systemTags: [],
      published: true,
      archived: false,
      createdAt: "2025-01-02T03:04:05.000Z",
      lastUpdate: 1735787045000,
      url: "file:///tmp/weights.pt",
      hash: "ab".repeat(32),
      size: 12_345_678,
      iteration: 42,
      comment: "<script>alert(1)</script>",
      configText: "lr: 0.1\nlayers: 50",
      task: "t_1",
      parent: null,
    },
    labels: { background: 0, cat: 1, dog: 2 },
    metadata: { epochs: { value: "10", type: "int" }, note: { value: "</script>", type: "str" } },
    singleValues: { accuracy: 0.93, bad: NaN, big: Infinity },
    scalars: [
      {
        title: "loss",
        series: [
          { name: "train", x: [0, 1, 2, 3, 4], y: [1, 0.6, NaN, 0.3, 0.2] },
          { name: "val", x: [0, 2, 4], y: [1.1, 0.7, 0.5] },
        ],
      },
      {
        title: "long run",
        series: [{ name: "noise", x, y: x.map((i) => Math.sin(i / 300) + (i === 12_345 ? 5 : 0)) }],
      },
    ],
    plots: allPlots(),
  };
}

Deno.test("toPlotly3() turns string titles into {text} and expands dotted keys", () => {
  const t = tableFigure({ title: "T", series: "S", tablePlot: [["a"], [1]] });
  assert.deepEqual(toPlotly3(t.figure).layout, { title: { text: "T" } });
  const h = histogramFigure({ title: "H", series: "s", values: [1], xaxis: "x" });
  const f = toPlotly3(h.figure).layout;
  assert.deepEqual(f.title, { text: "H" });
  assert.deepEqual(f.xaxis, { title: { text: "x" } });
  assert.deepEqual(f.yaxis, {});
  const s = toPlotly3(surfaceFigure({ title: "a", series: "b", matrix: [[1]], zaxis: "z" }).figure);
  assert.deepEqual((s.layout.scene as { zaxis: unknown }).zaxis, {
    title: { text: "z" },
    nticks: 5,
  });
  // the stored figure is not changed
  assert.deepEqual(h.figure.layout.title, "H");
});

Deno.test("renderReportHtml() escapes text and keeps NaN in the embedded figure JSON", () => {
  const html = renderReportHtml(snapshot(), { plotlyJs: "window.Plotly={};" });
  assert.ok(html.includes("resnet &lt;50&gt; &amp; friends"));
  assert.ok(html.includes("&lt;script&gt;alert(1)&lt;/script&gt;"));
  assert.ok(!html.includes("<script>alert(1)"));
  const json = html.split('<script type="application/json" id="modelog-figures">')[1]
    .split("</script>")[0];
  assert.ok(!json.includes("</"), "no </ inside the JSON script");
  assert.ok(!json.includes("<!--"));
  assert.ok(json.includes('{"$nf":"NaN"}'));
  assert.ok(json.includes('{"$nf":"Infinity"}'));
  assert.ok(html.includes("downsampled from 20000 points"));
  assert.ok(!/(?:src|href)=["']?https?:/i.test(html), "no external URLs");
});

// Sanitizers stay on: launchBrowser().close() ends Chromium and removes its profile, and the
// finally block removes the temp dir even when an assertion fails.
Deno.test({
  name: "the HTML report renders every figure in Chromium offline, without errors",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "modelog-report-" });
    const launched = await launchBrowser();
    try {
      const s = snapshot();
      const html = renderReportHtml(s, { plotlyJs: await loadPlotlyJs() });
      const file = `${dir}/report.html`;
      await Deno.writeTextFile(file, html);
      // Keep a copy next to the screenshot for looking at by hand (tests/out/ is git-ignored).
      await Deno.mkdir(new URL("./out/", import.meta.url), { recursive: true });
      await Deno.writeTextFile(new URL("./out/report.html", import.meta.url), html);
      const page = await launched.browser.newPage();
      const check = await openAndCheck(page, `file://${file}`, {
        readyExpression: "window.modelogReady !== undefined",
      });
      assert.deepEqual(await page.evaluate("window.modelogReady"), true);
      const expected = s.scalars.length + s.plots.length;
      const counts = await page.evaluate(`(() => {
        const plots = [...document.querySelectorAll(".chart")];
        return {
          charts: plots.length,
          rendered: plots.filter((d) => d.classList.contains("js-plotly-plot")).length,
          withSvg: plots.filter((d) => d.querySelector("svg.main-svg")).length,
          all: document.querySelectorAll(".js-plotly-plot").length,
        };
      })()`);
      assert.deepEqual(counts, {
        charts: expected,
        rendered: expected,
        withSvg: expected,
        all: expected,
      });
      assert.deepEqual(check.consoleErrors, []);
      assert.deepEqual(check.pageErrors, []);
      assert.deepEqual(check.failedRequests, []);
      const outside = check.requests.filter((u) => !isLocalUrl(u));
      assert.deepEqual(outside, []);
      await page.screenshot({
        path: new URL("./out/report.png", import.meta.url).pathname as `${string}.png`,
        fullPage: true,
      });
      await page.close();
    } finally {
      await launched.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

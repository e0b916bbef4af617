import assert from "node:assert/strict";
import { histogramFigure, surfaceFigure, tableFigure } from "../../lib/reports/figures.ts";
import { renderReportHtml, toPlotly3 } from "../../lib/reports/html.ts";
import { snapshot } from "../fixtures/report_snapshot.ts";

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

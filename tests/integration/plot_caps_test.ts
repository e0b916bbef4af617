/**
 * Plot caps: large plots are down-sampled when reported (ClearML's limits for line plots and
 * 2-D scatters, our own for the rest), so no single plot event can outgrow a sync push.
 *
 * @module
 */
import assert from "node:assert/strict";
import { OutputModel, Task } from "../../mod.ts";
import { readOne } from "../../lib/store/raw.ts";
import { capPlot, PLOT_CAPS } from "../../lib/reports/caps.ts";
import { withStore } from "../fixtures/helpers.ts";

Deno.test("a 1.5M-point line plot is stored capped at 800k values, under 16 MiB", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const model = new OutputModel({ task, name: "big" });
    const n = 1_500_000;
    const data = Array.from({ length: n }, (_, i) => [i, Math.sin(i / 1000)]);
    model.reportLinePlot({ title: "curve", series: [{ name: "sin", data }] });
    await model.flush();
    const [plot] = await model.getReportedPlots();
    const trace = plot!.figure.data[0] as { x: number[]; y: number[] };
    assert.ok(trace.x.length * 2 <= 800_000, `${trace.x.length} points kept`);
    assert.ok(trace.x.length > 300_000);
    assert.equal(trace.x.length, trace.y.length);
    assert.equal(trace.x[0], 1.5); // 3M values / 800k: runs of 4 points, each their mean
    const row = await readOne<{ n: number }>(
      store,
      "SELECT max(length(data)) AS n FROM events WHERE type = 'metric.plot'",
    );
    assert.ok(row!.n < 16 * 1024 * 1024, `${row!.n} bytes`);
    await task.close();
  });
});

Deno.test("every plot kind has a cap that bounds its data; small plots are left as they are", () => {
  const base = { title: "t", series: "s", iteration: 0 };
  const xs = Array.from({ length: 300_000 }, (_, i) => i);
  const sc = capPlot({
    ...base,
    kind: "scatter2d",
    figure: { data: [{ x: xs, y: xs, text: xs.map(String) }], layout: {} },
  });
  const t = sc.figure.data[0] as { x: number[]; text: string[] };
  assert.ok(t.x.length * 2 <= PLOT_CAPS.scatter2d!);
  assert.equal(t.text.length, t.x.length);
  const z = Array.from({ length: 1000 }, (_, r) => Array.from({ length: 1000 }, () => r));
  const hm = capPlot({ ...base, kind: "confusion_matrix", figure: { data: [{ z }], layout: {} } });
  const hz = (hm.figure.data[0] as { z: number[][] }).z;
  assert.ok(hz.length * hz[0]!.length <= PLOT_CAPS.confusion_matrix!);
  const bars = capPlot({
    ...base,
    kind: "histogram",
    figure: { data: [{ x: xs.concat(xs), y: xs.concat(xs).map(() => 1) }], layout: {} },
  });
  const by = (bars.figure.data[0] as { y: number[] }).y;
  assert.ok(by.length <= PLOT_CAPS.histogram!);
  assert.equal(by.reduce((a, b) => a + b, 0), 600_000); // bar counts are summed, not lost
  const cols = Array.from({ length: 10 }, () => xs.slice(0, 100_000));
  const tb = capPlot({
    ...base,
    kind: "table",
    figure: { data: [{ cells: { values: cols } }], layout: {} },
  });
  const kept = (tb.figure.data[0] as { cells: { values: unknown[][] } }).cells.values;
  assert.ok(kept.length * kept[0]!.length <= PLOT_CAPS.table!);
  const small = {
    ...base,
    kind: "scatter2d" as const,
    figure: { data: [{ x: [1], y: [2] }], layout: {} },
  };
  assert.equal(capPlot(small), small);
});

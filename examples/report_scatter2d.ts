/**
 * Seed page, "Attach Additional Data": `reportScatter2d` reports (x, y) pairs. The default
 * mode is `"lines"` (ClearML's model default `"line"` is not a plotly mode). Several series on
 * one plot share the title and iteration.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_scatter2d.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report scatter2d" });
const model = new OutputModel({ task, name: "scatter2d example" });

// np.hstack((np.atleast_2d(np.arange(0, 10)).T, np.random.randint(10, size=(10, 1))))
const scatter = () => Array.from({ length: 10 }, (_, i) => [i, Math.floor(Math.random() * 10)]);

await model.reportScatter2d({
  title: "example_scatter",
  series: "series",
  iteration: 0,
  scatter: scatter(),
  xaxis: "title x",
  yaxis: "title y",
});
// Multiple series on the same plot: same title and iteration.
await model.reportScatter2d({
  title: "example_scatter",
  series: "series_1",
  iteration: 1,
  scatter: scatter(),
  xaxis: "title x",
  yaxis: "title y",
  mode: "markers",
});
await model.reportScatter2d({
  title: "example_scatter",
  series: "series_2",
  iteration: 1,
  scatter: scatter(),
  xaxis: "title x",
  yaxis: "title y",
  labels: Array.from({ length: 10 }, (_, i) => `point ${i}`),
});

for (const p of await model.getReportedPlots({ title: "example_scatter" })) {
  const trace = p.figure.data[0] as { mode: string; x: number[] };
  console.log(
    `scatter2d ${p.series} @${p.iteration}: ${trace.x.length} points, mode ${trace.mode}`,
  );
}

await task.close();
await (await getDefaultStore()).close();

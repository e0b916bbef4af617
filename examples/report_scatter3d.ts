/**
 * Seed page, "Attach Additional Data": `reportScatter3d` reports (x, y, z) points; a list of
 * arrays with a list of series names gives several traces.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_scatter3d.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report scatter3d" });
const model = new OutputModel({ task, name: "scatter3d example" });

// scatter3d = np.random.randint(10, size=(10, 3))
const points = () =>
  Array.from({ length: 10 }, () => Array.from({ length: 3 }, () => Math.floor(Math.random() * 10)));

await model.reportScatter3d({
  title: "example_scatter_3d",
  series: "series_xyz",
  iteration: 1,
  scatter: points(),
  xaxis: "title x",
  yaxis: "title y",
  zaxis: "title z",
});
// Several series at once.
await model.reportScatter3d({
  title: "example_scatter_3d_multi",
  series: ["cluster a", "cluster b"],
  iteration: 1,
  scatter: [points(), points()],
  mode: "markers",
});

for (const p of await model.getReportedPlots()) {
  console.log(`scatter3d ${p.title}: ${p.figure.data.length} trace(s)`);
}

await task.close();
await (await getDefaultStore()).close();

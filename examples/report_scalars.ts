/**
 * Seed page, "Attach Additional Data": scalar series on a model with `reportScalar(title,
 * series, value, iteration)`. Reports are queued and written in batches; read them back with
 * `getReportedScalars()` and `getScalarSummary()` (ClearML has no reader for model metrics).
 * NaN and Infinity are kept as such (ClearML sends 0).
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_scalars.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report scalars" });
const model = new OutputModel({ task, name: "scalars example" });

// Plot more than one series on the same plot by using the same title.
for (let iteration = 0; iteration < 20; iteration++) {
  await model.reportScalar("loss", "train", 1 / (iteration + 1), iteration);
  await model.reportScalar("loss", "validation", 1.2 / (iteration + 1) + 0.02, iteration);
}
await model.reportScalar("unstable", "grad norm", NaN, 0); // kept as NaN

await model.flush(); // optional: reads flush first, and so does task.close()
const scalars = await model.getReportedScalars();
for (const [title, bySeries] of Object.entries(scalars)) {
  for (const [series, { x, y }] of Object.entries(bySeries)) {
    console.log(`${title}/${series}: ${x.length} points, last ${y.at(-1)} at ${x.at(-1)}`);
  }
}
console.table(await model.getScalarSummary());

await task.close();
await (await getDefaultStore()).close();

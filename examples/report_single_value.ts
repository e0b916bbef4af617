/**
 * Seed page, "Attach Additional Data": a single value metric with `reportSingleValue(name,
 * value)` (stored as title "Summary" at iteration -2^31, as ClearML does).
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_single_value.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";

const task = await Task.init({ projectName: "examples", taskName: "report single value" });
const model = new OutputModel({ task, name: "single value example" });

await model.reportSingleValue("accuracy", 0.934);
await model.reportSingleValue("mAP", 0.71);
await model.reportSingleValue("accuracy", 0.941); // the last report wins

console.log("single values:", JSON.stringify(await model.getReportedSingleValues()));

await task.close();
await (await getDefaultStore()).close();

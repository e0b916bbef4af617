/**
 * Seed page, "Attach Additional Data": `reportTable` from rows (the first row is the header),
 * from a local CSV file, or from a CSV URL (served here by a local `Deno.serve`). Exactly one
 * of `tablePlot`, `csv` and `url`.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/report_table.ts`
 *
 * @module
 */
import { getDefaultStore, OutputModel, Task } from "../mod.ts";
import { join } from "node:path";

const task = await Task.init({ projectName: "examples", taskName: "report table" });
const model = new OutputModel({ task, name: "table example" });

// The pandas DataFrame of the seed, as rows: header first, the index as the first column.
const tablePlot = [
  ["", "num_legs", "num_wings", "num_specimen_seen"],
  ["falcon", 2, 2, 10],
  ["dog", 4, 0, 2],
  ["spider", 8, 0, 1],
  ["fish", 0, 0, 8],
];
await model.reportTable({ title: "table example", series: "rows", iteration: 0, tablePlot });

// The same from a CSV file.
const work = await Deno.makeTempDir({ prefix: "modelog-example-" });
const csvText = tablePlot.map((r) => r.join(",")).join("\n") + "\n";
const csv = join(work, "animals.csv");
await Deno.writeTextFile(csv, csvText);
await model.reportTable({ title: "table example", series: "csv file", iteration: 0, csv });

// And from a URL.
const server = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response(csvText, { headers: { "content-type": "text/csv" } }),
);
const url = `http://127.0.0.1:${server.addr.port}/animals.csv`;
await model.reportTable({
  title: "table example",
  series: "csv url",
  iteration: 0,
  url,
  extraLayout: { height: 600 },
});
await server.shutdown();

for (const p of await model.getReportedPlots({ title: "table example" })) {
  const cells = (p.figure.data[0] as { cells: { values: unknown[][] } }).cells.values;
  console.log(`table ${p.series}: ${cells.length} columns x ${cells[0]!.length} rows`);
}

await task.close();
await (await getDefaultStore()).close();
await Deno.remove(work, { recursive: true });

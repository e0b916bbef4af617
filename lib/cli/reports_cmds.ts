/**
 * The report commands: `report` (a self-contained HTML page of a model) and `export-csv` (its
 * scalars as CSV).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { REPORTS_COMMANDS } from "./reports_cmds.ts";
 * import { UsageError } from "./registry.ts";
 *
 * assert.deepEqual(REPORTS_COMMANDS.map((c) => c.name), ["report", "export-csv"]);
 * const report = REPORTS_COMMANDS[0]!;
 * await assert.rejects(() => report.run({}, ["some-id"]), UsageError); // no -o FILE
 * ```
 *
 * @module
 */
import { join, resolve } from "node:path";
import { type Command, define, UsageError } from "./registry.ts";
import { jsonOut, out, working } from "./output.ts";
import {
  intOpt,
  modelByIdOrPrefix,
  needId,
  noExtra,
  STORE_HELP,
  STORE_OPTS,
  withStore,
} from "./options.ts";

const report: Command = define("report", {
  summary: "Write a self-contained HTML report of a model",
  usage: `cli.ts report ID -o report.html [--max-points N] [--home DIR]

  -o, --output FILE   the HTML file to write (required)
  --max-points N      down-sample scalar series longer than N points (default 5000)
  --json              JSON: {id, path}
${STORE_HELP}

Examples:
  cli.ts report 3b5a0d -o report.html
  cli.ts report 3b5a0d -o report.html --max-points 2000 --json`,
  options: {
    ...STORE_OPTS,
    output: { type: "string", short: "o" },
    "max-points": { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    const id = needId(positionals, "report");
    noExtra(positionals, 1, "report");
    if (!values.output) throw new UsageError("report: -o FILE is required");
    const maxPoints = intOpt(values["max-points"], "--max-points", 2);
    const path = resolve(values.output as string);
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      await working(
        "writing report",
        () => m.writeReport(path, maxPoints ? { maxPointsPerSeries: maxPoints } : {}),
      );
      if (values.json) jsonOut({ id: m.id, path });
      else out(`wrote ${path}`);
      return 0;
    });
  },
});

const exportCsv: Command = define("export-csv", {
  summary: "Export a model's scalars as CSV (title,series,iteration,value)",
  usage: `cli.ts export-csv ID -o scalars.csv [--home DIR]

  -o, --output FILE   the CSV file to write (required; "-" writes to stdout)
  --json              JSON: {id, path, rows} (not with -o -)
${STORE_HELP}

Examples:
  cli.ts export-csv 3b5a0d -o scalars.csv
  cli.ts export-csv 3b5a0d -o - | head`,
  options: { ...STORE_OPTS, output: { type: "string", short: "o" }, json: { type: "boolean" } },
  async run(values, positionals) {
    const id = needId(positionals, "export-csv");
    noExtra(positionals, 1, "export-csv");
    if (!values.output) throw new UsageError("export-csv: -o FILE is required");
    const toStdout = values.output === "-";
    if (toStdout && values.json) throw new UsageError("export-csv: --json does not go with -o -");
    const path = resolve(values.output as string);
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      if (toStdout) {
        const dir = await Deno.makeTempDir({ prefix: "modelog-csv-" });
        try {
          await m.exportScalarsCsv(join(dir, "scalars.csv"));
          const f = await Deno.open(join(dir, "scalars.csv"));
          await f.readable.pipeTo(Deno.stdout.writable, { preventClose: true });
        } finally {
          await Deno.remove(dir, { recursive: true });
        }
        return 0;
      }
      const rows = await working("exporting scalars", () => m.exportScalarsCsv(path));
      if (values.json) jsonOut({ id: m.id, path, rows });
      else out(`wrote ${rows} rows to ${path}`);
      return 0;
    });
  },
});

/** The report commands. */
export const REPORTS_COMMANDS: readonly Command[] = [report, exportCsv];

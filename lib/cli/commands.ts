/**
 * The CLI's model commands: `models list|show|history|publish|archive|unarchive|tag|download`,
 * `report`, `export-csv`, `ui` and `doctor`. `cli.ts` imports this module at startup and hands
 * its registry to {@link registerCommands} (this module must not import `cli.ts` at run time: that
 * would wait on cli.ts's own top-level await).
 *
 * Every command takes `--home DIR` (or `--db PATH`), prints a human table by default and JSON
 * with `--json`, and exits non-zero with a one-line error on bad input.
 *
 * @module
 */
import type * as Cli from "../../cli.ts";
import type { Command } from "../../cli.ts";
import type { Store } from "../store/store.ts";
import { doctor } from "../store/doctor.ts";
import { Model, type QueryModelsOptions } from "../models/model.ts";
import { SINGLE_VALUE_ITERATION } from "../models/base.ts";
import { startServer } from "../server/server.ts";
import { lineageOf } from "../projections/read.ts";
import { type ModelQueryFlags, modelQueryFromFlags } from "../query_text.ts";
import { InvalidArgumentError } from "../errors.ts";
import { resolve } from "node:path";

/** Moved to the store; re-exported for existing importers. */
export { doctor, type DoctorReport } from "../store/doctor.ts";

/** What `cli.ts` hands over: its registry and helpers. */
export type CliApi = Pick<typeof Cli, "COMMANDS" | "out" | "isTty" | "progressBar" | "storeFrom">;

type Values = Record<string, unknown>;
type Opts = Command["options"];

const STORE_OPTS: Opts = {
  home: { type: "string" },
  db: { type: "string" },
};
const STORE_HELP = `  --home DIR   the store folder (default $MODELOG_HOME or ~/.modelog)
  --db PATH    the database file (default <home>/modelog.db)`;

/** A usage error: printed as one line, exit code 2. */
class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Formatting

/** Cuts a cell to `n` characters. */
function cut(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}

/** A plain-text table: columns padded to their widest cell (cells cut at `max`). */
export function textTable(head: string[], rows: string[][], max = 48): string {
  const cells = rows.map((r) => r.map((c) => cut(c.replace(/\s+/g, " "), max)));
  const w = head.map((hd, i) => Math.max(hd.length, ...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r.map((c, i) => i === r.length - 1 ? c : c.padEnd(w[i]!)).join("  ");
  return [line(head), ...cells.map(line)].join("\n");
}

function isoShort(d: Date): string {
  return Number.isNaN(d.getTime())
    ? "-"
    : d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function numText(n: number | null | undefined): string {
  if (n === null || n === undefined) return "-";
  return String(n);
}

function jsonOut(api: CliApi, v: unknown): void {
  api.out(JSON.stringify(v, (_k, x) => {
    if (typeof x === "number" && !Number.isFinite(x)) return String(x);
    return x;
  }, 2));
}

// ---------------------------------------------------------------------------------------------
// Argument helpers

function needId(positionals: string[], name: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`${name}: a model ID is required`);
  return id;
}

function noExtra(positionals: string[], n: number, name: string): void {
  if (positionals.length > n) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[n])}`);
  }
}

function intOpt(
  v: unknown,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be an integer from ${min}${
        max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up"
      }, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/** A one-line "working…" note on stderr while `fn` runs (only when stdout is a terminal). */
async function working<T>(api: CliApi, label: string, fn: () => Promise<T>): Promise<T> {
  if (!api.isTty()) return await fn();
  const enc = new TextEncoder();
  Deno.stderr.writeSync(enc.encode(`${label}…`));
  try {
    return await fn();
  } finally {
    Deno.stderr.writeSync(enc.encode("\r\x1b[K"));
  }
}

/** Runs `fn` with the store of `--home`/`--db`, closing it afterwards. */
async function withStore<T>(api: CliApi, values: Values, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await api.storeFrom(values);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function define(
  api: CliApi,
  name: string,
  c: Omit<Command, "run"> & { run(values: Values, positionals: string[]): Promise<number> },
): void {
  api.COMMANDS.set(name, {
    ...c,
    async run({ values, positionals }) {
      try {
        return await c.run(values, positionals);
      } catch (e) {
        if (e instanceof UsageError) {
          console.error(`error: ${e.message} (see cli.ts ${name} --help)`);
          return 2;
        }
        throw e;
      }
    },
  });
}

// ---------------------------------------------------------------------------------------------
// models list

/** The filter flags through the shared filter language; a bad one is a usage error. */
function listQuery(values: Values): QueryModelsOptions {
  try {
    return modelQueryFromFlags(values as ModelQueryFlags);
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    throw new UsageError(`--${e.field} ${e.reason}, got ${JSON.stringify(e.value)}`);
  }
}

function registerModels(api: CliApi): void {
  const { out } = api;

  define(api, "models list", {
    summary: "List models (newest update first), filtered",
    usage: `cli.ts models list [filters] [--limit N] [--json] [--home DIR]

  --project NAME     exact project name
  --name NAME        exact model name
  --tags a,-b        tags in ClearML's grammar: a comma list, -tag excludes
  --published        only published models
  --archived         include archived models (hidden by default)
  --metadata k=v     metadata equals value (repeatable, all must match)
  --limit N          at most N models (default 50; 0 = all)
  --after CURSOR     the page after this cursor (printed when there are more)
  --json             JSON: an array of models
${STORE_HELP}`,
    options: {
      ...STORE_OPTS,
      project: { type: "string" },
      name: { type: "string" },
      tags: { type: "string" },
      published: { type: "boolean" },
      archived: { type: "boolean" },
      metadata: { type: "string", multiple: true },
      limit: { type: "string" },
      after: { type: "string" },
      json: { type: "boolean" },
    },
    async run(values, positionals) {
      noExtra(positionals, 0, "models list");
      const limit = intOpt(values.limit, "--limit", 0) ?? 50;
      const q = listQuery(values);
      return await withStore(api, values, async (store) => {
        const found = await Model.queryModels({
          ...q,
          ...(limit > 0 ? { maxResults: limit + 1 } : {}),
          store,
        });
        const more = limit > 0 && found.length > limit;
        const models = more ? found.slice(0, limit) : found;
        if (values.json) {
          jsonOut(api, models.map((m) => m.toJSON()));
          return 0;
        }
        if (models.length === 0) {
          out("no models match");
          return 0;
        }
        out(textTable(
          ["ID", "NAME", "PROJECT", "FRAMEWORK", "TAGS", "PUB", "ARCH", "LAST UPDATE"],
          models.map((m) => [
            m.id,
            m.name,
            m.project,
            m.framework,
            m.tags.join(","),
            m.published ? "yes" : "-",
            m.archived ? "yes" : "-",
            isoShort(m.lastUpdate),
          ]),
        ));
        const last = models[models.length - 1]!;
        if (more) {
          out(`(more: --after ${last.cursor.lastUpdate},${last.cursor.id})`);
        }
        return 0;
      });
    },
  });

  define(api, "models show", {
    summary: "Show one model: fields, metadata, weights, lineage, reports",
    usage: `cli.ts models show ID [--json] [--home DIR]

  --json   JSON: {model, metadata, labels, weights, lineage, singleValues, scalarSummary, plots}
${STORE_HELP}`,
    options: { ...STORE_OPTS, json: { type: "boolean" } },
    async run(values, positionals) {
      const id = needId(positionals, "models show");
      noExtra(positionals, 1, "models show");
      return await withStore(api, values, async (store) => {
        const m = await Model.get(id, { store });
        const blobStored = m.hash ? await store.blobs.has(m.hash) : false;
        const inputOf = (await lineageOf(store, m.id))
          .map(({ taskId, slot, taskName }) => ({ taskId, slot, taskName }));
        const singleValues = await m.getReportedSingleValues();
        const scalarSummary = (await m.getScalarSummary())
          .filter((s) => s.maxIteration !== SINGLE_VALUE_ITERATION);
        const plots = (await m.getReportedPlots()).map((p) => ({
          kind: p.kind,
          title: p.title,
          series: p.series,
          iteration: p.iteration,
          reportedAt: p.reportedAt.toISOString(),
        }));
        if (values.json) {
          jsonOut(api, {
            model: m.toJSON(),
            metadata: m.getAllMetadata(),
            labels: m.labels,
            weights: { url: m.url, hash: m.hash, size: m.size, blobStored },
            lineage: { task: m.task, originalTask: m.originalTask, parent: m.parent, inputOf },
            singleValues,
            scalarSummary,
            plots,
          });
          return 0;
        }
        const kv: [string, string][] = [
          ["id", m.id],
          ["name", m.name],
          ["project", m.project],
          ["framework", m.framework || "-"],
          ["comment", m.comment || "-"],
          ["tags", m.tags.join(", ") || "-"],
          ["system tags", m.systemTags.join(", ") || "-"],
          ["published", m.published ? "yes" : "no"],
          ["archived", m.archived ? "yes" : "no"],
          ["created", isoShort(m.createdAt)],
          ["last update", isoShort(m.lastUpdate)],
          ["iteration", numText(m.iteration)],
          ["url", m.url || "-"],
          ["size", m.size ? `${m.size} bytes` : "-"],
          ["sha256", m.hash || "-"],
          ["blob stored", m.hash ? (blobStored ? "yes" : "no") : "-"],
          ["task", m.task || "-"],
          ["original task", m.originalTask || "-"],
          ["parent", m.parent || "-"],
          [
            "input of",
            inputOf.map((u) => `${u.taskName ?? u.taskId} (${u.slot})`).join(", ") || "-",
          ],
        ];
        for (const [k, v] of kv) out(`${k.padEnd(14)} ${v}`);
        const section = (title: string, body: string) => {
          out("");
          out(`${title}:`);
          out(body.split("\n").map((l) => "  " + l).join("\n"));
        };
        const md = Object.values(m.getAllMetadata()).sort((a, b) => a.key.localeCompare(b.key));
        if (md.length) {
          section(
            "metadata",
            textTable(["KEY", "VALUE", "TYPE"], md.map((e) => [e.key, e.value, e.type]), 80),
          );
        }
        const labels = Object.entries(m.labels).sort((a, b) => a[1] - b[1]);
        if (labels.length) {
          section("labels", textTable(["LABEL", "ID"], labels.map(([k, v]) => [k, String(v)])));
        }
        if (m.configText) section("config", m.configText);
        const sv = Object.entries(singleValues).sort((a, b) => a[0].localeCompare(b[0]));
        if (sv.length) {
          section(
            "single values",
            textTable(["NAME", "VALUE"], sv.map(([k, v]) => [k, String(v)])),
          );
        }
        if (scalarSummary.length) {
          section(
            "scalars",
            textTable(
              ["TITLE", "SERIES", "LAST", "MIN", "MAX", "POINTS", "LAST ITER"],
              scalarSummary.map((s) => [
                s.title,
                s.series,
                String(s.last),
                numText(s.min),
                numText(s.max),
                String(s.count),
                String(s.lastIteration),
              ]),
            ),
          );
        }
        if (plots.length) {
          section(
            "plots",
            textTable(
              ["KIND", "TITLE", "SERIES", "ITERATION"],
              plots.map((p) => [p.kind, p.title, p.series, String(p.iteration)]),
            ),
          );
        }
        return 0;
      });
    },
  });

  define(api, "models history", {
    summary: "Show a model's history: who changed what, when (newest first)",
    usage: `cli.ts models history ID [--limit N] [--json] [--home DIR]

  --limit N  at most N entries (default 100)
  --json     JSON: an array of {id, type, at, hlc, actor, origin, changes}
${STORE_HELP}`,
    options: { ...STORE_OPTS, limit: { type: "string" }, json: { type: "boolean" } },
    async run(values, positionals) {
      const id = needId(positionals, "models history");
      noExtra(positionals, 1, "models history");
      const limit = intOpt(values.limit, "--limit", 1) ?? 100;
      return await withStore(api, values, async (store) => {
        const m = await Model.get(id, { store });
        const entries = await m.history({ limit });
        if (values.json) {
          jsonOut(api, entries.map((e) => ({ ...e, at: e.at.toISOString() })));
          return 0;
        }
        out(textTable(
          ["WHEN", "ACTOR", "TYPE", "CHANGES"],
          entries.map((e) => [
            isoShort(e.at),
            e.actor,
            e.type,
            JSON.stringify(e.changes),
          ]),
          80,
        ));
        return 0;
      });
    },
  });

  const stateCommand = (action: "publish" | "archive" | "unarchive") => {
    define(api, `models ${action}`, {
      summary: action === "publish"
        ? "Publish a model (locks it)"
        : action === "archive"
        ? "Archive a model (hidden from lists)"
        : "Unarchive a model",
      usage: `cli.ts models ${action} ID [--json] [--home DIR]

  --json   JSON: {id, published, archived}
${STORE_HELP}`,
      options: { ...STORE_OPTS, json: { type: "boolean" } },
      async run(values, positionals) {
        const id = needId(positionals, `models ${action}`);
        noExtra(positionals, 1, `models ${action}`);
        return await withStore(api, values, async (store) => {
          const m = await Model.get(id, { store });
          await m[action]();
          await m.reload();
          if (values.json) {
            jsonOut(api, { id: m.id, published: m.published, archived: m.archived });
          } else out(`${action === "publish" ? "published" : `${action}d`} ${m.id} (${m.name})`);
          return 0;
        });
      },
    });
  };
  stateCommand("publish");
  stateCommand("archive");
  stateCommand("unarchive");

  define(api, "models tag", {
    summary: "Add (+tag) and remove (-tag) tags of a model",
    usage: `cli.ts models tag ID +a -b [c ...] [--json] [--home DIR]

  +tag or tag   add the tag
  -tag          remove the tag
  --json        JSON: {id, tags}
${STORE_HELP}`,
    options: { ...STORE_OPTS, json: { type: "boolean" } },
    // `-b` would parse as an unknown flag: keep every non-option argument positional.
    prepareArgs(args) {
      const opts: string[] = [];
      const pos: string[] = [];
      for (let i = 0; i < args.length; i++) {
        const a = args[i]!;
        if (a === "--") {
          pos.push(...args.slice(i + 1));
          break;
        }
        const flag = a.split("=")[0]!;
        if (flag === "--home" || flag === "--db") {
          opts.push(a);
          if (!a.includes("=") && i + 1 < args.length) opts.push(args[++i]!);
        } else if (a.startsWith("--")) opts.push(a);
        else pos.push(a);
      }
      return [...opts, "--", ...pos];
    },
    async run(values, positionals) {
      const id = needId(positionals, "models tag");
      const ops = positionals.slice(1);
      if (ops.length === 0) throw new UsageError("models tag: give at least one +tag or -tag");
      const want = new Map<string, boolean>();
      for (const op of ops) {
        const add = !op.startsWith("-");
        const tag = op.startsWith("+") || op.startsWith("-") ? op.slice(1) : op;
        if (!tag.trim()) throw new UsageError(`models tag: empty tag in ${JSON.stringify(op)}`);
        want.delete(tag);
        want.set(tag, add);
      }
      return await withStore(api, values, async (store) => {
        const m = await Model.get(id, { store });
        const add = [...want].filter(([, a]) => a).map(([t]) => t);
        const remove = [...want].filter(([, a]) => !a).map(([t]) => t);
        if (remove.length) await m.removeTags(...remove);
        if (add.length) await m.addTags(...add);
        await m.reload();
        if (values.json) jsonOut(api, { id: m.id, tags: m.tags });
        else out(`${m.id} tags: ${m.tags.join(", ") || "(none)"}`);
        return 0;
      });
    },
  });

  define(api, "models download", {
    summary: "Copy a model's weights file into a folder",
    usage: `cli.ts models download ID [DIR] [--force] [--json] [--home DIR]

  DIR      where to put the file (default: the current folder)
  --force  download again even when a cached copy exists
  --json   JSON: {id, path}
${STORE_HELP}`,
    options: { ...STORE_OPTS, force: { type: "boolean" }, json: { type: "boolean" } },
    async run(values, positionals) {
      const id = needId(positionals, "models download");
      noExtra(positionals, 2, "models download");
      const dir = resolve(positionals[1] ?? ".");
      return await withStore(api, values, async (store) => {
        const m = await Model.get(id, { store });
        const path = await working(api, "fetching weights", () =>
          m.getWeights({
            targetDir: dir,
            ...(values.force ? { forceDownload: true } : {}),
          }));
        if (values.json) jsonOut(api, { id: m.id, path });
        else out(path ?? "");
        return 0;
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// report, export-csv

function registerReports(api: CliApi): void {
  define(api, "report", {
    summary: "Write a self-contained HTML report of a model",
    usage: `cli.ts report ID -o report.html [--max-points N] [--home DIR]

  -o, --output FILE   the HTML file to write (required)
  --max-points N      down-sample scalar series longer than N points (default 5000)
  --json              JSON: {id, path}
${STORE_HELP}`,
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
      return await withStore(api, values, async (store) => {
        const m = await Model.get(id, { store });
        await working(
          api,
          "writing report",
          () => m.writeReport(path, maxPoints ? { maxPointsPerSeries: maxPoints } : {}),
        );
        if (values.json) jsonOut(api, { id: m.id, path });
        else api.out(`wrote ${path}`);
        return 0;
      });
    },
  });

  define(api, "export-csv", {
    summary: "Export a model's scalars as CSV (title,series,iteration,value)",
    usage: `cli.ts export-csv ID -o scalars.csv [--home DIR]

  -o, --output FILE   the CSV file to write (required)
  --json              JSON: {id, path, rows}
${STORE_HELP}`,
    options: { ...STORE_OPTS, output: { type: "string", short: "o" }, json: { type: "boolean" } },
    async run(values, positionals) {
      const id = needId(positionals, "export-csv");
      noExtra(positionals, 1, "export-csv");
      if (!values.output) throw new UsageError("export-csv: -o FILE is required");
      const path = resolve(values.output as string);
      return await withStore(api, values, async (store) => {
        const m = await Model.get(id, { store });
        const rows = await working(api, "exporting scalars", () => m.exportScalarsCsv(path));
        if (values.json) jsonOut(api, { id: m.id, path, rows });
        else api.out(`wrote ${rows} rows to ${path}`);
        return 0;
      });
    },
  });
}

// ---------------------------------------------------------------------------------------------
// ui

function registerUi(api: CliApi): void {
  define(api, "ui", {
    summary: "Browse the local store in a web UI (read-only, 127.0.0.1)",
    usage: `cli.ts ui [--port 8080] [--home DIR] [--verbose]

  --port N     TCP port on 127.0.0.1 (default 8080; 0 picks a free one)
  --verbose    log requests
${STORE_HELP}`,
    options: { ...STORE_OPTS, port: { type: "string" }, verbose: { type: "boolean" } },
    async run(values, positionals) {
      noExtra(positionals, 0, "ui");
      const port = intOpt(values.port, "--port", 0, 65535) ?? 8080;
      const { uiPages } = await import("../server/ui.ts");
      const store = await api.storeFrom(values);
      let server;
      try {
        server = await startServer({
          store,
          readOnly: true,
          pages: uiPages,
          port,
          hostname: "127.0.0.1",
          ...(values.verbose ? {} : { log: () => {} }),
        });
      } catch (e) {
        await store.close();
        throw e;
      }
      api.out(`modelog UI (read-only) at ${server.url}/ over ${store.path}`);
      const s = server;
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        s.close().then(() => store.close()).finally(() => Deno.exit(0));
      };
      Deno.addSignalListener("SIGINT", stop);
      Deno.addSignalListener("SIGTERM", stop);
      await new Promise(() => {});
      return 0;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// doctor

function registerDoctor(api: CliApi): void {
  const { out } = api;
  define(api, "doctor", {
    summary: "Check a store: schema, projections against a replay, weights blob hashes",
    usage: `cli.ts doctor [--strict] [--json] [--home DIR]

Checks without changing the store: the schema version; that the projections equal a replay of
the event log (done on a copy of the database); and that every weights blob referenced by a model
is present and hashes to its name. Exit code 1 when a check fails.

  --strict   count blobs missing from the store as failures too (else a warning: a synced
             store may fetch them later)
  --json     JSON report
${STORE_HELP}`,
    options: { ...STORE_OPTS, strict: { type: "boolean" }, json: { type: "boolean" } },
    async run(values, positionals) {
      noExtra(positionals, 0, "doctor");
      return await withStore(api, values, async (store) => {
        const r = await doctor(store, api.progressBar);
        if (values.strict && r.blobs.missing.length) r.ok = false;
        if (values.json) {
          jsonOut(api, r);
          return r.ok ? 0 : 1;
        }
        const mark = (ok: boolean) => (ok ? "ok" : "FAILED");
        out(
          `${"schema".padEnd(12)} version ${r.schema.version} (expected ${r.schema.expected}): ${
            mark(r.schema.ok)
          }`,
        );
        out(
          `${
            "store".padEnd(12)
          } ${r.counts.events} events, ${r.counts.models} models, ${r.counts.tasks} tasks`,
        );
        if (!r.projections.checked) out(`${"projections".padEnd(12)} ${r.projections.note}`);
        else {
          out(
            `${"projections".padEnd(12)} replay of ${r.projections.events} events on a copy: ${
              r.projections.ok ? "ok, identical" : "FAILED"
            } (${r.projections.tables.length} tables)`,
          );
          for (const t of r.projections.tables) {
            if (t.stale === 0 && t.missing === 0) continue;
            out(
              `  ${t.table}: ${t.stale} rows only in the projection, ${t.missing} only in the replay`,
            );
            for (const e of t.examples) out(`    ${e}`);
          }
        }
        out(
          `${
            "blobs".padEnd(12)
          } ${r.blobs.referenced} referenced: ${r.blobs.ok} ok, ${r.blobs.mismatched.length} hash mismatches, ${r.blobs.missing.length} missing`,
        );
        for (const b of r.blobs.mismatched) {
          out(`  MISMATCH ${b.hash} hashes to ${b.actual} (models ${b.models.join(", ")})`);
        }
        for (const b of r.blobs.missing) {
          out(
            `  missing  ${b.hash} (models ${b.models.join(", ")}${
              b.uri ? `; weights at ${b.uri}` : ""
            })`,
          );
        }
        out(r.ok ? "doctor: ok" : "doctor: problems found");
        return r.ok ? 0 : 1;
      });
    },
  });
}

/** Adds this module's commands to the CLI's registry. */
export function registerCommands(api: CliApi): void {
  registerModels(api);
  registerReports(api);
  registerUi(api);
  registerDoctor(api);
}

/**
 * Web UI benchmark: the time to serve the models page over 100,000 models (newest first, and
 * sorted by a metric column every model has), the model page of a model holding 1,000,000
 * scalar points, and the comparison of 4 models of 100,000 points each, each next to the
 * library calls it wraps (the table's reads `modelTablePage` + `seriesStatsOf` +
 * `projectNames`, `Model.queryModels`, `getReportedScalars`, `compareModels`). Target: a page
 * costs at most 2x its calls (PASS, else MISS).
 *
 * Run: `deno run -A bench/ui_bench.ts [--models 100000] [--points 1000000] [--runs 15] [--home DIR]`
 * (`--home` keeps the seeded store there and reuses it on the next run; `BENCH_QUICK=1` makes the
 * default sizes 10x smaller). Prints one `VERDICT {json}` line per page (target: page <= 2x call).
 *
 * Seeding uses `store.ingest` of crafted events (bench/seed.ts) for the models and
 * `store.queueScalar` for the points. Pages are fetched over HTTP from a real server
 * (`startServer` with the UI), so the page figures include routing, HTML and the socket.
 *
 * @module
 */
import { readOne } from "../lib/store/raw.ts";
import { parseArgs } from "node:util";
import { openStore } from "../lib/store/store.ts";
import { Model } from "../lib/models/model.ts";
import { startServer } from "../lib/server/server.ts";
import { uiPages } from "../lib/server/ui.ts";
import { formatHlc, uuidv7 } from "../lib/clock.ts";
import { Seeder } from "./seed.ts";
import { modelTablePage, projectNames, seriesStatsOf } from "../lib/projections/read.ts";
import type { QueryFilter } from "../lib/query.ts";
import { compareModels } from "../lib/models/compare.ts";
import { envSize, type Target, verdict, verdictTable } from "./stats.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    models: { type: "string", default: String(envSize("BENCH_UI_MODELS", 100_000)) },
    points: { type: "string", default: String(envSize("BENCH_UI_POINTS", 1_000_000)) },
    runs: { type: "string", default: "15" },
    "compare-points": {
      type: "string",
      default: String(envSize("BENCH_UI_COMPARE_POINTS", 100_000)),
    },
    home: { type: "string" },
  },
});
const MODELS = Number(values.models);
const POINTS = Number(values.points);
const RUNS = Number(values.runs);
const COMPARE_POINTS = Number(values["compare-points"]);
/** The 4 compared models. */
const CMP = [0, 1, 2, 3].map((i) => `c${i}`.padEnd(32, "0"));

const fmt = (n: number) => n.toLocaleString("en-US");
const log = (s: string) => console.error(s);

/** Median ms of each function, run interleaved `runs` times after one warm-up each. */
async function timeEach(fns: (() => Promise<unknown>)[], runs: number): Promise<number[]> {
  for (const f of fns) await f();
  const t: number[][] = fns.map(() => []);
  for (let i = 0; i < runs; i++) {
    for (let j = 0; j < fns.length; j++) {
      const t0 = performance.now();
      await fns[j]!();
      t[j]!.push(performance.now() - t0);
    }
  }
  return t.map((xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!);
}

const home = values.home ?? await Deno.makeTempDir({ prefix: "modelog-ui-bench-" });
const store = await openStore({ home });
const big = "f".repeat(32);
try {
  const have = await readOne<{ n: number }>(store, "SELECT count(*) AS n FROM models");
  if (Number(have?.n ?? 0) >= MODELS + 1 + CMP.length) {
    log(`reusing the store in ${home}`);
  } else {
    await seed();
  }
  const server = await startServer({
    store,
    readOnly: true,
    pages: uiPages,
    port: 0,
    log: () => {},
  });
  try {
    const page = async (path: string) => {
      const r = await fetch(`${server.url}${path}`);
      if (r.status !== 200) throw new Error(`${path}: HTTP ${r.status}`);
      return await r.text();
    };
    // The last field: whether the row is a target (else context: what a bare call costs).
    const rows: [string, number, string, number, number, number, boolean][] = [];
    const compare = async (
      label: string,
      path: string,
      call: () => Promise<unknown>,
      callLabel: string,
      runs = RUNS,
      isTarget = true,
    ) => {
      const size = (await page(path)).length;
      const handler = async () => {
        const u = new URL(`${server.url}${path}`);
        await (await uiPages(new Request(u), u, store))!.text();
      };
      // Interleaved, so that drift (GC, other load) hits all three alike.
      const [callMs, pageMs, handlerMs] = await timeEach([call, () => page(path), handler], runs);
      rows.push([label, pageMs, callLabel, callMs, size, handlerMs, isTarget]);
      log(
        `${label}: page ${pageMs.toFixed(1)} ms (handler ${handlerMs.toFixed(1)} ms), call ${
          callMs.toFixed(1)
        } ms`,
      );
    };

    // The table's reads: the page of rows (sorted, counted), its metric summaries, the projects.
    const newest = { by: "lastUpdate" as const, desc: true };
    const tableCalls = (filter: QueryFilter, offset = 0) => async () => {
      const [p] = await Promise.all([
        modelTablePage(store, filter, { order: newest, offset, limit: 50 }),
        projectNames(store),
      ]);
      return await seriesStatsOf(store, p.views.map((v) => v.row.id));
    };
    await compare(
      `GET / (${fmt(MODELS)} models, 50 rows)`,
      "/",
      tableCalls({}),
      "modelTablePage + seriesStatsOf + projectNames",
    );
    await compare(
      "GET /?tags=demo,-TF",
      "/?tags=demo,-TF",
      tableCalls({ tags: ["demo", "-TF"] }),
      "the same, with tags",
    );
    await compare(
      "GET /?project=project-7&metadata=key=value",
      "/?project=project-7&metadata=key%3Dvalue",
      tableCalls({ projectName: "project-7", metadata: { key: "value" } }),
      "the same, with project and metadata",
    );
    const half = Math.max(1, Math.floor(MODELS / 100));
    await compare(
      `GET /?page=${fmt(half)} (row ${fmt((half - 1) * 50 + 1)})`,
      `/?page=${half}`,
      tableCalls({}, (half - 1) * 50),
      "the same, at that offset",
    );
    await compare(
      `queryModels baseline (${fmt(MODELS)} models, 51 rows)`,
      "/?limit=50",
      () => Model.queryModels({ maxResults: 51, store }),
      "queryModels({maxResults: 51}) (the API call)",
      RUNS,
      // Context, not a target: the page also reads series stats and project names, which
      // the rows above count in their baselines.
      false,
    );
    const metricOrder = {
      by: "metric" as const,
      title: "loss",
      series: "val",
      stat: "last" as const,
      desc: false,
    };
    await compare(
      `GET /?sort=last:loss/val (${fmt(MODELS)} models, 50 rows, metric column)`,
      "/?col=last:loss/val&sort=last:loss/val&dir=asc",
      async () => {
        const p = await modelTablePage(store, {}, { order: metricOrder, offset: 0, limit: 50 });
        return await seriesStatsOf(store, p.views.map((v) => v.row.id));
      },
      "modelTablePage(sorted) + seriesStatsOf",
    );
    const modelRuns = Math.max(3, Math.floor(RUNS / 2));
    await compare(
      `GET /compare (4 models x ${fmt(COMPARE_POINTS)} points)`,
      `/compare?ids=${CMP.join(",")}`,
      async () => {
        const ms = await Promise.all(CMP.map((id) => Model.get(id, { store })));
        await compareModels(ms);
        return await Promise.all(ms.map((m) => m.getReportedScalars()));
      },
      "4 x Model.get + compareModels + 4 x getReportedScalars()",
      modelRuns,
    );
    await compare(
      `GET /models/<id> (${fmt(POINTS)} points)`,
      `/models/${big}`,
      async () => await (await Model.get(big, { store })).getReportedScalars(),
      "Model.get + getReportedScalars()",
      modelRuns,
    );

    console.log(
      `\nUI bench: ${fmt(MODELS)} models, ${
        fmt(POINTS)
      } points (median of ${RUNS} runs, ${modelRuns} for the model page)\n`,
    );
    const header = ["page", "page ms", "handler ms", "wrapped call", "call ms", "ratio", "html"];
    const table = rows.map(([label, p, cl, c, size, hm]) => [
      label,
      p.toFixed(1),
      hm.toFixed(1),
      cl,
      c.toFixed(1),
      `${(p / c).toFixed(2)}x`,
      `${fmt(Math.round(size / 1024))} KB`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)));
    const left = new Set([0, 3]);
    for (const r of [header, ...table]) {
      console.log(
        r.map((c, i) => (left.has(i) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "),
      );
    }
    console.log(
      "\npage ms: HTTP GET through startServer (fetch + text); handler ms: uiPages() called " +
        "directly; ratio = page / call.\n",
    );
    const targets: Target[] = rows.filter((r) => r[6]).map(([label, p, cl, c]) =>
      verdict({
        bench: "ui",
        name: `${label} / ${cl}`,
        figure: `${p.toFixed(1)} ms`,
        baseline: `${c.toFixed(1)} ms`,
        ratio: `${(p / c).toFixed(2)}x`,
        goal: "<= 2x",
        pass: p / c <= 2,
      })
    );
    console.log(verdictTable(targets));
  } finally {
    await server.close();
  }
} finally {
  await store.close();
  if (!values.home) await Deno.remove(home, { recursive: true });
}

async function seed(): Promise<void> {
  // 100,000 models by ingesting crafted events.
  let t0 = performance.now();
  const seeder = new Seeder({ eventsPerModel: 4 });
  const per = 5_000;
  for (let from = 0; from < MODELS; from += per) {
    await store.ingest(seeder.events(from, Math.min(MODELS, from + per)), { remote: false });
    if ((from / per) % 4 === 3) log(`seeded ${fmt(Math.min(MODELS, from + per))} models`);
  }
  log(`seeded ${fmt(MODELS)} models in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // One model with 1,000,000 points over 3 series of 2 titles.
  t0 = performance.now();
  await store.ingest([{
    id: uuidv7(),
    stream: `model:${big}`,
    type: "model.created",
    at: formatHlc({ wall: Date.now(), counter: 0, origin: "benchorigin00000" }),
    origin: "benchorigin00000",
    v: 1,
    actor: "bench",
    data: { name: "big-run", project: "bench", tags: ["big"], uri: "" },
  }], { remote: false });
  const split: [string, string, number][] = [
    ["loss", "train", Math.floor(POINTS / 2)],
    ["loss", "val", Math.floor(POINTS / 4)],
    ["accuracy", "top1", POINTS - Math.floor(POINTS / 2) - Math.floor(POINTS / 4)],
  ];
  for (const [title, series, n] of split) {
    for (let i = 0; i < n; i++) {
      const p = store.queueScalar(big, title, series, Math.exp(-i / n) + Math.sin(i) * 0.01, i);
      if (p) await p;
    }
  }
  await store.flush();
  log(`reported ${fmt(POINTS)} points in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // One metric on every model (the sorted-by-metric table), 4 models to compare.
  t0 = performance.now();
  for (let n = 0; n < MODELS; n++) {
    const p = store.queueScalar(Seeder.modelId(n), "loss", "val", ((n * 7919) % 10007) / 10007, 1);
    if (p) await p;
  }
  await store.ingest(
    CMP.map((id, i) => ({
      id: uuidv7(),
      stream: `model:${id}`,
      type: "model.created" as const,
      at: formatHlc({ wall: Date.now(), counter: i, origin: "benchorigin00000" }),
      origin: "benchorigin00000",
      v: 1,
      actor: "bench",
      data: { name: `cmp-${i}`, project: "bench", tags: ["cmp", `v${i}`], uri: "" },
    })),
    { remote: false },
  );
  for (const [i, id] of CMP.entries()) {
    for (let k = 0; k < COMPARE_POINTS; k++) {
      const p = store.queueScalar(id, "loss", "train", Math.exp(-k / COMPARE_POINTS) + i / 10, k);
      if (p) await p;
    }
  }
  await store.flush();
  log(
    `reported ${fmt(MODELS)} metric points and 4 x ${fmt(COMPARE_POINTS)} compared points in ${
      ((performance.now() - t0) / 1000).toFixed(1)
    } s`,
  );
}

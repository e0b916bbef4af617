/**
 * Reading scalars back in pages (`iterateReportedScalars`) and whole (`getReportedScalars`):
 * the pages' concatenation equals `getReportedScalars` for every page size, series by series in
 * the same order, and both equal a replay of the stored `metric.scalars` events (HLC order, the
 * last report of an iteration wins, sorted by iteration, single values left out). The data
 * overlaps on purpose: points reported out of order inside a batch, iterations reported again
 * after a flush, and batches of two other devices ingested with interleaved clocks and
 * overlapping iteration ranges, plus NaN and ±Infinity and single values.
 */
import assert from "node:assert/strict";
import {
  InvalidArgumentError,
  Model,
  openStore,
  OutputModel,
  type ReportedScalars,
  type ScalarPage,
  SINGLE_VALUE_ITERATION,
  type Store,
  Task,
} from "../../mod.ts";
import { readAll } from "../../lib/store/raw.ts";
import { craft, hlc, rng, withTempDir } from "../fixtures/helpers.ts";

/** The scalars of a model replayed from its events, as the old map-based reader built them. */
async function replay(store: Store, modelId: string): Promise<ReportedScalars> {
  const rows = await readAll<{ data: string }>(
    store,
    "SELECT data FROM events WHERE stream = ? AND type = 'metric.scalars' ORDER BY at",
    [`model:${modelId}`],
  );
  const points = new Map<string, Map<string, Map<number, number>>>();
  for (const r of rows) {
    const d = JSON.parse(r.data) as {
      title: string;
      series: string;
      iters: number[];
      values: (number | string)[];
    };
    let t = points.get(d.title);
    if (!t) points.set(d.title, t = new Map());
    let s = t.get(d.series);
    if (!s) t.set(d.series, s = new Map());
    d.iters.forEach((it, i) => s.set(it, Number(d.values[i])));
  }
  const out: ReportedScalars = {};
  for (const [title, byS] of points) {
    for (const [series, pts] of byS) {
      pts.delete(SINGLE_VALUE_ITERATION);
      if (pts.size === 0) continue;
      const x = [...pts.keys()].sort((a, b) => a - b);
      (out[title] ??= {})[series] = { x, y: x.map((k) => pts.get(k)!) };
    }
  }
  return out;
}

/** The pages of a model, checked for shape, and their concatenation by title and series. */
async function pagesOf(
  model: Model | OutputModel,
  pageSize: number,
  filter: { title?: string; series?: string } = {},
): Promise<{ pages: ScalarPage[]; joined: ReportedScalars }> {
  const pages: ScalarPage[] = [];
  for await (const p of model.iterateReportedScalars({ ...filter, pageSize })) pages.push(p);
  const joined: ReportedScalars = {};
  const done = new Set<string>();
  for (let i = 0; i < pages.length; i++) {
    const p = pages[i]!;
    const key = JSON.stringify([p.title, p.series]);
    const next = pages[i + 1];
    const lastOfSeries = !next || next.title !== p.title || next.series !== p.series;
    assert.equal(p.x.length, p.y.length);
    assert.ok(p.x.length > 0, "no empty page");
    if (!lastOfSeries) assert.equal(p.x.length, pageSize, "a full page unless the series ends");
    else assert.ok(p.x.length <= pageSize);
    const s = (joined[p.title] ??= {})[p.series] ??= { x: [], y: [] };
    assert.ok(!done.has(key) || s.x.length > 0, "a series' pages come together");
    if (s.x.length > 0) assert.ok(p.x[0]! > s.x.at(-1)!, "iterations increase across pages");
    for (let j = 1; j < p.x.length; j++) assert.ok(p.x[j]! > p.x[j - 1]!);
    s.x.push(...p.x);
    s.y.push(...p.y);
    if (lastOfSeries) done.add(key);
  }
  return { pages, joined };
}

/** `a` deep-equals `b` and lists titles and series in the same order. */
function sameInOrder(a: ReportedScalars, b: ReportedScalars, what: string): void {
  assert.deepEqual(a, b, what);
  assert.deepEqual(Object.keys(a), Object.keys(b), `${what}: title order`);
  for (const t of Object.keys(a)) {
    assert.deepEqual(Object.keys(a[t]!), Object.keys(b[t]!), `${what}: series order of ${t}`);
  }
}

Deno.test("pages equal getReportedScalars and a replay, with local reports out of order", async () => {
  await withTempDir(async (home) => {
    // Small batches, so a series spans many events.
    const store = await openStore({ home, pointsPerEvent: 7 });
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    try {
      const m = new OutputModel({ task, name: "net" });
      m.reportSingleValue("first", 1); // "Summary" is listed first, by its first report
      for (let i = 0; i < 40; i++) m.reportScalar("loss", "train", 1 / (i + 1), i);
      for (let i = 39; i >= 0; i -= 3) m.reportScalar("loss", "val", i * 2, i); // descending
      m.reportScalar("7", "s", 7, 1); // an integer-like title: a plain object lists it first
      await m.flush();
      // Reported again after a flush: later batches overlap earlier ones; the later report wins.
      for (let i = 10; i < 20; i++) m.reportScalar("loss", "train", -i, i);
      m.reportScalar("loss", "val", NaN, 3);
      m.reportScalar("loss", "val", Infinity, 100);
      m.reportScalar("loss", "val", -Infinity, -5);
      m.reportScalar("Summary", "curve", 0.5, 2);
      m.reportSingleValue("second", 2);
      await m.flush();
      const whole = await m.getReportedScalars();
      sameInOrder(whole, await replay(store, m.id), "getReportedScalars vs replay");
      assert.deepEqual(Object.keys(whole), ["7", "Summary", "loss"]);
      assert.equal(whole.loss!.train!.y[15], -15);
      assert.ok(Number.isNaN(whole.loss!.val!.y[whole.loss!.val!.x.indexOf(3)]!));
      for (const size of [1, 2, 3, 7, 10, 1000]) {
        const { joined } = await pagesOf(m, size);
        sameInOrder(joined, whole, `pages of ${size}`);
      }
      for (const f of [{ title: "loss" }, { series: "val" }, { title: "loss", series: "train" }]) {
        sameInOrder((await pagesOf(m, 4, f)).joined, await m.getReportedScalars(f), "filtered");
      }
      assert.deepEqual((await pagesOf(m, 5, { title: "nope" })).pages, []);
    } finally {
      await task.close();
      await store.close();
    }
  });
});

Deno.test("pages equal getReportedScalars with batches of three devices overlapping", async () => {
  await withTempDir(async (home) => {
    const store = await openStore({ home, pointsPerEvent: 5 });
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    try {
      const m = new OutputModel({ task, name: "net" });
      await m.setComment("made"); // created, so peers' batches have a model to land on
      const stream = `model:${m.id}`;
      const rand = rng(14);
      const wall = Date.now() - 600_000;
      const series: [string, string][] = [["loss", "train"], ["loss", "val"], ["acc", "top1"]];
      const events = [];
      for (let b = 0; b < 120; b++) {
        const [title, s] = series[Math.floor(rand() * series.length)]!;
        // Runs of iterations from anywhere in 0..300, ascending, shuffled or repeated.
        const start = Math.floor(rand() * 300);
        const n = 1 + Math.floor(rand() * 12);
        const iters = Array.from({ length: n }, (_, i) => start + i * (1 + Math.floor(rand() * 3)));
        if (rand() < 0.3) iters.reverse();
        if (rand() < 0.2) iters.push(iters[0]!);
        const values = iters.map(() => (rand() < 0.05 ? "NaN" : Math.round(rand() * 1000) / 10));
        const origin = rand() < 0.5 ? "aaaa" : "bbbb";
        const at = hlc(wall + Math.floor(rand() * 500_000), b, origin);
        events.push(craft(stream, "metric.scalars", { title, series: s, iters, values }, at));
      }
      await store.ingest(events, { remote: true });
      // And this device's own reports, interleaved in time with the peers'.
      for (let i = 0; i < 60; i++) m.reportScalar("loss", "train", i, i * 5);
      m.reportSingleValue("best", 0.1);
      await m.flush();
      const got = await Model.get(m.id, { store });
      const whole = await got.getReportedScalars();
      sameInOrder(whole, await replay(store, m.id), "getReportedScalars vs replay");
      assert.ok(whole.loss!.train!.x.length > 60);
      for (const size of [1, 3, 8, 50, 10_000]) {
        sameInOrder((await pagesOf(got, size)).joined, whole, `pages of ${size}`);
      }
    } finally {
      await task.close();
      await store.close();
    }
  });
});

Deno.test("iterateReportedScalars: bad options throw on the call, a break stops reading", async () => {
  await withTempDir(async (home) => {
    const store = await openStore({ home });
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    try {
      const m = new OutputModel({ task, name: "net" });
      for (const pageSize of [0, -1, 1.5, NaN, "10"]) {
        assert.throws(
          () => m.iterateReportedScalars({ pageSize: pageSize as number }),
          (e: unknown) => e instanceof InvalidArgumentError && e.message.includes("pageSize"),
        );
      }
      assert.throws(
        () => m.iterateReportedScalars({ title: 5 as unknown as string }),
        InvalidArgumentError,
      );
      for await (const _ of m.iterateReportedScalars()) assert.fail("no scalars yet");
      for (let i = 0; i < 100; i++) m.reportScalar("a", "b", i, i);
      let seen = 0;
      for await (const p of m.iterateReportedScalars({ pageSize: 10 })) {
        seen += p.x.length;
        if (seen >= 30) break;
      }
      assert.equal(seen, 30);
      assert.equal((await m.getReportedScalars()).a!.b!.x.length, 100);
    } finally {
      await task.close();
      await store.close();
    }
  });
});

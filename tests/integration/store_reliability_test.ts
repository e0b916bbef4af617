/**
 * Store reliability: paths that need escaping, files that are not stores, control characters,
 * clocks far ahead, the report queue across a lock held by another process, temp blob files,
 * rebuild beside a writer, and per-event checksums.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import {
  type InvalidArgumentError,
  Model,
  ModelogError,
  openStore,
  OutputModel,
  type Store,
  Task,
} from "../../mod.ts";
import { InvalidArgumentError as InvalidArgument } from "../../lib/errors.ts";
import { hlcWall } from "../../lib/clock.ts";
import { craft, hlc, withStore, withTempDir } from "../fixtures/helpers.ts";
import { waitFor } from "../fixtures/wait.ts";

/** Asserts that `p` rejects with a ModelogError of `code`; returns it. */
async function rejectsWith(p: Promise<unknown>, code: string): Promise<ModelogError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ModelogError, `expected a ModelogError, got ${e}`);
    assert.equal(e.code, code, String(e));
    return e;
  }
  throw new Error(`expected a ${code} rejection`);
}

Deno.test("openStore opens exactly the folder given, with % # ? and spaces in its name", async () => {
  await withTempDir(async (dir) => {
    const plain = await openStore({ home: join(dir, "a b") });
    const t = await Task.init({ projectName: "p", taskName: "plain", store: plain });
    await t.close();
    await plain.close();
    for (const name of ["a%20b", "a#b", "a?b", "a%b", "100%"]) {
      const home = join(dir, name);
      const s = await openStore({ home });
      try {
        assert.equal(s.path, join(home, "modelog.db"));
        const task = await Task.init({ projectName: "p", taskName: name, store: s });
        await task.close();
      } finally {
        await s.close();
      }
      const st = await Deno.stat(join(home, "modelog.db"));
      assert.ok(st.isFile && st.size > 0, `${name}: the database is in that folder`);
    }
    // "a b" kept only its own task: a%20b did not write into it.
    const again = await openStore({ home: join(dir, "a b") });
    try {
      assert.equal((await again.readEvents()).length, 2, "task.created and task.closed");
    } finally {
      await again.close();
    }
  });
});

Deno.test("openStore refuses bad locations and files that are not stores, naming them", async () => {
  await withTempDir(async (dir) => {
    let e = await rejectsWith(openStore({ home: "" }), "INVALID_ARGUMENT");
    assert.equal((e as InvalidArgumentError).field, "home");
    e = await rejectsWith(openStore({ path: join(dir, "x\u0000y.db") }), "INVALID_ARGUMENT");
    assert.equal((e as InvalidArgumentError).field, "path");
    e = await rejectsWith(
      openStore({ home: dir, url: "ftp://example.com/db" }),
      "INVALID_ARGUMENT",
    );
    assert.equal((e as InvalidArgumentError).field, "url");
    // A home that is a file.
    await Deno.writeTextFile(join(dir, "afile"), "x");
    e = await rejectsWith(openStore({ home: join(dir, "afile") }), "INVALID_ARGUMENT");
    assert.equal((e as InvalidArgumentError).field, "home");

    // A text file where the database should be.
    const foreign = join(dir, "foreign");
    await Deno.mkdir(foreign);
    await Deno.writeTextFile(join(foreign, "modelog.db"), "hello, not a database\n".repeat(200));
    e = await rejectsWith(openStore({ home: foreign }), "STORE_CORRUPT");
    assert.match(e.message, /modelog\.db/);

    // A 0-byte modelog.db left behind (not one being created right now).
    const empty = join(dir, "empty");
    await Deno.mkdir(empty);
    await Deno.writeFile(join(empty, "modelog.db"), new Uint8Array());
    const old = new Date(Date.now() - 60_000);
    await Deno.utime(join(empty, "modelog.db"), old, old);
    e = await rejectsWith(openStore({ home: empty }), "STORE_CORRUPT");
    assert.match(e.message, /0-byte/);
    assert.equal((await Deno.stat(join(empty, "modelog.db"))).size, 0, "left as it was");
  });
});

Deno.test("writes on a store whose file was damaged are refused with STORE_CORRUPT", async () => {
  await withTempDir(async (dir) => {
    const s = await openStore({ home: dir });
    const task = await Task.init({ projectName: "p", taskName: "t", store: s });
    const m = new OutputModel({ task, name: "m" });
    await m.setMetadata("a", 1);
    await task.close();
    await s.close();
    // Overwrite every page but the first (the schema) with garbage: SQLite still opens it.
    // The log's last pages may still sit in the WAL after close: move them into the file first.
    const path = join(dir, "modelog.db");
    const db = new DatabaseSync(path);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    db.close();
    const bytes = await Deno.readFile(path);
    assert.ok(bytes.length > 4 * 4096, "the checkpointed file holds the log's pages");
    const pageSize = (bytes[16]! << 8) | bytes[17]!;
    for (let i = pageSize; i < bytes.length; i++) bytes[i] = 0xa5;
    await Deno.writeFile(path, bytes);
    await Deno.remove(path + "-wal").catch(() => {});
    await Deno.remove(path + "-shm").catch(() => {});
    let opened;
    try {
      opened = await openStore({ home: dir });
    } catch (e) {
      // Refused at open already: as good, as long as it says so clearly.
      assert.ok(e instanceof ModelogError && e.code === "STORE_CORRUPT", String(e));
      return;
    }
    try {
      const t2 = await Task.init({ projectName: "p", taskName: "t2", store: opened }).catch(
        (e) => e,
      );
      assert.ok(t2 instanceof ModelogError && t2.code === "STORE_CORRUPT", `${t2} ${t2?.cause}`);
    } finally {
      await opened.close().catch(() => {});
    }
  });
});

Deno.test("a store in a fresh temp dir still opens normally", async () => {
  await withStore(async (store) => {
    assert.equal(await store.schemaVersion() > 0, true);
  });
});

Deno.test("control characters are refused in names, tags and metadata keys, naming the field", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const m = new OutputModel({ task, name: "ok" });
    await m.setMetadata("fine", 1);
    const before = (await store.readEvents({ limit: 100_000 })).length;
    let e = await rejectsWith(m.setName("a\u0000b"), "INVALID_ARGUMENT");
    assert.equal((e as InvalidArgumentError).field, "name");
    e = await rejectsWith(m.addTags("x\u0000y"), "INVALID_ARGUMENT");
    assert.equal((e as InvalidArgumentError).field, "add");
    e = await rejectsWith(m.addTags("tab\there"), "INVALID_ARGUMENT");
    e = await rejectsWith(m.setMetadata("k\u0001", 1), "INVALID_ARGUMENT");
    assert.equal((e as InvalidArgumentError).field, "set");
    await rejectsWith(
      Task.init({ projectName: "p\u0000", taskName: "t2", store }),
      "INVALID_ARGUMENT",
    );
    assert.equal((await store.readEvents({ limit: 100_000 })).length, before, "nothing written");
    // Text elsewhere may hold newlines (comments are free text).
    await m.setName("still fine");
    assert.equal(m.name, "still fine");
  });
});

Deno.test("a plot nested deeper than the server's JSON limit is refused when reported", async () => {
  await withStore(async (store) => {
    const task = await Task.init({ projectName: "p", taskName: "t", store });
    const m = new OutputModel({ task, name: "deep" });
    await m.setMetadata("x", 1); // created
    let deep: Record<string, unknown> = { leaf: 1 };
    for (let i = 0; i < 70; i++) deep = { d: deep };
    let err: unknown;
    try {
      await m.reportHistogram({ title: "h", series: "s", values: [1, 2, 3], extraLayout: deep });
    } catch (e) {
      err = e;
    }
    assert.ok(err instanceof InvalidArgument, String(err));
    assert.match(err.message, /levels deep/);
    // The queue holds nothing bad: a flush writes the good reports around it.
    await m.reportHistogram({ title: "h", series: "ok", values: [1, 2, 3] });
    await store.flush();
    const plots = (await store.readEvents({ limit: 1000 })).filter((e) => e.type === "metric.plot");
    assert.equal(plots.length, 1);
  });
});

/** Starts a child that holds the store's write lock until {@link release}. */
async function holdLock(dbPath: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../fixtures/lock_holder.ts", import.meta.url).pathname, dbPath],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("locked\n")) {
    const { value, done } = await lines.read();
    if (done) throw new Error("lock holder exited early");
    seen += value;
  }
  return {
    async release() {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
      while (!seen.includes("released\n")) {
        const { value, done } = await lines.read();
        if (done) break;
        seen += value;
      }
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
      assert.ok((await child.status).success);
    },
  };
}

async function scalarPoints(store: Store): Promise<number> {
  let n = 0;
  for (const e of await store.readEvents({ limit: 100_000 })) {
    if (e.type === "metric.scalars") n += e.data.iters.length;
  }
  return n;
}

Deno.test("reports queued while another process holds the write lock are kept and written later", async () => {
  await withTempDir(async (home) => {
    const store = await openStore({
      home,
      busyTimeoutMs: 100,
      reportBatchPoints: 1000,
      reportHighWater: 3000,
      reportFlushMs: 20,
    });
    try {
      const task = await Task.init({ projectName: "p", taskName: "t", store });
      const m = new OutputModel({ task, name: "m" });
      await m.setMetadata("created", true);
      const lock = await holdLock(store.path);
      let released = false;
      try {
        for (let i = 0; i < 6000; i++) {
          const p = m.reportScalar("loss", "train", i / 10, i);
          if (p) await p;
        }
        assert.ok(store.pendingReports > 0, "the failed batches are still queued");
        // flush() while the lock is held: rejects with STORE_LOCKED and keeps everything.
        await rejectsWith(store.flush(), "STORE_LOCKED");
        assert.equal(store.pendingReports, 6000);
        assert.equal(await scalarPoints(store), 0);
        await lock.release();
        released = true;
        // The retry timer writes the retained batch without anyone calling flush().
        await waitFor(() => store.pendingReports === 0, { what: "the retried batch" });
        await store.flush();
        assert.equal(await scalarPoints(store), 6000);
      } finally {
        if (!released) await lock.release();
      }
      await task.close();
    } finally {
      await store.close();
    }
  });
});

Deno.test("flush() after a failed background batch writes the retained points", async () => {
  await withTempDir(async (home) => {
    const store = await openStore({ home, busyTimeoutMs: 100, reportFlushMs: 60_000 });
    try {
      const task = await Task.init({ projectName: "p", taskName: "t", store });
      const m = new OutputModel({ task, name: "m" });
      await m.setMetadata("created", true);
      const lock = await holdLock(store.path);
      for (let i = 0; i < 500; i++) m.reportScalar("acc", "val", i, i);
      await rejectsWith(store.flush(), "STORE_LOCKED");
      await lock.release();
      await store.flush();
      assert.equal(await scalarPoints(store), 500);
      assert.equal(store.pendingReports, 0);
      await task.close();
    } finally {
      await store.close();
    }
  });
});

const DAY = 24 * 3600 * 1000;

Deno.test("a store whose max_at is 730 days ahead stamps new events at local wall time again", async () => {
  await withTempDir(async (home) => {
    const s1 = await openStore({ home });
    const task = await Task.init({ projectName: "p", taskName: "t", store: s1 });
    const m = new OutputModel({ task, name: "m" });
    await m.setMetadata("a", 1);
    // One write while the device clock was two years ahead.
    const future = hlc(Date.now() + 730 * DAY, 0, s1.origin);
    await s1.append([{
      stream: `model:${m.id}`,
      type: "model.updated",
      data: { fields: { comment: "from the future" } },
      at: future,
    }]);
    await task.close();
    await s1.close();

    const s2 = await openStore({ home });
    try {
      const m2 = await Model.get(m.id, { store: s2 });
      const t0 = Date.now();
      await m2.setMetadata("b", 2);
      await m2.setMetadata("c", 3);
      const mine = (await s2.streamEvents(`model:${m.id}`)).filter((e) =>
        e.type === "model.metadata_changed"
      ).sort((a, b) => a.at < b.at ? -1 : 1);
      const [b, c] = mine.slice(-2);
      for (const e of [b!, c!]) {
        assert.ok(Math.abs(hlcWall(e.at) - t0) < 60_000, `${e.at} is at local wall time`);
      }
      assert.ok(b!.at < c!.at, "later local events still sort after earlier ones");
      assert.ok(c!.at < future, "the far-future event keeps sorting last (documented)");
    } finally {
      await s2.close();
    }
  });
});

Deno.test("ingest refuses events beyond the skew limit, reports them, and applies the rest", async () => {
  await withStore(async (store) => {
    const now = Date.now();
    const ok = craft("model:peer1", "model.created", { name: "fine" }, hlc(now, 0, "peer"));
    const bad = craft(
      "model:peer2",
      "model.created",
      { name: "future" },
      hlc(now + 2 * DAY, 0, "peer"),
    );
    const refused: string[] = [];
    const fresh = await store.ingest([bad, ok], {
      onRefused: (r) => refused.push(...r.map((x) => `${x.event.id} ${x.error.code}`)),
    });
    assert.deepEqual(fresh.map((e) => e.id), [ok.id]);
    assert.deepEqual(refused, [`${bad.id} INVALID_EVENT`]);
    // The clock did not adopt the future time: a new local event is at local wall time.
    const [e] = await store.append([{ stream: "model:local1", type: "model.created", data: {} }]);
    assert.ok(hlcWall(e!.at) < now + DAY);
  });
});

Deno.test("a writer's appends during rebuild() succeed, are in the result, and never wait long", async () => {
  await withTempDir(async (home) => {
    const store = await openStore({ home });
    try {
      // A log long enough for several pages.
      const batch = [];
      for (let i = 0; i < 45_000; i++) {
        batch.push({
          stream: `model:m${i % 3000}`,
          type: i < 3000 ? "model.created" as const : "model.metadata_changed" as const,
          data: i < 3000
            ? { name: `m${i}` }
            : { set: { [`k${i % 7}`]: { value: `${i}`, type: "int" as const } } },
        });
      }
      for (let i = 0; i < batch.length; i += 5000) {
        await store.append(batch.slice(i, i + 5000) as Parameters<Store["append"]>[0]);
      }
      // A second process writes while this one rebuilds.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", new URL("../fixtures/timed_writer.ts", import.meta.url).pathname, home],
        stdin: "piped",
        stdout: "piped",
        stderr: "inherit",
      }).spawn();
      const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("ready\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error("writer exited early");
        seen += value;
      }
      const r = await store.rebuild();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("stop\n"));
      await w.close();
      while (!/done \d+ \d+\n/.test(seen)) {
        const { value, done } = await lines.read();
        if (done) break;
        seen += value;
      }
      lines.releaseLock();
      await child.stdout.cancel().catch(() => {});
      assert.ok((await child.status).success);
      const [, writtenText, worstText] = /done (\d+) (\d+)/.exec(seen)!;
      const written = Number(writtenText);
      const worst = Number(worstText);
      assert.ok(written > 1, "the writer kept writing during the rebuild");
      assert.ok(worst < 1500, `a write waited ${worst} ms`);
      assert.ok(r.events >= 45_000);
      // The rebuilt state equals the incremental one, including the writer's models.
      const rebuilt = await store.dump();
      const inc = await openStore({ home: join(home, "inc") });
      try {
        await inc.ingest(await store.readEvents({ limit: 1_000_000 }));
        assert.deepEqual(await inc.dump(), rebuilt);
      } finally {
        await inc.close();
      }
      const models = await store.dump({ tables: ["models"] });
      assert.equal(models.models!.length, 3000 + written);
    } finally {
      await store.close();
    }
  });
});

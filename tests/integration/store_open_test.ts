import { readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { createClient } from "../../lib/deps.ts";
import {
  configure,
  defaultHome,
  getDefaultStore,
  ModelogError,
  openStore,
  StoreLockedError,
} from "../../mod.ts";

Deno.test("openStore() refuses a database written by a newer schema", async () => {
  const home = await Deno.makeTempDir();
  try {
    const s = await openStore({ home });
    await s.close();
    const raw = createClient({ url: "file:" + join(home, "modelog.db") });
    await raw.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
    raw.close();
    await assert.rejects(
      () => openStore({ home }),
      (e) => e instanceof ModelogError && e.code === "SCHEMA_TOO_NEW" && /99/.test(e.message),
    );
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("a write blocked by another writer fails with STORE_LOCKED and changes nothing", async () => {
  const home = await Deno.makeTempDir();
  const s = await openStore({ home, busyTimeoutMs: 150 });
  const raw = createClient({ url: "file:" + s.path });
  try {
    await s.append([{ stream: "model:a1", type: "model.created", data: { name: "before" } }]);
    const before = await s.dump();
    await raw.execute("BEGIN IMMEDIATE");
    await assert.rejects(
      () =>
        s.append([{ stream: "model:a1", type: "model.updated", data: { fields: { name: "x" } } }]),
      (e) => e instanceof StoreLockedError && e.code === "STORE_LOCKED",
    );
    await raw.execute("ROLLBACK");
    assert.deepEqual(await s.dump(), before);
    await s.append([{
      stream: "model:a1",
      type: "model.updated",
      data: { fields: { name: "after" } },
    }]);
    const row = await readOne<{ name: string }>(s, "SELECT name FROM models WHERE id = 'a1'");
    assert.equal(row?.name, "after");
  } finally {
    raw.close();
    await s.close();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("MODELOG_HOME and configure() choose where the default store lives", async () => {
  const a = await Deno.makeTempDir();
  const b = await Deno.makeTempDir();
  const old = Deno.env.get("MODELOG_HOME");
  try {
    Deno.env.set("MODELOG_HOME", a);
    assert.equal(defaultHome(), a);
    await configure({ home: b });
    const s = await getDefaultStore();
    assert.equal(s.path, join(b, "modelog.db"));
    assert.equal(await getDefaultStore(), s);
    await configure({ home: a });
    assert.ok(s.closed, "switching homes closes the old default store");
    const t = await getDefaultStore();
    assert.equal(t.path, join(a, "modelog.db"));
    await t.close();
  } finally {
    await configure({});
    if (old === undefined) Deno.env.delete("MODELOG_HOME");
    else Deno.env.set("MODELOG_HOME", old);
    await Deno.remove(a, { recursive: true });
    await Deno.remove(b, { recursive: true });
  }
});

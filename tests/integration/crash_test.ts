import { readAll } from "../../lib/store/raw.ts";
import { textLines } from "../fixtures/lines.ts";
import assert from "node:assert/strict";
import { Model, openStore, type Store } from "../../mod.ts";
import { eventCount, withTempDir } from "../fixtures/helpers.ts";
import { fileURLToPath } from "node:url";

const WRITER = fileURLToPath(new URL("../fixtures/writer.ts", import.meta.url));

interface Ack {
  id: string;
  i: number;
}

/**
 * Runs the writer child. With `killAfter`, sends SIGKILL once that many acks were read (the
 * child is usually in the middle of its next write); otherwise waits for it to finish.
 */
async function runWriter(
  home: string,
  label: string,
  opts: { killAfter?: number; count?: number },
): Promise<{ acks: Ack[]; status: Deno.CommandStatus; stderr: string }> {
  const args = ["run", "-A", WRITER, home, label];
  if (opts.count !== undefined) args.push(String(opts.count));
  const child = new Deno.Command(Deno.execPath(), {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const acks: Ack[] = [];
  let killed = false;
  for await (const line of textLines(child.stdout)) {
    const m = /^ack ([0-9a-f]{32}) (\d+)$/.exec(line);
    if (m) acks.push({ id: m[1]!, i: Number(m[2]) });
    if (!killed && opts.killAfter !== undefined && acks.length >= opts.killAfter) {
      child.kill("SIGKILL");
      killed = true;
    }
  }
  const status = await child.status;
  return { acks, status, stderr: await stderr };
}

async function assertAcked(store: Store, acks: Ack[]): Promise<void> {
  for (const a of acks) {
    const m = await Model.get(a.id, { store });
    assert.equal(m.getMetadataCasted("i"), a.i, `model ${a.id} keeps its acknowledged metadata`);
  }
}

Deno.test("SIGKILL during durable writes loses no acknowledged write, over 5 rounds", async () => {
  await withTempDir(async (home) => {
    const all: Ack[] = [];
    for (let round = 0; round < 5; round++) {
      const killAfter = 5 + round * 7;
      const r = await runWriter(home, `r${round}`, { killAfter });
      assert.equal(r.status.success, false, `round ${round}: the child was killed`);
      assert.equal(r.status.signal, "SIGKILL");
      assert.ok(r.acks.length >= killAfter, `round ${round}: ${r.acks.length} acks\n${r.stderr}`);
      all.push(...r.acks);
      // The store opens cleanly after each crash and holds everything acknowledged so far.
      const store = await openStore({ home });
      try {
        await assertAcked(store, all);
      } finally {
        await store.close();
      }
    }
    const store = await openStore({ home });
    try {
      await assertAcked(store, all);
      const before = await store.dump();
      const r = await store.rebuild();
      assert.equal(r.events, await eventCount(store));
      assert.deepEqual(await store.dump(), before, "rebuild after crashes equals the projections");
      const found = await Model.queryModels({ store, projectName: "crash" });
      assert.ok(found.length >= all.length);
    } finally {
      await store.close();
    }
  });
});

Deno.test("two processes writing to one store concurrently lose nothing", async () => {
  await withTempDir(async (home) => {
    const n = 200;
    const [a, b] = await Promise.all([
      runWriter(home, "left", { count: n }),
      runWriter(home, "right", { count: n }),
    ]);
    assert.ok(a.status.success, a.stderr);
    assert.ok(b.status.success, b.stderr);
    assert.equal(a.acks.length, n);
    assert.equal(b.acks.length, n);
    const store = await openStore({ home });
    try {
      await assertAcked(store, [...a.acks, ...b.acks]);
      const models = await Model.queryModels({ store, projectName: "crash" });
      assert.equal(models.length, 2 * n);
      assert.equal(new Set(models.map((m) => m.name)).size, 2 * n);
      // Per model: created, metadata, and the task link; per task: created and closed.
      assert.equal(await eventCount(store), 2 * n * 3 + 2 * 2);
      const ats = await readAll<{ at: string }>(store, "SELECT DISTINCT at FROM events");
      assert.equal(ats.length, 2 * n * 3 + 4, "every event has its own clock stamp");
      const before = await store.dump();
      await store.rebuild();
      assert.deepEqual(await store.dump(), before);
    } finally {
      await store.close();
    }
  });
});

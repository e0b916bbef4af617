import assert from "node:assert/strict";
import { CHUNK_MS, CopyPacer, QUIET_CHUNK_MS } from "../../lib/store/swap.ts";
import { NativeClient } from "../../lib/store/native.ts";
import { Writer } from "../../lib/store/writer.ts";

/** A writer on a fresh file in `dir`, and a second connection to it (another "process"). */
function writers(dir: string): { writer: Writer; other: NativeClient } {
  const path = `${dir}/pacer.db`;
  const settings = { path, remote: false, busyTimeoutMs: 5000, synchronous: "normal" as const };
  const writer = new Writer(new NativeClient(path, 5000), settings, () => {});
  return { writer, other: new NativeClient(path, 5000) };
}

/** Holds the lock about `ms` inside a transaction (a chunk of the copy). */
function hold(ms: number): void {
  const t0 = performance.now();
  while (performance.now() - t0 < ms) { /* the chunk's work */ }
}

Deno.test("the copy's chunks are long while nobody else writes, short after a write of this or another connection", async () => {
  const dir = await Deno.makeTempDir();
  const { writer, other } = writers(dir);
  try {
    await writer.run("PRAGMA journal_mode = WAL");
    await writer.run("CREATE TABLE t (x)");
    const pacer = new CopyPacer();
    await pacer.prime(writer);
    const chunk = async () => (await pacer.tx(writer, (_, ms) => Promise.resolve(ms)))[0];
    assert.equal(await chunk(), QUIET_CHUNK_MS);
    assert.equal(await chunk(), QUIET_CHUNK_MS);
    // A write of this process between two chunks: short chunks from the next one on.
    await writer.tx((x) => x.execute("INSERT INTO t VALUES (1)"));
    assert.equal(await chunk(), CHUNK_MS);
    assert.equal(await chunk(), CHUNK_MS);

    // Another connection's commit: short chunks, each followed by a pause as long as it.
    const fresh = new CopyPacer();
    await fresh.prime(writer);
    assert.equal(
      await (async () => (await fresh.tx(writer, (_, ms) => Promise.resolve(ms)))[0])(),
      QUIET_CHUNK_MS,
    );
    await other.execute("INSERT INTO t VALUES (2)");
    const t0 = performance.now();
    const [ms, held] = await fresh.tx(writer, (_, ms) => {
      hold(30);
      return Promise.resolve(ms);
    });
    const took = performance.now() - t0;
    assert.equal(ms, CHUNK_MS);
    assert.ok(held >= 30, `held ${held} ms`);
    assert.ok(
      took >= 2 * held,
      `a chunk of ${held.toFixed(1)} ms and its pause took ${took.toFixed(1)} ms`,
    );
  } finally {
    other.close();
    await writer.close();
    await Deno.remove(dir, { recursive: true });
  }
});

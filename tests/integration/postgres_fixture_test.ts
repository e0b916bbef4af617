/**
 * The PostgreSQL fixture and the pinned driver together: a fresh server starts, takes a table,
 * rows with bytes and JSON, pipelined prepared queries, and concurrent transactions whose
 * conflicting updates serialize on row locks without losing any.
 */
import assert from "node:assert/strict";
import { postgres } from "../../lib/deps.ts";
import { checkPostgres, startPostgres } from "../fixtures/postgres.ts";
import { serviceGate } from "../fixtures/services.ts";

const gate = serviceGate("PostgreSQL", await checkPostgres());

Deno.test({
  name: "postgres fixture: a fresh server takes a table, rows and concurrent transactions",
  ignore: gate.ignore,
  async fn() {
    gate.requireService();
    const server = await startPostgres();
    const sql = postgres(server.url, { max: 8, onnotice: () => {} });
    try {
      await sql`CREATE TABLE blobs (id int PRIMARY KEY, body bytea NOT NULL, meta jsonb)`;
      const body = new Uint8Array([0, 1, 2, 254, 255]);
      await sql`INSERT INTO blobs ${sql({ id: 1, body, meta: sql.json({ name: "a" }) })}`;
      const [row] = await sql`SELECT id, body, meta FROM blobs WHERE id = ${1}`;
      assert.equal(row!.id, 1);
      assert.deepEqual(new Uint8Array(row!.body), body);
      assert.deepEqual(row!.meta, { name: "a" });

      // Many queries in flight on few connections: pipelined, prepared, answered in order.
      const answers = await Promise.all(
        Array.from({ length: 500 }, (_, i) => sql`SELECT ${i}::int AS i`),
      );
      assert.deepEqual(answers.map((r) => r[0]!.i), Array.from({ length: 500 }, (_, i) => i));

      // Eight transactions increment one counter row concurrently: the row lock serializes them.
      await sql`CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL)`;
      await sql`INSERT INTO counter VALUES (1, 0)`;
      await Promise.all(Array.from({ length: 8 }, (_, k) =>
        sql.begin(async (tx) => {
          for (let i = 0; i < 25; i++) {
            const [c] = await tx`SELECT n FROM counter WHERE id = 1 FOR UPDATE`;
            await tx`UPDATE counter SET n = ${c!.n + 1} WHERE id = 1`;
            await tx`INSERT INTO blobs (id, body) VALUES (${100 + k * 25 + i}, ${body})`;
          }
        })));
      const [c] = await sql`SELECT n FROM counter WHERE id = 1`;
      assert.equal(c!.n, 200);
      const [count] = await sql`SELECT count(*)::int AS n FROM blobs`;
      assert.equal(count!.n, 201);

      // A failed transaction leaves nothing behind.
      await assert.rejects(
        sql.begin(async (tx) => {
          await tx`INSERT INTO blobs (id, body) VALUES (999, ${body})`;
          await tx`INSERT INTO blobs (id, body) VALUES (1, ${body})`; // duplicate key
        }),
        /duplicate key/,
      );
      const [gone] = await sql`SELECT count(*)::int AS n FROM blobs WHERE id = 999`;
      assert.equal(gone!.n, 0);
    } finally {
      await sql.end();
      await server.stop();
    }
  },
});

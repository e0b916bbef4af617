/**
 * The native client (`lib/store/native.ts`) on real database files: rows, values, errors and
 * results shaped as `@libsql/client`'s for the same statements on the same file, its kept
 * statements staying correct (reruns, eviction, schema changes, pragmas that change), and its
 * transactions and close.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type Client, createClient, LibsqlError, type ResultSet } from "../../lib/deps.ts";
import { NativeClient, STATEMENTS } from "../../lib/store/native.ts";
import { isBusy, isNotADatabase } from "../../lib/store/writer.ts";

/** What a test gets: the file, and openers of clients on it that are closed at the end. */
interface Db {
  path: string;
  native(timeoutMs?: number): NativeClient;
  client(): Client;
}

/** Runs `fn` on a database file in a fresh temp dir; closes every client and removes the dir. */
async function withDb(fn: (db: Db) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "modelog-native-" });
  const opened: { close(): void }[] = [];
  const path = join(dir, "t.db");
  try {
    await fn({
      path,
      native(timeoutMs) {
        const c = new NativeClient(path, timeoutMs);
        opened.push(c);
        return c;
      },
      client() {
        const c = createClient({ url: `file:${path}` });
        opened.push(c);
        return c;
      },
    });
  } finally {
    for (const c of opened) c.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The error `p` rejects with (fails when it resolves). */
async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail("expected a rejection");
}

/** A row's own enumerable names, its spread, its for-in names and its values by index. */
function rowShape(row: Record<string | number, unknown> & { length: number }) {
  const forIn: string[] = [];
  for (const k in row) forIn.push(k);
  return {
    keys: Object.keys(row),
    spread: { ...row },
    forIn,
    length: row.length,
    byIndex: Array.from({ length: row.length }, (_, i) => row[i]),
  };
}

/** The parts of a result both clients must agree on. */
function resultShape(rs: ResultSet) {
  return {
    columns: rs.columns,
    columnTypes: rs.columnTypes,
    rowsAffected: rs.rowsAffected,
    lastInsertRowid: rs.lastInsertRowid,
    rows: rs.rows.map((r) => rowShape(r as never)),
  };
}

Deno.test("rows: named columns enumerable, indexes readable but hidden, as @libsql/client", async () => {
  await withDb(async (db) => {
    const n = db.native();
    const c = db.client();
    await n.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, score REAL)");

    // An INSERT and an UPDATE: the same columns, rowsAffected and a bigint lastInsertRowid.
    const insN = await n.execute({
      sql: "INSERT INTO t (id, name, score) VALUES (?, ?, ?)",
      args: [10, "ten", 1.5],
    });
    const insC = await c.execute({
      sql: "INSERT INTO t (id, name, score) VALUES (?, ?, ?)",
      args: [11, "eleven", 2.5],
    });
    assert.deepEqual(insN.columns, insC.columns);
    assert.deepEqual(insN.columns, []);
    assert.deepEqual(insN.columnTypes, insC.columnTypes);
    assert.deepEqual(insN.rows, insC.rows);
    assert.equal(insN.rowsAffected, insC.rowsAffected);
    assert.equal(insN.rowsAffected, 1);
    assert.equal(typeof insN.lastInsertRowid, "bigint");
    assert.equal(insN.lastInsertRowid, 10n);
    assert.equal(insC.lastInsertRowid, 11n);
    // A multi-row insert counts every row.
    const many = "INSERT INTO t (name) VALUES ('a'), ('b'), ('c')";
    const manyN = await n.execute(many);
    const manyC = await c.execute(many);
    assert.equal(manyN.rowsAffected, 3);
    assert.equal(manyN.rowsAffected, manyC.rowsAffected);
    assert.equal(manyN.lastInsertRowid, 14n);
    assert.equal(manyC.lastInsertRowid, 17n);

    // An UPDATE: rowsAffected counts matched rows; lastInsertRowid is the connection's last.
    const upd = "UPDATE t SET score = coalesce(score, 0) + 1 WHERE id >= ?";
    const updN = await n.execute({ sql: upd, args: [11] });
    const updC = await c.execute({ sql: upd, args: [11] });
    assert.equal(updN.rowsAffected, 7);
    assert.equal(updN.rowsAffected, updC.rowsAffected);
    assert.deepEqual(updN.columns, updC.columns);
    assert.equal(typeof updN.lastInsertRowid, "bigint");
    assert.equal(updN.lastInsertRowid, 14n);
    assert.equal(updC.lastInsertRowid, 17n);

    // A SELECT: the same result on both, row by row.
    const sel = "SELECT id, name, score, NULL AS none, name || '!' AS shout FROM t ORDER BY id";
    const selN = await n.execute(sel);
    const selC = await c.execute(sel);
    assert.equal(selN.rows.length, 8);
    assert.deepEqual(resultShape(selN), resultShape(selC));
    assert.deepEqual(selN.columns, ["id", "name", "score", "none", "shout"]);
    assert.deepEqual(selN.columnTypes, ["INTEGER", "TEXT", "REAL", "", ""]);
    assert.equal(selN.rowsAffected, 0);
    assert.equal(selN.lastInsertRowid, undefined);
    const row = selN.rows[0]!;
    assert.deepEqual(Object.keys(row), ["id", "name", "score", "none", "shout"]);
    assert.deepEqual({ ...row }, { id: 10, name: "ten", score: 1.5, none: null, shout: "ten!" });
    assert.equal(row[0], 10);
    assert.equal(row[1], "ten");
    assert.equal(row[4], "ten!");
    assert.equal(row[5], undefined);
    assert.equal(row.length, 5);
    assert.ok(0 in row);
    assert.equal(Object.prototype.propertyIsEnumerable.call(row, 0), false);
    assert.equal(Object.prototype.propertyIsEnumerable.call(row, "length"), false);
    assert.deepEqual(Array.from(row), [10, "ten", 1.5, null, "ten!"]);
    assert.deepEqual(JSON.parse(JSON.stringify(row)), JSON.parse(JSON.stringify(selC.rows[0])));
    // Rows are independent objects.
    assert.notEqual(selN.rows[0], selN.rows[1]);
    assert.equal(selN.rows[1]!.id, 11);

    // Repeated names: the first column owns the name, every index still reads its own value.
    for (const sql of ["SELECT 1 AS a, 2 AS a", "SELECT 1 AS a, 2 AS b, 3 AS a, 4 AS b"]) {
      const dn = await n.execute(sql);
      const dc = await c.execute(sql);
      assert.deepEqual(resultShape(dn), resultShape(dc), sql);
      assert.equal(dn.rows[0]!.a, 1);
      assert.equal(dn.rows[0]![1], 2, sql);
      assert.deepEqual(dn.toJSON(), dc.toJSON(), sql);
    }
    // Names an index or `length` already owns, and `__proto__`: as @libsql/client has them.
    for (
      const sql of [
        "SELECT 1 AS length, 2 AS b",
        'SELECT 5 AS "0", 6 AS "1"',
        'SELECT 5 AS "7", 6 AS b',
        "SELECT NULL AS __proto__, 3 AS b",
        "SELECT x'0102' AS __proto__, 3 AS b",
      ]
    ) {
      const dn = await n.execute(sql);
      const dc = await c.execute(sql);
      assert.deepEqual(resultShape(dn), resultShape(dc), sql);
      assert.equal(Object.getPrototypeOf(dn.rows[0]) !== null, true, sql);
    }

    // toJSON: what @libsql/client gives, for a read (with a blob) and a write.
    const js = "SELECT id, name, score, x'00ff10' AS b FROM t WHERE id <= 11 ORDER BY id";
    const jn = await n.execute(js);
    const jc = await c.execute(js);
    assert.deepEqual(jn.toJSON(), jc.toJSON());
    assert.deepEqual(jn.toJSON().rows[0], [10, "ten", 1.5, "AP8Q"]);
    assert.deepEqual(JSON.parse(JSON.stringify(jn)), JSON.parse(JSON.stringify(jc)));
    assert.deepEqual(insN.toJSON(), {
      columns: [],
      columnTypes: [],
      rows: [],
      rowsAffected: 1,
      lastInsertRowid: "10",
    });
    assert.deepEqual(Object.keys(insN.toJSON()), Object.keys(insC.toJSON()));
  });
});

Deno.test("values: numbers, exact reals, NULL, unicode text, blobs, booleans; bad args reject", async () => {
  await withDb(async (db) => {
    const n = db.native();
    const c = db.client();
    await n.execute(
      "CREATE TABLE v (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, b BLOB, x)",
    );
    const bytes = new Uint8Array(300);
    for (let k = 0; k < bytes.length; k++) bytes[k] = (k * 37 + 11) % 256;
    const text = "héllo wörld — 日本語 🦕 \u{1F468}\u200D\u{1F469} ∑ end";
    const reals = [0.1 + 0.2, 1e-300, -1.7976931348623157e308, 5e-324, 1 / 3];
    const ints = [0, -1, 42, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (let k = 0; k < reals.length; k++) {
      await n.execute({
        sql: "INSERT INTO v (id, i, r, t, b, x) VALUES (?, ?, ?, ?, ?, ?)",
        args: [k, ints[k]!, reals[k]!, text, bytes.slice().buffer, k % 2 === 0],
      });
    }
    await n.execute({ sql: "INSERT INTO v (id) VALUES (?)", args: [99] });

    const rs = await n.execute("SELECT i, r, t, b, x, typeof(x) AS tx FROM v ORDER BY id");
    const cs = await c.execute("SELECT i, r, t, b, x, typeof(x) AS tx FROM v ORDER BY id");
    assert.equal(rs.rows.length, 6);
    for (let k = 0; k < reals.length; k++) {
      const row = rs.rows[k]!;
      assert.equal(typeof row.i, "number");
      assert.equal(row.i, ints[k]);
      assert.ok(Object.is(row.r, reals[k]), `real ${reals[k]} came back as ${row.r}`);
      assert.equal(row.t, text);
      assert.ok(row.b instanceof ArrayBuffer);
      assert.equal((row.b as ArrayBuffer).byteLength, bytes.length);
      assert.deepEqual(new Uint8Array(row.b as ArrayBuffer), bytes);
      // Booleans bind as the numbers 1 and 0 (the driver binds every number as a REAL, as
      // @libsql/client's binding does: compared below).
      assert.equal(row.x, k % 2 === 0 ? 1 : 0);
      assert.equal(row.tx, cs.rows[k]!.tx);
      // The same values as @libsql/client reads.
      const other = cs.rows[k]!;
      for (const name of ["i", "r", "t", "x", "tx"]) assert.equal(row[name], other[name]);
      assert.deepEqual(
        new Uint8Array(row.b as ArrayBuffer),
        new Uint8Array(other.b as ArrayBuffer),
      );
    }
    assert.deepEqual({ ...rs.rows[5]! }, {
      i: null,
      r: null,
      t: null,
      b: null,
      x: null,
      tx: "null",
    });
    // Bound and read back without a table.
    const bound = await n.execute({
      sql: "SELECT ? AS a, ? AS b, ? AS c, ? AS d, typeof(?) AS e",
      args: [0.1 + 0.2, null, text, true, 1e-300],
    });
    assert.deepEqual({ ...bound.rows[0]! }, { a: 0.1 + 0.2, b: null, c: text, d: 1, e: "real" });
    // A bigint argument in range binds as an integer.
    const big = await n.execute({ sql: "SELECT ? + 1 AS n", args: [41n] });
    assert.equal(big.rows[0]!.n, 42);
    // Reading a blob never hands out a view of a larger buffer.
    const one = await n.execute("SELECT x'2a' AS b");
    assert.equal((one.rows[0]!.b as ArrayBuffer).byteLength, 1);

    // Arguments the client refuses: rejected, and the connection keeps working.
    const ins = "INSERT INTO v (id, i) VALUES (?, ?)";
    const bad: [unknown, ErrorConstructor | RangeErrorConstructor | TypeErrorConstructor][] = [
      [undefined, TypeError],
      [NaN, RangeError],
      [Infinity, RangeError],
      [-Infinity, RangeError],
    ];
    for (const [value, type] of bad) {
      const e = await rejection(n.execute({ sql: ins, args: [200, value as never] }));
      assert.ok(e instanceof type, `${value}: ${e}`);
      const ec = await rejection(c.execute({ sql: ins, args: [200, value as never] }));
      assert.ok(ec instanceof type, `client ${value}: ${ec}`);
      // Nothing was written, and the same statement and another one work.
      const count = await n.execute("SELECT count(*) AS k FROM v WHERE id = 200");
      assert.equal(count.rows[0]!.k, 0);
    }
    const ok = await n.execute({ sql: ins, args: [200, 7] });
    assert.equal(ok.rowsAffected, 1);
    const back = await n.execute({ sql: "SELECT i FROM v WHERE id = ?", args: [200] });
    assert.equal(back.rows[0]!.i, 7);
    // Named arguments are refused plainly.
    const named = await rejection(n.execute({ sql: "SELECT :a AS a", args: { a: 1 } }));
    assert.ok(named instanceof TypeError);
    assert.equal((await n.execute("SELECT 1 AS one")).rows[0]!.one, 1);
  });
});

Deno.test("errors: constraint and syntax errors, a held lock, a file that is not a database", async () => {
  await withDb(async (db) => {
    const n = db.native();
    const c = db.client();
    await n.execute("PRAGMA journal_mode = WAL");
    await n.execute("CREATE TABLE u (k TEXT UNIQUE, v INTEGER)");
    const ins = "INSERT INTO u (k, v) VALUES (?, ?)";
    await n.execute({ sql: ins, args: ["x", 1] });

    // A UNIQUE violation: a LibsqlError with the client's codes.
    const e = await rejection(n.execute({ sql: ins, args: ["x", 2] }));
    const ec = await rejection(c.execute({ sql: ins, args: ["x", 2] }));
    assert.ok(e instanceof LibsqlError, String(e));
    assert.ok(ec instanceof LibsqlError);
    assert.equal(e.code, "SQLITE_CONSTRAINT");
    assert.ok(e.extendedCode?.startsWith("SQLITE_CONSTRAINT"), String(e.extendedCode));
    assert.equal(e.code, ec.code);
    assert.equal(e.extendedCode, ec.extendedCode);
    assert.equal(e.rawCode, ec.rawCode);
    assert.match(e.message, /UNIQUE/);
    // The statement that failed runs again, and nothing of the failed insert remains.
    await n.execute({ sql: ins, args: ["y", 3] });
    const all = await n.execute("SELECT k, v FROM u ORDER BY k");
    assert.deepEqual(all.rows.map((r) => ({ ...r })), [{ k: "x", v: 1 }, { k: "y", v: 3 }]);

    // A syntax error rejects; the next statement works.
    const se = await rejection(n.execute("SELEC 1"));
    assert.ok(se instanceof LibsqlError, String(se));
    assert.equal(se.code, "SQLITE_ERROR");
    assert.match(se.message, /syntax error/);
    assert.equal((await n.execute("SELECT 2 AS two")).rows[0]!.two, 2);
    const nt = await rejection(n.execute("SELECT * FROM no_such_table"));
    assert.ok(nt instanceof LibsqlError);
    assert.equal(nt.code, "SQLITE_ERROR");

    // Another connection holds the write lock: a write here waits its timeout, then is busy.
    const holder = db.native();
    await holder.execute("BEGIN IMMEDIATE");
    await holder.execute({ sql: ins, args: ["held", 0] });
    const slow = db.native(50);
    const t0 = performance.now();
    const be = await rejection(slow.execute({ sql: ins, args: ["z", 4] }));
    const waited = performance.now() - t0;
    assert.ok(be instanceof LibsqlError, String(be));
    assert.ok(isBusy(be), `${be.code} ${be.message}`);
    assert.equal(be.code, "SQLITE_BUSY");
    assert.ok(waited >= 40, `gave up after ${waited} ms, before its 50 ms timeout`);
    // A transaction cannot begin either.
    const bt = await rejection(slow.transaction("write"));
    assert.ok(isBusy(bt), String(bt));
    // Once the holder commits, a connection writes and sees the holder's row: a fresh one, as
    // the store's writer replaces its connection after a busy write. (The driver, like
    // @libsql/client's, leaves the busy statement unfinished: later writes on that connection
    // then report success but are not committed.)
    await holder.execute("COMMIT");
    const next = db.native(50);
    await next.execute({ sql: ins, args: ["z", 4] });
    const after = await c.execute("SELECT k FROM u ORDER BY k");
    assert.deepEqual(after.rows.map((r) => r.k), ["held", "x", "y", "z"]);
    const tx = await next.transaction("write");
    await tx.execute({ sql: ins, args: ["w", 5] });
    await tx.commit();
    tx.close();
    assert.equal((await c.execute("SELECT count(*) AS k FROM u")).rows[0]!.k, 5);

    // A file of random bytes: refused as not a database, and left as it was.
    const junk = join(db.path, "..", "junk.db");
    const bytes = crypto.getRandomValues(new Uint8Array(8192));
    await Deno.writeFile(junk, bytes);
    let err: unknown;
    let at = "";
    let j: NativeClient | undefined;
    try {
      j = new NativeClient(junk);
      at = "execute";
      await j.execute("SELECT count(*) FROM sqlite_master");
    } catch (x) {
      err = x;
      at ||= "construction";
    } finally {
      j?.close();
    }
    assert.ok(err !== undefined, "a random file was read as a database");
    assert.ok(isNotADatabase(err), `${at}: ${err}`);
    assert.ok(err instanceof LibsqlError, String(err));
    assert.equal(err.code, "SQLITE_NOTADB");
    assert.equal(at, "execute");
    assert.deepEqual(await Deno.readFile(junk), bytes);
  });
});

Deno.test("kept statements: reruns read fresh rows, eviction, schema changes, data_version", async () => {
  await withDb(async (db) => {
    const n = db.native();
    const c = db.client();
    await n.execute("PRAGMA journal_mode = WAL");
    await n.execute("PRAGMA synchronous = OFF");
    await n.execute("CREATE TABLE k (id INTEGER PRIMARY KEY, v INTEGER)");

    // One text run 1000 times, the rows changing between runs (here and on another connection).
    const count = "SELECT count(*) AS n, max(v) AS m, sum(v) AS s FROM k";
    const byV = "SELECT id, v FROM k WHERE v = ?";
    let sum = 0;
    for (let i = 0; i < 1000; i++) {
      if (i % 100 === 99) await c.execute({ sql: "INSERT INTO k (v) VALUES (?)", args: [i] });
      else await n.execute({ sql: "INSERT INTO k (v) VALUES (?)", args: [i] });
      sum += i;
      const r = await n.execute(count);
      assert.deepEqual({ ...r.rows[0]! }, { n: i + 1, m: i, s: sum });
      const one = await n.execute({ sql: byV, args: [i] });
      assert.equal(one.rows.length, 1);
      assert.deepEqual({ ...one.rows[0]! }, { id: i + 1, v: i });
    }
    const upd = await n.execute("UPDATE k SET v = -v WHERE id % 2 = 0");
    assert.equal(upd.rowsAffected, 500);
    assert.equal((await n.execute({ sql: byV, args: [1] })).rows.length, 0);
    assert.equal((await n.execute({ sql: byV, args: [-1] })).rows[0]!.id, 2);

    // More distinct texts than are kept: each right, and the first ones again after eviction.
    const texts = STATEMENTS + 64;
    const distinct = (i: number) => `SELECT ${i} AS i, v + ${i} AS w FROM k WHERE id = ?`;
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < texts; i++) {
        const id = (i % 1000) + 1;
        const r = await n.execute({ sql: distinct(i), args: [id] });
        const v = id % 2 === 0 ? -(id - 1) : id - 1;
        assert.deepEqual({ ...r.rows[0]! }, { i, w: v + i }, `round ${round}, text ${i}`);
      }
    }
    // Distinct writes past the limit too.
    for (let i = 0; i < texts; i++) {
      const w = await n.execute({ sql: `UPDATE k SET v = ${i} WHERE id = ?`, args: [i + 1] });
      assert.equal(w.rowsAffected, 1);
    }
    assert.equal((await n.execute({ sql: byV, args: [texts - 1] })).rows[0]!.id, texts);

    // A kept `SELECT *` after the table gains a column, through this client and another.
    await n.execute("CREATE TABLE s (a INTEGER, b TEXT)");
    await n.execute("INSERT INTO s VALUES (1, 'one')");
    const star = "SELECT * FROM s";
    assert.deepEqual((await n.execute(star)).columns, ["a", "b"]);
    assert.deepEqual((await n.execute(star)).columns, ["a", "b"]);
    await n.execute("ALTER TABLE s ADD COLUMN c");
    const own = await n.execute(star);
    assert.deepEqual(own.columns, ["a", "b", "c"]);
    assert.deepEqual({ ...own.rows[0]! }, { a: 1, b: "one", c: null });
    assert.equal(own.rows[0]![2], null);
    await c.execute("ALTER TABLE s ADD COLUMN d INTEGER DEFAULT 7");
    const theirs = await n.execute(star);
    assert.deepEqual(theirs.columns, ["a", "b", "c", "d"]);
    assert.deepEqual(theirs.columnTypes, ["INTEGER", "TEXT", "", "INTEGER"]);
    assert.deepEqual({ ...theirs.rows[0]! }, { a: 1, b: "one", c: null, d: 7 });
    assert.equal(theirs.rows[0]![3], 7);
    assert.deepEqual(resultShape(theirs), resultShape(await c.execute(star)));
    await c.execute("ALTER TABLE s DROP COLUMN b");
    const dropped = await n.execute(star);
    assert.deepEqual(dropped.columns, ["a", "c", "d"]);
    assert.deepEqual({ ...dropped.rows[0]! }, { a: 1, c: null, d: 7 });
    assert.deepEqual(resultShape(dropped), resultShape(await c.execute(star)));

    // PRAGMA data_version through one client: unchanged by its own commits, changed by others'.
    const dv = async () => (await n.execute("PRAGMA data_version")).rows[0]![0] as number;
    const v0 = await dv();
    assert.equal(typeof v0, "number");
    assert.equal(await dv(), v0);
    await n.execute("INSERT INTO k (v) VALUES (0)");
    assert.equal(await dv(), v0);
    let last = v0;
    for (let i = 0; i < 3; i++) {
      await c.execute("INSERT INTO k (v) VALUES (1)");
      const v = await dv();
      assert.notEqual(v, last, `data_version stayed ${v} after another connection's commit`);
      assert.equal(await dv(), v);
      last = v;
    }
  });
});

Deno.test("transaction(write): commit persists, rollback discards; closed client rejects", async () => {
  await withDb(async (db) => {
    const n = db.native();
    const c = db.client();
    await n.execute("CREATE TABLE x (id INTEGER PRIMARY KEY, v TEXT)");

    const t1 = await n.transaction("write");
    await t1.execute({ sql: "INSERT INTO x (id, v) VALUES (?, ?)", args: [1, "kept"] });
    const inside = await t1.execute("SELECT count(*) AS k FROM x");
    assert.equal(inside.rows[0]!.k, 1);
    // Not visible to another connection before the commit.
    assert.equal((await c.execute("SELECT count(*) AS k FROM x")).rows[0]!.k, 0);
    await t1.commit();
    t1.close();
    assert.deepEqual((await c.execute("SELECT v FROM x")).rows.map((r) => r.v), ["kept"]);

    const t2 = await n.transaction("write");
    await t2.execute({ sql: "INSERT INTO x (id, v) VALUES (?, ?)", args: [2, "gone"] });
    await t2.execute({ sql: "UPDATE x SET v = ? WHERE id = 1", args: ["changed"] });
    await t2.rollback();
    t2.close();
    const afterRollback = await n.execute("SELECT id, v FROM x ORDER BY id");
    assert.deepEqual(afterRollback.rows.map((r) => ({ ...r })), [{ id: 1, v: "kept" }]);
    assert.equal((await c.execute("SELECT count(*) AS k FROM x")).rows[0]!.k, 1);

    // close() without commit rolls back and releases the lock: another connection can write.
    const t3 = await n.transaction("write");
    await t3.execute({ sql: "INSERT INTO x (id, v) VALUES (?, ?)", args: [3, "dropped"] });
    t3.close();
    await c.execute({ sql: "INSERT INTO x (id, v) VALUES (?, ?)", args: [4, "other"] });
    const ids = await n.execute("SELECT id FROM x ORDER BY id");
    assert.deepEqual(ids.rows.map((r) => r.id), [1, 4]);
    // A failed statement inside a transaction leaves it usable.
    const t4 = await n.transaction("write");
    const dup = await rejection(t4.execute("INSERT INTO x (id, v) VALUES (1, 'dup')"));
    assert.equal((dup as LibsqlError).code, "SQLITE_CONSTRAINT");
    await t4.execute("INSERT INTO x (id, v) VALUES (5, 'five')");
    await t4.commit();
    t4.close();
    assert.equal((await c.execute("SELECT count(*) AS k FROM x")).rows[0]!.k, 3);

    assert.equal(n.closed, false);
    n.close();
    assert.equal(n.closed, true);
    n.close();
    const e = await rejection(n.execute("SELECT 1"));
    assert.ok(e instanceof LibsqlError, String(e));
    assert.equal(e.code, "CLIENT_CLOSED");
    const et = await rejection(n.transaction("write"));
    assert.ok(et instanceof LibsqlError);
    assert.equal(et.code, "CLIENT_CLOSED");
    // The file is intact for others.
    assert.equal((await c.execute("SELECT count(*) AS k FROM x")).rows[0]!.k, 3);
  });
});

Deno.test("kept statements: a parameter a run does not give is NULL, as on @libsql/client", async () => {
  await withDb(async (db) => {
    const n = db.native();
    const c = db.client();
    const sql = "SELECT ? AS a, ? AS b, ? AS c";
    for (const args of [[1, 2, 3], [4], [5, 6], [], [7, 8, 9, 10], [11]]) {
      const mine = await n.execute({ sql, args });
      const theirs = await c.execute({ sql, args });
      assert.deepEqual(
        { ...mine.rows[0]! },
        { ...theirs.rows[0]! },
        `args ${JSON.stringify(args)}`,
      );
    }
    const last = await n.execute({ sql, args: [11] });
    assert.deepEqual({ ...last.rows[0]! }, { a: 11, b: null, c: null });
    // A write too: the row gets NULL, not the last run's value.
    await n.execute("CREATE TABLE p (x, y)");
    await n.execute({ sql: "INSERT INTO p VALUES (?, ?)", args: [1, 2] });
    await n.execute({ sql: "INSERT INTO p VALUES (?, ?)", args: [3] });
    const rows = await n.execute("SELECT x, y FROM p ORDER BY x");
    assert.deepEqual(rows.rows.map((r) => [r.x, r.y]), [[1, 2], [3, null]]);
  });
});

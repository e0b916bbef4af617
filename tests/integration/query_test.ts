import assert from "node:assert/strict";
import { type Client, createClient } from "../../lib/deps.ts";
import { MIGRATIONS } from "../../lib/projections/schema.ts";
import {
  compileModelQuery,
  type QueryFilter,
  type QueryStrategy,
  selectivityProbes,
} from "../../lib/query.ts";

interface Fixture {
  id: string;
  name?: string;
  project?: string;
  published?: boolean;
  archived?: boolean;
  created?: boolean;
  removed?: boolean;
  lastUpdate: string;
  tags?: string[];
  goneTags?: string[]; // rows with present = 0
  metadata?: Record<string, string>;
  goneMetadata?: Record<string, string>;
}

const INJECT_TAG = "x'; DROP TABLE models; --";
const INJECT_META = "' OR 1=1 --";

const FIXTURES: Fixture[] = [
  {
    id: "m01",
    name: "resnet",
    project: "vision",
    published: true,
    lastUpdate: "2025-01-12",
    tags: ["a", "b"],
    metadata: { acc: "0.9", stage: "prod" },
  },
  {
    id: "m02",
    name: "resnet",
    project: "vision",
    lastUpdate: "2025-01-11",
    tags: ["a"],
    metadata: { acc: "0.8" },
  },
  {
    id: "m03",
    name: "ResNet",
    project: "vision",
    lastUpdate: "2025-01-10",
    tags: ["b", "c"],
    metadata: { stage: "dev" },
  },
  {
    id: "m04",
    name: "bert",
    project: "nlp",
    published: true,
    lastUpdate: "2025-01-09",
    tags: ["c", "d"],
    metadata: { stage: "prod", flag: "true" },
  },
  {
    id: "m05",
    name: "bert",
    project: "nlp",
    archived: true,
    lastUpdate: "2025-01-08",
    tags: ["a", "c"],
  },
  { id: "m06", name: "gpt", project: "nlp", lastUpdate: "2025-01-07", metadata: { epochs: "10" } },
  {
    id: "m07",
    name: "gpt",
    project: "nlp/sub",
    lastUpdate: "2025-01-07",
    tags: ["a", "b", "c", "d"],
    metadata: { epochs: "10", flag: "false" },
  },
  {
    id: "m08",
    name: "x",
    lastUpdate: "2025-01-06",
    tags: ["e"],
    goneTags: ["a"],
    metadata: { stage: "dev" },
    goneMetadata: { acc: "0.9" },
  },
  { id: "m09", name: "gone", removed: true, lastUpdate: "2025-01-13", tags: ["a"] },
  { id: "m10", name: "half", created: false, lastUpdate: "2025-01-14", tags: ["a"] },
  {
    id: "m11",
    name: "y",
    project: "vision",
    published: true,
    lastUpdate: "2025-01-05",
    tags: ["-b", INJECT_TAG],
    metadata: { note: INJECT_META },
  },
  {
    id: "m12",
    name: "z",
    project: "vision",
    lastUpdate: "2025-01-04",
    tags: ["d"],
    metadata: { acc: "0.9" },
  },
];

async function insertFixtures(db: Client, fixtures: Fixture[]): Promise<void> {
  const stmts = [];
  for (const f of fixtures) {
    stmts.push({
      sql: `INSERT INTO models (id, created, removed, name, project, published, archived,
        last_update) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      args: [
        f.id,
        f.created === false ? 0 : 1,
        f.removed ? 1 : 0,
        f.name ?? "",
        f.project ?? "",
        f.published ? 1 : 0,
        f.archived ? 1 : 0,
        f.lastUpdate,
      ],
    });
    for (const [tags, present] of [[f.tags ?? [], 1], [f.goneTags ?? [], 0]] as const) {
      for (const tag of tags) {
        stmts.push({
          sql: "INSERT INTO model_tags (model_id, tag, present, at) VALUES (?, ?, ?, ?)",
          args: [f.id, tag, present, f.lastUpdate],
        });
      }
    }
    for (const [md, present] of [[f.metadata ?? {}, 1], [f.goneMetadata ?? {}, 0]] as const) {
      for (const [key, value] of Object.entries(md)) {
        stmts.push({
          sql: `INSERT INTO model_metadata (model_id, key, type, value, present, at)
            VALUES (?, ?, 'str', ?, ?, ?)`,
          args: [f.id, key, value, present, f.lastUpdate],
        });
      }
    }
  }
  await db.batch(stmts, "write");
}

async function withDb(
  fixtures: Fixture[],
  fn: (db: Client) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "modelog_query_test_" });
  const db = createClient({ url: `file:${dir}/store.db` });
  try {
    // The store's own schema, so the indexes and defaults are the ones queries meet.
    for (const migration of MIGRATIONS) await db.batch([...migration], "write");
    await insertFixtures(db, fixtures);
    await fn(db);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
}

async function ids(
  db: Client,
  f: QueryFilter,
  strategy: QueryStrategy = "index",
): Promise<string[]> {
  const q = compileModelQuery(f, { columns: "m.id", strategy });
  const rs = await db.execute({ sql: q.sql, args: q.args });
  return rs.rows.map((r) => String(r.id));
}

const VISIBLE = ["m01", "m02", "m03", "m04", "m06", "m07", "m08", "m11", "m12"];
const without = (...gone: string[]) => VISIBLE.filter((id) => !gone.includes(id));

const END_TO_END: [string, QueryFilter, string[]][] = [
  ["the empty filter returns visible, unarchived models by last update then id", {}, VISIBLE],
  ["includeArchived adds archived models", { includeArchived: true }, [
    "m01",
    "m02",
    "m03",
    "m04",
    "m05",
    "m06",
    "m07",
    "m08",
    "m11",
    "m12",
  ]],
  ["projectName matches exactly", { projectName: "vision" }, ["m01", "m02", "m03", "m11", "m12"]],
  ["projectName does not include subprojects", { projectName: "nlp" }, ["m04", "m06"]],
  ["an empty projectName filters nothing", { projectName: "" }, VISIBLE],
  ["modelName is case-sensitive (lower)", { modelName: "resnet" }, ["m01", "m02"]],
  ["modelName is case-sensitive (mixed)", { modelName: "ResNet" }, ["m03"]],
  ["onlyPublished keeps published models", { onlyPublished: true }, ["m01", "m04", "m11"]],
  ["a tag matches only present tags", { tags: ["a"] }, ["m01", "m02", "m07"]],
  ["a plain list is a OR b", { tags: ["a", "b"] }, ["m01", "m02", "m03", "m07"]],
  ['["a","-b"] is a AND NOT b', { tags: ["a", "-b"] }, ["m02"]],
  ['["-a"] excludes a', { tags: ["-a"] }, ["m03", "m04", "m06", "m08", "m11", "m12"]],
  ["__$all needs every tag", { tags: ["__$all", "a", "b"] }, ["m01", "m07"]],
  ["(a OR b) AND c AND d", { tags: ["a", "b", "__$and", "c", "d"] }, ["m07"]],
  ["the SDK docstring example", {
    tags: ["__$all", "a", "b", "c", "__$or", "d", "__$not", "e", "__$and", "__$or", "f", "g"],
  }, ["m07"]],
  ['["__$all","a","-b"] is a AND NOT b', { tags: ["__$all", "a", "-b"] }, ["m02"]],
  [
    "global OR joins the buckets: a OR NOT b",
    { tags: ["__$or", "a", "__$not", "b"] },
    without("m03"),
  ],
  ["__$nop resets the context: b AND (a OR c)", { tags: ["__$and", "b", "__$nop", "a", "c"] }, [
    "m01",
    "m03",
    "m07",
  ]],
  ["without __$nop that is b AND a AND c", { tags: ["__$and", "b", "a", "c"] }, ["m07"]],
  ["[null] finds untagged models", { tags: [null] }, ["m06"]],
  ['["a", null] is a OR untagged', { tags: ["a", null] }, ["m01", "m02", "m06", "m07"]],
  ["a negated null finds tagged models", { tags: ["__$not", null] }, without("m06")],
  ["null ORs the whole expression: (c AND d) OR untagged", {
    tags: ["__$all", "c", "d", null],
  }, ["m04", "m06", "m07"]],
  ['"__$not -b" excludes the literal tag "-b"', { tags: ["__$not", "-b"] }, without("m11")],
  ["tags and includeArchived", { tags: ["c"], includeArchived: true }, [
    "m03",
    "m04",
    "m05",
    "m07",
  ]],
  ["a metadata string matches exactly", { metadata: { acc: "0.9" } }, ["m01", "m12"]],
  ["a metadata number matches its string form", { metadata: { acc: 0.9 } }, ["m01", "m12"]],
  ["a metadata integer matches its string form", { metadata: { epochs: 10 } }, ["m06", "m07"]],
  ["a metadata boolean matches true", { metadata: { flag: true } }, ["m04"]],
  ["a metadata boolean matches false", { metadata: { flag: false } }, ["m07"]],
  ["several metadata keys are ANDed", { metadata: { stage: "prod", acc: "0.9" } }, ["m01"]],
  ["a metadata list is an OR", { metadata: { stage: ["prod", "dev"] } }, [
    "m01",
    "m03",
    "m04",
    "m08",
  ]],
  ["a metadata exclusion keeps models without the key", { metadata: { stage: ["-prod"] } }, [
    "m02",
    "m03",
    "m06",
    "m07",
    "m08",
    "m11",
    "m12",
  ]],
  ["[null] in metadata finds models without the key", { metadata: { stage: [null] } }, [
    "m02",
    "m06",
    "m07",
    "m11",
    "m12",
  ]],
  ["a negated null in metadata finds models with the key", {
    metadata: { acc: ["__$not", null] },
  }, ["m01", "m02", "m12"]],
  ["numbers in a metadata list are literal values", { metadata: { epochs: [10, "-11"] } }, [
    "m06",
    "m07",
  ]],
  ["project, tags and metadata combine", {
    projectName: "vision",
    tags: ["d"],
    metadata: { acc: "0.9" },
  }, ["m12"]],
  ["onlyPublished with an exclusion", { onlyPublished: true, tags: ["-a"] }, ["m04", "m11"]],
  ["maxResults limits after ordering", { maxResults: 3 }, ["m01", "m02", "m03"]],
  ["maxResults 0 returns nothing", { maxResults: 0 }, []],
  ["the cursor returns rows strictly after it", {
    after: { lastUpdate: "2025-01-07", id: "m06" },
  }, ["m07", "m08", "m11", "m12"]],
  ["an injection attempt in a tag is a literal tag", { tags: [INJECT_TAG] }, ["m11"]],
  ["an injection attempt in metadata is a literal value", { metadata: { note: INJECT_META } }, [
    "m11",
  ]],
  ["an injection attempt that matches nothing finds nothing", {
    tags: ["' OR 1=1 --"],
    modelName: "' OR '1'='1",
  }, []],
];

Deno.test("compileModelQuery() returns the expected models from a libSQL store", async (t) => {
  await withDb(FIXTURES, async (db) => {
    for (const [name, filter, expected] of END_TO_END) {
      await t.step(name, async () => assert.deepEqual(await ids(db, filter), expected));
    }
    for (const [name, filter, expected] of END_TO_END) {
      await t.step(`with the scan plan: ${name}`, async () => {
        assert.deepEqual(await ids(db, filter, "scan"), expected);
      });
      const probes = (() => {
        try {
          return selectivityProbes(filter, 1000);
        } catch {
          return [];
        }
      })();
      for (const p of probes) {
        await t.step(`driven by ${JSON.stringify(p.driver)}: ${name}`, async () => {
          const q = compileModelQuery(filter, {
            columns: "m.id",
            strategy: "index",
            driver: p.driver,
          });
          const rs = await db.execute({ sql: q.sql, args: q.args });
          assert.deepEqual(rs.rows.map((r) => String(r.id)), expected);
          const c = await db.execute({ sql: p.sql, args: p.args });
          // Every result passes the probed condition, so its count bounds the results.
          assert.ok(Number(c.rows[0]!.n) >= Math.min(expected.length, 1000));
        });
      }
    }
    await t.step("the tables are intact after the injection attempts", async () => {
      const rs = await db.execute("SELECT count(*) AS n FROM models");
      assert.equal(Number(rs.rows[0]!.n), FIXTURES.length);
    });
    await t.step("the default columns are m.*", async () => {
      const q = compileModelQuery({ modelName: "z" });
      const rs = await db.execute({ sql: q.sql, args: q.args });
      assert.equal(rs.rows.length, 1);
      assert.equal(rs.rows[0]!.project, "vision");
    });
  });
});

Deno.test("compileModelQuery() pages 1,500 models without duplicates or gaps", async (t) => {
  const many: Fixture[] = [];
  for (let i = 0; i < 1500; i++) {
    // Many ties on last_update, so the id tie-breaker matters; ids not in insertion order.
    const n = (i * 7919) % 1500;
    many.push({
      id: `id-${String(n).padStart(5, "0")}`,
      lastUpdate: `2025-02-01T00:00:${String(i % 37).padStart(2, "0")}Z`,
      tags: i % 2 === 0 ? ["even"] : ["odd"],
      archived: i % 100 === 99,
    });
  }
  const visible = many.filter((m) => !m.archived);
  const expectedAll = [...visible].sort((a, b) =>
    a.lastUpdate < b.lastUpdate ? 1 : a.lastUpdate > b.lastUpdate ? -1 : a.id < b.id ? -1 : 1
  ).map((m) => m.id);
  await withDb(many, async (db) => {
    await t.step("one unpaged query returns all rows in order", async () => {
      assert.deepEqual(await ids(db, {}), expectedAll);
    });
    await t.step("maxResults 700 returns the first 700 rows, all distinct", async () => {
      const got = await ids(db, { maxResults: 700 });
      assert.equal(got.length, 700);
      assert.equal(new Set(got).size, 700);
      assert.deepEqual(got, expectedAll.slice(0, 700));
    });
    await t.step("maxResults 0 returns nothing", async () => {
      assert.deepEqual(await ids(db, { maxResults: 0 }), []);
    });
    await t.step("cursor paging through all rows equals one unpaged query", async () => {
      for (const pageSize of [700, 333]) {
        const seen: string[] = [];
        let after: QueryFilter["after"];
        for (;;) {
          const q = compileModelQuery(
            after ? { maxResults: pageSize, after } : { maxResults: pageSize },
            { columns: "m.id, m.last_update" },
          );
          const rs = await db.execute({ sql: q.sql, args: q.args });
          if (rs.rows.length === 0) break;
          for (const r of rs.rows) seen.push(String(r.id));
          const last = rs.rows[rs.rows.length - 1]!;
          after = { lastUpdate: String(last.last_update), id: String(last.id) };
        }
        assert.deepEqual(seen, expectedAll);
      }
    });
    await t.step("cursor paging with a tag filter stays within the filter", async () => {
      const all = await ids(db, { tags: ["even"] });
      const paged: string[] = [];
      let after: QueryFilter["after"];
      for (;;) {
        const q = compileModelQuery({
          tags: ["even"],
          maxResults: 250,
          ...(after ? { after } : {}),
        }, {
          columns: "m.id, m.last_update",
        });
        const rs = await db.execute({ sql: q.sql, args: q.args });
        if (rs.rows.length === 0) break;
        for (const r of rs.rows) paged.push(String(r.id));
        const last = rs.rows[rs.rows.length - 1]!;
        after = { lastUpdate: String(last.last_update), id: String(last.id) };
      }
      assert.equal(all.length, visible.filter((m) => m.tags![0] === "even").length);
      assert.deepEqual(paged, all);
    });
  });
});

Deno.test("tag and metadata filters read the partial indexes", async (t) => {
  await withDb(FIXTURES, async (db) => {
    const plan = async (f: QueryFilter) => {
      const q = compileModelQuery(f);
      const rs = await db.execute({ sql: `EXPLAIN QUERY PLAN ${q.sql}`, args: q.args });
      return rs.rows.map((r) => String(r.detail)).join("\n");
    };
    await t.step("an __$all of n tags is n lookups in model_tags_tag", async () => {
      const p = await plan({ tags: ["__$all", "a", "b", "c"] });
      assert.equal(p.match(/model_tags_tag/g)?.length, 3, p);
      assert.ok(!/SCAN t\b/.test(p), p);
    });
    await t.step("OR lists and exclusions use model_tags_tag too", async () => {
      const p = await plan({ tags: ["a", "b", "-c", null] });
      assert.equal(p.match(/model_tags_tag/g)?.length, 2, p);
      assert.ok(!/SCAN t\b/.test(p), p);
    });
    await t.step("metadata values use model_metadata_kv", async () => {
      const p = await plan({ metadata: { acc: "0.9", stage: ["prod", "-dev", null] } });
      assert.equal(p.match(/model_metadata_kv/g)?.length, 3, p);
      assert.ok(!/SCAN d\b/.test(p), p);
    });
  });
});

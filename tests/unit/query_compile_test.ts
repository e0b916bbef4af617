import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../lib/errors.ts";
import {
  compileModelQuery,
  parseTagFilter,
  type QueryFilter,
  type TagExpr,
  validateQueryFilter,
} from "../../lib/query.ts";

const INJECT_TAG = "x'; DROP TABLE models; --";
const INJECT_META = "' OR 1=1 --";

Deno.test("parseTagFilter() buckets terms like the ClearML server", async (t) => {
  const cases: [string, (string | null)[], TagExpr][] = [
    ["a plain list is an OR of its values", ["a", "b"], {
      op: "and",
      terms: [{ kind: "in", values: ["a", "b"] }],
    }],
    ['["a","b","__$and","c","d"] is (a OR b) AND c AND d', ["a", "b", "__$and", "c", "d"], {
      op: "and",
      terms: [{ kind: "in", values: ["a", "b"] }, { kind: "all", values: ["c", "d"] }],
    }],
    [
      "the SDK docstring example is a AND b AND c AND (d OR f OR g) AND NOT e",
      ["__$all", "a", "b", "c", "__$or", "d", "__$not", "e", "__$and", "__$or", "f", "g"],
      {
        op: "and",
        terms: [
          { kind: "all", values: ["a", "b", "c"] },
          { kind: "in", values: ["d", "f", "g"] },
          { kind: "nin", values: ["e"] },
        ],
      },
    ],
    ['["a","-b"] is a AND NOT b', ["a", "-b"], {
      op: "and",
      terms: [{ kind: "in", values: ["a"] }, { kind: "nin", values: ["b"] }],
    }],
    ['["__$all","a","-b"] is a AND NOT b (the server would look for "-b")', [
      "__$all",
      "a",
      "-b",
    ], {
      op: "and",
      terms: [{ kind: "all", values: ["a"] }, { kind: "nin", values: ["b"] }],
    }],
    ['"__$not -b" excludes the literal tag "-b"', ["__$not", "-b"], {
      op: "and",
      terms: [{ kind: "nin", values: ["-b"] }],
    }],
    ["the first context operator sets the global operator", ["__$or", "a", "__$and", "b", "c"], {
      op: "or",
      terms: [{ kind: "in", values: ["a"] }, { kind: "all", values: ["b", "c"] }],
    }],
    ["__$not negates only the next value", ["__$any", "__$not", "a", "b"], {
      op: "or",
      terms: [{ kind: "nin", values: ["a"] }, { kind: "in", values: ["b"] }],
    }],
    ["__$nop resets the context to OR", ["__$and", "b", "__$nop", "a", "c"], {
      op: "and",
      terms: [{ kind: "all", values: ["b"] }, { kind: "in", values: ["a", "c"] }],
    }],
    ["a leading __$nop makes the global operator AND", ["__$nop", "__$or", "a"], {
      op: "and",
      terms: [{ kind: "in", values: ["a"] }],
    }],
    ["null goes to the in bucket whatever the context", ["__$all", "a", null], {
      op: "and",
      terms: [{ kind: "all", values: ["a"] }, { kind: "in", values: [null] }],
    }],
    ["a negated null goes to the nin bucket", ["__$not", null], {
      op: "and",
      terms: [{ kind: "nin", values: [null] }],
    }],
    ["repeated values are kept once", ["a", "a", "-b", "-b"], {
      op: "and",
      terms: [{ kind: "in", values: ["a"] }, { kind: "nin", values: ["b"] }],
    }],
    ["an empty list filters nothing", [], { op: "and", terms: [] }],
  ];
  for (const [name, input, expected] of cases) {
    await t.step(name, () => assert.deepEqual(parseTagFilter(input), expected));
  }
});

Deno.test("parseTagFilter() rejects malformed filters naming the term", async (t) => {
  const cases: [string, unknown[], string][] = [
    ["a non-string value", ["a", 3], "tags[1]"],
    ["an unknown operator", ["__$xor", "a"], "tags[0]"],
    ["a dangling __$not", ["a", "__$not"], "tags[1]"],
    ["__$not followed by an operator", ["__$not", "__$and", "a"], "tags[1]"],
    ["a bare -", ["-"], "tags[0]"],
  ];
  for (const [name, input, field] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseTagFilter(input as string[]),
        (e) => e instanceof InvalidArgumentError && e.field === field,
      );
    });
  }
});

Deno.test("validateQueryFilter() rejects bad fields by name", async (t) => {
  const cases: [string, unknown, string][] = [
    ["a non-object filter", "x", "filter"],
    ["an unknown key", { tag: ["a"] }, "tag"],
    ["a non-string project", { projectName: 3 }, "projectName"],
    ["a non-string name", { modelName: null }, "modelName"],
    ["tags that are not a list", { tags: "a" }, "tags"],
    ["a non-string tag", { tags: ["a", 1] }, "tags[1]"],
    ["a negative maxResults", { maxResults: -1 }, "maxResults"],
    ["a fractional maxResults", { maxResults: 1.5 }, "maxResults"],
    ["a string maxResults", { maxResults: "10" }, "maxResults"],
    ["a non-boolean onlyPublished", { onlyPublished: 1 }, "onlyPublished"],
    ["a non-boolean includeArchived", { includeArchived: "yes" }, "includeArchived"],
    ["metadata that is a list", { metadata: [] }, "metadata"],
    ["an empty metadata key", { metadata: { "": "x" } }, "metadata"],
    ["a null metadata value", { metadata: { k: null } }, "metadata.k"],
    ["an object metadata value", { metadata: { k: { a: 1 } } }, "metadata.k"],
    ["a NaN metadata value", { metadata: { k: NaN } }, "metadata.k"],
    ["an object in a metadata list", { metadata: { k: ["a", {}] } }, "metadata.k[1]"],
    ["a bad operator in a metadata list", { metadata: { k: ["__$nor"] } }, "metadata.k[0]"],
    ["a cursor without id", { after: { lastUpdate: "x" } }, "after"],
  ];
  for (const [name, input, field] of cases) {
    await t.step(`${name} is an error on ${field}`, () => {
      assert.throws(
        () => validateQueryFilter(input),
        (e) =>
          e instanceof InvalidArgumentError && e.code === "INVALID_ARGUMENT" && e.field === field,
      );
      assert.throws(() => compileModelQuery(input as QueryFilter), InvalidArgumentError);
    });
  }
  await t.step(
    "undefined is the empty filter",
    () => assert.deepEqual(validateQueryFilter(undefined), {}),
  );
  await t.step("a valid filter comes back as a clean copy", () => {
    const f = {
      projectName: "p",
      tags: ["a", null],
      maxResults: 0,
      metadata: { k: [1, true, null, "__$not", "x"] },
      after: { lastUpdate: "t", id: "i" },
      modelName: undefined,
    };
    const out = validateQueryFilter(f);
    assert.deepEqual(out, {
      projectName: "p",
      tags: ["a", null],
      maxResults: 0,
      metadata: { k: [1, true, null, "__$not", "x"] },
      after: { lastUpdate: "t", id: "i" },
    });
    assert.notEqual(out.tags, f.tags);
  });
});

Deno.test("compileModelQuery() binds every value and never splices it into the SQL", () => {
  const q = compileModelQuery({
    projectName: "p'x",
    modelName: "n",
    tags: ["__$all", INJECT_TAG, "-b"],
    metadata: { "k'": INJECT_META, n: [1, null] },
    maxResults: 5,
  });
  for (const needle of ["p'x", INJECT_TAG, INJECT_META, "k'"]) {
    assert.ok(!q.sql.includes(needle), `${needle} must not be in the SQL`);
    assert.ok(q.args.includes(needle), `${needle} must be an argument`);
  }
  assert.equal(q.sql.split("?").length - 1, q.args.length);
  assert.match(q.sql, /^SELECT m\.\* FROM models m WHERE /);
  assert.match(q.sql, /ORDER BY m\.last_update DESC, m\.id ASC LIMIT \?$/);
  assert.ok(!compileModelQuery({}).sql.includes("LIMIT"));
});

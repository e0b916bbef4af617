import assert from "node:assert/strict";
import { InvalidArgumentError } from "../../lib/errors.ts";
import {
  isTrue,
  modelQueryFromFlags,
  parseFlag,
  parseModelQuery,
  splitMetadataList,
} from "../../lib/query_text.ts";
import type { QueryModelsOptions } from "../../lib/models/model.ts";

const parse = (text: string) => parseModelQuery(new URLSearchParams(text));

Deno.test("parseModelQuery() turns each parameter into its queryModels option", async (t) => {
  const cases: [given: string, then: QueryModelsOptions][] = [
    ["", {}],
    ["project=vision", { projectName: "vision" }],
    ["projectName=vision", { projectName: "vision" }],
    ["project=&projectName=vision", { projectName: "vision" }],
    ["name=net&modelName=other", { modelName: "net" }],
    ["modelName=net", { modelName: "net" }],
    ["project=%20spaced%20", { projectName: " spaced " }],
    ["tags=best", { tags: ["best"] }],
    ["tags=best,-draft", { tags: ["best", "-draft"] }],
    ["tags=best&tags=-draft", { tags: ["best", "-draft"] }],
    ["tags=%20a%20,%20,b", { tags: ["a", "b"] }],
    ["tag=a,b&tags=c", { tags: ["c", "a,b"] }],
    ["tags=", {}],
    ["published=yes", { onlyPublished: true }],
    ["published=1", { onlyPublished: true }],
    ["published=TRUE", { onlyPublished: true }],
    ["published=only", { onlyPublished: true }],
    ["published=no", { onlyPublished: false }],
    ["published=0", { onlyPublished: false }],
    ["published=", {}],
    ["onlyPublished=true", { onlyPublished: true }],
    ["archived=include", { includeArchived: true }],
    ["archived=on", { includeArchived: true }],
    ["archived=off", { includeArchived: false }],
    ["includeArchived=false", { includeArchived: false }],
    ["limit=10", { maxResults: 10 }],
    ["limit=0", { maxResults: 0 }],
    ["maxResults=3", { maxResults: 3 }],
    ["limit=", {}],
    ["metadata=stage=prod", { metadata: { stage: "prod" } }],
    ["metadata=a=1,b=2", { metadata: { a: "1,b=2" } }],
    ["metadata=eq=a=b", { metadata: { eq: "a=b" } }],
    ["metadata=k=", { metadata: { k: "" } }],
    ["metadata=", {}],
    ["metadata.stage=prod&metadata.epochs=10", { metadata: { stage: "prod", epochs: "10" } }],
    ["metadata=stage=dev&metadata.stage=prod", { metadata: { stage: "prod" } }],
    ["metadata.=x", {}],
    ["after=2024-01-01T00:00:00.000Z,abc", {
      after: { lastUpdate: "2024-01-01T00:00:00.000Z", id: "abc" },
    }],
    ["after=a,b,c", { after: { lastUpdate: "a,b", id: "c" } }],
    ["after=", {}],
    ["unknown=1&project=p", { projectName: "p" }],
  ];
  for (const [given, then] of cases) {
    await t.step(`given ${JSON.stringify(given)}`, () => {
      assert.deepEqual(parse(given), then);
    });
  }
});

Deno.test("parseModelQuery() refuses bad text with an InvalidArgumentError naming field and value", async (t) => {
  const cases: [given: string, field: string, value: string, reason: RegExp][] = [
    ["published=maybe", "published", "maybe", /must be true or false/],
    ["onlyPublished=2", "onlyPublished", "2", /must be true or false/],
    ["archived=all", "archived", "all", /must be true or false/],
    ["includeArchived=x", "includeArchived", "x", /must be true or false/],
    ["limit=x", "limit", "x", /non-negative integer/],
    ["limit=-1", "limit", "-1", /non-negative integer/],
    ["limit=1.5", "limit", "1.5", /non-negative integer/],
    ["maxResults=1e400", "maxResults", "1e400", /non-negative integer/],
    ["metadata=novalue", "metadata", "novalue", /must be key=value/],
    ["metadata==v", "metadata", "=v", /must be key=value/],
    ["after=garbage", "after", "garbage", /<lastUpdate>,<id>/],
    ["after=,id", "after", ",id", /<lastUpdate>,<id>/],
    ["after=t,", "after", "t,", /<lastUpdate>,<id>/],
  ];
  for (const [given, field, value, reason] of cases) {
    await t.step(`given ${JSON.stringify(given)}, it names ${field}`, () => {
      assert.throws(() => parse(given), (e: unknown) => {
        assert.ok(e instanceof InvalidArgumentError);
        assert.equal(e.code, "INVALID_ARGUMENT");
        assert.equal(e.field, field);
        assert.equal(e.value, value);
        assert.match(e.reason, reason);
        assert.ok(e.message.includes(JSON.stringify(value)), e.message);
        return true;
      });
    });
  }
});

Deno.test("parseFlag() and isTrue() read flag words", () => {
  assert.equal(parseFlag("published", " Yes "), true);
  assert.equal(parseFlag("published", "off"), false);
  assert.equal(parseFlag("published", ""), undefined);
  assert.throws(() => parseFlag("published", "sure"), InvalidArgumentError);
  assert.equal(isTrue("include"), true);
  assert.equal(isTrue("no"), false);
  assert.equal(isTrue("sure"), false);
});

Deno.test("splitMetadataList() splits a form's metadata box into key=value texts", async (t) => {
  const cases: [given: string, then: string[]][] = [
    ["", []],
    ["a=1", ["a=1"]],
    ["a=1, b=2", ["a=1", "b=2"]],
    ["a=1\nb=2", ["a=1", "b=2"]],
    [" a = 1 \n b=2 ", ["a=1", "b=2"]],
    ["a=1,", ["a=1,"]],
    ["note=x,y, b=2", ["note=x,y", "b=2"]],
    ["novalue", ["novalue"]],
    ["novalue, a=1", ["novalue", "a=1"]],
    ["=v", ["=v"]],
  ];
  for (const [given, then] of cases) {
    await t.step(`given ${JSON.stringify(given)}`, () => {
      assert.deepEqual(splitMetadataList(given), then);
    });
  }
  await t.step("a piece without = is then refused by the parser", () => {
    const p = new URLSearchParams();
    for (const m of splitMetadataList("novalue")) p.append("metadata", m);
    assert.throws(() => parseModelQuery(p), /Invalid metadata "novalue": must be key=value/);
  });
});

Deno.test("modelQueryFromFlags() reads models list flags with the same language", async (t) => {
  await t.step("given every flag, then every option", () => {
    assert.deepEqual(
      modelQueryFromFlags({
        project: "vision",
        name: "net",
        tags: "odd,-t1",
        published: true,
        archived: true,
        metadata: ["best=true", "note=a,b"],
        after: "t,id",
      }),
      {
        projectName: "vision",
        modelName: "net",
        tags: ["odd", "-t1"],
        onlyPublished: true,
        includeArchived: true,
        metadata: { best: "true", note: "a,b" },
        after: { lastUpdate: "t", id: "id" },
      },
    );
  });
  await t.step("given no flags, then no options", () => {
    assert.deepEqual(modelQueryFromFlags({ published: false, archived: false }), {});
  });
  await t.step("given a bad --metadata or --after, then the same errors as the server's", () => {
    assert.throws(
      () => modelQueryFromFlags({ metadata: ["novalue"] }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === "metadata",
    );
    assert.throws(
      () => modelQueryFromFlags({ after: "garbage" }),
      (e: unknown) => e instanceof InvalidArgumentError && e.field === "after",
    );
  });
});

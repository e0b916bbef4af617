/**
 * SQL lives in three rooms only: the event log (`lib/store/`), the read models and the read
 * side (`lib/projections/`) and the query compiler (`lib/query.ts`). This test reads every
 * TypeScript file under `lib/`, takes its string and template literals (comments and regular
 * expressions are skipped) and fails on SQL text anywhere else.
 */
import assert from "node:assert/strict";
import { walk } from "../fixtures/walk.ts";
import { relative } from "node:path";

const LIB = new URL("../../lib/", import.meta.url).pathname;

/** Where SQL may be written. */
const ALLOWED = [/^store\//, /^projections\//, /^query\.ts$/];

const SQL_PATTERNS: RegExp[] = [
  /\bSELECT\s[\s\S]*?\bFROM\b/i,
  /\bINSERT\s+(?:OR\s+\w+\s+)?INTO\b/i,
  /\bUPDATE\s+\S+\s+SET\b/i,
  /\bDELETE\s+FROM\b/i,
];

/** A literal's text (a template literal's text parts joined by a space) and its line. */
interface Literal {
  text: string;
  line: number;
}

/**
 * The string and template literals of a TypeScript source text, skipping comments and regular
 * expression literals (a `/` after a value is division, anywhere else it opens a regex).
 */
function literals(src: string): Literal[] {
  const out: Literal[] = [];
  let i = 0;
  let line = 1;
  let last = ""; // the last significant character outside literals and comments
  const braces: number[] = []; // for each open `${`, the brace depth inside it
  let depth = 0;
  const step = () => {
    if (src[i] === "\n") line++;
    i++;
  };
  const readTemplate = (startLine: number, parts: string[]) => {
    // i is just past "`" or a closing "}" of an expression
    let cur = "";
    while (i < src.length) {
      const c = src[i]!;
      if (c === "\\") {
        cur += src.slice(i, i + 2);
        step();
        step();
        continue;
      }
      if (c === "`") {
        step();
        parts.push(cur);
        out.push({ text: parts.join(" "), line: startLine });
        last = "`";
        return;
      }
      if (c === "$" && src[i + 1] === "{") {
        parts.push(cur);
        step();
        step();
        braces.push(depth);
        depth++;
        pendingTemplates.push({ startLine, parts });
        last = "{";
        return;
      }
      cur += c;
      step();
    }
  };
  const pendingTemplates: { startLine: number; parts: string[] }[] = [];
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === "/" && n === "/") {
      while (i < src.length && src[i] !== "\n") step();
      continue;
    }
    if (c === "/" && n === "*") {
      const end = src.indexOf("*/", i + 2);
      const stop = end < 0 ? src.length : end + 2;
      while (i < stop) step();
      continue;
    }
    if (c === '"' || c === "'") {
      const startLine = line;
      step();
      let text = "";
      while (i < src.length && src[i] !== c && src[i] !== "\n") {
        if (src[i] === "\\") {
          text += src.slice(i, i + 2);
          step();
          step();
          continue;
        }
        text += src[i];
        step();
      }
      step();
      out.push({ text, line: startLine });
      last = c;
      continue;
    }
    if (c === "`") {
      const startLine = line;
      step();
      readTemplate(startLine, []);
      continue;
    }
    if (c === "/" && (last === "" || "(,=:[!&|?{};+-*%<>~^".includes(last))) {
      // a regular expression literal: skip to its closing slash (classes may hold a slash)
      step();
      let inClass = false;
      while (i < src.length && src[i] !== "\n") {
        const r = src[i]!;
        if (r === "\\") {
          step();
          step();
          continue;
        }
        if (r === "[") inClass = true;
        else if (r === "]") inClass = false;
        else if (r === "/" && !inClass) break;
        step();
      }
      step();
      while (i < src.length && /[a-z]/i.test(src[i]!)) step();
      last = "/";
      continue;
    }
    if (c === "{") depth++;
    if (c === "}") {
      depth--;
      if (braces.length && braces[braces.length - 1] === depth) {
        braces.pop();
        step();
        const t = pendingTemplates.pop()!;
        readTemplate(t.startLine, t.parts);
        continue;
      }
    }
    if (!/\s/.test(c)) last = c;
    step();
  }
  return out;
}

/** The literals of a source text that hold SQL. */
function sqlLiterals(src: string): Literal[] {
  return literals(src).filter((l) => SQL_PATTERNS.some((p) => p.test(l.text)));
}

Deno.test("SQL appears in lib/ only in store/, projections/ and query.ts", async (t) => {
  await t.step("the detector flags SQL in literals and ignores comments, regexes and prose", () => {
    const offending = [
      `const row = await store.one("SELECT id FROM models WHERE id = ?", [id]);`,
      "const rows = await store.all(`SELECT ${cols}\n  FROM events WHERE seq > ?`, [n]);",
      `await db.execute('insert or replace into models(id) values (?)');`,
      "const sql = `UPDATE models SET name = ? WHERE id = ${id}`;",
      `run("DELETE FROM model_tags WHERE model_id = ?");`,
    ];
    for (const src of offending) {
      assert.equal(sqlLiterals(src).length, 1, `not flagged: ${src}`);
    }
    const clean = [
      `// SELECT id FROM models: a comment is not a query`,
      `/* DELETE FROM events */ const x = 1;`,
      `const re = /SELECT "a" FROM b/; const s = "plain text";`,
      'const html = `<select name="${name}">${opts}</select>`;',
      `const q = { from: "a", select: "b" }; const n = a / b / c;`,
      "const t = `a ${`nested ${x}`} b`; // INSERT INTO nothing",
    ];
    for (const src of clean) {
      assert.deepEqual(sqlLiterals(src), [], `flagged: ${src}`);
    }
  });

  await t.step("no file outside those rooms holds SQL", async () => {
    const found: string[] = [];
    for await (const path of walk(LIB, ".ts")) {
      const rel = relative(LIB, path).replaceAll("\\", "/");
      if (ALLOWED.some((a) => a.test(rel))) continue;
      for (const l of sqlLiterals(await Deno.readTextFile(path))) {
        found.push(`lib/${rel}:${l.line}: ${l.text.trim().replace(/\s+/g, " ").slice(0, 80)}`);
      }
    }
    assert.deepEqual(
      found,
      [],
      "SQL belongs in lib/store/, lib/projections/read.ts or lib/query.ts",
    );
  });
});

/**
 * The store-keeping commands: `init` (create a store), `rebuild` (replay the event log into fresh
 * projections) and `doctor` (check a store without changing it; exit code 1 when a check fails).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ADMIN_COMMANDS } from "./admin_cmds.ts";
 *
 * const doctor = ADMIN_COMMANDS.find((c) => c.name === "doctor")!;
 * const init = ADMIN_COMMANDS.find((c) => c.name === "init")!;
 * const home = await Deno.makeTempDir();
 * assert.equal(await init.run({ home }, []), 0); // "created a new modelog store at …"
 * assert.equal(await doctor.run({ home }, []), 0); // ends with "doctor: ok"
 * await Deno.remove(home, { recursive: true });
 * ```
 *
 * @module
 */
import { type Command, define } from "./registry.ts";
import { jsonOut, out, progressBar } from "./output.ts";
import { noExtra, STORE_HELP, STORE_OPTS, storePath, withStore } from "./options.ts";
import { doctor } from "../store/doctor.ts";

const init: Command = define("init", {
  summary: "Create a store (an existing one is left as it is)",
  usage: `cli.ts init [--json] [--home DIR]

  --json   JSON: {path, created}
${STORE_HELP}

Examples:
  cli.ts init --home ./ml-store
  MODELOG_HOME=./ml-store cli.ts init --json`,
  options: { ...STORE_OPTS, json: { type: "boolean" } },
  async run(values, positionals) {
    noExtra(positionals, 0, "init");
    const existed = await Deno.stat(storePath(values).path).then(() => true, () => false);
    return await withStore(values, (store) => {
      if (values.json) jsonOut({ path: store.path, created: !existed });
      else if (existed) out(`a modelog store is already at ${store.path}`);
      return Promise.resolve(0);
    }, { create: true });
  },
});

const rebuild: Command = define("rebuild", {
  summary: "Replay the event log into fresh projections",
  usage: `cli.ts rebuild [--home DIR] [--json]

  --json   JSON: {events, ms}
${STORE_HELP}

Examples:
  cli.ts rebuild --home ./ml-store
  cli.ts rebuild --json`,
  options: { ...STORE_OPTS, json: { type: "boolean" } },
  async run(values, positionals) {
    noExtra(positionals, 0, "rebuild");
    return await withStore(values, async (store) => {
      const bar = progressBar("replaying events");
      const r = await store.rebuild({ onProgress: (n) => bar.update(n) });
      bar.end();
      if (values.json) jsonOut({ events: r.events, ms: r.ms });
      else out(`rebuilt projections from ${r.events} events in ${r.ms.toFixed(0)} ms`);
      return 0;
    });
  },
});

const doctorCmd: Command = define("doctor", {
  summary: "Check a store: schema, projections against a replay, weights blob hashes",
  usage: `cli.ts doctor [--strict] [--json] [--home DIR]

Checks without changing the store: the schema version; that every event matches its checksum;
that the projections equal a replay of
the event log (done on a copy of the database); and that every weights blob referenced by a model
is present and hashes to its name; stale temp files of the blob folder (left by a killed
writer) are removed and listed. Exit code 1 when a check fails.

  --strict   count blobs missing from the store as failures too (else a warning: a synced
             store may fetch them later)
  --json     JSON: {ok, schema, counts, projections, blobs}
${STORE_HELP}

Examples:
  cli.ts doctor --home ./ml-store
  cli.ts doctor --strict --json`,
  options: { ...STORE_OPTS, strict: { type: "boolean" }, json: { type: "boolean" } },
  async run(values, positionals) {
    noExtra(positionals, 0, "doctor");
    return await withStore(values, async (store) => {
      const r = await doctor(store, progressBar);
      if (values.strict && r.blobs.missing.length) r.ok = false;
      if (values.json) {
        jsonOut(r);
        return r.ok ? 0 : 1;
      }
      const mark = (ok: boolean) => (ok ? "ok" : "FAILED");
      out(
        `${"schema".padEnd(12)} version ${r.schema.version} (expected ${r.schema.expected}): ${
          mark(r.schema.ok)
        }`,
      );
      out(
        `${
          "store".padEnd(12)
        } ${r.counts.events} events, ${r.counts.models} models, ${r.counts.tasks} tasks`,
      );
      out(
        `${"events".padEnd(12)} ${r.events.checked} checked against their checksums: ${
          mark(r.events.mismatched.length === 0)
        }`,
      );
      for (const e of r.events.mismatched) out(`  CHANGED  event ${e.id} (seq ${e.seq})`);
      if (!r.projections.checked) out(`${"projections".padEnd(12)} ${r.projections.note}`);
      else {
        out(
          `${"projections".padEnd(12)} replay of ${r.projections.events} events on a copy: ${
            r.projections.ok ? "ok, identical" : "FAILED"
          } (${r.projections.tables.length} tables)`,
        );
        for (const t of r.projections.tables) {
          if (t.stale === 0 && t.missing === 0) continue;
          out(
            `  ${t.table}: ${t.stale} rows only in the projection, ${t.missing} only in the replay`,
          );
          for (const e of t.examples) out(`    ${e}`);
        }
      }
      out(
        `${
          "blobs".padEnd(12)
        } ${r.blobs.referenced} referenced: ${r.blobs.ok} ok, ${r.blobs.mismatched.length} hash mismatches, ${r.blobs.missing.length} missing`,
      );
      for (const b of r.blobs.mismatched) {
        out(`  MISMATCH ${b.hash} hashes to ${b.actual} (models ${b.models.join(", ")})`);
      }
      for (const b of r.blobs.missing) {
        out(
          `  missing  ${b.hash} (models ${b.models.join(", ")}${
            b.uri ? `; weights at ${b.uri}` : ""
          })`,
        );
      }
      const t = r.tempFiles;
      out(
        `${"temp files".padEnd(12)} ${t.removed.length} stale removed (${t.bytes} bytes)`,
      );
      out(r.ok ? "doctor: ok" : "doctor: problems found");
      return r.ok ? 0 : 1;
    });
  },
});

/** The store-keeping commands. */
export const ADMIN_COMMANDS: readonly Command[] = [init, rebuild, doctorCmd];

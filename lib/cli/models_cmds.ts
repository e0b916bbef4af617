/**
 * The model reading and state commands: `models list|show|history|publish|archive|unarchive|tag`
 * (`models_edit_cmds.ts` has download, rm, register, meta and compare). Each takes `--home DIR`
 * (or `--db PATH`), prints a human table by default and one JSON object with `--json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore } from "../store/store.ts";
 * import { MODELS_COMMANDS } from "./models_cmds.ts";
 *
 * const list = MODELS_COMMANDS.find((c) => c.name === "models list")!;
 * assert.ok(list.usage.startsWith("cli.ts models list"));
 * const home = await Deno.makeTempDir();
 * await (await openStore({ home })).close(); // an empty store
 * assert.equal(await list.run({ home, json: true }, []), 0); // prints {"models": [], "next": null}
 * await Deno.remove(home, { recursive: true });
 * ```
 *
 * @module
 */
import { Model, type QueryModelsOptions } from "../models/model.ts";
import { lineageOf } from "../projections/read.ts";
import { type ModelQueryFlags, modelQueryFromFlags } from "../query_text.ts";
import { InvalidArgumentError } from "../errors.ts";
import { SINGLE_VALUE_ITERATION } from "../models/base.ts";
import { type Command, define, UsageError, type Values } from "./registry.ts";
import { isoShort, jsonOut, numText, out, textTable } from "./output.ts";
import {
  intOpt,
  keepDashPositionals,
  modelByIdOrPrefix,
  needId,
  noExtra,
  STORE_HELP,
  STORE_OPTS,
  withStore,
} from "./options.ts";

/** The filter flags through the shared filter language; a bad one is a usage error. */
function listQuery(values: Values): QueryModelsOptions {
  try {
    return modelQueryFromFlags(values as ModelQueryFlags);
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    throw new UsageError(`--${e.field} ${e.reason}, got ${JSON.stringify(e.value)}`);
  }
}

const list: Command = define("models list", {
  summary: "List models (newest update first), filtered",
  usage: `cli.ts models list [filters] [--limit N] [--json] [--home DIR]

  --project NAME     exact project name
  --name NAME        exact model name
  --tags a,-b        tags in ClearML's grammar: a comma list, -tag excludes
  --published        only published models
  --archived         include archived models (hidden by default)
  --metadata k=v     metadata equals value (repeatable, all must match)
  --limit N          at most N models (default 50; 0 = all)
  --after CURSOR     the page after this cursor (printed when there are more)
  --json             JSON: {models: [model], next: CURSOR | null}
${STORE_HELP}

Examples:
  cli.ts models list --project vision --tags best,-draft
  cli.ts models list --tags -draft --limit 20 --json
  cli.ts models list --metadata epochs=10 --after 2024-05-01T12:00:00.000Z,3b5a0d65cab6`,
  options: {
    ...STORE_OPTS,
    project: { type: "string" },
    name: { type: "string" },
    tags: { type: "string" },
    published: { type: "boolean" },
    archived: { type: "boolean" },
    metadata: { type: "string", multiple: true },
    limit: { type: "string" },
    after: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    noExtra(positionals, 0, "models list");
    const limit = intOpt(values.limit, "--limit", 0) ?? 50;
    const q = listQuery(values);
    return await withStore(values, async (store) => {
      const found = await Model.queryModels({
        ...q,
        ...(limit > 0 ? { maxResults: limit + 1 } : {}),
        store,
      });
      const more = limit > 0 && found.length > limit;
      const models = more ? found.slice(0, limit) : found;
      const last = models[models.length - 1];
      const next = more && last ? `${last.cursor.lastUpdate},${last.cursor.id}` : null;
      if (values.json) {
        jsonOut({ models: models.map((m) => m.toJSON()), next });
        return 0;
      }
      if (models.length === 0) {
        out("no models match");
        return 0;
      }
      out(textTable(
        ["ID", "NAME", "PROJECT", "FRAMEWORK", "TAGS", "PUB", "ARCH", "LAST UPDATE"],
        models.map((m) => [
          m.id,
          m.name,
          m.project,
          m.framework,
          m.tags.join(","),
          m.published ? "yes" : "-",
          m.archived ? "yes" : "-",
          isoShort(m.lastUpdate),
        ]),
      ));
      if (next) out(`(more: --after ${next})`);
      return 0;
    });
  },
});

const show: Command = define("models show", {
  summary: "Show one model: fields, metadata, weights, lineage, reports",
  usage: `cli.ts models show ID [--json] [--home DIR]

  ID       a model id, or a unique prefix of at least 6 hex digits
  --json   JSON: {model, metadata, labels, weights, lineage, singleValues, scalarSummary, plots}
${STORE_HELP}

Examples:
  cli.ts models show 3b5a0d65cab6
  cli.ts models show 3b5a0d --json`,
  options: { ...STORE_OPTS, json: { type: "boolean" } },
  async run(values, positionals) {
    const id = needId(positionals, "models show");
    noExtra(positionals, 1, "models show");
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      const blobStored = m.hash ? await store.blobs.has(m.hash) : false;
      const inputOf = (await lineageOf(store, m.id))
        .map(({ taskId, slot, taskName }) => ({ taskId, slot, taskName }));
      const singleValues = await m.getReportedSingleValues();
      const scalarSummary = (await m.getScalarSummary())
        .filter((s) => s.maxIteration !== SINGLE_VALUE_ITERATION);
      const plots = (await m.getReportedPlots()).map((p) => ({
        kind: p.kind,
        title: p.title,
        series: p.series,
        iteration: p.iteration,
        reportedAt: p.reportedAt.toISOString(),
      }));
      if (values.json) {
        jsonOut({
          model: m.toJSON(),
          metadata: m.getAllMetadata(),
          labels: m.labels,
          weights: { url: m.url, hash: m.hash, size: m.size, blobStored },
          lineage: { task: m.task, originalTask: m.originalTask, parent: m.parent, inputOf },
          singleValues,
          scalarSummary,
          plots,
        });
        return 0;
      }
      const kv: [string, string][] = [
        ["id", m.id],
        ["name", m.name],
        ["project", m.project],
        ["framework", m.framework || "-"],
        ["comment", m.comment || "-"],
        ["tags", m.tags.join(", ") || "-"],
        ["system tags", m.systemTags.join(", ") || "-"],
        ["published", m.published ? "yes" : "no"],
        ["archived", m.archived ? "yes" : "no"],
        ["created", isoShort(m.createdAt)],
        ["last update", isoShort(m.lastUpdate)],
        ["iteration", numText(m.iteration)],
        ["url", m.url || "-"],
        ["size", m.size ? `${m.size} bytes` : "-"],
        ["sha256", m.hash || "-"],
        ["blob stored", m.hash ? (blobStored ? "yes" : "no") : "-"],
        ["task", m.task || "-"],
        ["original task", m.originalTask || "-"],
        ["parent", m.parent || "-"],
        [
          "input of",
          inputOf.map((u) => `${u.taskName ?? u.taskId} (${u.slot})`).join(", ") || "-",
        ],
      ];
      for (const [k, v] of kv) out(`${k.padEnd(14)} ${v}`);
      const section = (title: string, body: string) => {
        out("");
        out(`${title}:`);
        out(body.split("\n").map((l) => "  " + l).join("\n"));
      };
      const md = Object.values(m.getAllMetadata()).sort((a, b) => a.key.localeCompare(b.key));
      if (md.length) {
        section(
          "metadata",
          textTable(["KEY", "VALUE", "TYPE"], md.map((e) => [e.key, e.value, e.type]), 80),
        );
      }
      const labels = Object.entries(m.labels).sort((a, b) => a[1] - b[1]);
      if (labels.length) {
        section("labels", textTable(["LABEL", "ID"], labels.map(([k, v]) => [k, String(v)])));
      }
      if (m.configText) section("config", m.configText);
      const sv = Object.entries(singleValues).sort((a, b) => a[0].localeCompare(b[0]));
      if (sv.length) {
        section(
          "single values",
          textTable(["NAME", "VALUE"], sv.map(([k, v]) => [k, String(v)])),
        );
      }
      if (scalarSummary.length) {
        section(
          "scalars",
          textTable(
            ["TITLE", "SERIES", "LAST", "MIN", "MAX", "POINTS", "LAST ITER"],
            scalarSummary.map((s) => [
              s.title,
              s.series,
              String(s.last),
              numText(s.min),
              numText(s.max),
              String(s.count),
              String(s.lastIteration),
            ]),
          ),
        );
      }
      if (plots.length) {
        section(
          "plots",
          textTable(
            ["KIND", "TITLE", "SERIES", "ITERATION"],
            plots.map((p) => [p.kind, p.title, p.series, String(p.iteration)]),
          ),
        );
      }
      return 0;
    });
  },
});

const history: Command = define("models history", {
  summary: "Show a model's history: who changed what, when (newest first)",
  usage: `cli.ts models history ID [--limit N] [--json] [--home DIR]

  --limit N  at most N entries (default 100)
  --json     JSON: {id, entries: [{id, type, at, hlc, actor, origin, changes}]}
${STORE_HELP}

Examples:
  cli.ts models history 3b5a0d --limit 10
  cli.ts models history 3b5a0d --json`,
  options: { ...STORE_OPTS, limit: { type: "string" }, json: { type: "boolean" } },
  async run(values, positionals) {
    const id = needId(positionals, "models history");
    noExtra(positionals, 1, "models history");
    const limit = intOpt(values.limit, "--limit", 1) ?? 100;
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      const entries = await m.history({ limit });
      if (values.json) {
        jsonOut({ id: m.id, entries: entries.map((e) => ({ ...e, at: e.at.toISOString() })) });
        return 0;
      }
      out(textTable(
        ["WHEN", "ACTOR", "TYPE", "CHANGES"],
        entries.map((e) => [
          isoShort(e.at),
          e.actor,
          e.type,
          JSON.stringify(e.changes),
        ]),
        80,
      ));
      return 0;
    });
  },
});

/** `models publish`, `models archive` and `models unarchive`: one state change each. */
function stateCommand(action: "publish" | "archive" | "unarchive"): Command {
  return define(`models ${action}`, {
    summary: action === "publish"
      ? "Publish a model (locks it)"
      : action === "archive"
      ? "Archive a model (hidden from lists)"
      : "Unarchive a model",
    usage: `cli.ts models ${action} ID [--json] [--home DIR]

  --json   JSON: {id, published, archived}
${STORE_HELP}

Examples:
  cli.ts models ${action} 3b5a0d65cab6
  cli.ts models ${action} 3b5a0d --json`,
    options: { ...STORE_OPTS, json: { type: "boolean" } },
    async run(values, positionals) {
      const id = needId(positionals, `models ${action}`);
      noExtra(positionals, 1, `models ${action}`);
      return await withStore(values, async (store) => {
        const m = await modelByIdOrPrefix(store, id);
        await m[action]();
        await m.reload();
        if (values.json) {
          jsonOut({ id: m.id, published: m.published, archived: m.archived });
        } else out(`${action === "publish" ? "published" : `${action}d`} ${m.id} (${m.name})`);
        return 0;
      });
    },
  });
}

const tag: Command = define("models tag", {
  summary: "Add (+tag) and remove (-tag) tags of a model",
  usage: `cli.ts models tag ID +a -b [c ...] [--json] [--home DIR]

  +tag or tag   add the tag
  -tag          remove the tag
  --json        JSON: {id, tags}
${STORE_HELP}

Examples:
  cli.ts models tag 3b5a0d +best -draft
  cli.ts models tag 3b5a0d reviewed --json`,
  options: { ...STORE_OPTS, json: { type: "boolean" } },
  // `-b` would parse as an unknown flag: keep every non-option argument positional.
  prepareArgs: (args) => keepDashPositionals(args, ["--home", "--db"]),
  async run(values, positionals) {
    const id = needId(positionals, "models tag");
    const ops = positionals.slice(1);
    if (ops.length === 0) throw new UsageError("models tag: give at least one +tag or -tag");
    const want = new Map<string, boolean>();
    for (const op of ops) {
      const add = !op.startsWith("-");
      const tag = op.startsWith("+") || op.startsWith("-") ? op.slice(1) : op;
      if (!tag.trim()) throw new UsageError(`models tag: empty tag in ${JSON.stringify(op)}`);
      want.delete(tag);
      want.set(tag, add);
    }
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      const add = [...want].filter(([, a]) => a).map(([t]) => t);
      const remove = [...want].filter(([, a]) => !a).map(([t]) => t);
      if (remove.length) await m.removeTags(...remove);
      if (add.length) await m.addTags(...add);
      await m.reload();
      if (values.json) jsonOut({ id: m.id, tags: m.tags });
      else out(`${m.id} tags: ${m.tags.join(", ") || "(none)"}`);
      return 0;
    });
  },
});

/** The `models …` commands. */
export const MODELS_COMMANDS: readonly Command[] = [
  list,
  show,
  history,
  stateCommand("publish"),
  stateCommand("archive"),
  stateCommand("unarchive"),
  tag,
];

/**
 * The model commands that move files or change more than state: `models download`, `models rm`,
 * `models register`, `models meta get|set` and `models compare`. Each takes `--home DIR` (or
 * `--db PATH`), an id or a unique id prefix, and prints one JSON object with `--json`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MODELS_EDIT_COMMANDS } from "./models_edit_cmds.ts";
 *
 * assert.deepEqual(MODELS_EDIT_COMMANDS.map((c) => c.name), [
 *   "models download",
 *   "models rm",
 *   "models register",
 *   "models meta get",
 *   "models meta set",
 *   "models compare",
 * ]);
 * ```
 *
 * @module
 */
import { basename, join, resolve, sep } from "node:path";
import { Model } from "../models/model.ts";
import { InputModel } from "../models/input_model.ts";
import { type ComparedRow, compareModels, MAX_COMPARED } from "../models/compare.ts";
import type { MetadataType } from "../events.ts";
import { InvalidArgumentError, ModelogError } from "../errors.ts";
import { type Command, define, UsageError } from "./registry.ts";
import { cut, jsonOut, out, textTable, working } from "./output.ts";
import { DOWNLOAD_OPTS, fetchFromServer } from "./sync_cmds.ts";
import {
  modelByIdOrPrefix,
  needId,
  noExtra,
  STORE_HELP,
  STORE_OPTS,
  withStore,
} from "./options.ts";

/**
 * The file name a download may write: one plain name, no folder part, not a dot-file.
 *
 * @param uri the model's weights URI (its last path segment names the file)
 * @param fallback the name of the local copy, when the URI names none
 * @returns the name
 * @throws {InvalidArgumentError} for a name that would leave the folder or hide a file
 */
export function safeFileName(uri: string, fallback: string): string {
  let last = uri.split(/[?#]/)[0]!.split("/").pop() ?? "";
  try {
    last = decodeURIComponent(last);
  } catch {
    // keep the raw segment
  }
  const name = last || basename(fallback);
  if (
    !name || name === "." || name === ".." || name.startsWith(".") || /[\\/\0]/.test(name)
  ) {
    throw new InvalidArgumentError(
      "weights file name",
      name,
      "is not a plain file name (dot-files and folder parts are refused)",
    );
  }
  return name;
}

const download: Command = define("models download", {
  summary: "Copy a model's weights file into a folder",
  usage: `cli.ts models download ID [DIR] [--force] [--json] [--server URL] [--home DIR]

  DIR      where to put the file (default: the current folder); nothing is written elsewhere
  --force  fetch again, and replace a file of that name in DIR (else refused)
  --json   JSON: {id, path}
  --server fetch missing weights by hash from this modelog server (or env MODELOG_SERVER;
           default: the server the store last synced with); --token or MODELOG_TOKEN
${STORE_HELP}

Examples:
  cli.ts models download 3b5a0d ./weights
  cli.ts models download 3b5a0d . --force --json`,
  options: {
    ...STORE_OPTS,
    force: { type: "boolean" },
    json: { type: "boolean" },
    ...DOWNLOAD_OPTS,
  },
  async run(values, positionals) {
    const id = needId(positionals, "models download");
    noExtra(positionals, 2, "models download");
    const dir = resolve(positionals[1] ?? ".");
    const force = values.force === true;
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      // The name is checked before anything is fetched; the weights go to the cache (or are
      // the file itself) first, then one copy lands in DIR.
      const name = safeFileName(m.url, "weights");
      const done = await fetchFromServer(store, values);
      const src = await working(
        "fetching weights",
        () => m.getWeights(force ? { forceDownload: true } : {}),
      ).finally(done);
      if (!src) throw new ModelogError("WEIGHTS_NOT_FOUND", `Model ${m.id} has no weights`);
      const dest = join(dir, name);
      if (!dest.startsWith(dir + sep)) {
        throw new InvalidArgumentError("weights file name", name, "would leave the folder");
      }
      await Deno.mkdir(dir, { recursive: true });
      if (resolve(src) === dest) {
        // The weights file is already this very file: nothing to write.
        if (values.json) jsonOut({ id: m.id, path: dest });
        else out(dest);
        return 0;
      }
      const there = await Deno.lstat(dest).then(() => true, () => false);
      if (there && !force) {
        throw new InvalidArgumentError(
          "DIR",
          dir,
          `already has ${name}: pass --force to replace it`,
        );
      }
      if (there) await Deno.remove(dest);
      await Deno.copyFile(src, dest);
      if (values.json) jsonOut({ id: m.id, path: dest });
      else out(dest);
      return 0;
    });
  },
});

const rm: Command = define("models rm", {
  summary: "Remove a model (and its weights blob when nothing else uses it)",
  usage: `cli.ts models rm ID [--keep-weights] [--force] [--json] [--home DIR]

  --keep-weights  never delete the weights
  --force         remove even when a task uses the model as input
  --json          JSON: {id, removed}
${STORE_HELP}

Examples:
  cli.ts models rm 3b5a0d
  cli.ts models rm 3b5a0d --keep-weights --json`,
  options: {
    ...STORE_OPTS,
    "keep-weights": { type: "boolean" },
    force: { type: "boolean" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    const id = needId(positionals, "models rm");
    noExtra(positionals, 1, "models rm");
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      const removed = await Model.remove(m, {
        deleteWeightsFile: values["keep-weights"] !== true,
        force: values.force === true,
      });
      if (values.json) jsonOut({ id: m.id, removed });
      else out(`removed ${m.id} (${m.name})`);
      return 0;
    });
  },
});

const register: Command = define("models register", {
  summary: "Register a local weights file as a model (stored in the store's blobs)",
  usage:
    `cli.ts models register FILE --name NAME [--project P] [--tags a,b] [--framework F] [--comment T] [--json] [--home DIR]

  FILE          the weights file; its bytes are copied into the store
  --name        the model name (required)
  --project     the project (default: none)
  --tags a,b    tags, a comma list
  --framework   the framework (default: guessed from the file extension)
  --comment     a comment
  --json        JSON: {id, name, project, reused}
${STORE_HELP}
Creates the store when it does not exist yet (and says so).

Examples:
  cli.ts models register ./model.pth --name resnet --project vision --tags baseline
  cli.ts models register ./model.onnx --name exported --json`,
  options: {
    ...STORE_OPTS,
    name: { type: "string" },
    project: { type: "string" },
    tags: { type: "string" },
    framework: { type: "string" },
    comment: { type: "string" },
    json: { type: "boolean" },
  },
  async run(values, positionals) {
    const file = positionals[0];
    if (!file) throw new UsageError("models register: a weights FILE is required");
    noExtra(positionals, 1, "models register");
    if (!values.name) throw new UsageError("models register: --name NAME is required");
    const path = resolve(file);
    const st = await Deno.stat(path).catch(() => undefined);
    if (!st?.isFile) throw new InvalidArgumentError("FILE", file, "is not a readable file");
    const tags = values.tags === undefined
      ? []
      : (values.tags as string).split(",").map((t) => t.trim()).filter((t) => t);
    return await withStore(values, async (store) => {
      await working("storing weights", () => store.blobs.putFile(path));
      const m = await InputModel.importModel({
        weightsUrl: path,
        name: values.name as string,
        ...(values.project !== undefined ? { project: values.project as string } : {}),
        ...(tags.length ? { tags } : {}),
        ...(values.framework !== undefined ? { framework: values.framework as string } : {}),
        ...(values.comment !== undefined ? { comment: values.comment as string } : {}),
        store,
      });
      if (values.json) {
        jsonOut({ id: m.id, name: m.name, project: m.project, reused: m.reused });
      } else if (m.reused) out(`${path} is already registered as ${m.id} (${m.name})`);
      else out(`registered ${m.id} (${m.name})`);
      return 0;
    }, { create: true });
  },
});

const META_TYPES: readonly MetadataType[] = ["str", "int", "float", "bool", "list", "dict"];

const metaGet: Command = define("models meta get", {
  summary: "Show a model's metadata (all keys, or one)",
  usage: `cli.ts models meta get ID [KEY] [--json] [--home DIR]

  KEY      only this key (exit code 1 when the model has no such key)
  --json   JSON: {id, metadata: {key: {key, type, value}}}
${STORE_HELP}

Examples:
  cli.ts models meta get 3b5a0d
  cli.ts models meta get 3b5a0d epochs --json`,
  options: { ...STORE_OPTS, json: { type: "boolean" } },
  async run(values, positionals) {
    const id = needId(positionals, "models meta get");
    noExtra(positionals, 2, "models meta get");
    const key = positionals[1];
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      const all = m.getAllMetadata();
      if (key !== undefined && !(key in all)) {
        throw new InvalidArgumentError("KEY", key, `is not a metadata key of model ${m.id}`);
      }
      const picked = key === undefined ? all : { [key]: all[key]! };
      if (values.json) {
        jsonOut({ id: m.id, metadata: picked });
        return 0;
      }
      if (key !== undefined) {
        out(picked[key]!.value);
        return 0;
      }
      const rows = Object.values(picked).sort((a, b) => a.key.localeCompare(b.key));
      out(
        rows.length
          ? textTable(["KEY", "VALUE", "TYPE"], rows.map((e) => [e.key, e.value, e.type]), 80)
          : "no metadata",
      );
      return 0;
    });
  },
});

const metaSet: Command = define("models meta set", {
  summary: "Set metadata entries of a model (key=value ...)",
  usage: `cli.ts models meta set ID key=value [key=value ...] [--type T] [--json] [--home DIR]

  key=value   the entry; the value is text unless --type says otherwise
  --type T    the type of every value given: str, int, float, bool, list, dict (default str)
  --json      JSON: {id, metadata: {key: {key, type, value}}}
${STORE_HELP}

Examples:
  cli.ts models meta set 3b5a0d dataset=imagenet
  cli.ts models meta set 3b5a0d epochs=90 --type int --json`,
  options: { ...STORE_OPTS, type: { type: "string" }, json: { type: "boolean" } },
  async run(values, positionals) {
    const id = needId(positionals, "models meta set");
    const pairs = positionals.slice(1);
    if (pairs.length === 0) throw new UsageError("models meta set: give at least one key=value");
    const type = values.type as MetadataType | undefined;
    if (type !== undefined && !META_TYPES.includes(type)) {
      throw new UsageError(`--type must be one of ${META_TYPES.join(", ")}, got "${type}"`);
    }
    const entries = pairs.map((p) => {
      const eq = p.indexOf("=");
      if (eq <= 0) throw new UsageError(`models meta set: expected key=value, got "${p}"`);
      return [p.slice(0, eq), p.slice(eq + 1)] as const;
    });
    return await withStore(values, async (store) => {
      const m = await modelByIdOrPrefix(store, id);
      for (const [k, v] of entries) {
        const value = type === "int" || type === "float"
          ? Number(v)
          : type === "bool"
          ? v === "true"
          : type === "list" || type === "dict"
          ? JSON.parse(v)
          : v;
        await m.setMetadata(k, value, type ?? "str");
      }
      await m.reload();
      const all = m.getAllMetadata();
      const set = Object.fromEntries(entries.map(([k]) => [k, all[k]!]));
      if (values.json) jsonOut({ id: m.id, metadata: set });
      else for (const [k, e] of Object.entries(set)) out(`${m.id} ${k} = ${e.value} (${e.type})`);
      return 0;
    });
  },
});

/** A compared value as one table cell. */
function cell(v: unknown): string {
  if (v === null || v === undefined) return "-";
  if (typeof v === "boolean") return v ? "yes" : "no";
  return String(v);
}

const compare: Command = define("models compare", {
  summary: "Compare models side by side (fields, tags, metadata, labels, values, scalars)",
  usage: `cli.ts models compare A B [C ...] [--all] [--json] [--home DIR]

  A B ...  two to ${MAX_COMPARED} model ids or unique prefixes
  --all    print rows where the models agree too (default: only differences, marked "*")
  --json   JSON: {ids, fields, tags, metadata, labels, singleValues, scalars}, each a list of
           {key, values: [one per model], differs}
${STORE_HELP}

Examples:
  cli.ts models compare 3b5a0d 9f1c2e
  cli.ts models compare 3b5a0d 9f1c2e 77aa01 --all --json`,
  options: { ...STORE_OPTS, all: { type: "boolean" }, json: { type: "boolean" } },
  async run(values, positionals) {
    if (positionals.length < 2) throw new UsageError("models compare: give at least two model IDs");
    noExtra(positionals, MAX_COMPARED, "models compare");
    return await withStore(values, async (store) => {
      const models = [];
      for (const id of positionals) models.push(await modelByIdOrPrefix(store, id));
      const c = await compareModels(models);
      if (values.json) {
        jsonOut(c);
        return 0;
      }
      const sections: [string, ComparedRow<unknown>[]][] = [
        ["fields", c.fields],
        ["tags", c.tags],
        ["metadata", c.metadata],
        ["labels", c.labels],
        ["single values", c.singleValues],
        ["scalars (last)", c.scalars],
      ];
      const head = ["", "KEY", ...models.map((m) => cut(m.id, 12))];
      let shown = 0;
      for (const [title, rows] of sections) {
        const picked = values.all ? rows : rows.filter((r) => r.differs);
        if (picked.length === 0) continue;
        shown++;
        out(`${title}:`);
        out(
          textTable(head, picked.map((r) => [r.differs ? "*" : " ", r.key, ...r.values.map(cell)])),
        );
        out("");
      }
      if (shown === 0) out("the models agree on every compared row");
      return 0;
    });
  },
});

/** The `models …` commands of this file. */
export const MODELS_EDIT_COMMANDS: readonly Command[] = [
  download,
  rm,
  register,
  metaGet,
  metaSet,
  compare,
];

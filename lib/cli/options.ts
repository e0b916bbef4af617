/**
 * Options and arguments shared by the CLI's commands: the store flags (`--home`, `--db`) and
 * opening that store ({@link storeFrom}, {@link withStore}), and checks of positionals and
 * numeric flags that throw {@link UsageError}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intOpt, STORE_OPTS } from "./options.ts";
 *
 * assert.deepEqual(Object.keys(STORE_OPTS), ["home", "db"]);
 * assert.equal(intOpt("20", "--limit", 0), 20);
 * assert.equal(intOpt(undefined, "--limit", 0), undefined);
 * ```
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { openStore, type Store } from "../store/store.ts";
import { defaultHome } from "../store/home.ts";
import { InvalidArgumentError, ModelNotFoundError } from "../errors.ts";
import { Model } from "../models/model.ts";
import { modelIdsByPrefix } from "../projections/read.ts";
import { type OptionSpecs, UsageError, type Values } from "./registry.ts";

/** The flags naming the store: `--home DIR` and `--db PATH`. */
export const STORE_OPTS = {
  home: { type: "string" },
  db: { type: "string" },
} as const satisfies OptionSpecs;

/** The help lines for {@link STORE_OPTS}. */
export const STORE_HELP = `  --home DIR   the store folder (default $MODELOG_HOME or ~/.modelog)
  --db PATH    the database file (default <home>/modelog.db)`;

/** How a command treats a store that does not exist yet. */
export interface StoreUse {
  /**
   * True for commands that may create the store (`init`, `models register`, `sync pull`):
   * they say so on stderr when they do. Others refuse a home without a store, naming it.
   */
  create?: boolean;
}

/**
 * The database file named by `--home` / `--db` (else `MODELOG_HOME` or `~/.modelog`), and the
 * flag that named it.
 *
 * @param values the parsed options
 * @returns the database path and the flag (or environment variable) it came from
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { storePath } from "./options.ts";
 * assert.deepEqual(storePath({ home: "/srv/ml" }), { path: "/srv/ml/modelog.db", flag: "--home" });
 * assert.deepEqual(storePath({ db: "/x/y.db" }), { path: "/x/y.db", flag: "--db" });
 * ```
 */
export function storePath(values: Values): { path: string; flag: string } {
  const home = values.home as string | undefined;
  const db = values.db as string | undefined;
  const flag = db ? "--db" : home ? "--home" : Deno.env.get("MODELOG_HOME") ? "MODELOG_HOME" : "";
  const dir = resolve(home ?? (db ? dirname(db) : defaultHome()));
  return { path: resolve(db ?? join(dir, "modelog.db")), flag: flag || "--home" };
}

/**
 * Opens the store named by `--home` / `--db`, else the default one. A store that does not exist
 * is refused (a mistyped `--home` must not silently make an empty one) unless `use.create`.
 *
 * @param values the parsed options
 * @param use whether the command may create the store
 * @returns the open store (the caller closes it)
 * @throws {InvalidArgumentError} naming the flag and the path when there is no store there
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArgumentError } from "../errors.ts";
 * import { storeFrom } from "./options.ts";
 *
 * const home = await Deno.makeTempDir();
 * await assert.rejects(() => storeFrom({ home }), InvalidArgumentError); // no store there yet
 * const store = await storeFrom({ home }, { create: true });
 * assert.ok(store.path.startsWith(home));
 * await store.close();
 * await (await storeFrom({ home })).close(); // now it exists
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function storeFrom(values: Values, use: StoreUse = {}): Promise<Store> {
  const home = values.home as string | undefined;
  const db = values.db as string | undefined;
  const { path, flag } = storePath(values);
  const exists = await Deno.stat(path).then((s) => s.isFile, () => false);
  if (!exists && !use.create) {
    throw new InvalidArgumentError(
      flag,
      flag === "--db" ? db : flag === "--home" ? (home ?? dirname(path)) : dirname(path),
      `has no modelog store (no ${path}); check the path, or create one with \`cli.ts init\``,
    );
  }
  const store = await openStore({ ...(home ? { home } : {}), ...(db ? { path: db } : {}) });
  if (!exists) console.error(`created a new modelog store at ${store.path}`);
  return store;
}

/**
 * Runs `fn` with the store of `--home` / `--db`, closing the store afterwards.
 *
 * @param values the parsed options
 * @param fn the work
 * @param use whether the command may create the store
 * @returns what `fn` returns
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { withStore } from "./options.ts";
 *
 * const home = await Deno.makeTempDir();
 * const version = await withStore({ home }, (store) => store.schemaVersion(), { create: true });
 * assert.ok(version > 0);
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function withStore<T>(
  values: Values,
  fn: (s: Store) => Promise<T>,
  use: StoreUse = {},
): Promise<T> {
  const store = await storeFrom(values, use);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** The fewest hex digits an id prefix needs. */
export const MIN_PREFIX = 6;

/**
 * Loads a model by id or by a unique id prefix of at least {@link MIN_PREFIX} hex digits.
 *
 * @param store the store
 * @param id a full id or a prefix
 * @returns the model
 * @throws {ModelNotFoundError} when nothing matches
 * @throws {InvalidArgumentError} for an ambiguous prefix, listing the matches
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { openStore, OutputModel, Task } from "../../mod.ts";
 * import { modelByIdOrPrefix } from "./options.ts";
 *
 * const home = await Deno.makeTempDir();
 * const store = await openStore({ home });
 * const task = await Task.init({ projectName: "p", taskName: "t", store });
 * const m = new OutputModel({ task, name: "net" });
 * await m.addTags("x");
 * assert.equal((await modelByIdOrPrefix(store, m.id.slice(0, 8))).id, m.id);
 * await task.close();
 * await store.close();
 * await Deno.remove(home, { recursive: true });
 * ```
 */
export async function modelByIdOrPrefix(store: Store, id: string): Promise<Model> {
  try {
    return await Model.get(id, { store });
  } catch (e) {
    if (!(e instanceof ModelNotFoundError) || !/^[0-9a-f]+$/i.test(id)) throw e;
    if (id.length < MIN_PREFIX) {
      throw new ModelNotFoundError(
        id,
        `Model ${
          JSON.stringify(id)
        } does not exist (an id prefix needs at least ${MIN_PREFIX} hex digits)`,
      );
    }
    const found = await modelIdsByPrefix(store, id, 11);
    if (found.length === 0) {
      throw new ModelNotFoundError(
        id,
        `Model ${JSON.stringify(id)} does not exist, and no model id starts with it`,
      );
    }
    if (found.length > 1) {
      throw new InvalidArgumentError(
        "id",
        id,
        `is ambiguous: it starts ${found.length > 10 ? "more than 10" : found.length} model ids (${
          found.slice(0, 10).join(", ")
        }); give more digits`,
      );
    }
    return await Model.get(found[0]!, { store });
  }
}

/**
 * The model ID, the first positional argument.
 *
 * @param positionals the command's positional arguments
 * @param name the command's name, for the message
 * @returns the ID
 * @throws {UsageError} when there is none
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { needId } from "./options.ts";
 * import { UsageError } from "./registry.ts";
 *
 * assert.equal(needId(["abc"], "models show"), "abc");
 * assert.throws(() => needId([], "models show"), UsageError);
 * ```
 */
export function needId(positionals: string[], name: string): string {
  const id = positionals[0];
  if (!id) throw new UsageError(`${name}: a model ID is required`);
  return id;
}

/**
 * Refuses positional arguments beyond the first `n`.
 *
 * @param positionals the command's positional arguments
 * @param n how many it takes
 * @param name the command's name, for the message
 * @throws {UsageError} naming the first extra argument
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { noExtra } from "./options.ts";
 *
 * noExtra(["id"], 1, "models show");
 * assert.throws(() => noExtra(["a", "b"], 1, "models show"), /unexpected argument "b"/);
 * ```
 */
export function noExtra(positionals: string[], n: number, name: string): void {
  if (positionals.length > n) {
    throw new UsageError(`${name}: unexpected argument ${JSON.stringify(positionals[n])}`);
  }
}

/**
 * An integer flag within bounds.
 *
 * @param v the flag's raw value (undefined when not given)
 * @param flag the flag, for the message
 * @param min the smallest allowed
 * @param max the largest allowed
 * @returns the number, or undefined when not given
 * @throws {UsageError} for anything but an integer from `min` to `max`
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { intOpt } from "./options.ts";
 *
 * assert.equal(intOpt("0", "--port", 0, 65535), 0);
 * assert.throws(
 *   () => intOpt("99999", "--port", 0, 65535),
 *   /--port must be an integer from 0 to 65535, got "99999"/,
 * );
 * assert.throws(() => intOpt("x", "--limit", 1), /--limit must be an integer from 1 up/);
 * ```
 */
export function intOpt(
  v: unknown,
  flag: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${flag} must be an integer from ${min}${
        max < Number.MAX_SAFE_INTEGER ? ` to ${max}` : " up"
      }, got ${JSON.stringify(v)}`,
    );
  }
  return n;
}

/**
 * Rewrites arguments so that every one not starting with `--` stays a positional, even `-b`
 * (which parseArgs would take for an unknown short flag). Flags in `valued` keep their value
 * (`--home DIR` as well as `--home=DIR`); other `--flags` stay flags; everything after `--` is
 * positional.
 *
 * @param args the raw arguments
 * @param valued the long flags that take a value
 * @returns the flags, then `--`, then the positionals
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { keepDashPositionals } from "./options.ts";
 *
 * assert.deepEqual(
 *   keepDashPositionals(["id", "-old", "--home", "/h", "+new", "--json"], ["--home"]),
 *   ["--home", "/h", "--json", "--", "id", "-old", "+new"],
 * );
 * ```
 */
export function keepDashPositionals(args: string[], valued: readonly string[]): string[] {
  const opts: string[] = [];
  const pos: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      pos.push(...args.slice(i + 1));
      break;
    }
    const flag = a.split("=")[0]!;
    if (valued.includes(flag)) {
      opts.push(a);
      if (!a.includes("=") && i + 1 < args.length) opts.push(args[++i]!);
    } else if (a.startsWith("--")) opts.push(a);
    else pos.push(a);
  }
  return [...opts, "--", ...pos];
}

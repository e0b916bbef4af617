/**
 * The shape of a CLI command and the table that holds them: {@link Command}, {@link define},
 * {@link commandTable} and {@link UsageError}. Commands live in the `*_cmds.ts` files by area;
 * `commands.ts` gathers them; `main.ts` dispatches to them.
 *
 * @example Define a command and put it in a table
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandTable, define } from "./registry.ts";
 *
 * const hello = define("hello world", {
 *   summary: "Say hello",
 *   usage: "cli.ts hello world [--loud]",
 *   options: { loud: { type: "boolean" } },
 *   run(values) {
 *     return Promise.resolve(values.loud ? 1 : 0);
 *   },
 * });
 * const table = commandTable([hello]);
 * assert.equal(table.get("hello world"), hello);
 * assert.equal(await hello.run({ loud: true }, []), 1);
 * ```
 *
 * @module
 */

/** Parsed option values, by option name (node:util parseArgs' `values`). */
export type Values = Record<string, unknown>;

/** The option spec of a command, as node:util parseArgs takes it. */
export type OptionSpecs = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean }
>;

/** One CLI command. */
export interface Command {
  /** The name typed on the command line; sub-commands joined with a space, e.g. "sync push". */
  name: string;
  /** One line of help. */
  summary: string;
  /** Usage text shown by `--help`. */
  usage: string;
  /** Option spec for node:util parseArgs. */
  options: OptionSpecs;
  /** Rewrites the arguments before parsing (e.g. to keep `-tag` as a positional). */
  prepareArgs?(args: string[]): string[];
  /**
   * Runs it; returns the exit code. Throws {@link UsageError} for a wrong call (exit code 2) and
   * a `ModelogError` or any other error for a failure (exit code 1).
   */
  run(values: Values, positionals: string[]): Promise<number>;
}

/**
 * A wrong call of a command (missing argument, malformed flag value): printed as one line that
 * points at the command's `--help`, exit code 2.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UsageError } from "./registry.ts";
 *
 * const e = new UsageError("report: -o FILE is required");
 * assert.ok(e instanceof Error);
 * assert.equal(e.name, "UsageError");
 * ```
 */
export class UsageError extends Error {
  /** @param message what is wrong with the call, without the "see --help" hint */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Names a command: returns `spec` with its `name`.
 *
 * @param name the command's name, sub-commands joined with one space
 * @param spec everything else about it
 * @returns the command
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { define } from "./registry.ts";
 *
 * const c = define("noop", {
 *   summary: "Do nothing",
 *   usage: "cli.ts noop",
 *   options: {},
 *   run: () => Promise.resolve(0),
 * });
 * assert.equal(c.name, "noop");
 * ```
 */
export function define(name: string, spec: Omit<Command, "name">): Command {
  if (!/^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)*$/.test(name)) {
    throw new TypeError(`Command name ${JSON.stringify(name)} is not lower-case words`);
  }
  return { name, ...spec };
}

/**
 * Gathers commands by name.
 *
 * @param groups lists of commands (one per area)
 * @returns the commands by name, in the order given
 * @throws {TypeError} when two commands share a name
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { commandTable, define } from "./registry.ts";
 *
 * const spec = { summary: "", usage: "", options: {}, run: () => Promise.resolve(0) };
 * const a = define("a", spec);
 * assert.deepEqual([...commandTable([a], [define("b c", spec)]).keys()], ["a", "b c"]);
 * assert.throws(() => commandTable([a], [a]), TypeError);
 * ```
 */
export function commandTable(...groups: readonly (readonly Command[])[]): Map<string, Command> {
  const table = new Map<string, Command>();
  for (const c of groups.flat()) {
    if (table.has(c.name)) throw new TypeError(`Command ${JSON.stringify(c.name)} defined twice`);
    table.set(c.name, c);
  }
  return table;
}

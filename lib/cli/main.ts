/**
 * The CLI's dispatch: finds the command named by the first words of the arguments, prints help,
 * parses the options, runs the command and turns errors into one line on stderr and an exit
 * code.
 *
 * Exit codes: 0 success (and `--help`); 1 a failure (a `ModelogError`, printed with its code, or
 * any other error); 2 a wrong call (no or unknown command, unknown or malformed option, missing
 * argument).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { main } from "./main.ts";
 *
 * assert.equal(await main(["--help"]), 0); // prints the command list
 * assert.equal(await main([]), 2); // the same list, as a wrong call
 * assert.equal(await main(["--version"]), 0); // prints "modelog 0.1.0"
 * const home = await Deno.makeTempDir();
 * assert.equal(await main(["models", "list", "--home", home]), 1); // no store there
 * assert.equal(await main(["init", "--home", home]), 0); // creates it
 * assert.equal(await main(["models", "list", "--json", "--home", home]), 0); // {models: [], next: null}
 * assert.equal(await main(["models", "show", "--home", home]), 2); // no ID
 * assert.equal(await main(["models", "show", "nope", "--home", home]), 1); // MODEL_NOT_FOUND
 * await Deno.remove(home, { recursive: true });
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ModelogError } from "../errors.ts";
import { COMMANDS } from "./commands.ts";
import { type Command, type OptionSpecs, UsageError, type Values } from "./registry.ts";
import { out } from "./output.ts";
import { VERSION } from "../version.ts";

/** The list of commands that `--help` prints. */
function help(commands: ReadonlyMap<string, Command>): string {
  const lines = [
    "modelog — a local-first model registry",
    "",
    "Usage: cli.ts <command> [options]   (--help on any command; --version)",
    "",
    "Commands:",
  ];
  const names = [...commands.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const name of names) lines.push(`  ${name.padEnd(22)} ${commands.get(name)!.summary}`);
  lines.push(
    "",
    "Examples:",
    "  cli.ts init --home ./ml-store",
    "  cli.ts models list --home ./ml-store --tags -draft",
    "  cli.ts models show 3b5a0d --home ./ml-store     (an id or a unique prefix of 6+ digits)",
    "  cli.ts ui --home ./ml-store",
  );
  return lines.join("\n");
}

/**
 * Joins every flag that takes a value with the argument after it (`--tags -draft` becomes
 * `--tags=-draft`, `-o -` becomes `--output=-`), so a value starting with `-` is never taken
 * for a flag. Stops at `--`.
 */
export function joinFlagValues(args: string[], options: OptionSpecs): string[] {
  const outArgs: string[] = [];
  const shortToLong = new Map(
    Object.entries(options).filter(([, o]) => o.short).map(([k, o]) => [`-${o.short}`, k]),
  );
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--") {
      outArgs.push(...args.slice(i));
      break;
    }
    const long = a.startsWith("--") && !a.includes("=") ? a.slice(2) : shortToLong.get(a);
    if (long !== undefined && options[long]?.type === "string" && i + 1 < args.length) {
      outArgs.push(`--${long}=${args[++i]}`);
    } else outArgs.push(a);
  }
  return outArgs;
}

/** The command named by the fewest leading words of `argv`, and the arguments after them. */
function findCommand(
  argv: string[],
  commands: ReadonlyMap<string, Command>,
): { cmd: Command; rest: string[] } | undefined {
  for (let n = 1; n <= argv.length; n++) {
    const cmd = commands.get(argv.slice(0, n).join(" "));
    if (cmd) return { cmd, rest: argv.slice(n) };
    if (argv[n]?.startsWith("-")) return undefined;
  }
  return undefined;
}

/** For `models` or `sync` alone: the usage line of the group, or undefined if not a group. */
function groupUsage(group: string, commands: ReadonlyMap<string, Command>): string | undefined {
  const subs = [...commands.keys()].filter((k) => k.startsWith(group + " "));
  if (subs.length === 0) return undefined;
  const next = [...new Set(subs.map((s) => s.slice(group.length + 1).split(" ")[0]!))];
  return `Usage: cli.ts ${group} <${next.join("|")}> [options]`;
}

/**
 * Runs the CLI with the given arguments.
 *
 * @param argv the arguments after `cli.ts`
 * @param commands the command table (default: every command)
 * @returns the exit code
 */
export async function main(
  argv: string[],
  commands: ReadonlyMap<string, Command> = COMMANDS,
): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    out(help(commands));
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "--version" || argv[0] === "-V" || argv[0] === "version") {
    out(`modelog ${VERSION}`);
    return 0;
  }
  const found = findCommand(argv, commands);
  if (!found) {
    const rest = argv.slice(1);
    const usage = groupUsage(argv[0]!, commands);
    if (usage && (rest.length === 0 || rest[0] === "--help")) {
      out(usage);
      return rest[0] === "--help" ? 0 : 2;
    }
    console.error(
      `error: unknown command ${JSON.stringify(argv.slice(0, 2).join(" "))} (see cli.ts --help)`,
    );
    return 2;
  }
  const { cmd, rest } = found;
  if (rest.includes("--help") || rest.includes("-h")) {
    out(cmd.usage);
    return 0;
  }
  const wrongCall = (message: string) => {
    console.error(`error: ${message} (see cli.ts ${cmd.name} --help)`);
    return 2;
  };
  let parsed;
  try {
    const joined = joinFlagValues(rest, cmd.options);
    parsed = parseArgs({
      args: cmd.prepareArgs ? cmd.prepareArgs(joined) : joined,
      options: cmd.options,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    return wrongCall((e as Error).message);
  }
  try {
    return await cmd.run(parsed.values as Values, parsed.positionals);
  } catch (e) {
    if (e instanceof UsageError) return wrongCall(e.message);
    if (e instanceof ModelogError) {
      console.error(`error: ${e.code}: ${e.message}`);
      return 1;
    }
    console.error(`error: ${(e as Error)?.message ?? e}`);
    return 1;
  }
}

/**
 * The modelog command line: `deno run -A cli.ts <command> [options]` (also `deno task cli`).
 * Run `cli.ts --help` for the commands. The commands live in `lib/cli/`; this file only runs
 * {@link main} on the process's arguments and exits with its code.
 *
 * @module
 */
import { main } from "./lib/cli/main.ts";

export { main };

if (import.meta.main) Deno.exit(await main(Deno.args));

/**
 * Every CLI command, by name: the table `main.ts` dispatches on. A command is added in the file
 * of its area (`models_cmds.ts`, `models_edit_cmds.ts`, `reports_cmds.ts`, `sync_cmds.ts`, `serve_cmds.ts`,
 * `admin_cmds.ts`) and listed there; this module only gathers the areas.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { COMMANDS } from "./commands.ts";
 *
 * assert.ok(COMMANDS.has("models list"));
 * assert.ok(COMMANDS.has("sync push"));
 * assert.equal(COMMANDS.get("doctor")?.name, "doctor");
 * ```
 *
 * @module
 */
import { type Command, commandTable } from "./registry.ts";
import { MODELS_COMMANDS } from "./models_cmds.ts";
import { MODELS_EDIT_COMMANDS } from "./models_edit_cmds.ts";
import { REPORTS_COMMANDS } from "./reports_cmds.ts";
import { SYNC_COMMANDS } from "./sync_cmds.ts";
import { SERVE_COMMANDS } from "./serve_cmds.ts";
import { ADMIN_COMMANDS } from "./admin_cmds.ts";

/** Commands by name (sub-commands joined with a space, e.g. "sync push"). */
export const COMMANDS: ReadonlyMap<string, Command> = commandTable(
  SERVE_COMMANDS,
  SYNC_COMMANDS,
  ADMIN_COMMANDS,
  MODELS_COMMANDS,
  MODELS_EDIT_COMMANDS,
  REPORTS_COMMANDS,
);

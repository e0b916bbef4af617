/**
 * Where the default store lives when nothing else is said: `MODELOG_HOME`, else `~/.modelog`.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { homedir } from "node:os";

/** Where the default store lives: `MODELOG_HOME`, else `~/.modelog`. */
export function defaultHome(): string {
  let env: string | undefined;
  try {
    env = Deno.env.get("MODELOG_HOME");
  } catch {
    env = undefined;
  }
  return resolve(env && env.length > 0 ? env : join(homedir(), ".modelog"));
}

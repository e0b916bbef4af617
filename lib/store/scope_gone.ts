/**
 * The writes behind the scope marks (table `sync_gone`): models a project-limited server said
 * left this device's scope (an admin moved them to a project the token may not read). The
 * marks are local state beside the log, never a projection: no event is deleted, a rebuild
 * leaves them alone, and the model reads (`projections/read.ts`, `query.ts`) skip a marked
 * model. The sync worker sets them from a pull's `gone` and clears them when an event of the
 * model arrives again (it re-entered the scope).
 *
 * @module
 */
import type { Executor } from "./writer.ts";

/** A change to the scope marks of one server. */
export interface ScopeGoneChange {
  /** The server (base URL) the marks are kept for. */
  server: string;
  /** Models that left this server's scope (a mark already there is kept). */
  gone?: string[];
  /** Models back in it (their marks go). */
  back?: string[];
}

/** Applies a scope change inside the writer's transaction. */
export async function applyScopeGone(x: Executor, c: ScopeGoneChange): Promise<void> {
  const since = new Date().toISOString();
  for (const id of c.back ?? []) {
    await x.execute({
      sql: "DELETE FROM sync_gone WHERE server = ? AND model_id = ?",
      args: [c.server, id],
    });
  }
  for (const id of c.gone ?? []) {
    await x.execute({
      sql: `INSERT INTO sync_gone(server, model_id, since) VALUES (?, ?, ?)
            ON CONFLICT(server, model_id) DO NOTHING`,
      args: [c.server, id, since],
    });
  }
}

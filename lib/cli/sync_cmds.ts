/**
 * The sync commands: `sync push`, `sync pull` and `sync status` against a modelog server, with a
 * progress bar per phase on a terminal.
 *
 * @example Push a store to a server on a free port
 * ```ts
 * import assert from "node:assert/strict";
 * import { startServer } from "../server/server.ts";
 * import { SYNC_COMMANDS } from "./sync_cmds.ts";
 *
 * const dir = await Deno.makeTempDir();
 * const server = await startServer({ port: 0, db: `${dir}/server.db`, log: () => {} });
 * const push = SYNC_COMMANDS.find((c) => c.name === "sync push")!;
 * const code = await push.run({ server: server.url, home: `${dir}/laptop`, json: true }, []);
 * assert.equal(code, 0); // printed {"events":0,"blobs":0,"bytes":0}
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { type SyncProgress, SyncWorker } from "../sync/worker.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type Command, define } from "./registry.ts";
import { out, type ProgressBar, progressBar } from "./output.ts";
import { STORE_OPTS, storeFrom } from "./options.ts";

const PHASE_LABELS: Record<SyncProgress["phase"], string> = {
  blob: "uploading weights",
  push: "pushing events",
  pull: "pulling events",
};

/** Prints what a sync action returned, as `--json` or as text. */
function printResult(action: "push" | "pull" | "status", result: unknown, json: boolean): void {
  if (json) out(JSON.stringify(result));
  else if (action === "push") {
    const r = result as { events: number; blobs: number; bytes: number };
    out(`pushed ${r.events} events, ${r.blobs} blobs (${r.bytes} bytes sent)`);
  } else if (action === "pull") {
    const r = result as { events: number; fresh: number };
    out(`pulled ${r.events} events (${r.fresh} new)`);
  } else {
    const s = result as Record<string, unknown>;
    for (const [k, v] of Object.entries(s)) {
      out(`${k.padEnd(14)} ${v instanceof Date ? v.toISOString() : v ?? "-"}`);
    }
  }
}

/** `sync <action>`. */
function syncCommand(action: "push" | "pull" | "status"): Command {
  return define(`sync ${action}`, {
    summary: action === "status"
      ? "Show pending sync work and cursors"
      : `${
        action === "push" ? "Push local events and weights to" : "Pull events from"
      } a modelog server`,
    usage: `cli.ts sync ${action} --server URL [--token TOKEN] [--home DIR] [--json]

  --server  the modelog server (or env MODELOG_SERVER)
  --token   bearer token (or env MODELOG_TOKEN)
  --home    the store folder (default $MODELOG_HOME or ~/.modelog)
  --json    machine-readable output`,
    options: {
      ...STORE_OPTS,
      server: { type: "string" },
      token: { type: "string" },
      json: { type: "boolean" },
    },
    async run(values) {
      const server = (values.server as string | undefined) ?? Deno.env.get("MODELOG_SERVER");
      if (!server) {
        throw new InvalidArgumentError("--server", server, "is required (or set MODELOG_SERVER)");
      }
      const token = (values.token as string | undefined) ?? Deno.env.get("MODELOG_TOKEN");
      const store = await storeFrom(values);
      try {
        const bars = new Map<SyncProgress["phase"], ProgressBar>();
        const onProgress = (p: SyncProgress) => {
          let b = bars.get(p.phase);
          if (!b) bars.set(p.phase, b = progressBar(PHASE_LABELS[p.phase]));
          b.update(p.done, p.total);
        };
        const w = new SyncWorker({ server, store, ...(token ? { token } : {}), onProgress });
        const result = action === "push"
          ? await w.push()
          : action === "pull"
          ? await w.pull()
          : await w.status();
        for (const b of bars.values()) b.end();
        printResult(action, result, values.json === true);
        return 0;
      } finally {
        await store.close();
      }
    },
  });
}

/** The sync commands. */
export const SYNC_COMMANDS: readonly Command[] = [
  syncCommand("push"),
  syncCommand("pull"),
  syncCommand("status"),
];

/**
 * The sync commands: `sync push`, `sync pull` and `sync status` against a modelog server, with
 * one progress bar per sync on a terminal (weights bytes with rate and ETA, and events).
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
 * const pull = SYNC_COMMANDS.find((c) => c.name === "sync pull")!;
 * const home = `${dir}/laptop`;
 * assert.equal(await pull.run({ server: server.url, home, json: true }, []), 0); // creates it
 * const code = await push.run({ server: server.url, home, json: true }, []);
 * assert.equal(code, 0); // printed {"events": 0, "blobs": 0, "bytes": 0}
 * await server.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */
import { type SyncProgress, type SyncStatus, SyncWorker } from "../sync/worker.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type Command, define } from "./registry.ts";
import { humanBytes, jsonOut, out, transferBar, type TransferState } from "./output.ts";
import { STORE_HELP, STORE_OPTS, storeFrom } from "./options.ts";

/** `sync status` as one object: every key the text shows, `null` where there is no value. */
export function statusObject(server: string, s: SyncStatus): Record<string, unknown> {
  return {
    server,
    pendingEvents: s.pendingEvents,
    pendingBytes: s.pendingBytes,
    pushCursor: s.pushCursor,
    pullCursor: s.pullCursor,
    lastSuccess: s.lastSuccess ? s.lastSuccess.toISOString() : null,
    lastError: s.lastError ?? null,
    running: s.running,
    bytesSent: s.bytesSent,
  };
}

/** Prints what a sync action returned, as `--json` or as text. */
function printResult(action: "push" | "pull" | "status", result: unknown, json: boolean): void {
  if (json) jsonOut(result);
  else if (action === "push") {
    const r = result as { events: number; blobs: number; bytes: number };
    out(`pushed ${r.events} events, ${r.blobs} blobs (${humanBytes(r.bytes)} sent)`);
  } else if (action === "pull") {
    const r = result as { events: number; fresh: number };
    out(`pulled ${r.events} events (${r.fresh} new)`);
  } else {
    for (const [k, v] of Object.entries(result as Record<string, unknown>)) {
      out(`${k.padEnd(14)} ${v ?? "-"}`);
    }
  }
}

/**
 * Folds the worker's progress reports (per blob and per page) into running totals for one bar:
 * a blob report whose count went down, or that follows a finished blob, starts the next blob.
 */
function progressTotals(
  start: TransferState,
  draw: (s: TransferState) => void,
): (p: SyncProgress) => void {
  const s = { ...start };
  let finished = 0, cur = 0, curTotal = 0, complete = false;
  return (p) => {
    if (p.phase === "blob") {
      if (complete || p.done < cur) {
        finished += complete ? curTotal : cur;
        cur = 0;
      }
      cur = p.done;
      curTotal = p.total ?? p.done;
      complete = p.done >= curTotal;
      s.bytes = finished + cur;
      if (s.bytesTotal !== undefined && s.bytes > s.bytesTotal) s.bytesTotal = s.bytes;
    } else {
      s.events = p.done;
      if (p.total !== undefined) s.eventsTotal = p.total;
    }
    draw({ ...s });
  };
}

const EXAMPLES: Record<"push" | "pull" | "status", string> = {
  push: `  cli.ts sync push --server https://models.example.com --token $TOKEN
  MODELOG_SERVER=http://127.0.0.1:8080 cli.ts sync push --home ./ml-store --json`,
  pull: `  cli.ts sync pull --server https://models.example.com --home ./team-copy
  cli.ts sync pull --json`,
  status: `  cli.ts sync status --server https://models.example.com
  cli.ts sync status --json`,
};

const JSON_SHAPES: Record<"push" | "pull" | "status", string> = {
  push: "{events, blobs, bytes}",
  pull: "{events, fresh}",
  status:
    "{server, pendingEvents, pendingBytes, pushCursor, pullCursor, lastSuccess, lastError,\n            running, bytesSent}",
};

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
  --json    JSON: ${JSON_SHAPES[action]}
${STORE_HELP}${
      action === "pull" ? "\nCreates the store when it does not exist yet (and says so)." : ""
    }

Examples:
${EXAMPLES[action]}`,
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
      const store = await storeFrom(values, { create: action === "pull" });
      try {
        const bar = transferBar(action === "push" ? "pushing" : "pulling");
        let onProgress: (p: SyncProgress) => void = () => {};
        const w = new SyncWorker({
          server,
          store,
          ...(token ? { token } : {}),
          onProgress: (p) => onProgress(p),
        });
        if (action === "status") {
          printResult(action, statusObject(server, await w.status()), values.json === true);
          return 0;
        }
        const before = action === "push" ? await w.status() : undefined;
        onProgress = progressTotals({
          bytes: 0,
          events: 0,
          ...(before ? { eventsTotal: before.pendingEvents, bytesTotal: before.pendingBytes } : {}),
        }, (s) => bar.update(s));
        const result = action === "push" ? await w.push() : await w.pull();
        bar.end();
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

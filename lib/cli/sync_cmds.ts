/**
 * The sync commands: `sync push`, `sync pull` and `sync status` against a modelog server, with
 * one progress bar per sync on a terminal (weights bytes with rate and ETA, and events), and the
 * quarantine: `sync held` lists the events held back from the server and why, `sync retry ID`
 * sends one again, `sync drop ID` gives it up.
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
import {
  LAST_SERVER_KEY,
  type QuarantineEntry,
  type SyncProgress,
  type SyncStatus,
  SyncWorker,
} from "../sync/worker.ts";
import type { Store } from "../store/store.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type Command, define, type Values } from "./registry.ts";
import {
  humanBytes,
  jsonOut,
  out,
  type ProgressBar,
  progressBar,
  transferBar,
  type TransferState,
} from "./output.ts";
import { noExtra, STORE_HELP, STORE_OPTS, storeFrom } from "./options.ts";

type Action = "push" | "pull" | "status" | "held" | "retry" | "drop";

/** One line per held event. */
function heldLines(held: QuarantineEntry[]): string[] {
  return held.map((q) =>
    `${q.id}  ${q.type.padEnd(22)} ${q.stream}  ${
      q.status === "dropped" ? "dropped: " : ""
    }${q.reason}`
  );
}

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
    held: s.held,
  };
}

/** Prints what a sync action returned, as `--json` or as text. */
function printResult(action: Action, result: unknown, json: boolean): void {
  if (json) jsonOut(result);
  else if (action === "held") {
    const held = result as QuarantineEntry[];
    if (!held.length) out("nothing is held back");
    for (const l of heldLines(held)) out(l);
  } else if (action === "retry" || action === "drop") {
    const r = result as { events: number; held: number };
    out(`sent ${r.events} events, ${r.held} held back`);
  } else if (action === "push") {
    const r = result as { events: number; blobs: number; bytes: number };
    out(`pushed ${r.events} events, ${r.blobs} blobs (${humanBytes(r.bytes)} sent)`);
  } else if (action === "pull") {
    const r = result as { events: number; fresh: number };
    out(`pulled ${r.events} events (${r.fresh} new)`);
  } else {
    const { heldEvents, ...st } = result as Record<string, unknown> & {
      heldEvents: QuarantineEntry[];
    };
    for (const [k, v] of Object.entries(st)) out(`${k.padEnd(14)} ${v ?? "-"}`);
    if (heldEvents.length) {
      out("held back (the rest of each stream waits behind; see sync retry / sync drop):");
      for (const l of heldLines(heldEvents.slice(0, 20))) out(`  ${l}`);
      if (heldEvents.length > 20) out(`  … and ${heldEvents.length - 20} more (sync held)`);
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

const EXAMPLES: Record<Action, string> = {
  push: `  cli.ts sync push --server https://models.example.com --token $TOKEN
  MODELOG_SERVER=http://127.0.0.1:8080 cli.ts sync push --home ./ml-store --json`,
  pull: `  cli.ts sync pull --server https://models.example.com --home ./team-copy
  cli.ts sync pull --json`,
  status: `  cli.ts sync status --server https://models.example.com
  cli.ts sync status --json`,
  held: `  cli.ts sync held --server https://models.example.com`,
  retry: `  cli.ts sync retry 0193a1c2-... --server https://models.example.com`,
  drop: `  cli.ts sync drop 0193a1c2-... --server https://models.example.com --json`,
};

const JSON_SHAPES: Record<Action, string> = {
  push: "{events, blobs, bytes}",
  pull: "{events, fresh}",
  status:
    "{server, pendingEvents, pendingBytes, pushCursor, pullCursor, lastSuccess, lastError,\n            running, bytesSent, held, heldEvents}",
  held: "[{id, seq, stream, type, reason, status, ...}]",
  retry: "{events, held}",
  drop: "{events, held}",
};

const SUMMARIES: Record<Action, string> = {
  push: "Push local events and weights to a modelog server",
  pull: "Pull events from a modelog server",
  status: "Show pending sync work, cursors, the last outcome and what is held back",
  held: "List the events held back from the server, and why",
  retry: "Send a held event again (with the events waiting behind it)",
  drop: "Never send a held event to this server (the events behind it go on)",
};

/** `sync <action>`. */
function syncCommand(action: Action): Command {
  const id = action === "retry" || action === "drop" ? " ID" : "";
  return define(`sync ${action}`, {
    summary: SUMMARIES[action],
    usage: `cli.ts sync ${action}${id} --server URL [--token TOKEN] [--home DIR] [--json]

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
    async run(values, positionals) {
      noExtra(positionals, id ? 1 : 0, `sync ${action}`);
      const target = positionals[0];
      if (id && !target) {
        throw new InvalidArgumentError("ID", target, "is required: a held event's id (sync held)");
      }
      const server = (values.server as string | undefined) ?? Deno.env.get("MODELOG_SERVER");
      if (!server) {
        throw new InvalidArgumentError("--server", server, "is required (or set MODELOG_SERVER)");
      }
      const token = (values.token as string | undefined) ?? Deno.env.get("MODELOG_TOKEN");
      const store = await storeFrom(values, { create: action === "pull" });
      try {
        const bar = transferBar(action === "pull" ? "pulling" : "pushing");
        let onProgress: (p: SyncProgress) => void = () => {};
        const w = new SyncWorker({
          server,
          store,
          ...(token ? { token } : {}),
          onProgress: (p) => onProgress(p),
        });
        if (action === "status") {
          const st = {
            ...statusObject(server, await w.status()),
            heldEvents: await w.quarantined(),
          };
          printResult(action, st, values.json === true);
          return 0;
        }
        if (action === "held") {
          printResult(action, await w.quarantined(), values.json === true);
          return 0;
        }
        const before = action === "pull" ? undefined : await w.status();
        onProgress = progressTotals({
          bytes: 0,
          events: 0,
          ...(before ? { eventsTotal: before.pendingEvents, bytesTotal: before.pendingBytes } : {}),
        }, (s) => bar.update(s));
        const result = action === "push"
          ? await w.push()
          : action === "pull"
          ? await w.pull()
          : action === "retry"
          ? await w.retry(target!)
          : await w.drop(target!);
        bar.end();
        printResult(action, result, values.json === true);
        return 0;
      } finally {
        await store.close();
      }
    },
  });
}

/** The options `models download` takes to fetch weights from a server. */
export const DOWNLOAD_OPTS = {
  server: { type: "string" },
  token: { type: "string" },
} as const;

/**
 * Points `store` at the server of `--server` (or `MODELOG_SERVER`, else the one it last synced
 * with, or none) for missing weights, with a progress bar; returns what ends the bar.
 */
export async function fetchFromServer(store: Store, values: Values): Promise<() => void> {
  const server = (values.server as string | undefined) ?? Deno.env.get("MODELOG_SERVER") ??
    await store.getState(LAST_SERVER_KEY);
  if (!server) return () => {};
  const token = (values.token as string | undefined) ?? Deno.env.get("MODELOG_TOKEN");
  let bar: ProgressBar | undefined;
  const w = new SyncWorker({
    server,
    store,
    ...(token ? { token } : {}),
    onProgress: (p) => (bar ??= progressBar("downloading weights")).update(p.done, p.total),
  });
  store.blobFetcher = (hash) => w.fetchBlob(hash);
  return () => bar?.end();
}

/** The sync commands. */
export const SYNC_COMMANDS: readonly Command[] = [
  syncCommand("push"),
  syncCommand("pull"),
  syncCommand("status"),
  syncCommand("held"),
  syncCommand("retry"),
  syncCommand("drop"),
];

/**
 * The sync commands: `sync push`, `sync pull` and `sync status` against a modelog server, with a
 * progress bar per phase on a terminal, and the quarantine: `sync held` lists the events held
 * back from the server and why, `sync retry ID` sends one again, `sync drop ID` gives it up.
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
import {
  LAST_SERVER_KEY,
  type QuarantineEntry,
  type SyncProgress,
  SyncWorker,
} from "../sync/worker.ts";
import type { Store } from "../store/store.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type Command, define, type Values } from "./registry.ts";
import { out, type ProgressBar, progressBar } from "./output.ts";
import { noExtra, STORE_OPTS, storeFrom } from "./options.ts";

const PHASE_LABELS: Record<SyncProgress["phase"], string> = {
  blob: "uploading weights",
  push: "pushing events",
  pull: "pulling events",
  download: "downloading weights",
};

type Action = "push" | "pull" | "status" | "held" | "retry" | "drop";

/** One line per held event. */
function heldLines(held: QuarantineEntry[]): string[] {
  return held.map((q) =>
    `${q.id}  ${q.type.padEnd(22)} ${q.stream}  ${
      q.status === "dropped" ? "dropped: " : ""
    }${q.reason}`
  );
}

/** Prints what a sync action returned, as `--json` or as text. */
function printResult(action: Action, result: unknown, json: boolean): void {
  if (json) out(JSON.stringify(result));
  else if (action === "held") {
    const held = result as QuarantineEntry[];
    if (!held.length) out("nothing is held back");
    for (const l of heldLines(held)) out(l);
  } else if (action === "retry" || action === "drop") {
    const r = result as { events: number; held: number };
    out(`sent ${r.events} events, ${r.held} held back`);
  } else if (action === "push") {
    const r = result as { events: number; blobs: number; bytes: number };
    out(`pushed ${r.events} events, ${r.blobs} blobs (${r.bytes} bytes sent)`);
  } else if (action === "pull") {
    const r = result as { events: number; fresh: number };
    out(`pulled ${r.events} events (${r.fresh} new)`);
  } else {
    const { heldEvents, ...s } = result as Record<string, unknown> & {
      heldEvents: QuarantineEntry[];
    };
    for (const [k, v] of Object.entries(s)) {
      out(`${k.padEnd(14)} ${v instanceof Date ? v.toISOString() : v ?? "-"}`);
    }
    if (heldEvents.length) {
      out("held back (the rest of each stream waits behind; see sync retry / sync drop):");
      for (const l of heldLines(heldEvents.slice(0, 20))) out(`  ${l}`);
      if (heldEvents.length > 20) out(`  … and ${heldEvents.length - 20} more (sync held)`);
    }
  }
}

/** `sync <action>`. */
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
  --home    the store folder (default $MODELOG_HOME or ~/.modelog)
  --json    machine-readable output`,
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
          : action === "held"
          ? await w.quarantined()
          : action === "retry"
          ? await w.retry(target!)
          : action === "drop"
          ? await w.drop(target!)
          : { ...await w.status(), heldEvents: await w.quarantined() };
        for (const b of bars.values()) b.end();
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
    onProgress: (p) => (bar ??= progressBar(PHASE_LABELS[p.phase])).update(p.done, p.total),
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

/**
 * The modelog command line: `deno run -A cli.ts <command> [options]` (also `deno task cli`).
 * Run `cli.ts --help` for the commands.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { openStore, type Store } from "./lib/store/store.ts";
import { startServer } from "./lib/server/server.ts";
import { type SyncProgress, SyncWorker } from "./lib/sync/worker.ts";
import { InvalidArgumentError, ModelogError } from "./lib/errors.ts";

/** One CLI command. */
export interface Command {
  /** One line of help. */
  summary: string;
  /** Usage text shown by `--help`. */
  usage: string;
  /** Option spec for node:util parseArgs. */
  options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;
  /** Rewrites the arguments before parsing (e.g. to keep `-tag` as a positional). */
  prepareArgs?(args: string[]): string[];
  /** Runs it; returns the exit code. */
  run(args: { values: Record<string, unknown>; positionals: string[] }): Promise<number>;
}

/** Commands by name (sub-commands joined with a space, e.g. "sync push"). */
export const COMMANDS = new Map<string, Command>();

/** Writes a line to stdout. */
export function out(line = ""): void {
  console.log(line);
}

/** Whether stdout is a terminal (progress bars only then). */
export function isTty(): boolean {
  try {
    return Deno.stdout.isTerminal();
  } catch {
    return false;
  }
}

/** A simple progress bar on stderr when stdout is a TTY; silent otherwise. */
export function progressBar(
  label: string,
): { update(done: number, total?: number): void; end(): void } {
  if (!isTty()) return { update() {}, end() {} };
  const enc = new TextEncoder();
  let last = 0;
  return {
    update(done, total) {
      const now = Date.now();
      if (now - last < 80 && (total === undefined || done < total)) return;
      last = now;
      let line: string;
      if (total && total > 0) {
        const pct = Math.min(1, done / total);
        const w = 30;
        const fill = Math.round(pct * w);
        line = `${label} [${"#".repeat(fill)}${"-".repeat(w - fill)}] ${
          (pct * 100).toFixed(0)
        }% ${done}/${total}`;
      } else line = `${label} ${done}`;
      Deno.stderr.writeSync(enc.encode(`\r${line}\x1b[K`));
    },
    end() {
      Deno.stderr.writeSync(enc.encode("\n"));
    },
  };
}

/** Opens the store named by `--home` / `--db`, else the default one. */
export function storeFrom(values: Record<string, unknown>): Promise<Store> {
  const home = values.home as string | undefined;
  const db = values.db as string | undefined;
  return openStore({ ...(home ? { home } : {}), ...(db ? { path: db } : {}) });
}

const STORE_OPTS = {
  home: { type: "string" as const },
  db: { type: "string" as const },
};

COMMANDS.set("serve", {
  summary: "Run the modelog server (sync endpoints, query API, web UI)",
  usage:
    `cli.ts serve [--port 8080] [--hostname 127.0.0.1] [--db PATH|libsql://…] [--blobs DIR] [--tokens FILE]

  --port      TCP port (default 8080)
  --hostname  interface (default 127.0.0.1; without --tokens the server only listens on 127.0.0.1)
  --db        database: a file path / file: URL (default $MODELOG_HOME/server/modelog.db),
              or a libsql:// or http(s):// sqld/Turso URL passed straight to the client
  --db-token  auth token for a remote --db (or env MODELOG_DB_TOKEN)
  --blobs     folder for weights blobs (default: beside the database)
  --tokens    JSON file {"tokens": [{"token": "...", "role": "read|write|admin", "projects": [...]}]}
  --quiet     do not log requests`,
  options: {
    port: { type: "string" },
    hostname: { type: "string" },
    db: { type: "string" },
    "db-token": { type: "string" },
    blobs: { type: "string" },
    tokens: { type: "string" },
    quiet: { type: "boolean" },
  },
  async run({ values }) {
    const port = values.port === undefined ? 8080 : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidArgumentError("--port", values.port, "must be an integer from 0 to 65535");
    }
    const dbToken = (values["db-token"] as string | undefined) ?? Deno.env.get("MODELOG_DB_TOKEN");
    let pages;
    try {
      pages = (await import("./lib/server/ui.ts")).uiPages;
    } catch {
      pages = undefined;
    }
    const server = await startServer({
      port,
      ...(values.hostname ? { hostname: values.hostname as string } : {}),
      ...(values.db ? { db: values.db as string } : {}),
      ...(dbToken ? { dbAuthToken: dbToken } : {}),
      ...(values.blobs ? { blobs: values.blobs as string } : {}),
      ...(values.tokens ? { tokens: values.tokens as string } : {}),
      ...(values.quiet ? { log: () => {} } : {}),
      ...(pages ? { pages } : {}),
    });
    out(
      `modelog server listening on ${server.url}${
        values.tokens ? "" : " (no tokens: 127.0.0.1 only)"
      }`,
    );
    const stop = () => {
      server.close().then(() => Deno.exit(0));
    };
    Deno.addSignalListener("SIGINT", stop);
    Deno.addSignalListener("SIGTERM", stop);
    await new Promise(() => {});
    return 0;
  },
});

function syncCommand(action: "push" | "pull" | "status"): Command {
  return {
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
    async run({ values }) {
      const server = (values.server as string | undefined) ?? Deno.env.get("MODELOG_SERVER");
      if (!server) {
        throw new InvalidArgumentError("--server", server, "is required (or set MODELOG_SERVER)");
      }
      const token = (values.token as string | undefined) ?? Deno.env.get("MODELOG_TOKEN");
      const store = await storeFrom(values);
      try {
        const bars = new Map<string, ReturnType<typeof progressBar>>();
        const onProgress = (p: SyncProgress) => {
          let b = bars.get(p.phase);
          if (!b) {
            bars.set(
              p.phase,
              b = progressBar(
                p.phase === "blob"
                  ? "uploading weights"
                  : p.phase === "push"
                  ? "pushing events"
                  : "pulling events",
              ),
            );
          }
          b.update(p.done, p.total);
        };
        const w = new SyncWorker({ server, store, ...(token ? { token } : {}), onProgress });
        let result: unknown;
        if (action === "push") result = await w.push();
        else if (action === "pull") result = await w.pull();
        else result = await w.status();
        for (const b of bars.values()) b.end();
        if (values.json) out(JSON.stringify(result));
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
        return 0;
      } finally {
        await store.close();
      }
    },
  };
}
COMMANDS.set("sync push", syncCommand("push"));
COMMANDS.set("sync pull", syncCommand("pull"));
COMMANDS.set("sync status", syncCommand("status"));

COMMANDS.set("rebuild", {
  summary: "Replay the event log into fresh projections",
  usage: `cli.ts rebuild [--home DIR] [--json]`,
  options: { ...STORE_OPTS, json: { type: "boolean" } },
  async run({ values }) {
    const store = await storeFrom(values);
    try {
      const bar = progressBar("replaying events");
      const r = await store.rebuild({ onProgress: (n) => bar.update(n) });
      bar.end();
      if (values.json) out(JSON.stringify(r));
      else out(`rebuilt projections from ${r.events} events in ${r.ms.toFixed(0)} ms`);
      return 0;
    } finally {
      await store.close();
    }
  },
});

function help(): string {
  const lines = [
    "modelog — a local-first model registry",
    "",
    "Usage: cli.ts <command> [options]   (--help on any command)",
    "",
    "Commands:",
  ];
  for (const [name, c] of [...COMMANDS].sort()) lines.push(`  ${name.padEnd(22)} ${c.summary}`);
  return lines.join("\n");
}

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    out(help());
    return argv.length === 0 ? 2 : 0;
  }
  let name = argv[0]!;
  let rest = argv.slice(1);
  if (!COMMANDS.has(name) && rest.length && COMMANDS.has(`${name} ${rest[0]}`)) {
    name = `${name} ${rest[0]}`;
    rest = rest.slice(1);
  }
  const cmd = COMMANDS.get(name);
  if (!cmd) {
    const subs = [...COMMANDS.keys()].filter((k) => k.startsWith(name + " "));
    if (subs.length && (rest.length === 0 || rest[0] === "--help")) {
      out(`Usage: cli.ts ${name} <${subs.map((s) => s.split(" ")[1]).join("|")}> [options]`);
      return rest[0] === "--help" ? 0 : 2;
    }
    console.error(
      `error: unknown command ${JSON.stringify(argv.slice(0, 2).join(" "))} (see cli.ts --help)`,
    );
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    out(cmd.usage);
    return 0;
  }
  let parsed;
  try {
    parsed = parseArgs({
      args: cmd.prepareArgs ? cmd.prepareArgs(rest) : rest,
      options: cmd.options,
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    console.error(`error: ${(e as Error).message} (see cli.ts ${name} --help)`);
    return 2;
  }
  try {
    return await cmd.run(parsed as { values: Record<string, unknown>; positionals: string[] });
  } catch (e) {
    if (e instanceof ModelogError) {
      console.error(`error: ${e.code}: ${e.message}`);
      return 1;
    }
    console.error(`error: ${(e as Error)?.message ?? e}`);
    return 1;
  }
}

if (import.meta.main) {
  try {
    // The commands module gets the registry handed over: a static import of cli.ts from there
    // would wait on this module's own top-level await, a deadlock.
    const mod = await import("./lib/cli/commands.ts");
    mod.registerCommands({ COMMANDS, out, isTty, progressBar, storeFrom });
  } catch (e) {
    if (!(e instanceof TypeError) || !String(e.message).includes("Module not found")) throw e;
  }
  Deno.exit(await main(Deno.args));
}

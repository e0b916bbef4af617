/**
 * The server commands: `serve` (a modelog server: sync endpoints, query API, web UI) and `ui`
 * (the local store in the web UI, read-only, on 127.0.0.1). Both run until SIGINT or SIGTERM,
 * then close and exit 0.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidArgumentError } from "../errors.ts";
 * import { UsageError } from "./registry.ts";
 * import { SERVE_COMMANDS } from "./serve_cmds.ts";
 *
 * const [serve, ui] = SERVE_COMMANDS;
 * assert.ok(serve!.usage.includes("default 8080") && ui!.usage.includes("default 8081"));
 * assert.equal(serve!.name, "serve");
 * assert.equal(ui!.name, "ui");
 * // A bad port is refused before anything is opened.
 * await assert.rejects(() => serve!.run({ port: "http" }, []), InvalidArgumentError);
 * await assert.rejects(() => ui!.run({ port: "99999" }, []), UsageError);
 * ```
 *
 * @module
 */
import { type RunningServer, startServer } from "../server/server.ts";
import { uiPages } from "../server/ui.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type Command, define } from "./registry.ts";
import { out } from "./output.ts";
import { intOpt, noExtra, STORE_HELP, STORE_OPTS, storeFrom } from "./options.ts";

/** The port `serve` listens on by default. */
export const SERVE_PORT = 8080;
/** The port `ui` listens on by default (not {@link SERVE_PORT}: both may run at once). */
export const UI_PORT = 8081;

/**
 * Starts a server, turning "address in use" into an error that names the port and the flag.
 *
 * @param what the command, for the message
 * @param port the port asked for
 * @param start starts the server
 * @returns the running server
 */
async function listen(
  what: string,
  port: number,
  start: () => Promise<RunningServer>,
): Promise<RunningServer> {
  try {
    return await start();
  } catch (e) {
    if (e instanceof Deno.errors.AddrInUse) {
      throw new InvalidArgumentError(
        "--port",
        port,
        `is already in use (another modelog \`${what}\` or other program): pass --port N for ` +
          "another port, or --port 0 for a free one",
      );
    }
    throw e;
  }
}

/** Closes `server` (then runs `after`) on SIGINT or SIGTERM and exits 0; never resolves. */
function runUntilSignal(server: RunningServer, after?: () => Promise<void>): Promise<never> {
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    server.close().then(() => after?.()).finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  return new Promise<never>(() => {});
}

const serve: Command = define("serve", {
  summary: "Run the modelog server (sync endpoints, query API, web UI)",
  usage:
    `cli.ts serve [--port ${SERVE_PORT}] [--hostname 127.0.0.1] [--db PATH|libsql://…|postgres://…] [--blobs DIR|s3://bucket/prefix] [--tokens FILE]

  --port      TCP port (default ${SERVE_PORT}; 0 picks a free one)
  --hostname  interface (default 127.0.0.1; without --tokens the server only listens on 127.0.0.1)
  --db        database: a file path / file: URL (default $MODELOG_HOME/server/modelog.db),
              a libsql:// or http(s):// sqld/Turso URL passed straight to the client,
              or a postgres:// URL (several instances may share one PostgreSQL)
  --db-token  auth token for a remote --db (or env MODELOG_DB_TOKEN)
  --blobs     folder for weights blobs (default: beside the database), or s3://bucket/prefix
              (credentials from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
  --s3-endpoint  S3-compatible service URL (default AWS_ENDPOINT_URL, else AWS S3)
  --s3-region    S3 region (default AWS_REGION, else us-east-1)
  --tokens    JSON file {"tokens": [{"token": "...", "role": "read|write|admin", "projects": [...]}]}
  --quiet     do not log requests

Examples:
  cli.ts serve --db ./server/modelog.db
  cli.ts serve --hostname 0.0.0.0 --port 9000 --tokens tokens.json
  cli.ts serve --db postgres://modelog@db/modelog --blobs s3://team-weights/modelog --s3-endpoint http://minio:9000`,
  options: {
    port: { type: "string" },
    hostname: { type: "string" },
    db: { type: "string" },
    "db-token": { type: "string" },
    blobs: { type: "string" },
    "s3-endpoint": { type: "string" },
    "s3-region": { type: "string" },
    tokens: { type: "string" },
    quiet: { type: "boolean" },
  },
  async run(values) {
    const port = values.port === undefined ? SERVE_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new InvalidArgumentError("--port", values.port, "must be an integer from 0 to 65535");
    }
    const dbToken = (values["db-token"] as string | undefined) ?? Deno.env.get("MODELOG_DB_TOKEN");
    const server = await listen("serve", port, () =>
      startServer({
        port,
        ...(values.hostname ? { hostname: values.hostname as string } : {}),
        ...(values.db ? { db: values.db as string } : {}),
        ...(dbToken ? { dbAuthToken: dbToken } : {}),
        ...(values.blobs ? { blobs: values.blobs as string } : {}),
        ...(values["s3-endpoint"] ? { s3Endpoint: values["s3-endpoint"] as string } : {}),
        ...(values["s3-region"] ? { s3Region: values["s3-region"] as string } : {}),
        ...(values.tokens ? { tokens: values.tokens as string } : {}),
        ...(values.quiet ? { log: () => {} } : {}),
        pages: uiPages,
      }));
    out(
      `modelog server listening on ${server.url}${
        values.tokens ? "" : " (no tokens: 127.0.0.1 only)"
      }`,
    );
    return await runUntilSignal(server);
  },
});

const ui: Command = define("ui", {
  summary: "Browse the local store in a web UI (read-only, 127.0.0.1)",
  usage: `cli.ts ui [--port ${UI_PORT}] [--home DIR] [--verbose]

  --port N     TCP port on 127.0.0.1 (default ${UI_PORT}; 0 picks a free one)
  --verbose    log requests
${STORE_HELP}

Examples:
  cli.ts ui --home ./ml-store
  cli.ts ui --port 0 --verbose`,
  options: { ...STORE_OPTS, port: { type: "string" }, verbose: { type: "boolean" } },
  async run(values, positionals) {
    noExtra(positionals, 0, "ui");
    const port = intOpt(values.port, "--port", 0, 65535) ?? UI_PORT;
    const store = await storeFrom(values);
    let server;
    try {
      server = await listen("ui", port, () =>
        startServer({
          store,
          readOnly: true,
          pages: uiPages,
          port,
          hostname: "127.0.0.1",
          ...(values.verbose ? {} : { log: () => {} }),
        }));
    } catch (e) {
      await store.close();
      throw e;
    }
    out(`modelog UI (read-only) at ${server.url}/ over ${store.path}`);
    return await runUntilSignal(server, () => store.close());
  },
});

/** The server commands. */
export const SERVE_COMMANDS: readonly Command[] = [serve, ui];

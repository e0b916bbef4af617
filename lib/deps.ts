// Every third-party import of the library, by fully qualified and pinned specifier, so that a
// script importing mod.ts by URL resolves exactly what our tests ran against.
export { createClient, LibsqlError } from "npm:@libsql/client@0.17.4";
// The native driver `@libsql/client` runs on (the same package and version its lock resolves),
// used directly for local files so that prepared statements are kept and reused.
import NativeDatabase from "npm:libsql@0.5.29";
export { NativeDatabase };
/** A native connection. */
export type NativeConnection = NativeDatabase.Database;
/** A native prepared statement. */
export type NativeStatement = NativeDatabase.Statement;
export type {
  Client,
  InStatement,
  InValue,
  ResultSet,
  Row,
  Transaction,
} from "npm:@libsql/client@0.17.4";
// PostgreSQL driver for the server database (porsager's postgres.js: one package, no
// dependencies, pipelining, prepared statements by default).
export { default as postgres } from "npm:postgres@3.4.9";
export type { Sql, TransactionSql } from "npm:postgres@3.4.9";
// AWS Signature V4 over fetch, for S3-compatible blob storage (one package, no dependencies).
export { AwsClient } from "npm:aws4fetch@1.0.20";
// SHA-256 (WebAssembly) whose running state can be saved and loaded: an upload's hash carried
// between server instances through the database.
export { createSHA256 } from "npm:hash-wasm@4.12.0";
export type { IHasher } from "npm:hash-wasm@4.12.0";
export * as zipjs from "npm:@zip.js/zip.js@2.8.11";
export { parse as csvParse } from "npm:csv-parse@5.6.0/sync";
export { stringify as csvStringify } from "npm:csv-stringify@6.5.2/sync";

/** Loads the plotly.js bundle (minified, about 4.7 MB) as text, from the pinned npm package. */
export async function loadPlotlyJs(): Promise<string> {
  const mod = await import("npm:plotly.js-dist-min@3.1.0/plotly.min.js", {
    with: { type: "text" },
  });
  return mod.default as string;
}

// The server's HTTP layer: routing, middleware, cookies.
export { Hono } from "npm:hono@4.13.19";
export type { Context, Env, MiddlewareHandler, Next } from "npm:hono@4.13.19";
export { HTTPException } from "npm:hono@4.13.19/http-exception";
export { bearerAuth } from "npm:hono@4.13.19/bearer-auth";
export { bodyLimit } from "npm:hono@4.13.19/body-limit";
export { csrf } from "npm:hono@4.13.19/csrf";
export { getCookie, setCookie } from "npm:hono@4.13.19/cookie";
export { timeout } from "npm:hono@4.13.19/timeout";

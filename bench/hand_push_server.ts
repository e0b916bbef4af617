/**
 * The sync benchmark's baseline server for push ingest: `Deno.serve` answering the two routes a
 * push uses, `GET /v1/health` (the real server's answer, given) and `POST /v1/events` (the body
 * parsed and handed to {@link HandIngest}), and nothing else: no router, no auth, no limits.
 *
 * Run: `deno run -A bench/hand_push_server.ts <store file> <health JSON>`; prints
 * `listening on <url>`.
 *
 * @module
 */
import { HandIngest } from "./hand_ingest.ts";

const [path, healthText] = Deno.args;
if (!path || !healthText) throw new Error("usage: hand_push_server.ts <store file> <health JSON>");
const health = JSON.parse(healthText) as Record<string, unknown>;
const ingest = new HandIngest(path);
let seq = 0;

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, async (req) => {
  const url = new URL(req.url);
  if (req.method === "GET" && url.pathname === "/v1/health") {
    return Response.json({ ...health, seq });
  }
  if (req.method === "POST" && url.pathname === "/v1/events") {
    const { events } = JSON.parse(await req.text());
    const r = ingest.ingest(events, true);
    seq = r.seq;
    return Response.json({ accepted: r.accepted, duplicates: events.length - r.accepted, seq });
  }
  return Response.json({ error: { code: "NOT_FOUND" } }, { status: 404 });
});

Deno.addSignalListener("SIGTERM", async () => {
  await server.shutdown();
  ingest.close();
  Deno.exit(0);
});

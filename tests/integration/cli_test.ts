import { readAll, readOne } from "../../lib/store/raw.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Model, openStore } from "../../mod.ts";
import { buildVariedStore } from "../fixtures/helpers.ts";
import { CLI, cli, ok, type Run } from "../fixtures/cli_run.ts";

function json<T = any>(r: Run, what: string): T {
  ok(r, what);
  return JSON.parse(r.stdout) as T;
}

/** A failure: the given exit code and exactly one line on stderr matching `re`. */
function fails(r: Run, code: number, re: RegExp): void {
  assert.equal(r.code, code, `expected exit ${code}, got ${r.code}: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one error line: ${r.stderr}`);
  assert.match(lines[0]!, re);
}

const ids = (ms: { id: string }[]) => ms.map((m) => m.id);

Deno.test("cli.ts: every command as a subprocess over a seeded store", async (t) => {
  const home = await Deno.makeTempDir({ prefix: "modelog-cli-" });
  try {
    const store = await openStore({ home });
    const seeded = await buildVariedStore(store, home);
    const q = async (o: Parameters<typeof Model.queryModels>[0]) =>
      ids(await Model.queryModels({ ...o, store }));
    const expected = {
      all: await q({}),
      archived: await q({ includeArchived: true }),
      tags: await q({ tags: ["odd", "-t1"] }),
      published: await q({ onlyPublished: true }),
      vision: await q({ projectName: "vision", metadata: { best: "true" } }),
    };
    const withWeights = (await Model.queryModels({ store })).find((m) =>
      m.url.startsWith("file://") && m.hash
    )!;
    const scalarModel = seeded.models[0]!;
    await store.close();
    const H = ["--home", home];

    await t.step("help", async () => {
      const r = ok(await cli(["--help"]), "--help");
      for (const c of ["models list", "models show", "models tag", "doctor", "ui", "export-csv"]) {
        assert.ok(r.stdout.includes(c), `help lists ${c}`);
      }
      const names = [
        "models list",
        "models show",
        "models history",
        "models publish",
        "models archive",
        "models unarchive",
        "models tag",
        "models download",
        "report",
        "export-csv",
        "ui",
        "doctor",
      ];
      const runs = await Promise.all(names.map((n) => cli([...n.split(" "), "--help"])));
      runs.forEach((r, i) => {
        ok(r, `${names[i]} --help`);
        assert.ok(r.stdout.startsWith(`cli.ts ${names[i]}`), r.stdout);
        assert.ok(r.stdout.includes("--home"), `${names[i]} --help mentions --home`);
      });
    });

    await t.step("models list: filters, --json, table, paging", async () => {
      const [all, arch, tags, pub, vis, table] = await Promise.all([
        cli(["models", "list", "--json", "--limit", "0", ...H]),
        cli(["models", "list", "--json", "--archived", "--limit", "0", ...H]),
        cli(["models", "list", "--json", "--tags", "odd,-t1", ...H]),
        cli(["models", "list", "--json", "--published", ...H]),
        cli(["models", "list", "--json", "--project", "vision", "--metadata", "best=true", ...H]),
        cli(["models", "list", ...H]),
      ]);
      assert.deepEqual(ids(json(all, "list").models), expected.all);
      assert.ok(expected.archived.length > expected.all.length);
      assert.deepEqual(ids(json(arch, "list --archived").models), expected.archived);
      assert.deepEqual(ids(json(tags, "list --tags").models), expected.tags);
      assert.ok(expected.tags.length > 0);
      assert.deepEqual(ids(json(pub, "list --published").models), expected.published);
      assert.deepEqual(ids(json(vis, "list --metadata").models), expected.vision);
      const first = json(all, "list").models[0];
      for (const k of ["id", "name", "project", "tags", "published", "archived", "lastUpdate"]) {
        assert.ok(k in first, `JSON has ${k}`);
      }
      ok(table, "list");
      const lines = table.stdout.trim().split("\n");
      assert.match(
        lines[0]!,
        /^ID\s+NAME\s+PROJECT\s+FRAMEWORK\s+TAGS\s+PUB\s+ARCH\s+LAST UPDATE$/,
      );
      assert.equal(lines.length, expected.all.length + 1);
      assert.ok(lines[1]!.startsWith(expected.all[0]!));

      const page1 = ok(await cli(["models", "list", "--limit", "4", ...H]), "list --limit");
      const more = /\(more: --after (\S+)\)/.exec(page1.stdout);
      assert.ok(more, page1.stdout);
      const rest = json(
        await cli(["models", "list", "--json", "--after", more[1]!, ...H]),
        "after",
      ).models;
      const shown = page1.stdout.trim().split("\n").slice(1, 5).map((l) => l.split(/\s+/)[0]!);
      assert.deepEqual([...shown, ...ids(rest)], expected.all);
    });

    await t.step("models show and history", async () => {
      const [show, human, hist] = await Promise.all([
        cli(["models", "show", scalarModel, "--json", ...H]),
        cli(["models", "show", withWeights.id, ...H]),
        cli(["models", "history", scalarModel, "--json", "--limit", "500", ...H]),
      ]);
      const s = json(show, "show");
      assert.equal(s.model.id, scalarModel);
      assert.ok("epochs" in s.metadata);
      assert.equal(typeof s.singleValues.f1, "number");
      assert.ok(s.scalarSummary.some((x: { title: string }) => x.title === "loss"));
      assert.ok(s.plots.some((p: { kind: string }) => p.kind === "histogram"));
      assert.deepEqual(Object.keys(s.lineage), ["task", "originalTask", "parent", "inputOf"]);
      ok(human, "show");
      assert.match(human.stdout, new RegExp(`^id\\s+${withWeights.id}$`, "m"));
      assert.match(human.stdout, new RegExp(`^sha256\\s+${withWeights.hash}$`, "m"));
      assert.match(human.stdout, /^blob stored\s+yes$/m);
      assert.match(human.stdout, /^metadata:$/m);
      const h = json<{ entries: { type: string; at: string; actor: string }[] }>(
        hist,
        "history",
      ).entries;
      assert.equal(h[h.length - 1]!.type, "model.created");
      const times = h.map((e) => Date.parse(e.at));
      assert.deepEqual(times, [...times].sort((a, b) => b - a), "newest first");
      const humanHist = ok(await cli(["models", "history", scalarModel, ...H]), "history");
      assert.match(humanHist.stdout, /^WHEN\s+ACTOR\s+TYPE\s+CHANGES$/m);
    });

    await t.step("models tag, publish, archive, unarchive", async () => {
      const id = expected.all.find((x) => !expected.published.includes(x))!;
      const tagged = json(
        await cli(["models", "tag", id, "+fresh", "-odd", "--json", "-even", "more", ...H]),
        "tag",
      );
      assert.ok(tagged.tags.includes("fresh") && tagged.tags.includes("more"));
      assert.ok(!tagged.tags.includes("odd") && !tagged.tags.includes("even"));
      const human = ok(await cli(["models", "tag", ...H, id, "-more"]), "tag (human)");
      assert.match(human.stdout, /tags: .*fresh/);
      assert.doesNotMatch(human.stdout, /more/);
      assert.deepEqual(
        ids(json(await cli(["models", "list", "--tags", "fresh", "--json", ...H]), "list").models),
        [id],
      );
      const arch = json(await cli(["models", "archive", id, "--json", ...H]), "archive");
      assert.deepEqual(arch, { id, published: false, archived: true });
      assert.ok(
        !ids(json(await cli(["models", "list", "--json", ...H]), "list").models).includes(id),
      );
      ok(await cli(["models", "unarchive", id, ...H]), "unarchive");
      const pub = ok(await cli(["models", "publish", id, ...H]), "publish");
      assert.match(pub.stdout, new RegExp(`^published ${id}`));
      const s = json(await cli(["models", "show", id, "--json", ...H]), "show");
      assert.equal(s.model.published, true);
      assert.equal(s.model.archived, false);
    });

    await t.step("download, report, export-csv", async () => {
      const out = join(home, "out");
      const dl = json(
        await cli(["models", "download", withWeights.id, join(out, "w"), "--json", ...H]),
        "download",
      );
      const src = new URL(withWeights.url).pathname;
      assert.deepEqual(await Deno.readFile(dl.path), await Deno.readFile(src));
      const rel = ok(
        await cli(["models", "download", withWeights.id, ...H], { cwd: out }),
        "download to cwd",
      );
      assert.equal(rel.stdout.trim(), join(out, src.split("/").pop()!));

      const rep = ok(await cli(["report", scalarModel, "-o", join(out, "r.html"), ...H]), "report");
      assert.match(rep.stdout, /^wrote /);
      const html = await Deno.readTextFile(join(out, "r.html"));
      assert.ok(html.startsWith("<!DOCTYPE html>") && html.includes("loss"));

      const csv = json(
        await cli(["export-csv", scalarModel, "-o", join(out, "s.csv"), "--json", ...H]),
        "export-csv",
      );
      const text = await Deno.readTextFile(join(out, "s.csv"));
      assert.ok(text.startsWith("title,series,iteration,value"));
      assert.equal(text.trim().split("\n").length, csv.rows + 1);
      assert.ok(csv.rows >= 10);
    });

    await t.step(
      "doctor: passes without changing the store, then finds a corrupt blob",
      async () => {
        const before = await openStore({ home });
        const dump = JSON.stringify(await before.dump());
        const events =
          (await readOne<{ n: number }>(before, "SELECT count(*) AS n FROM events"))!.n;
        const blobPath = before.blobs.pathOf(withWeights.hash);
        await before.close();

        const r = json(await cli(["doctor", "--json", ...H]), "doctor");
        assert.equal(r.ok, true);
        assert.equal(r.schema.ok, true);
        assert.equal(r.projections.checked, true);
        assert.equal(r.projections.ok, true);
        assert.equal(r.projections.events, events);
        assert.ok(r.blobs.referenced >= 1);
        assert.equal(r.blobs.mismatched.length, 0);
        const human = ok(await cli(["doctor", ...H]), "doctor");
        assert.match(human.stdout, /doctor: ok\s*$/);

        const after = await openStore({ home });
        assert.equal(JSON.stringify(await after.dump()), dump, "doctor changed nothing");
        assert.equal(
          (await readOne<{ n: number }>(after, "SELECT count(*) AS n FROM events"))!.n,
          events,
        );
        // A projection that drifted from the log is found (and `rebuild` repairs it).
        await readAll(after, "UPDATE models SET name = 'tampered' WHERE id = ?", [scalarModel]);
        await after.close();
        const drift = await cli(["doctor", ...H]);
        assert.equal(drift.code, 1);
        assert.match(drift.stdout, /^projections .*FAILED/m);
        assert.match(
          drift.stdout,
          /^ {2}models: 1 rows only in the projection, 1 only in the replay$/m,
        );
        assert.match(drift.stdout, /projection has .*tampered/);
        ok(await cli(["rebuild", ...H]), "rebuild");
        const repaired = await cli(["doctor", ...H]);
        assert.equal(repaired.code, 0, `after rebuild: ${repaired.stdout}${repaired.stderr}`);

        await Deno.chmod(blobPath, 0o644);
        await Deno.writeTextFile(blobPath, "corrupted");
        const bad = await cli(["doctor", ...H]);
        assert.equal(bad.code, 1);
        assert.match(bad.stdout, new RegExp(`MISMATCH ${withWeights.hash}`));
        assert.match(bad.stdout, /doctor: problems found/);
        const badJson = JSON.parse((await cli(["doctor", "--json", ...H])).stdout);
        assert.equal(badJson.ok, false);
        assert.equal(badJson.blobs.mismatched[0].hash, withWeights.hash);
        await Deno.remove(blobPath);
        const missing = await cli(["doctor", "--json", ...H]);
        assert.equal(missing.code, 0, "a missing blob is a warning");
        assert.equal(JSON.parse(missing.stdout).blobs.missing.length, 1);
        assert.equal((await cli(["doctor", "--strict", ...H])).code, 1);
      },
    );

    await t.step("errors: unknown id, bad flags, missing arguments", async () => {
      const runs = await Promise.all([
        cli(["models", "show", "nope", ...H]),
        cli(["models", "history", "nope", ...H]),
        cli(["models", "publish", "nope", ...H]),
        cli(["report", "nope", "-o", join(home, "x.html"), ...H]),
        cli(["models", "list", "--bogus", ...H]),
        cli(["models", "list", "--limit", "x", ...H]),
        cli(["models", "list", "--metadata", "novalue", ...H]),
        cli(["models", "show", ...H]),
        cli(["report", scalarModel, ...H]),
        cli(["models", "tag", scalarModel, ...H]),
        cli(["models", "show", "a", "b", ...H]),
        cli(["ui", "--port", "99999", ...H]),
        cli(["frobnicate"]),
        cli(["models", "frobnicate"]),
      ]);
      const [show, hist, pub, rep, bogus, limit, md, noId, noOut, noTags, extra, port, cmd, sub] =
        runs;
      for (const r of [show, hist, pub, rep]) fails(r!, 1, /^error: MODEL_NOT_FOUND: .*"nope"/);
      fails(bogus!, 2, /^error: Unknown option '--bogus'/);
      fails(limit!, 2, /^error: --limit must be an integer/);
      fails(md!, 2, /^error: --metadata must be key=value/);
      fails(noId!, 2, /^error: models show: a model ID is required/);
      fails(noOut!, 2, /^error: report: -o FILE is required/);
      fails(noTags!, 2, /^error: models tag: give at least one/);
      fails(extra!, 2, /^error: models show: unexpected argument "b"/);
      fails(port!, 2, /^error: --port must be an integer from 0 to 65535/);
      fails(cmd!, 2, /^error: unknown command/);
      fails(sub!, 2, /^error: unknown command/);
    });

    await t.step("ui: serves the store read-only on 127.0.0.1", async () => {
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", CLI, "ui", "--port", "0", ...H],
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      try {
        const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        while (!text.includes("\n")) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
        reader.releaseLock();
        const url = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(text)?.[1];
        assert.ok(url, text);
        const page = await fetch(`${url}/`);
        assert.equal(page.status, 200);
        const html = await page.text();
        assert.ok(expected.all.every((id) => html.includes(id)));
        const model = await fetch(`${url}/models/${scalarModel}`);
        assert.equal(model.status, 200);
        assert.match(await model.text(), /id="modelog-figures"/);
        const post = await fetch(`${url}/v1/events`, { method: "POST", body: "{}" });
        await post.body?.cancel();
        assert.equal(post.status, 403);
      } finally {
        child.kill("SIGTERM");
        const status = await child.status;
        await child.stdout.cancel().catch(() => {});
        await child.stderr.cancel();
        assert.equal(status.code, 0);
      }
    });
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

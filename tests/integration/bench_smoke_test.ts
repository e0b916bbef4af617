/**
 * Smoke test of the benchmarks' output contract: the quick mode (`BENCH_QUICK=1`) of the
 * cheapest benchmark, `bench/reports_bench.ts`, with its sizes shrunk further, must print a
 * PASS or MISS verdict line for every target it measures (whether the targets are met is the
 * benchmark's business, not this test's).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { parseVerdicts } from "../../bench/stats.ts";

const REPORTS_BENCH = fileURLToPath(new URL("../../bench/reports_bench.ts", import.meta.url));

/** The targets the reports benchmark measures, as the start of their names. */
const TARGETS = [
  /^write .* \/ hand-packed writer$/,
  /^peak RSS reporting /,
  /^read .* of one series \/ hand reader$/,
  /^read .* via iterateReportedScalars \/ hand reader$/,
  /^peak RSS reading /,
];

Deno.test("reports bench quick mode prints a PASS or MISS verdict for each target", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", REPORTS_BENCH],
    env: {
      BENCH_QUICK: "1",
      BENCH_WRITE_POINTS: "20000",
      BENCH_MEM_POINTS: "40000",
      BENCH_READ_POINTS: "20000",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `the benchmark failed:\n${new TextDecoder().decode(out.stderr)}`);
  const verdicts = parseVerdicts(stdout);
  assert.equal(verdicts.length, TARGETS.length, stdout);
  for (const re of TARGETS) {
    const v = verdicts.filter((t) => re.test(t.name));
    assert.equal(v.length, 1, `one verdict for ${re}: ${stdout}`);
    assert.ok(v[0]!.verdict === "PASS" || v[0]!.verdict === "MISS", JSON.stringify(v[0]));
    assert.equal(v[0]!.verdict === "PASS", v[0]!.pass);
    assert.notEqual(v[0]!.figure, "");
  }
  // The human table carries the same verdicts, one row per target.
  const rows = stdout.split("\n").filter((l) => /^\| reports .*\| (PASS|MISS) +\|$/.test(l));
  assert.equal(rows.length, TARGETS.length, stdout);
});

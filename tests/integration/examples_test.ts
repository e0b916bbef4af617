/**
 * Runs every script in `examples/` as a subprocess with its own empty `MODELOG_HOME`, and checks
 * that it exits 0 and prints what it is about. The demo runs twice on the same home (it must be
 * re-runnable).
 *
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const EXAMPLES = fileURLToPath(new URL("../../examples/", import.meta.url));

/** A line each example must print (a regular expression over stdout). */
const EXPECTED: Record<string, RegExp> = {
  "demo.ts": /published [0-9a-f]{32}[\s\S]*HTML report: [\s\S]*logreg \(demo\)/,
  "import_model.ts": /second import reused: true same id: true/,
  "input_model_registered.ts": /found by name: backbone \(same model: true/,
  "manual_output_model.ts": /labels: \{"background":0,"label":255\}/,
  "query_models.ts": /found 2 model\(s\)[\s\S]*demo-archived[\s\S]*demo-torch/,
  "report_confusion_matrix.ts": /confusion_matrix example confusion matrix: 10x10/,
  "report_histogram.ts": /histogram histogram example\/histogram series: 2 trace\(s\)/,
  "report_line_plot.ts": /line plot: traces sin, cos/,
  "report_scalars.ts": /loss\/train: 20 points, last 0\.05 at 19/,
  "report_scatter2d.ts": /scatter2d series @0: 10 points, mode lines/,
  "report_scatter3d.ts": /example_scatter_3d_multi: 2 trace\(s\)/,
  "report_single_value.ts": /single values: \{"accuracy":0\.941,"mAP":0\.71\}/,
  "report_surface.ts": /surface: surface/,
  "report_table.ts": /table csv url: 4 columns x 4 rows/,
  "report_vector.ts": /vector: barmode group, 2 traces/,
  "update_weights.ts": /weights updates recorded: 5/,
  "seed_literal.ts": /seed samples: 11 plots, JSON/,
};

async function runExample(file: string, home: string): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(EXAMPLES, file)],
    env: { MODELOG_HOME: home, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const stderr = new TextDecoder().decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(
      `${file} exited with ${out.code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`,
    );
  }
  return stdout;
}

const files: string[] = [];
for await (const e of Deno.readDir(EXAMPLES)) {
  if (e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_")) files.push(e.name);
}
files.sort();

Deno.test("every example has an expected output", () => {
  const missing = files.filter((f) => !(f in EXPECTED));
  if (missing.length) throw new Error(`no expected output for ${missing.join(", ")}`);
});

for (const file of files) {
  Deno.test(`examples/${file} runs on an empty MODELOG_HOME and exits 0`, async () => {
    const home = await Deno.makeTempDir({ prefix: "modelog-example-test-" });
    try {
      const runs = file === "demo.ts" ? 2 : 1;
      for (let i = 0; i < runs; i++) {
        const stdout = await runExample(file, home);
        const want = EXPECTED[file];
        if (want && !want.test(stdout)) {
          throw new Error(`${file} (run ${i + 1}) did not print ${want}\n--- stdout\n${stdout}`);
        }
      }
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  });
}

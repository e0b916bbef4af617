import assert from "node:assert/strict";
import { loadPlotlyJs } from "../../lib/deps.ts";
import { renderReportHtml } from "../../lib/reports/html.ts";
import { snapshot } from "../fixtures/report_snapshot.ts";
import { isLocalUrl, launchBrowser, openAndCheck } from "./browser.ts";

// The op and resource sanitizers are on (deno task test:browser passes --sanitize-ops and
// --sanitize-resources): launchBrowser().close() ends Chromium and its connection and removes
// the profile, and the finally block removes the temp dir even when an assertion fails.
Deno.test({
  name: "the HTML report renders every figure in Chromium offline, without errors",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "modelog-report-" });
    const launched = await launchBrowser();
    try {
      const s = snapshot();
      const html = renderReportHtml(s, { plotlyJs: await loadPlotlyJs() });
      const file = `${dir}/report.html`;
      await Deno.writeTextFile(file, html);
      // Keep a copy next to the screenshot for looking at by hand (tests/out/ is git-ignored).
      await Deno.mkdir(new URL("../out/", import.meta.url), { recursive: true });
      await Deno.writeTextFile(new URL("../out/report.html", import.meta.url), html);
      const page = await launched.browser.newPage();
      const check = await openAndCheck(page, `file://${file}`, {
        readyExpression: "window.modelogReady !== undefined",
      });
      assert.deepEqual(await page.evaluate("window.modelogReady"), true);
      const expected = s.scalars.length + s.plots.length;
      const counts = await page.evaluate(`(() => {
        const plots = [...document.querySelectorAll(".chart")];
        return {
          charts: plots.length,
          rendered: plots.filter((d) => d.classList.contains("js-plotly-plot")).length,
          withSvg: plots.filter((d) => d.querySelector("svg.main-svg")).length,
          all: document.querySelectorAll(".js-plotly-plot").length,
        };
      })()`);
      assert.deepEqual(counts, {
        charts: expected,
        rendered: expected,
        withSvg: expected,
        all: expected,
      });
      assert.deepEqual(check.consoleErrors, []);
      assert.deepEqual(check.pageErrors, []);
      assert.deepEqual(check.failedRequests, []);
      const outside = check.requests.filter((u) => !isLocalUrl(u));
      assert.deepEqual(outside, []);
      await page.screenshot({
        path: new URL("../out/report.png", import.meta.url).pathname as `${string}.png`,
        fullPage: true,
      });
      await page.close();
    } finally {
      await launched.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

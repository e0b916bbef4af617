/**
 * Exports of a model's reports to files: every scalar as CSV, and the self-contained HTML
 * report (plotly inlined). `BaseModel.exportScalarsCsv` and `BaseModel.writeReport` read the
 * model back, then call these.
 *
 * @module
 */
import { InvalidArgumentError } from "../errors.ts";
import { scalarsToCsv } from "../reports/csv.ts";
import { renderReportHtml, type ReportSnapshot } from "../reports/html.ts";
import { loadPlotlyJs } from "../deps.ts";
import type { ReportedScalars, ScalarPoints } from "./read_back.ts";
import type { BaseModel } from "./base.ts";

/**
 * Writes scalar points (single values included) as CSV `title,series,iteration,value`, sorted
 * by iteration within each series. Returns the number of rows.
 */
export async function writeScalarsCsv(path: string, points: ScalarPoints): Promise<number> {
  const rows: { title: string; series: string; iteration: number; value: number }[] = [];
  for (const [title, byS] of points) {
    for (const [series, pts] of byS) {
      for (const it of [...pts.keys()].sort((a, b) => a - b)) {
        rows.push({ title, series, iteration: it, value: pts.get(it)! });
      }
    }
  }
  try {
    await Deno.writeTextFile(path, scalarsToCsv(rows));
  } catch (e) {
    throw new InvalidArgumentError("path", path, `cannot be written: ${(e as Error).message}`);
  }
  return rows.length;
}

/** What the HTML report shows, with scalars as read back (`getReportedScalars`). */
export type ModelReport = Omit<ReportSnapshot, "scalars"> & { scalars: ReportedScalars };

/** Writes the HTML report of a model: fields, metadata, labels, single values, charts, plots. */
export async function writeReportHtml(
  path: string,
  report: ModelReport,
  options: { maxPointsPerSeries?: number },
): Promise<void> {
  const html = renderReportHtml({
    ...report,
    scalars: Object.entries(report.scalars).map(([title, s]) => ({
      title,
      series: Object.entries(s).map(([name, p]) => ({ name, x: p.x, y: p.y })),
    })),
  }, { plotlyJs: await loadPlotlyJs(), ...options });
  await Deno.writeTextFile(path, html);
}

/** A loaded model's fields as a plain object (`toJSON`, and the report's fields table). */
export function modelFields(m: BaseModel): Record<string, unknown> {
  return {
    id: m.id,
    name: m.name,
    project: m.project,
    framework: m.framework,
    tags: m.tags,
    systemTags: m.systemTags,
    published: m.published,
    archived: m.archived,
    createdAt: m.createdAt.toISOString(),
    lastUpdate: m.lastUpdate.toISOString(),
    url: m.url,
    hash: m.hash,
    size: m.size,
    iteration: m.iteration ?? null,
    comment: m.comment,
    configText: m.configText,
    labels: m.labels,
    task: m.task,
    originalTask: m.originalTask,
    parent: m.parent,
    metadata: m.getAllMetadataCasted(),
  };
}

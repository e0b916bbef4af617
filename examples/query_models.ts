/**
 * Seed page, "Querying Models": `Model.queryModels` by project, name, tags (ClearML's grammar;
 * `-tag` excludes), published/archived state, result count and metadata.
 *
 * modelog orders results by last update, newest first (ClearML documents that but sorts by
 * creation), and `-tag` works anywhere in the list.
 *
 * Run: `npx -y deno@2.9.6 run -A examples/query_models.ts`
 *
 * @module
 */
import { getDefaultStore, Model, OutputModel, Task } from "../mod.ts";

// Some models to find: tagged demo and/or TF, with metadata.
const task = await Task.init({ projectName: "examples", taskName: "make models" });
const specs = [
  { name: "demo-torch", tags: ["demo"], key: "value" },
  { name: "demo-tf", tags: ["demo", "TF"], key: "value" },
  { name: "demo-other-meta", tags: ["demo"], key: "other" },
  { name: "plain", tags: [], key: "value" },
];
for (const s of specs) {
  const m = new OutputModel({ task, name: s.name, tags: s.tags });
  await m.setMetadata("key", s.key);
}
// Archived models are hidden unless includeArchived is true.
const archived = new OutputModel({ task, name: "demo-archived", tags: ["demo"] });
await archived.setMetadata("key", "value");
await archived.archive();
await task.close();

const modelList = await Model.queryModels({
  // Only models from the `examples` project
  projectName: "examples",
  // Only models with this name (undefined: any)
  modelName: undefined,
  // Only models with the `demo` tag but without the `TF` tag
  tags: ["demo", "-TF"],
  // If true, only published models
  onlyPublished: false,
  // If true, include archived models
  includeArchived: true,
  // Maximum number of models returned
  maxResults: 5,
  // Only models with matching metadata
  metadata: { key: "value" },
});

console.log(`found ${modelList.length} model(s), newest update first:`);
console.table(modelList.map((m) => ({
  name: m.name,
  id: m.id,
  tags: m.tags.join(","),
  archived: m.archived,
  key: m.getMetadata("key"),
  lastUpdate: m.lastUpdate.toISOString(),
})));

// Paging with a cursor: the next page starts strictly after the last model seen.
const page1 = await Model.queryModels({ projectName: "examples", maxResults: 2 });
const last = page1.at(-1);
if (last) {
  const page2 = await Model.queryModels({
    projectName: "examples",
    maxResults: 2,
    after: last.cursor,
  });
  console.log("page 1:", page1.map((m) => m.name), "page 2:", page2.map((m) => m.name));
}

await (await getDefaultStore()).close();

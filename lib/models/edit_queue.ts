/**
 * One-after-another edits: read-then-write edits of one model (`setTags`, `setAllMetadata`
 * with replace) run after every earlier one on the same model in this process.
 *
 * @module
 */
import type { Store } from "../store/store.ts";

/** The tail of each model's chain of serialized edits, per store. */
const modelLocks = new WeakMap<Store, Map<string, Promise<void>>>();

/** Runs `fn` after every earlier `serialEdit` of model `id` in `store` has settled. */
export async function serialEdit<T>(store: Store, id: string, fn: () => Promise<T>): Promise<T> {
  let locks = modelLocks.get(store);
  if (!locks) modelLocks.set(store, locks = new Map());
  const run = (locks.get(id) ?? Promise.resolve()).then(fn, fn);
  const tail = run.then(() => {}, () => {});
  locks.set(id, tail);
  tail.then(() => {
    if (locks.get(id) === tail) locks.delete(id);
  });
  return await run;
}

/**
 * The process's default store: where it lives (`MODELOG_HOME`, else `~/.modelog`, or what
 * {@link configure} set) and the one instance opened on first use.
 *
 * `store.ts` re-exports these names for the modules that import them from there; this module
 * uses `Store` only when called, never while modules load, so that cycle is harmless.
 *
 * @module
 */
import { join, resolve } from "node:path";
import { homedir } from "node:os";
import { Store } from "./store.ts";

/** Where the default store lives: `MODELOG_HOME`, else `~/.modelog`. */
export function defaultHome(): string {
  let env: string | undefined;
  try {
    env = Deno.env.get("MODELOG_HOME");
  } catch {
    env = undefined;
  }
  return resolve(env && env.length > 0 ? env : join(homedir(), ".modelog"));
}

let configuredHome: string | undefined;
let defaultStorePromise: Promise<Store> | undefined;

/**
 * Sets where the default store lives (instead of `MODELOG_HOME`). Closes the default store if
 * it was open elsewhere.
 */
export async function configure(options: { home?: string } = {}): Promise<void> {
  const home = options.home ? resolve(options.home) : undefined;
  if (defaultStorePromise && home !== configuredHome) {
    const s = await defaultStorePromise.catch(() => undefined);
    defaultStorePromise = undefined;
    await s?.close();
  }
  configuredHome = home;
}

/** The process's default store, opened on first use. */
export function getDefaultStore(): Promise<Store> {
  if (defaultStorePromise) {
    return defaultStorePromise.then((s) => {
      if (!s.closed) return s;
      defaultStorePromise = undefined;
      return getDefaultStore();
    });
  }
  defaultStorePromise = Store.open({ home: configuredHome ?? defaultHome() });
  defaultStorePromise.catch(() => {
    defaultStorePromise = undefined;
  });
  return defaultStorePromise;
}

/**
 * The process's default store: where it lives (`MODELOG_HOME`, else `~/.modelog`, or what
 * {@link configure} set) and the one instance opened on first use.
 *
 * @module
 */
import { resolve } from "node:path";
import { Store } from "./store.ts";
import { defaultHome } from "./home.ts";

export { defaultHome } from "./home.ts";

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

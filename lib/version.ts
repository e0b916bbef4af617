/**
 * The modelog version, the same as `deno.json`'s `version` (a unit test checks it). A constant
 * rather than a read of `deno.json`, so that it also works when modelog is imported by URL.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { VERSION } from "./version.ts";
 * assert.match(VERSION, /^\d+\.\d+\.\d+/);
 * ```
 *
 * @module
 */

/** The modelog version (semver). */
export const VERSION = "0.1.0";

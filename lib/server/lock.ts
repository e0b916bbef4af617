/**
 * One server process per database and blob folder: a lock file beside each
 * (`<db>.server.lock`, `<blobs>.server.lock`) holding the owner's pid and host. A second server
 * on the same files refuses to start with a clear message; a lock left by a process that is gone
 * (a crash) is taken over. Several processes become first-class with the PostgreSQL and object
 * store scale-out; until then the upload locks and the writer are per process.
 *
 * @module
 */
import { hostname } from "node:os";
import { ModelogError } from "../errors.ts";

/** Whether a process with this pid runs on this machine (Linux `/proc`; elsewhere: assume so). */
async function alive(pid: number): Promise<boolean> {
  if (pid === Deno.pid) return true;
  try {
    await Deno.stat(`/proc/${pid}`);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      try {
        await Deno.stat("/proc/self");
        return false; // /proc works, and the pid is not in it
      } catch {
        return true;
      }
    }
    return true;
  }
}

/** A held lock file. */
export interface ServerLock {
  /** Removes the lock files. */
  release(): Promise<void>;
}

/**
 * Takes the lock files at `paths` (all or none).
 *
 * @throws {ModelogError} `STORE_LOCKED` naming the path and the process holding it
 */
export async function lockServerFiles(paths: string[]): Promise<ServerLock> {
  const held: string[] = [];
  const me = `${Deno.pid} ${hostname()}\n`;
  const release = async () => {
    for (const p of held.splice(0)) await Deno.remove(p).catch(() => {});
  };
  try {
    for (const path of paths) {
      for (let attempt = 0;; attempt++) {
        try {
          await Deno.writeTextFile(path, me, { createNew: true });
          held.push(path);
          break;
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists) || attempt > 2) throw e;
        }
        const text = await Deno.readTextFile(path).catch(() => "");
        const [pidText, host] = text.trim().split(" ");
        const pid = Number(pidText);
        if (Number.isInteger(pid) && pid > 0 && (host !== hostname() || await alive(pid))) {
          throw new ModelogError(
            "STORE_LOCKED",
            `Another modelog server (pid ${pid} on ${host}) is using ${path}: several server ` +
              "processes on one database or blob folder are not supported yet; stop it, or " +
              "delete the lock file if that process is gone",
          );
        }
        await Deno.remove(path).catch(() => {}); // stale: its process is gone
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { release };
}

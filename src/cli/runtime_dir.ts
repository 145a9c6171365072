/**
 * A private XDG runtime folder for GPU drivers: Mesa's Vulkan driver prints
 * "XDG_RUNTIME_DIR is invalid or not set" on every WebGPU start when the variable
 * is missing (CI, containers, cron), burying the run's own messages.
 *
 * @module
 */
import { join } from "node:path";

/**
 * When `XDG_RUNTIME_DIR` is unset (Linux only), points it at `dub-runtime-<uid>` in
 * the temp folder: created with mode 0700, used only if it is a real folder (not a
 * link) owned by this user with mode 0700, else a fresh private temp folder. Call
 * before the first WebGPU adapter is requested. Returns the folder set, if any.
 */
export function ensureXdgRuntimeDir(): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    if (Deno.env.get("XDG_RUNTIME_DIR")) return undefined;
    const uid = Deno.uid();
    const tmp = Deno.env.get("TMPDIR") || "/tmp";
    const stable = join(tmp, `dub-runtime-${uid ?? "user"}`);
    try {
      Deno.mkdirSync(stable, { mode: 0o700 });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
    const st = Deno.lstatSync(stable);
    const dir = st.isDirectory && !st.isSymlink && st.uid === uid && (st.mode! & 0o777) === 0o700
      ? stable
      : Deno.makeTempDirSync({ prefix: "dub-runtime-" }); // 0700 by default
    Deno.env.set("XDG_RUNTIME_DIR", dir);
    return dir;
  } catch {
    // Only cosmetic (no --allow-env/--allow-write, read-only temp): the driver works without it.
    return undefined;
  }
}

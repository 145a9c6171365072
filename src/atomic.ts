/**
 * Atomic file writes: write to a temp name next to the destination, then rename,
 * so a reader never sees a half-written file and an interrupted write leaves no
 * file behind under the real name. The one implementation used by the runner,
 * fixtures and the splat I/O.
 *
 * Temp files are hidden and carry the writer's machine and pid
 * (`.<name>.dub-<host>-<pid>-<rand>.partial`, host = 8 hex digits of the sha256
 * of its hostname), so a folder's leftovers of a killed process (SIGKILL cannot
 * be caught) are recognised and swept by {@link sweepPartials} on the next run,
 * while a live writer on another machine sharing the folder (whose pid means
 * nothing here) is left alone.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** This machine in temp names: 8 hex digits of the sha256 of its hostname. */
export const HOST_TAG: string = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
/** Age after which another machine's leftover (whose process we cannot see) is swept. */
const FOREIGN_STALE_MS = 24 * 3600e3;

// Older names had no host part: `.<name>.dub-<pid>-<rand>.partial`.
const PARTIAL_RE = /^\..+\.dub-(?:([0-9a-f]{8})-)?(\d+)-[0-9a-f]{8}\.partial$/;

const tempName = (path: string) =>
  join(
    dirname(path),
    `.${basename(path)}.dub-${HOST_TAG}-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}.partial`,
  );

/** Put a file in place by writing `write(tmp)` then renaming; the temp file is removed on failure. */
async function viaTemp(
  path: string,
  opts: { mkdir?: boolean },
  write: (tmp: string) => Promise<void>,
): Promise<void> {
  if (opts.mkdir) await Deno.mkdir(dirname(path), { recursive: true });
  const tmp = tempName(path);
  try {
    await write(tmp);
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw e;
  }
}

/** Write bytes or text to `path` atomically; `mkdir` creates the parent folder first. */
export function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: { mkdir?: boolean } = {},
): Promise<void> {
  return viaTemp(
    path,
    opts,
    (tmp) => typeof data === "string" ? Deno.writeTextFile(tmp, data) : Deno.writeFile(tmp, data),
  );
}

/** Copy `src` to `path` atomically; `mkdir` creates the parent folder first. */
export function copyFileAtomic(
  src: string,
  path: string,
  opts: { mkdir?: boolean } = {},
): Promise<void> {
  return viaTemp(path, opts, (tmp) => Deno.copyFile(src, tmp));
}

/**
 * Copy several files into place, all or none: every file is first copied to a
 * temp name beside its destination; only when all copies succeeded are they
 * renamed into place. On any failure (disk full, permissions, abort) every temp
 * file is removed and no destination is touched. The error carries `dest`.
 */
export async function publishFiles(
  files: { src: string; dest: string }[],
  opts: { mkdir?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<void> {
  const temps: { tmp: string; dest: string }[] = [];
  let current = "";
  try {
    for (const f of files) {
      current = f.dest;
      opts.signal?.throwIfAborted();
      if (opts.mkdir) await Deno.mkdir(dirname(f.dest), { recursive: true });
      const tmp = tempName(f.dest);
      temps.push({ tmp, dest: f.dest });
      await Deno.copyFile(f.src, tmp);
    }
    opts.signal?.throwIfAborted();
  } catch (e) {
    await Promise.all(temps.map((t) => Deno.remove(t.tmp).catch(() => {})));
    if (e && typeof e === "object") Object.assign(e, { dest: current });
    throw e;
  }
  for (const t of temps) await Deno.rename(t.tmp, t.dest);
}

/**
 * Remove temp files of killed writers from `dir`: of this machine when their pid
 * no longer runs, of another machine only when older than a day. Returns how many.
 */
export async function sweepPartials(dir: string): Promise<number> {
  let removed = 0;
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = PARTIAL_RE.exec(e.name);
      if (!m || !e.isFile) continue;
      if (m[1] !== undefined && m[1] !== HOST_TAG) {
        const st = await Deno.stat(join(dir, e.name)).catch(() => null);
        if (!st?.mtime || Date.now() - st.mtime.getTime() < FOREIGN_STALE_MS) continue;
      } else {
        const pid = Number(m[2]);
        if (pid === Deno.pid || pidAlive(pid)) continue;
      }
      await Deno.remove(join(dir, e.name)).then(() => removed++, () => {});
    }
  } catch { /* folder missing or unreadable: nothing to sweep */ }
  return removed;
}

/**
 * Whether a process is running (Linux: from /proc; a zombie — exited, not yet
 * reaped — counts as dead). Elsewhere assume alive (never delete a live writer's file).
 */
export function pidAlive(pid: number): boolean {
  if (Deno.build.os !== "linux") return true;
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Field 3 after the parenthesised command name is the state; Z = zombie, X = dead.
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

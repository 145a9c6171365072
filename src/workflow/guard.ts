/**
 * The promise "inputs are never overwritten", checked before any step runs:
 * every file `dub` will write (workflow outputs, the `--report` file, the cache
 * folder with its run reports and state) is compared with every file the run
 * reads (the workflow file, file inputs, models, file parameters written in
 * `with:`) by real path and by device + inode, so symlinks and hard links are
 * caught too. Write targets are also checked for being writable (nearest
 * existing folder, by creating and removing a probe file), so a read-only or
 * missing place fails in seconds, not after hours of steps.
 *
 * @module
 */
import { basename, dirname, join, resolve, sep } from "node:path";
import { DubError } from "../errors.ts";
import type { LoadedWorkflow } from "./load.ts";
import { interpolate, type Ref } from "./refs.ts";

/** A file the run reads, with what it is for the user. */
export interface ReadFile {
  path: string;
  role: string;
}

/** A file the run writes, with what it is for the user. */
export interface WriteFile {
  path: string;
  role: string;
  /** Where the path was given, for errors: the workflow or a command-line option. */
  from: "workflow" | "cli";
}

interface Identity {
  /** Absolute path with symlinks resolved (of the file, or of its nearest existing folder). */
  real: string;
  /** `dev:ino` when the file exists. */
  inode?: string;
  /** The path itself is a symlink. */
  symlink: boolean;
}

/** Real path and inode of `path` (which may not exist yet). */
export async function identify(path: string): Promise<Identity> {
  const abs = resolve(path);
  let symlink = false;
  try {
    symlink = (await Deno.lstat(abs)).isSymlink;
  } catch { /* missing */ }
  try {
    const st = await Deno.stat(abs);
    return {
      real: await Deno.realPath(abs),
      ...(st.dev !== null && st.ino !== null ? { inode: `${st.dev}:${st.ino}` } : {}),
      symlink,
    };
  } catch {
    // Missing (or a dangling symlink): resolve the nearest existing ancestor.
    let dir = dirname(abs);
    const rest = [basename(abs)];
    while (true) {
      try {
        return { real: join(await Deno.realPath(dir), ...rest), symlink };
      } catch {
        const up = dirname(dir);
        if (up === dir) return { real: abs, symlink };
        rest.unshift(basename(dir));
        dir = up;
      }
    }
  }
}

/** True when `a` and `b` name the same file (same real path or same inode). */
function same(a: Identity, b: Identity): boolean {
  return a.real === b.real || (a.inode !== undefined && a.inode === b.inode);
}

function how(w: Identity, r: Identity, wPath: string, rPath: string): string {
  if (w.symlink) return " (through a symlink)";
  if (r.symlink) return ` (the input is a symlink to it)`;
  if (w.real !== r.real && w.inode === r.inode) return " (a hard link to it)";
  if (resolve(wPath) !== resolve(rPath)) return " (the same file by another path)";
  return "";
}

/** Files one clip job reads, known before any step runs. */
export function readFilesOf(
  wf: LoadedWorkflow,
  inputs: Record<string, unknown>,
): ReadFile[] {
  const out: ReadFile[] = [{ path: wf.path, role: "the workflow file" }];
  for (const [name, decl] of Object.entries(wf.file.inputs)) {
    const v = inputs[name];
    if (typeof decl === "object" && decl.type === "file" && typeof v === "string" && v) {
      out.push({ path: v, role: `input "${name}"` });
    }
  }
  for (const [name, m] of Object.entries(wf.file.models)) {
    out.push({
      path: resolve(wf.dir, typeof m === "string" ? m : m.path),
      role: `model "${name}"`,
    });
  }
  for (const step of wf.file.steps) {
    const stage = wf.registry.find(step.uses);
    if (!stage) continue;
    for (const k of stage.fileParams) {
      const raw = step.with[k];
      for (const s of Array.isArray(raw) ? raw : [raw]) {
        if (typeof s !== "string") continue;
        let v: unknown;
        try {
          v = interpolate(s, (r: Ref) => {
            if (r.kind === "inputs") return inputs[r.name];
            if (r.kind === "models") {
              const m = wf.file.models[r.name];
              return m === undefined
                ? undefined
                : resolve(wf.dir, typeof m === "string" ? m : m.path);
            }
            throw new RangeError("a step's output"); // produced at run time, in the cache
          });
        } catch {
          continue;
        }
        if (typeof v === "string" && v) {
          out.push({ path: resolve(wf.dir, v), role: `file "${k}" of step "${step.id}"` });
        }
      }
    }
  }
  return out;
}

/**
 * Conflicts between what a run writes and what it reads, and between two writes.
 * Returns one message per conflict (empty = none).
 */
export async function writeConflicts(
  reads: readonly ReadFile[],
  writes: readonly WriteFile[],
  cacheDir?: string,
): Promise<string[]> {
  const problems: string[] = [];
  const rIds = await Promise.all(reads.map((r) => identify(r.path)));
  const wIds = await Promise.all(writes.map((w) => identify(w.path)));
  const cache = cacheDir ? await identify(cacheDir) : undefined;
  for (let i = 0; i < writes.length; i++) {
    const w = writes[i]!, wi = wIds[i]!;
    const hit = rIds.findIndex((ri) => same(wi, ri));
    if (hit >= 0) {
      const r = reads[hit]!;
      problems.push(
        `Refusing to write ${w.role} "${w.path}": it is ${r.role} ("${r.path}")${
          how(wi, rIds[hit]!, w.path, r.path)
        }; dub never overwrites a file it reads`,
      );
      continue;
    }
    const dup = wIds.findIndex((o, j) => j < i && same(wi, o));
    if (dup >= 0) {
      problems.push(
        `${
          writes[dup]!.role
        } and ${w.role} would both write "${w.path}"; give them different paths`,
      );
      continue;
    }
    if (cache && (wi.real === cache.real || wi.real.startsWith(cache.real + sep))) {
      problems.push(
        `Refusing to write ${w.role} "${w.path}": it is inside the cache folder "${cacheDir}"`,
      );
    }
  }
  return problems;
}

/** What kind of file system object `st` is, in words (for "not a regular file" errors). */
export function fileKind(st: Deno.FileInfo): string {
  if (st.isDirectory) return "a folder";
  if (st.isCharDevice) return "a character device";
  if (st.isBlockDevice) return "a block device";
  if (st.isFifo) return "a FIFO (named pipe)";
  if (st.isSocket) return "a socket";
  return "not a regular file";
}

/**
 * Refuse reads of anything but regular files (a device like /dev/zero never ends,
 * a FIFO blocks, a folder fails with EISDIR): exit 3 naming the file and its role.
 * Missing files are left to the step that reads them (its message names the step).
 */
export async function checkRegularFiles(reads: readonly ReadFile[]): Promise<void> {
  for (const r of reads) {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(r.path);
    } catch {
      continue;
    }
    if (st.isFile) continue;
    const kind = fileKind(st);
    throw new DubError(
      "input",
      `Cannot read ${r.role} "${r.path}": it is ${kind}, not a regular file`,
      {
        hint: st.isDirectory
          ? "pass the path of a file (an empty --set value names the current folder)"
          : "pass a regular file (copy the stream to a file first)",
      },
    );
  }
}

/**
 * Reads that lie inside a folder dub fills (e.g. the HTML report's pictures):
 * directly inside it, or (with `sub`) inside one of its sub-folders.
 */
export async function readsInside(
  reads: readonly ReadFile[],
  dirs: readonly { path: string; role: string; sub?: boolean }[],
): Promise<string[]> {
  const problems: string[] = [];
  for (const d of dirs) {
    const di = await identify(d.path);
    for (const r of reads) {
      const ri = await identify(r.path);
      const rel = ri.real.startsWith(di.real + sep) ? ri.real.slice(di.real.length + 1) : null;
      if (rel === null) continue;
      const depth = rel.split(sep).length;
      if (d.sub ? depth >= 2 : depth >= 1) {
        problems.push(
          `Refusing to write ${d.role} "${d.path}": ${r.role} ("${r.path}") is inside it`,
        );
      }
    }
  }
  return problems;
}

/**
 * Check that `path` can be created: its nearest existing ancestor must be a
 * folder we can write to. Throws a DubError naming the path and what to do.
 */
export async function checkWritable(
  path: string,
  what: string,
  opts: { folder?: boolean; kind?: "usage" | "workflow"; hint?: string } = {},
): Promise<void> {
  const kind = opts.kind ?? "usage";
  const hint = (h: string) => opts.hint ?? h;
  const abs = resolve(path);
  try {
    const st = await Deno.stat(abs);
    if (opts.folder && !st.isDirectory) {
      throw new DubError(kind, `Cannot use ${what} "${path}": it is a file, not a folder`, {
        hint: hint("pass a folder path (or remove the file)"),
      });
    }
    if (!opts.folder && st.isDirectory) {
      throw new DubError(kind, `Cannot write ${what} "${path}": it is a folder`, {
        hint: hint("pass a file path"),
      });
    }
    if (!opts.folder && !st.isFile) {
      throw new DubError(kind, `Cannot write ${what} "${path}": it is not a regular file`, {
        hint: hint("pass the path of a regular file"),
      });
    }
  } catch (e) {
    if (e instanceof DubError) throw e;
  }
  // Nearest existing ancestor (the folder itself when it exists).
  let dir = opts.folder ? abs : dirname(abs);
  while (true) {
    const st = await Deno.stat(dir).catch(() => null);
    if (st) {
      if (!st.isDirectory) {
        throw new DubError(
          kind,
          `Cannot write ${what} "${path}": "${dir}" is a file, not a folder`,
          { hint: hint("choose a path whose folders are folders") },
        );
      }
      break;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  const probe = join(dir, `.dub-write-probe-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`);
  try {
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    await Deno.remove(probe).catch(() => {});
  } catch (e) {
    throw new DubError(kind, `Cannot write ${what} "${path}": ${describeWriteError(e, dir)}`, {
      hint: opts.hint ?? writeHint(e, what),
      cause: e,
    });
  }
}

/** A short reason for a failed write (read-only, permission, no space…). */
export function describeWriteError(e: unknown, dir: string): string {
  const code = (e as { code?: string }).code;
  if (e instanceof Deno.errors.PermissionDenied || code === "EACCES" || code === "EPERM") {
    return `no permission to write in "${dir}"`;
  }
  if (code === "EROFS" || /read-only file system/i.test(String(e))) {
    return `"${dir}" is on a read-only file system`;
  }
  if (code === "ENOSPC" || /no space left/i.test(String(e))) {
    return `no space left on the disk holding "${dir}"`;
  }
  if (code === "EDQUOT" || /quota/i.test(String(e))) return `disk quota exceeded in "${dir}"`;
  return (e as Error).message;
}

/** What to do about a failed write. */
export function writeHint(e: unknown, what: string): string {
  const code = (e as { code?: string }).code;
  if (code === "ENOSPC" || /no space left/i.test(String(e))) {
    return `free disk space or choose another place for the ${what}`;
  }
  return `choose a writable place for the ${what} (or fix the folder's permissions)`;
}

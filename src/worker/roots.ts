/**
 * Path roots of a worker: a job may only name files under the folders the worker
 * was started with (`--root`, plus its own cache and shipped models). Paths are
 * compared after resolving symlinks (of the file, or of its nearest existing
 * parent for files not written yet), so a link under a root that points
 * elsewhere is refused too.
 *
 * @module
 */
import { dirname, isAbsolute, relative, resolve, sep } from "node:path";
import { DubError } from "../errors.ts";

/** Real path of `p`, or of its nearest existing ancestor joined with the rest. */
export async function realPathLoose(p: string): Promise<string> {
  const abs = resolve(p);
  let cur = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      const real = await Deno.realPath(cur);
      return rest.length ? resolve(real, ...rest.reverse()) : real;
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return abs;
      rest.push(cur.slice(parent.length).replace(/^[/\\]/, ""));
      cur = parent;
    }
  }
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r === "" || (!r.startsWith("..") && !isAbsolute(r) && !r.startsWith(`..${sep}`));
}

/** Checks that paths named by a job lie under the allowed roots. */
export class PathRoots {
  readonly #roots: Promise<string[]>;
  constructor(readonly roots: readonly string[]) {
    this.#roots = Promise.all(roots.map((r) => realPathLoose(r)));
  }

  /** True if `p` (after resolving symlinks) is under one of the roots. */
  async allows(p: string): Promise<boolean> {
    const real = await realPathLoose(p);
    return (await this.#roots).some((r) => inside(r, real));
  }

  /** Throw a usage error naming `p` and `what` unless it is under a root. */
  async check(p: string, what: string): Promise<void> {
    if (await this.allows(p)) return;
    throw new DubError(
      "usage",
      `Refusing ${what} "${p}": it is outside the folders this worker may use (${
        this.roots.join(", ")
      })`,
      {
        hint: "put the file under a folder the worker was started with (dub worker --root DIR)",
      },
    );
  }
}

/**
 * Atomic file writes: write to a temp name next to the destination, then rename,
 * so a reader never sees a half-written file and an interrupted write leaves no
 * file behind under the real name. The one implementation used by the runner,
 * fixtures and the splat I/O.
 *
 * @module
 */
import { dirname } from "node:path";

const tempName = (path: string) => `${path}.${crypto.randomUUID().slice(0, 8)}.partial`;

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

/**
 * Content-addressed step cache behind a small, location-free store interface:
 * manifests by cache key, blobs by sha256, and `materialise` to get local files
 * for an entry. The folder store below is what every machine mounts today (a
 * network filesystem); an object store can implement the same primitives later.
 *
 * Safe for concurrent writers on different machines: a blob is written under a
 * temporary name and renamed into place (same content under the same name, so
 * the last rename is as good as the first); a manifest is published with an
 * atomic create-if-absent (hard link) so the first valid one wins unless
 * `replace`; every read validates the manifest and verifies each blob's size and
 * sha256, so a partial or corrupt entry is a miss, never a crash.
 *
 * Folder layout: `<dir>/manifests/<key[0..2]>/<key>.json`,
 * `<dir>/blobs/<sha[0..2]>/<sha256><ext>` (the output's extension is kept so
 * tools that look at it still work), materialised entries
 * `<dir>/tree/<key[0..2]>/<key>/<name>` (hard links to the blobs), staging
 * `<dir>/staging/<key>.<rand>/`.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { hostname } from "node:os";
import { dirname, extname, join } from "node:path";
import { z } from "zod";
import { pidAlive } from "../atomic.ts";
import type { JsonValue } from "./stage.ts";

export const MANIFEST_VERSION = 1;

const JsonSchema: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number(),
    z.boolean(),
    z.null(),
    z.array(JsonSchema),
    z.record(z.string(), JsonSchema),
  ])
);

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/);

/** The machine's record of one cache entry (versioned, validated on read). */
export const ManifestSchema = z.object({
  manifestVersion: z.literal(MANIFEST_VERSION),
  key: Sha256,
  stepType: z.string(),
  stepVersion: z.number(),
  createdAt: z.string(),
  durationS: z.number(),
  /** Output name → file name (for its extension), size and content hash. */
  files: z.record(
    z.string(),
    z.object({
      // A relative path inside the entry (e.g. `_report/data.json`), never leaving it.
      name: z.string().regex(/^(?![/\\])(?!.*(?:^|[/\\])\.\.(?:[/\\]|$))[^\0]+$/),
      size: z.number(),
      sha256: Sha256,
    }),
  ),
  values: z.record(z.string(), JsonSchema),
  warnings: z.array(z.string()).default([]),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** Where an output lives, the same on every machine: `{key, name, sha256}`. */
export interface OutputRef {
  key: string;
  name: string;
  sha256: string;
}

export interface CacheEntry {
  manifest: Manifest;
  /** Output name → local path of the verified file (from `materialise`). */
  paths: Record<string, string>;
}

/** A local folder an entry is built in before it is committed. */
export interface Staging {
  key: string;
  dir: string;
}

/** The store primitives: nothing here exposes where or how things are kept. */
export interface BlobStore {
  /** Shown to the user (never credentials). */
  readonly description: string;
  /** The valid manifest for `key`, or null (missing, unreadable or invalid = miss). */
  getManifest(key: string): Promise<Manifest | null>;
  /**
   * Publish a manifest atomically. An existing valid one (blobs present and
   * verified) is kept and returned unless `replace`.
   */
  putManifest(m: Manifest, opts?: { replace?: boolean }): Promise<Manifest>;
  hasBlob(sha256: string, ext?: string): Promise<boolean>;
  /** Store a local file by content (it may be moved); returns its hash and size. */
  putBlob(path: string, opts?: { move?: boolean }): Promise<{ sha256: string; size: number }>;
  /** Local, verified files of an entry (output name → path), or null if a blob is missing or corrupt. */
  materialise(m: Manifest): Promise<Record<string, string> | null>;
}

/** Where step results are stored: the primitives plus building entries. */
export interface CacheStore extends BlobStore {
  /** A valid entry for `key` with local files, or null (a miss). */
  get(key: string): Promise<CacheEntry | null>;
  /** Start building an entry: an empty local staging folder. */
  begin(key: string): Promise<Staging>;
  /** Store the staged files as blobs, then publish the manifest (see `putManifest`). */
  commit(
    staging: Staging,
    info: Omit<Manifest, "files" | "key" | "manifestVersion" | "createdAt">,
    files: Record<string, string>,
    opts?: { replace?: boolean },
  ): Promise<CacheEntry>;
  /** Throw away a staging folder. */
  discard(staging: Staging): Promise<void>;
  /** Remove leftovers of killed writers; returns how many. */
  sweepStaging(): Promise<number>;
  /** Forget an entry (its blobs may be shared and stay). */
  remove(key: string): Promise<void>;
  /** The folder of a folder store (run records live beside the cache). */
  readonly root: string;
}

/** sha256 of a file's content, streamed. */
export async function hashFile(path: string): Promise<string> {
  const h = createHash("sha256");
  await new Promise<void>((res, rej) => {
    const s = createReadStream(path);
    s.on("data", (c) => h.update(c));
    s.on("end", () => res());
    s.on("error", rej);
  });
  return h.digest("hex");
}

/** sha256 of a canonical JSON encoding (sorted object keys). */
export function hashJson(v: unknown): string {
  return createHash("sha256").update(canonicalJson(v)).digest("hex");
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${
      Object.keys(v).sort().filter((k) => (v as Record<string, unknown>)[k] !== undefined)
        .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
        .join(",")
    }}`;
  }
  return JSON.stringify(v ?? null);
}

/** The output references of an entry, for reports: the same on every machine. */
export function outputRefs(m: Manifest): Record<string, OutputRef> {
  return Object.fromEntries(
    Object.entries(m.files).map(([k, f]) => [k, { key: m.key, name: f.name, sha256: f.sha256 }]),
  );
}

const HOST = hostname();

/** Age after which a leftover of another machine (whose processes we cannot see) is swept. */
const FOREIGN_STALE_MS = 24 * 3600e3;

const rand = () => crypto.randomUUID().slice(0, 8);

/**
 * The folder store. Verified blobs are remembered per process by (path, size,
 * mtime), so a batch does not re-hash the same file for every clip.
 */
export class FolderCacheStore implements CacheStore {
  readonly #verified = new Map<string, string>();
  constructor(readonly root: string) {}

  get description(): string {
    return this.root;
  }

  #manifestPath(key: string): string {
    return join(this.root, "manifests", key.slice(0, 2), `${key}.json`);
  }
  #blobPath(sha256: string, ext = ""): string {
    return join(this.root, "blobs", sha256.slice(0, 2), `${sha256}${ext}`);
  }

  async getManifest(key: string): Promise<Manifest | null> {
    if (!/^[0-9a-f]{64}$/.test(key)) return null;
    try {
      const parsed = ManifestSchema.safeParse(
        JSON.parse(await Deno.readTextFile(this.#manifestPath(key))),
      );
      return parsed.success && parsed.data.key === key ? parsed.data : null;
    } catch {
      return null;
    }
  }

  async #verify(path: string, size: number, sha256: string): Promise<boolean> {
    try {
      const st = await Deno.stat(path);
      if (!st.isFile || st.size !== size) return false;
      const memo = `${path}:${st.size}:${st.mtime?.getTime() ?? 0}`;
      if (this.#verified.get(memo) === sha256) return true;
      if ((await hashFile(path)) !== sha256) return false;
      this.#verified.set(memo, sha256);
      return true;
    } catch {
      return false;
    }
  }

  async hasBlob(sha256: string, ext = ""): Promise<boolean> {
    return await Deno.stat(this.#blobPath(sha256, ext)).then((s) => s.isFile, () => false);
  }

  async putBlob(path: string, opts: { move?: boolean } = {}): Promise<
    { sha256: string; size: number }
  > {
    const sha256 = await hashFile(path);
    const size = (await Deno.stat(path)).size;
    const dest = this.#blobPath(sha256, extname(path));
    // A present, verified blob is the same content: nothing to do.
    if (await this.#verify(dest, size, sha256)) {
      if (opts.move) await Deno.remove(path).catch(() => {});
      return { sha256, size };
    }
    await Deno.mkdir(join(dest, ".."), { recursive: true });
    const tmp = `${dest}.${rand()}.partial`;
    try {
      if (opts.move) {
        try {
          await Deno.rename(path, tmp);
        } catch {
          await Deno.copyFile(path, tmp); // another filesystem
        }
      } else await Deno.copyFile(path, tmp);
      // Check what landed on the (possibly network) filesystem before publishing it.
      if ((await hashFile(tmp)) !== sha256) {
        throw new Error(`Cache blob ${sha256} changed while being stored`);
      }
      await Deno.rename(tmp, dest); // atomic; replaces a corrupt blob of the same name
    } catch (e) {
      await Deno.remove(tmp).catch(() => {});
      throw e;
    }
    return { sha256, size };
  }

  /**
   * The entry's files under `tree/<key>/` with their names (sub-folders kept), as
   * hard links to the blobs (copies where links are not possible). A tree that
   * does not match the manifest (replaced entry, repaired blob) is rebuilt.
   */
  async materialise(m: Manifest): Promise<Record<string, string> | null> {
    const dir = join(this.root, "tree", m.key.slice(0, 2), m.key);
    const paths: Record<string, string> = {};
    let intact = true;
    for (const [name, f] of Object.entries(m.files)) {
      paths[name] = join(dir, f.name);
      if (intact && !(await this.#verify(paths[name]!, f.size, f.sha256))) intact = false;
    }
    if (intact) return paths;
    for (const f of Object.values(m.files)) {
      if (!(await this.#verify(this.#blobPath(f.sha256, extname(f.name)), f.size, f.sha256))) {
        return null;
      }
    }
    const tmp = `${dir}.${rand()}.partial`;
    try {
      for (const f of Object.values(m.files)) {
        const p = join(tmp, f.name);
        await Deno.mkdir(dirname(p), { recursive: true });
        const blob = this.#blobPath(f.sha256, extname(f.name));
        await Deno.link(blob, p).catch(() => Deno.copyFile(blob, p));
      }
      await Deno.mkdir(dirname(dir), { recursive: true });
      for (let attempt = 0; attempt < 3; attempt++) {
        try {
          await Deno.rename(tmp, dir);
          break;
        } catch {
          // Another reader built it meanwhile (fine if it verifies), or a stale tree is in
          // the way: move it aside (never delete-then-rename into a live path).
          if (await this.#treeMatches(dir, m)) return paths;
          const trash = join(this.root, "staging", `trash-${m.key}.${rand()}`);
          await Deno.mkdir(dirname(trash), { recursive: true });
          await Deno.rename(dir, trash).catch(() => {});
          await Deno.remove(trash, { recursive: true }).catch(() => {});
        }
      }
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
    return (await this.#treeMatches(dir, m)) ? paths : null;
  }

  async #treeMatches(dir: string, m: Manifest): Promise<boolean> {
    for (const f of Object.values(m.files)) {
      if (!(await this.#verify(join(dir, f.name), f.size, f.sha256))) return false;
    }
    return true;
  }

  async putManifest(m: Manifest, opts: { replace?: boolean } = {}): Promise<Manifest> {
    const dest = this.#manifestPath(m.key);
    await Deno.mkdir(join(dest, ".."), { recursive: true });
    const tmp = `${dest}.${rand()}.partial`;
    await Deno.writeTextFile(tmp, JSON.stringify(m, null, 2));
    try {
      if (!opts.replace) {
        try {
          // Create-if-absent, atomic on local and network filesystems.
          await Deno.link(tmp, dest);
          return m;
        } catch (e) {
          if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
          const existing = await this.getManifest(m.key);
          if (existing && (await this.materialise(existing))) return existing;
          // Invalid or with missing blobs: ours replaces it.
        }
      }
      await Deno.rename(tmp, dest);
      return m;
    } finally {
      await Deno.remove(tmp).catch(() => {});
    }
  }

  async get(key: string): Promise<CacheEntry | null> {
    const manifest = await this.getManifest(key);
    if (!manifest) return null;
    const paths = await this.materialise(manifest);
    return paths ? { manifest, paths } : null;
  }

  async begin(key: string): Promise<Staging> {
    const dir = join(this.root, "staging", `${key}.${rand()}`);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(
      join(dir, ".incomplete"),
      `${new Date().toISOString()} pid ${Deno.pid} host ${HOST}\n`,
    );
    return { key, dir };
  }

  async commit(
    staging: Staging,
    info: Omit<Manifest, "files" | "key" | "manifestVersion" | "createdAt">,
    files: Record<string, string>,
    opts: { replace?: boolean } = {},
  ): Promise<CacheEntry> {
    try {
      const out: Manifest["files"] = {};
      for (const [name, fileName] of Object.entries(files)) {
        const b = await this.putBlob(join(staging.dir, fileName), { move: true });
        out[name] = { name: fileName, size: b.size, sha256: b.sha256 };
      }
      const manifest = await this.putManifest({
        manifestVersion: MANIFEST_VERSION,
        key: staging.key,
        createdAt: new Date().toISOString(),
        ...info,
        files: out,
      }, opts);
      const paths = await this.materialise(manifest);
      if (!paths) throw new Error(`Cache entry ${staging.key} does not verify after commit`);
      return { manifest, paths };
    } finally {
      await this.discard(staging);
    }
  }

  async discard(staging: Staging): Promise<void> {
    await Deno.remove(staging.dir, { recursive: true }).catch(() => {});
  }

  async remove(key: string): Promise<void> {
    await Deno.remove(this.#manifestPath(key)).catch(() => {});
    await Deno.remove(join(this.root, "tree", key.slice(0, 2), key), { recursive: true })
      .catch(() => {});
  }

  /**
   * Remove staging folders of dead writers: of this machine when their process
   * is gone, of other machines (sharing the folder) only after a day; and
   * `.partial` temporaries older than an hour.
   */
  async sweepStaging(): Promise<number> {
    let removed = 0;
    const dir = join(this.root, "staging");
    try {
      for await (const e of Deno.readDir(dir)) {
        const p = join(dir, e.name);
        let stale: boolean;
        try {
          const marker = await Deno.readTextFile(join(p, ".incomplete"));
          const pid = Number(/pid (\d+)/.exec(marker)?.[1]);
          const host = /host (\S+)/.exec(marker)?.[1];
          const st = await Deno.stat(p);
          const age = Date.now() - (st.mtime?.getTime() ?? Date.now());
          if (host !== undefined && host !== HOST) stale = age > FOREIGN_STALE_MS;
          else stale = !pid || (pid !== Deno.pid && !pidAlive(pid));
        } catch {
          const st = await Deno.stat(p).catch(() => null);
          stale = !!st?.mtime && Date.now() - st.mtime.getTime() > FOREIGN_STALE_MS;
        }
        if (stale) {
          await Deno.remove(p, { recursive: true }).catch(() => {});
          removed++;
        }
      }
    } catch { /* no staging folder */ }
    for (const sub of ["blobs", "manifests", "tree"]) {
      try {
        for await (const shard of Deno.readDir(join(this.root, sub))) {
          for await (const e of Deno.readDir(join(this.root, sub, shard.name))) {
            if (!e.name.endsWith(".partial")) continue;
            const p = join(this.root, sub, shard.name, e.name);
            const st = await Deno.stat(p).catch(() => null);
            if (st?.mtime && Date.now() - st.mtime.getTime() > 3600e3) {
              await Deno.remove(p, { recursive: true }).catch(() => {});
              removed++;
            }
          }
        }
      } catch { /* none */ }
    }
    return removed;
  }
}

/** The folder store under its historical name. */
export { FolderCacheStore as LocalCacheStore };

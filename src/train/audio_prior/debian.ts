/**
 * Debian packages as a data source, cached by content: `apt-get download` the
 * candidate version into a staging folder, hash the `.deb` (sha256), keep it as
 * `.cache/debian/deb/<sha256>.deb`, unpack it with `dpkg -x` into
 * `.cache/debian/x/<sha256>/` (published by rename, so an interrupted unpack is
 * never mistaken for a complete one) and remember `name=version → sha256` in
 * `.cache/debian/index/`. A second call for the same version touches nothing
 * on the network. Nothing here installs packages into the system.
 *
 * @module
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Repository root. */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
/** Default cache root for unpacked packages. */
export const DEBIAN_CACHE: string = join(ROOT, ".cache", "debian");

/** An unpacked package. */
export interface UnpackedPackage {
  name: string;
  version: string;
  sha256: string;
  /** Root of the unpacked tree (paths inside are as installed, e.g. `usr/share/...`). */
  dir: string;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    ...(cwd ? { cwd } : {}),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${dec.decode(out.stderr).trim()}`);
  }
  return dec.decode(out.stdout);
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.stat(p);
    return true;
  } catch {
    return false;
  }
}

/** The candidate version apt would fetch for `name`, or undefined when apt does not know it. */
export async function candidateVersion(name: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await run("apt-cache", ["policy", name]);
  } catch {
    return undefined;
  }
  const m = /Candidate:\s*(\S+)/.exec(text);
  return m && m[1] !== "(none)" ? m[1] : undefined;
}

/**
 * Fetch (once) and unpack Debian package `name`. Throws a clear error when apt
 * is missing or does not know the package.
 */
export async function fetchPackage(
  name: string,
  cache: string = DEBIAN_CACHE,
): Promise<UnpackedPackage> {
  const version = await candidateVersion(name);
  if (!version) {
    throw new Error(
      `Cannot fetch Debian package "${name}": apt-cache does not know it ` +
        `(run on Debian/Ubuntu with the main archive enabled, after apt-get update)`,
    );
  }
  const indexFile = join(cache, "index", `${name}=${version.replaceAll(":", "%3a")}`);
  if (await exists(indexFile)) {
    const sha256 = (await Deno.readTextFile(indexFile)).trim();
    const dir = join(cache, "x", sha256);
    if (await exists(dir)) return { name, version, sha256, dir };
  }
  for (const d of ["index", "deb", "x", "tmp"]) {
    await Deno.mkdir(join(cache, d), { recursive: true });
  }
  const stage = await Deno.makeTempDir({ dir: join(cache, "tmp"), prefix: `${name}.` });
  try {
    await run("apt-get", ["download", "-q", `${name}=${version}`], stage);
    const debs = [...Deno.readDirSync(stage)].filter((e) => e.name.endsWith(".deb"));
    if (debs.length !== 1) {
      throw new Error(`apt-get download ${name} left ${debs.length} .deb files`);
    }
    const debPath = join(stage, debs[0]!.name);
    const bytes = await Deno.readFile(debPath);
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const deb = join(cache, "deb", `${sha256}.deb`);
    if (!(await exists(deb))) await Deno.rename(debPath, deb);
    const dir = join(cache, "x", sha256);
    if (!(await exists(dir))) {
      const into = join(stage, "x");
      await run("dpkg", ["-x", deb, into]);
      await Deno.rename(into, dir);
    }
    await Deno.writeTextFile(`${indexFile}.tmp`, sha256 + "\n");
    await Deno.rename(`${indexFile}.tmp`, indexFile);
    return { name, version, sha256, dir };
  } finally {
    await Deno.remove(stage, { recursive: true }).catch(() => {});
  }
}

/** Where an installed-or-cached package's files are: `/` if installed with dpkg, else the cache. */
export async function installedOrCached(
  name: string,
  probe: string,
  cache: string = DEBIAN_CACHE,
): Promise<string | undefined> {
  if (await exists(join("/", probe))) return "/";
  const version = await candidateVersion(name);
  if (!version) return undefined;
  const indexFile = join(cache, "index", `${name}=${version.replaceAll(":", "%3a")}`);
  if (!(await exists(indexFile))) return undefined;
  const dir = join(cache, "x", (await Deno.readTextFile(indexFile)).trim());
  return (await exists(join(dir, probe))) ? dir : undefined;
}

if (import.meta.main) {
  for (const name of Deno.args) {
    const t = performance.now();
    const p = await fetchPackage(name);
    console.log(
      `${name} ${p.version} ${p.sha256.slice(0, 12)} ${p.dir} (${
        ((performance.now() - t) / 1000).toFixed(1)
      } s)`,
    );
  }
}

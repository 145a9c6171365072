import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { hashModuleTree, localImports, stageCodeHash } from "./code_hash.ts";

/** Write `files` (path → text) under a new temp folder; returns the folder. */
async function tree(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dub-code-" });
  for (const [p, text] of Object.entries(files)) {
    await Deno.mkdir(join(dir, p, ".."), { recursive: true });
    await Deno.writeTextFile(join(dir, p), text);
  }
  return dir;
}

/** A small stage with helpers at several depths and things that must not count. */
const FILES: Record<string, string> = {
  "stages/my_stage.ts": `/** A stage. Example: import { x } from "./not_a_file.ts"; */
import { z } from "zod";
import { join } from "node:path";
import type { Shape } from "./types.ts";
import {
  helper,
  type Other,
} from "../lib/helper.ts";
export { reexported } from "./re.ts";
export default { run: async () => (await import("../lib/lazy.ts")).go(helper, z, join) };
`,
  "stages/types.ts": `export type Shape = number;`,
  "stages/re.ts": `export const reexported = 1;`,
  "lib/helper.ts": `import "./side.ts";
/* An import commented out names a file that is gone:
import { old } from "./removed.ts";
*/
export * from "./deep/deeper.ts";
const SHADER = "kernel.wgsl";
export const helper = (x: number) => x + 1;
`,
  "lib/side.ts": `globalThis.x = 1;`,
  "lib/deep/deeper.ts": `export const d = 2;`,
  "lib/kernel.wgsl": `@compute @workgroup_size(1) fn main() {}`,
  "lib/lazy.ts": `export const go = () => 3;`,
  "lib/unrelated.ts": `export const u = 4;`,
};
const stageUrl = (dir: string) => pathToFileURL(join(dir, "stages", "my_stage.ts"));

Deno.test("localImports() finds relative runtime imports and named shaders, not types, packages or URLs", () => {
  const got = localImports(FILES["stages/my_stage.ts"]!);
  assert.deepEqual(got.modules.sort(), ["../lib/helper.ts", "../lib/lazy.ts", "./re.ts"]);
  const h = localImports(FILES["lib/helper.ts"]!);
  assert.deepEqual(h.modules.sort(), ["./deep/deeper.ts", "./removed.ts", "./side.ts"]);
  assert.deepEqual(h.assets, ["./kernel.wgsl"]);
  assert.deepEqual(
    localImports(`import x from "npm:zod@4";\nimport y from "https://x.org/a.ts";`).modules,
    [],
  );
});

Deno.test("hashModuleTree() covers the stage file and its transitive local imports", async () => {
  const dir = await tree(FILES);
  try {
    const h = (await hashModuleTree(stageUrl(dir)))!;
    assert.deepEqual(h.files, [
      "../lib/deep/deeper.ts",
      "../lib/helper.ts",
      "../lib/kernel.wgsl",
      "../lib/lazy.ts",
      "../lib/side.ts",
      "my_stage.ts",
      "re.ts",
    ]);
    assert.match(h.hash, /^[0-9a-f]{64}$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hashModuleTree(): an edited helper changes the hash, an unrelated file does not, the folder does not", async () => {
  const edit = (path: string, text: string) => ({ ...FILES, [path]: text });
  const variants = {
    base: FILES,
    // Another checkout of the same code: the hash must not depend on where it lies.
    copy: FILES,
    deep: edit("lib/deep/deeper.ts", `export const d = 3;`),
    shader: edit("lib/kernel.wgsl", `@compute @workgroup_size(2) fn main() {}`),
    unrelated: edit("lib/unrelated.ts", `export const u = 5;`),
    typeOnly: edit("stages/types.ts", `export type Shape = string;`),
  };
  const dirs: string[] = [];
  try {
    const hashes: Record<string, string> = {};
    for (const [name, files] of Object.entries(variants)) {
      const dir = await tree(files);
      dirs.push(dir);
      hashes[name] = (await hashModuleTree(stageUrl(dir)))!.hash;
    }
    assert.equal(hashes.copy, hashes.base);
    assert.notEqual(hashes.deep, hashes.base, "a helper two imports away changed");
    assert.notEqual(hashes.shader, hashes.base, "a shader the helper names changed");
    assert.equal(hashes.unrelated, hashes.base, "a file nothing imports changed");
    assert.equal(hashes.typeOnly, hashes.base, "a type-only import changed");
  } finally {
    for (const d of dirs) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("hashModuleTree() is null where the code cannot be read (remote module, missing file)", async () => {
  assert.equal(await hashModuleTree("https://example.org/dub/src/stages/x.ts"), null);
  assert.equal(await hashModuleTree("not a url"), null);
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await hashModuleTree(pathToFileURL(join(dir, "gone.ts"))), null);
    // A helper that cannot be read (not merely absent) gives null too: no partial hash.
    const denied = (u: URL) =>
      u.pathname.endsWith("helper.ts")
        ? Promise.reject(new Deno.errors.PermissionDenied("no"))
        : Deno.readTextFile(u);
    const d2 = await tree(FILES);
    try {
      assert.equal(await hashModuleTree(stageUrl(d2), denied), null);
    } finally {
      await Deno.remove(d2, { recursive: true });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stageCodeHash() hashes once per process: later edits are not seen by the same process", async () => {
  const dir = await tree(FILES);
  try {
    const url = stageUrl(dir).href;
    const first = await stageCodeHash(url);
    await Deno.writeTextFile(join(dir, "lib", "helper.ts"), "export const helper = 0;");
    assert.equal(await stageCodeHash(url), first);
    assert.notEqual((await hashModuleTree(url))!.hash, first!.hash);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

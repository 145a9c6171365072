import assert from "node:assert/strict";
import { join } from "node:path";
import { DubError } from "../errors.ts";
import { PathRoots } from "./roots.ts";

Deno.test("PathRoots allows files under a root (existing or not) and refuses others, symlinks resolved", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir());
  const root = join(base, "shared");
  const other = join(base, "private");
  await Deno.mkdir(root);
  await Deno.mkdir(other);
  await Deno.writeTextFile(join(other, "secret.txt"), "x");
  await Deno.symlink(join(other, "secret.txt"), join(root, "link.txt"));
  await Deno.symlink(other, join(root, "dirlink"));
  const roots = new PathRoots([root]);
  assert.ok(await roots.allows(join(root, "clips", "a.mp4")));
  assert.ok(await roots.allows(root));
  assert.ok(!(await roots.allows(join(other, "secret.txt"))));
  assert.ok(!(await roots.allows(join(root, "..", "private", "secret.txt"))));
  assert.ok(!(await roots.allows(`${root}-evil/x`)), "a sibling with the root as prefix");
  assert.ok(!(await roots.allows(join(root, "link.txt"))), "a symlink out of the root");
  assert.ok(
    !(await roots.allows(join(root, "dirlink", "new.mp4"))),
    "a new file under a linked dir",
  );
  await assert.rejects(() => roots.check(join(other, "secret.txt"), 'input "footage"'), (e) => {
    assert.ok(e instanceof DubError && e.kind === "usage");
    assert.match(e.message, /Refusing input "footage" ".*secret\.txt": it is outside/);
    return true;
  });
  await Deno.remove(base, { recursive: true });
});

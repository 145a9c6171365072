import assert from "node:assert/strict";
import { join } from "node:path";
import { matchFiles } from "./jobs.ts";

Deno.test("matchFiles() expands globs in folder components too (scenes/*/*.{mp4,mov}), not into deeper folders", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "dub-jobs-" }));
  try {
    const files = [
      "scenes/man/a.mp4",
      "scenes/man/b.mov",
      "scenes/man/a.wav",
      "scenes/man/adapt/speaker.mp4",
      "scenes/woman/c.mp4",
      "other/d.mp4",
    ];
    for (const f of files) {
      await Deno.mkdir(join(dir, f, ".."), { recursive: true });
      await Deno.writeTextFile(join(dir, f), "");
    }
    const got = await matchFiles(join(dir, "scenes/*/*.{mp4,mov}"));
    assert.deepEqual(
      got.map((p) => p.slice(dir.length + 1)).sort(),
      ["scenes/man/a.mp4", "scenes/man/b.mov", "scenes/woman/c.mp4"],
    );
    // A glob in the last component only, and a folder, behave as before.
    assert.deepEqual(
      (await matchFiles(join(dir, "scenes/man/*.mp4"))).map((p) => p.slice(dir.length + 1)),
      ["scenes/man/a.mp4"],
    );
    assert.deepEqual(
      (await matchFiles(join(dir, "scenes/man"))).map((p) => p.slice(dir.length + 1)),
      ["scenes/man/a.mp4", "scenes/man/b.mov"],
    );
    assert.deepEqual(await matchFiles(join(dir, "nowhere/*/*.mp4")), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

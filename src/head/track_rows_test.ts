import assert from "node:assert/strict";
import { join } from "node:path";
import { openMedia } from "../media/mod.ts";
import { readTrack } from "../track/track_file.ts";
import { cap12TrackPath } from "./_testing.ts";
import { TrackRows } from "./track_rows.ts";

Deno.test({
  name: "TrackRows reads the same rows as readTrack() and rejects truncated or foreign files",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using media = await openMedia();
    const path = await cap12TrackPath(media, 300);
    const whole = await readTrack(path);
    using rows = await TrackRows.open(path);
    assert.equal(rows.frames, 300);
    for (const t of [0, 137, 299]) {
      assert.deepEqual(
        await rows.expression(t),
        whole.f32("expression").slice(t * 1404, (t + 1) * 1404),
      );
      assert.deepEqual(
        await rows.landmarks(t),
        whole.f32("landmarks").slice(t * 1404, (t + 1) * 1404),
      );
    }
    assert.deepEqual(rows.articulation, whole.f32("articulation"));
    assert.deepEqual(rows.rotation, whole.f32("rotation"));
    await assert.rejects(() => rows.expression(300), /Track row 300 is outside 0…299/);
    const dir = await Deno.makeTempDir();
    try {
      const bytes = await Deno.readFile(path);
      const cut = join(dir, "cut.safetensors");
      await Deno.writeFile(cut, bytes.subarray(0, bytes.length - 5000));
      await assert.rejects(
        () => TrackRows.open(cut),
        /Cannot read ".*cut\.safetensors": .*truncated/,
      );
      const junk = join(dir, "junk.safetensors");
      await Deno.writeFile(junk, new TextEncoder().encode("hello, this is not a track"));
      await assert.rejects(() => TrackRows.open(junk), /Cannot read ".*junk\.safetensors"/);
      await assert.rejects(() => TrackRows.open(join(dir, "none")), /Cannot read ".*none"/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTICULATION_DIM } from "../articulation/mod.ts";
import { measureGeometry } from "../articulation/measure.ts";
import { loadCanonicalMesh } from "./canonical_mesh.ts";
import { eulerFromRotation, rotationFromEuler } from "./pose.ts";
import { readTrack, TrackWriter } from "./track_file.ts";
import type { FrameTrack } from "./tracker.ts";

Deno.test("TrackWriter marks frames without a face with NaN rows and round-trips tracked frames", async () => {
  const mesh = await loadCanonicalMesh();
  const dir = await Deno.makeTempDir();
  try {
    const R = rotationFromEuler(0.2, 0.1, 0);
    const frame = (index: number, found: boolean): FrameTrack => {
      const expression = new Float32Array(468 * 3).fill(0.1 * index);
      const landmarks = new Float32Array(468 * 3).map((_, i) => i + index);
      const head = Float32Array.from(mesh.vertices, (v, i) => v + expression[i]!);
      return {
        index: 100 + index,
        timeS: index / 25,
        found,
        status: found ? "ok" : "no_face",
        sceneCut: index === 2,
        faceCount: found ? 1 : 0,
        confidence: found ? 0.9 : 0,
        fitErrorCm: found ? 0.3 : NaN,
        box: found ? [10, 20, 30, 40] : null,
        landmarks: found ? landmarks : null,
        rawLandmarks: found ? landmarks : null,
        pose: found
          ? { rotation: R, translation: Float64Array.of(1, 2, 3), scale: 7, rmsCm: 0.3 }
          : null,
        euler: found ? eulerFromRotation(R) : null,
        expression: found ? expression : null,
        geometry: found ? measureGeometry(head) : null,
      };
    };
    const w = await TrackWriter.create(join(dir, "t.safetensors"), join(dir, "tmp"), mesh);
    for (const [i, f] of [[0, true], [1, false], [2, true]] as const) await w.add(frame(i, f));
    const info = await w.close({
      fps: 25,
      width: 64,
      height: 48,
      speaker: "largest",
      warnings: ["w"],
    });
    assert.equal(info.frameCount, 3);
    assert.equal(info.foundCount, 2);
    assert.equal(info.firstFrameIndex, 100);
    assert.deepEqual(info.sceneCuts, [102]);
    const tr = await readTrack(join(dir, "t.safetensors"));
    assert.deepEqual(Array.from(tr.u8("found")), [1, 0, 1]);
    assert.deepEqual(Array.from(tr.u8("status")), [0, 1, 0]);
    assert.deepEqual(tr.clip.warnings, ["w"]);
    const lm = tr.f32("landmarks");
    assert.equal(lm[5], 5);
    assert.ok(lm.subarray(468 * 3, 2 * 468 * 3).every(Number.isNaN));
    assert.equal(lm[2 * 468 * 3 + 5], 7);
    assert.ok(Math.abs(tr.f32("expression")[2 * 468 * 3]! - 0.2) < 1e-6);
    assert.deepEqual(Array.from(tr.f32("box").subarray(0, 4)), [10, 20, 30, 40]);
    assert.ok(Math.abs(tr.f32("rotation")[0]! - R[0]!) < 1e-6);
    assert.equal(tr.f32("scale")[0], 7);
    const art = tr.f32("articulation");
    assert.ok(art.subarray(ARTICULATION_DIM, 2 * ARTICULATION_DIM).every(Number.isNaN));
    assert.ok(art.subarray(0, ARTICULATION_DIM).every(Number.isFinite));
    assert.ok(tr.f32("neutral_expression").every(Number.isFinite));
    await assert.rejects(readTrack(join(dir, "tmp", "missing.safetensors")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

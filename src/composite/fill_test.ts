import assert from "node:assert/strict";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { OnnxInpainter, pushPull } from "./fill.ts";
import { applySimilarity, fitSimilarity, invertSimilarity, RIGID_LANDMARKS } from "./fill.ts";

const { onnx } = onnxProto;
const FILL = [0.2, 0.5, 0.8];

/** A tiny inpainting model: output = image + mask · FILL (per channel), any H×W. */
function tinyInpaintModel(inputNames = ["image", "mask"]): Uint8Array {
  const f = onnx.TensorProto.DataType.FLOAT;
  const dims = (c: number) => ({
    tensorType: {
      elemType: f,
      shape: { dim: [{ dimValue: 1 }, { dimValue: c }, { dimParam: "H" }, { dimParam: "W" }] },
    },
  });
  return onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 8,
    opsetImport: [{ domain: "", version: 17 }],
    graph: {
      name: "tiny_inpaint",
      node: [
        { opType: "Mul", input: [inputNames[1]!, "fill"], output: ["painted"] },
        { opType: "Add", input: [inputNames[0]!, "painted"], output: ["output"] },
      ],
      initializer: [{
        name: "fill",
        dims: [1, 3, 1, 1],
        dataType: f,
        rawData: new Uint8Array(Float32Array.from(FILL).buffer),
      }],
      input: [{ name: inputNames[0]!, type: dims(3) }, { name: inputNames[1]!, type: dims(1) }],
      output: [{ name: "output", type: dims(3) }],
    },
  })).finish();
}

Deno.test({
  name:
    "OnnxInpainter follows the contract: RGB planes + mask in, hole pixels from the model, known pixels kept",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      const path = join(dir, "tiny.onnx");
      await Deno.writeFile(path, tinyInpaintModel());
      const W = 13, H = 9; // not multiples of 8: exercises the padding
      const data = new Float32Array(W * H * 3).map((_, i) => ((i * 7) % 100) / 100);
      const hole = new Uint8Array(W * H).map((_, i) => (i % 5 === 0 ? 1 : 0));
      for (const opts of [{}, { size: [16, 16] as [number, number] }]) {
        await using inp = await OnnxInpainter.load(path, opts);
        const out = await inp.inpaint({ width: W, height: H, channels: 3, data }, hole);
        assert.equal(out.width, W);
        for (let i = 0; i < W * H; i++) {
          for (let c = 0; c < 3; c++) {
            const v = out.data[i * 3 + c]!;
            if (!hole[i]) assert.equal(v, data[i * 3 + c], `known pixel ${i}`);
            // The model saw hole pixels as 0, so it returns exactly FILL there (resized
            // models blur the mask edge: allow 0.35).
            else {assert.ok(
                Math.abs(v - FILL[c]!) < ("size" in opts ? 0.35 : 1e-6),
                `hole pixel ${i} ch ${c}: ${v}`,
              );}
          }
        }
      }
      // A model without the contract's input names is refused clearly.
      const bad = join(dir, "bad.onnx");
      await Deno.writeFile(bad, tinyInpaintModel(["rgb", "holes"]));
      await assert.rejects(
        () => OnnxInpainter.load(bad),
        /The inpainting model ".*bad\.onnx" has no input named "image"/,
      );
      await assert.rejects(
        () => OnnxInpainter.load(join(dir, "none.onnx")),
        /Cannot load the inpainting model/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("pushPull() keeps known pixels and fills a hole smoothly between its borders", () => {
  const W = 40, H = 20;
  // Left half 0.2, right half 0.8; a hole across the middle.
  const data = new Float32Array(W * H * 3).map((
    _,
    i,
  ) => (Math.floor(i / 3) % W < W / 2 ? 0.2 : 0.8));
  const hole = new Uint8Array(W * H).map((_, i) => (Math.abs((i % W) - W / 2) < 6 ? 1 : 0));
  const out = pushPull({ width: W, height: H, channels: 3, data }, hole);
  for (let i = 0; i < W * H; i++) if (!hole[i]) assert.equal(out.data[i * 3], data[i * 3]);
  // Inside the hole values stay within the borders' range and increase left to right.
  const row = 10;
  let prev = -1;
  for (let x = W / 2 - 5; x < W / 2 + 6; x++) {
    const v = out.data[(row * W + x) * 3]!;
    assert.ok(v >= 0.2 - 1e-6 && v <= 0.8 + 1e-6, `x=${x}: ${v}`);
    assert.ok(v >= prev - 1e-6, `monotone at x=${x}`);
    prev = v;
  }
  // A fully unknown image still gets finite values.
  assert.ok(
    pushPull(
      { width: 4, height: 4, channels: 3, data: new Float32Array(48) },
      new Uint8Array(16).fill(1),
    ).data.every(Number.isFinite),
  );
});

Deno.test("fitSimilarity() recovers a rotation, scale and shift of the rigid landmarks", () => {
  const a = new Float32Array(936).map((_, i) => ((i * 37) % 101) + (i % 2) * 13);
  const S = { a: 1.1 * Math.cos(0.2), b: 1.1 * Math.sin(0.2), tx: 5, ty: -3 };
  const b = new Float32Array(936);
  for (let i = 0; i < 468; i++) {
    [b[i * 2], b[i * 2 + 1]] = applySimilarity(S, a[i * 2]!, a[i * 2 + 1]!);
  }
  const fit = fitSimilarity(a, b);
  for (const k of ["a", "b", "tx", "ty"] as const) assert.ok(Math.abs(fit[k] - S[k]) < 1e-3, k);
  const back = invertSimilarity(fit);
  const i = RIGID_LANDMARKS[0];
  const [x, y] = applySimilarity(back, b[i * 2]!, b[i * 2 + 1]!);
  assert.ok(Math.abs(x - a[i * 2]!) < 1e-3 && Math.abs(y - a[i * 2 + 1]!) < 1e-3);
});

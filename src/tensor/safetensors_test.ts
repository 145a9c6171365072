import assert from "node:assert/strict";
import { join } from "node:path";
import { parseSafetensors, readSafetensors, writeSafetensors } from "./safetensors.ts";

Deno.test("writeSafetensors() round-trips tensors from memory and files with metadata", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const big = new Float32Array(1000).map((_, i) => i * 0.5 - 3);
    const bigPath = join(dir, "big.f32");
    await Deno.writeFile(bigPath, new Uint8Array(big.buffer));
    const path = join(dir, "t.safetensors");
    await writeSafetensors(path, [
      { name: "flags", dtype: "U8", shape: [3], data: Uint8Array.from([1, 0, 1]) },
      { name: "big", dtype: "F32", shape: [10, 100], data: { path: bigPath } },
      {
        name: "nan",
        dtype: "F32",
        shape: [2],
        data: new Uint8Array(Float32Array.from([NaN, 1]).buffer),
      },
    ], { format: "x", clip: '{"a":1}' });
    const bytes = await Deno.readFile(path);
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + headerLen) % 8, 0, "data section is 8-byte aligned");
    const { tensors, metadata } = await readSafetensors(path);
    assert.deepEqual(metadata, { format: "x", clip: '{"a":1}' });
    assert.deepEqual(Array.from(tensors.get("flags")!.data), [1, 0, 1]);
    assert.deepEqual(tensors.get("big")!.shape, [10, 100]);
    assert.deepEqual(Array.from(tensors.get("big")!.data), Array.from(big));
    const nan = tensors.get("nan")!.data;
    assert.ok(Number.isNaN(nan[0]) && nan[1] === 1);
    assert.throws(() => parseSafetensors(bytes.subarray(0, bytes.length - 4), "cut"), /truncated/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeSafetensors() rejects data that does not match the shape", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      writeSafetensors(join(dir, "t.safetensors"), [{
        name: "a",
        dtype: "F32",
        shape: [3],
        data: new Uint8Array(8),
      }], {}),
      /needs 12/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

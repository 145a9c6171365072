import assert from "node:assert/strict";
import { join } from "node:path";
import { MediaError } from "../errors.ts";
import { WASM_MAX_INPUT_BYTES, WasmMedia } from "./_wasm.ts";

Deno.test({
  name:
    "WasmMedia refuses an input larger than ffmpeg.wasm can hold, naming it and the native way out",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const path = join(dir, "huge.mp4");
    try {
      // A sparse file: its size is past the limit, it takes no disk space.
      await Deno.writeFile(path, new Uint8Array([0]));
      await Deno.truncate(path, WASM_MAX_INPUT_BYTES + 1);
      await using media = new WasmMedia();
      await assert.rejects(
        () => media.probe(path),
        (e: Error) =>
          e instanceof MediaError &&
          /Cannot read ".*huge\.mp4" with the embedded ffmpeg\.wasm: .* the limit is 1 GB/.test(
            e.message,
          ) && /apt-get install ffmpeg/.test(e.hint ?? ""),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

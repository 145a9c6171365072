import assert from "node:assert/strict";
import { concurrencyCap, JOB_MEMORY_BYTES } from "./limits.ts";

const GiB = 2 ** 30;

Deno.test("concurrencyCap() limits clip jobs by free memory per media backend and by cores", () => {
  // 2 cores, 24 GiB free: cores bind (4 jobs) with either backend.
  assert.equal(concurrencyCap("native", { cores: 2, availableBytes: 24 * GiB }).jobs, 4);
  assert.equal(concurrencyCap("wasm", { cores: 2, availableBytes: 24 * GiB }).jobs, 4);
  // 64 cores, 24 GiB free: memory binds, and wasm jobs (2 GiB heaps) fit fewer than native.
  const native = concurrencyCap("native", { cores: 64, availableBytes: 24 * GiB });
  const wasm = concurrencyCap("wasm", { cores: 64, availableBytes: 24 * GiB });
  assert.equal(native.jobs, Math.floor((24 * GiB * 0.75) / JOB_MEMORY_BYTES.native!));
  assert.equal(wasm.jobs, 9);
  assert.ok(wasm.jobs < native.jobs);
  // Nearly no free memory: still one job, and the reason says why.
  const tight = concurrencyCap("wasm", { cores: 8, availableBytes: 0.5 * GiB });
  assert.equal(tight.jobs, 1);
  assert.match(
    tight.reason,
    /8 CPU cores and 0\.5 GiB of free memory.*wasm media backend needs up to 2\.0 GiB/,
  );
});

import assert from "node:assert/strict";
import { formatDuration } from "./progress.ts";

Deno.test("formatDuration() rounds whole seconds from a minute on and never prints 60 seconds", () => {
  assert.equal(formatDuration(0.04), "0.0s");
  assert.equal(formatDuration(12.34), "12.3s");
  assert.equal(formatDuration(59.96), "1m00s");
  assert.equal(formatDuration(119.6), "2m00s"); // was "1m60s"
  assert.equal(formatDuration(61.4), "1m01s");
  assert.equal(formatDuration(3599.5), "1h00m00s");
  assert.equal(formatDuration(7387), "2h03m07s");
});

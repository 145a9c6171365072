import assert from "node:assert/strict";
import { cameraFromJson, cameraToJson, parseCameraFile } from "./camera.ts";
import { SplatInputError } from "./errors.ts";

// A camera at (1, 2, 3) rotated 90° about +y: camera x → world −z, camera z → world +x.
const C2W = [[0, 0, 1], [0, 1, 0], [-1, 0, 0]];
const ENTRY = {
  id: 4,
  img_name: "frame_0004",
  width: 64,
  height: 48,
  position: [1, 2, 3],
  rotation: C2W,
  fx: 50,
  fy: 55,
};

Deno.test("cameraFromJson() converts a cameras.json entry to a world-to-camera pinhole", () => {
  const cam = cameraFromJson(ENTRY);
  assert.equal(cam.kind, "pinhole");
  assert.deepEqual([cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy], [
    64,
    48,
    50,
    55,
    32,
    24,
  ]);
  const R = Array.from(cam.R), t = Array.from(cam.t);
  const toCam = (p: number[]) =>
    [0, 1, 2].map((i) => R[i * 3]! * p[0]! + R[i * 3 + 1]! * p[1]! + R[i * 3 + 2]! * p[2]! + t[i]!);
  // The camera centre maps to the origin; a point 2 units ahead (world +x) is at camera z = 2.
  assert.deepEqual(toCam([1, 2, 3]).map((v) => v + 0), [0, 0, 0]);
  assert.deepEqual(toCam([3, 2, 3]).map((v) => v + 0), [0, 0, 2]);
  // World −z is camera +x.
  assert.deepEqual(toCam([1, 2, 2]).map((v) => v + 0), [1, 0, 0]);
  assert.deepEqual(cameraToJson(cam, 4, "frame_0004"), ENTRY);
});

Deno.test("parseCameraFile() picks an entry by index or name and rejects bad files", () => {
  const text = JSON.stringify([{ ...ENTRY, id: 0, img_name: "a" }, {
    ...ENTRY,
    id: 1,
    img_name: "b",
    fx: 70,
  }]);
  assert.equal(parseCameraFile(text, "c.json").fx, 50);
  assert.equal(parseCameraFile(text, "c.json", { index: 1 }).fx, 70);
  assert.equal(parseCameraFile(text, "c.json", { name: "b" }).fx, 70);
  assert.equal(parseCameraFile(JSON.stringify(ENTRY), "one.json").fy, 55);
  const bad: [string, object, RegExp][] = [
    [text, { index: 2 }, /index 2 is out of range \(the file has 2 cameras/],
    [text, { name: "zz" }, /no camera named "zz"/],
    ["{", {}, /invalid JSON/],
    [JSON.stringify([{ ...ENTRY, fx: -1 }]), {}, /"fx" must be a positive finite number/],
    [JSON.stringify([{ ...ENTRY, rotation: [[1, 0], [0, 1]] }]), {}, /"rotation" must be a 3×3/],
    [
      JSON.stringify([{ ...ENTRY, rotation: [[2, 0, 0], [0, 1, 0], [0, 0, 1]] }]),
      {},
      /not a rotation matrix/,
    ],
    [JSON.stringify([{ ...ENTRY, position: [0, 0] }]), {}, /"position" must be/],
  ];
  for (const [t, pick, re] of bad) {
    assert.throws(() => parseCameraFile(t, "c.json", pick), (e: unknown) => {
      assert.ok(e instanceof SplatInputError);
      assert.match(e.message, /^Cannot read camera "c\.json/);
      assert.match(e.message, re);
      return true;
    });
  }
});

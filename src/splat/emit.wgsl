// Tile binning: per-Gaussian tile counts in depth order, then instance emission.
//
// Design: the Gaussians are first sorted by depth (radix_sort.wgsl on N keys).
// `count_tiles` writes, for every depth rank r, the number of tiles its Gaussian
// touches; scan.wgsl turns these into instance offsets (and the total M, which the
// host reads back to size the instance buffers). `emit` writes one (tile id,
// Gaussian id) instance per touched tile at those offsets, so the instance list is
// already in global depth order and a stable sort on the tile id alone yields the
// reference's (tile, depth) order with far fewer sort passes.

@group(0) @binding(0) var<uniform> pp: Pass; // n = N, aux = tiles_x
@group(0) @binding(1) var<storage, read> splats: array<Splat>;
@group(0) @binding(2) var<storage, read> order: array<u32>; // [N] Gaussian ids by depth
@group(0) @binding(3) var<storage, read_write> offsets: array<u32>; // [N]
@group(0) @binding(4) var<storage, read_write> inst_keys: array<u32>; // [M] tile id
@group(0) @binding(5) var<storage, read_write> inst_vals: array<u32>; // [M] Gaussian id

fn tiles_of(s: Splat) -> u32 {
  if (s.radius <= 0) { return 0u; }
  return (s.tile_x1 - s.tile_x0) * (s.tile_y1 - s.tile_y0);
}

@compute @workgroup_size(WG_1D)
fn count_tiles(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= pp.n) { return; }
  offsets[r] = tiles_of(splats[order[r]]);
}

@compute @workgroup_size(WG_1D)
fn emit(@builtin(global_invocation_id) gid: vec3<u32>) {
  let r = gid.x;
  if (r >= pp.n) { return; }
  let g = order[r];
  let s = splats[g];
  if (tiles_of(s) == 0u) { return; }
  var o = offsets[r];
  for (var ty = s.tile_y0; ty < s.tile_y1; ty++) {
    for (var tx = s.tile_x0; tx < s.tile_x1; tx++) {
      inst_keys[o] = ty * pp.aux + tx;
      inst_vals[o] = g;
      o++;
    }
  }
}

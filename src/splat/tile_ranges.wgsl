// Tile ranges: for each tile, the [start, end) slice of the tile-sorted instance
// list. One invocation per instance compares its tile id with its neighbours'
// (the reference identifyTileRanges); the range buffer is cleared beforehand so
// empty tiles read [0, 0). Tiles here are the rasterizer's bins.

@group(0) @binding(0) var<uniform> pp: Pass; // n = M
@group(0) @binding(1) var<storage, read> inst_keys: array<u32>;
@group(0) @binding(2) var<storage, read_write> ranges: array<u32>; // [tiles, 2]

@compute @workgroup_size(WG_1D)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Grid-stride: M can exceed one dispatch's 65535 workgroups.
  for (var i = gid.x; i < pp.n; i += nwg.x * WG_1D) {
    let tile = inst_keys[i];
    if (i == 0u || inst_keys[i - 1u] != tile) { ranges[2u * tile] = i; }
    if (i + 1u == pp.n || inst_keys[i + 1u] != tile) { ranges[2u * tile + 1u] = i + 1u; }
  }
}

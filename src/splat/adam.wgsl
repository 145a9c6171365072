// Adam update of the whole parameter buffer, one invocation per float.
//
// Design: torch semantics, exactly as the CPU optimiser: m ← β1·m + (1 − β1)·g,
// v ← β2·v + (1 − β2)·g², p ← p − (lr / (1 − β1^t))·m / (sqrt(v) / sqrt(1 − β2^t) + ε).
// The bias corrections are computed on the host per step. The learning rate of a
// float is chosen by which group's range [off_x, off_next) it falls into, so one
// dispatch updates every group; parameters, moments and gradients never leave
// the device.

@group(0) @binding(0) var<uniform> ap: AdamParams;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;

@compute @workgroup_size(WG_1D)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * WG_1D;
  if (i >= ap.total) { return; }
  var lr = ap.lr_means;
  if (i >= ap.off_colors) {
    lr = ap.lr_colors;
  } else if (i >= ap.off_opacity) {
    lr = ap.lr_opacity;
  } else if (i >= ap.off_quats) {
    lr = ap.lr_quats;
  } else if (i >= ap.off_scales) {
    lr = ap.lr_scales;
  }
  let g = grads[i];
  let m = ap.beta1 * m1[i] + (1.0 - ap.beta1) * g;
  let v = ap.beta2 * m2[i] + (1.0 - ap.beta2) * g * g;
  m1[i] = m;
  m2[i] = v;
  params[i] = params[i] - (lr / ap.bias1) * m / (sqrt(v) / ap.bias2_sqrt + ap.eps);
}

// Adam update of the whole parameter buffer, one invocation per float.
//
// Design: torch semantics, exactly as the CPU optimiser: m ← β1·m + (1 − β1)·g,
// v ← β2·v + (1 − β2)·g², p ← p − (lr / (1 − β1^t))·m / (sqrt(v) / sqrt(1 − β2^t) + ε).
// The bias corrections are computed on the host per step. The learning rate of a
// float is chosen by which group's range [off_x, off_next) it falls into, so one
// dispatch updates every group; parameters, moments and gradients never leave
// the device.

@group(0) @binding(0) var<uniform> ap: AdamParams;
@group(0) @binding(1) var<storage, read_write> params: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> grads: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> m1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> m2: array<vec4<f32>>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  // Four floats per invocation (vec4 loads: llvmpipe scalarises per-lane memory
  // accesses, so wide loads cut their number) in a grid-stride loop over a few
  // hundred workgroups (llvmpipe also pays a fixed cost per workgroup). The
  // buffers are padded to 16 bytes; the padding is updated harmlessly.
  let stride = nwg.x * 256u;
  let n4 = (ap.total + 3u) / 4u;
  for (var i = gid.x; i < n4; i += stride) {
    let idx = vec4<u32>(4u * i) + vec4<u32>(0u, 1u, 2u, 3u);
    var lr = vec4<f32>(ap.lr_means);
    lr = select(lr, vec4<f32>(ap.lr_scales), idx >= vec4<u32>(ap.off_scales));
    lr = select(lr, vec4<f32>(ap.lr_quats), idx >= vec4<u32>(ap.off_quats));
    lr = select(lr, vec4<f32>(ap.lr_opacity), idx >= vec4<u32>(ap.off_opacity));
    lr = select(lr, vec4<f32>(ap.lr_colors), idx >= vec4<u32>(ap.off_colors));
    let g = grads[i];
    let m = ap.beta1 * m1[i] + (1.0 - ap.beta1) * g;
    let v = ap.beta2 * m2[i] + (1.0 - ap.beta2) * g * g;
    m1[i] = m;
    m2[i] = v;
    params[i] = params[i] - (lr / ap.bias1) * m / (sqrt(v) / ap.bias2_sqrt + ap.eps);
  }
}

// Adam on one parameter group of the colour MLP (the weights [P] or the features
// [N, F]), one invocation per float, then the gradient is zeroed.
//
// Design: torch semantics, exactly adamUpdate() of color_mlp.ts: m ← β1·m + (1−β1)·g,
// v ← β2·v + (1−β2)·g², p ← p − (lr / (1−β1^t))·m / (sqrt(v) / sqrt(1−β2^t) + ε);
// the bias corrections come from the host. Clearing the gradient in the same pass
// saves a dispatch and matches step() = update + zeroGrad(). A grid-stride loop
// keeps the dispatch within the 65535-workgroup limit for any N.

@group(0) @binding(0) var<uniform> mp: MlpParams;
@group(0) @binding(1) var<storage, read_write> params: array<f32>;
@group(0) @binding(2) var<storage, read_write> grads: array<f32>;
@group(0) @binding(3) var<storage, read_write> m1: array<f32>;
@group(0) @binding(4) var<storage, read_write> m2: array<f32>;

@compute @workgroup_size(MLP_WG)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let stride = nwg.x * MLP_WG;
  for (var i = gid.x; i < mp.total; i += stride) {
    let g = grads[i];
    let m = mp.beta1 * m1[i] + (1.0 - mp.beta1) * g;
    let v = mp.beta2 * m2[i] + (1.0 - mp.beta2) * g * g;
    m1[i] = m;
    m2[i] = v;
    params[i] = params[i] - (mp.lr / mp.bias1) * m / (sqrt(v) / mp.bias2_sqrt + mp.eps);
    grads[i] = 0.0;
  }
}

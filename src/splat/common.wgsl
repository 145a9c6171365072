// Shared helpers of the projection passes (forward and backward): quaternion to
// rotation matrix, SH view direction and the real SH basis with its gradient.
// Appended after the generated prelude; needs `frame: Frame` in the including pass.

// Rotation of a unit quaternion (w, x, y, z), returned as columns (WGSL matrices
// are column-major): rot[c][r] = R[r][c].
fn quat_to_rotmat(q: vec4<f32>) -> mat3x3<f32> {
  let w = q.x;
  let x = q.y;
  let y = q.z;
  let z = q.w;
  return mat3x3<f32>(
    vec3<f32>(1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y + w * z), 2.0 * (x * z - w * y)),
    vec3<f32>(2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z + w * x)),
    vec3<f32>(2.0 * (x * z + w * y), 2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + y * y)),
  );
}

// Unnormalised SH view direction: mean − campos (pinhole) or the camera axis (ortho).
fn sh_dir_raw(m: vec3<f32>) -> vec3<f32> {
  if (frame.ortho != 0u) { return vec3<f32>(frame.r20, frame.r21, frame.r22); }
  return m - vec3<f32>(frame.campos_x, frame.campos_y, frame.campos_z);
}

fn sh_dir(m: vec3<f32>) -> vec3<f32> {
  let d = sh_dir_raw(m);
  if (frame.ortho != 0u) { return d; }
  return d / length(d);
}

fn sh_basis(degree: u32, d: vec3<f32>, out: ptr<function, array<f32, 16>>) {
  (*out)[0] = SH_C0;
  if (degree < 1u) { return; }
  let x = d.x;
  let y = d.y;
  let z = d.z;
  (*out)[1] = -SH_C1 * y;
  (*out)[2] = SH_C1 * z;
  (*out)[3] = -SH_C1 * x;
  if (degree < 2u) { return; }
  let xx = x * x;
  let yy = y * y;
  let zz = z * z;
  (*out)[4] = SH_C2_0 * x * y;
  (*out)[5] = SH_C2_1 * y * z;
  (*out)[6] = SH_C2_2 * (2.0 * zz - xx - yy);
  (*out)[7] = SH_C2_3 * x * z;
  (*out)[8] = SH_C2_4 * (xx - yy);
  if (degree < 3u) { return; }
  (*out)[9] = SH_C3_0 * y * (3.0 * xx - yy);
  (*out)[10] = SH_C3_1 * x * y * z;
  (*out)[11] = SH_C3_2 * y * (4.0 * zz - xx - yy);
  (*out)[12] = SH_C3_3 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
  (*out)[13] = SH_C3_4 * x * (4.0 * zz - xx - yy);
  (*out)[14] = SH_C3_5 * z * (xx - yy);
  (*out)[15] = SH_C3_6 * x * (xx - 3.0 * yy);
}

// ∂basis_k/∂(x, y, z) with the direction components treated as independent.
fn sh_basis_grad(k: u32, d: vec3<f32>) -> vec3<f32> {
  let x = d.x;
  let y = d.y;
  let z = d.z;
  let xx = x * x;
  let yy = y * y;
  let zz = z * z;
  switch (k) {
    case 1u: { return vec3<f32>(0.0, -SH_C1, 0.0); }
    case 2u: { return vec3<f32>(0.0, 0.0, SH_C1); }
    case 3u: { return vec3<f32>(-SH_C1, 0.0, 0.0); }
    case 4u: { return SH_C2_0 * vec3<f32>(y, x, 0.0); }
    case 5u: { return SH_C2_1 * vec3<f32>(0.0, z, y); }
    case 6u: { return SH_C2_2 * vec3<f32>(-2.0 * x, -2.0 * y, 4.0 * z); }
    case 7u: { return SH_C2_3 * vec3<f32>(z, 0.0, x); }
    case 8u: { return SH_C2_4 * vec3<f32>(2.0 * x, -2.0 * y, 0.0); }
    case 9u: { return SH_C3_0 * vec3<f32>(6.0 * x * y, 3.0 * xx - 3.0 * yy, 0.0); }
    case 10u: { return SH_C3_1 * vec3<f32>(y * z, x * z, x * y); }
    case 11u: { return SH_C3_2 * vec3<f32>(-2.0 * x * y, 4.0 * zz - xx - 3.0 * yy, 8.0 * y * z); }
    case 12u: { return SH_C3_3 * vec3<f32>(-6.0 * x * z, -6.0 * y * z, 6.0 * zz - 3.0 * xx - 3.0 * yy); }
    case 13u: { return SH_C3_4 * vec3<f32>(4.0 * zz - 3.0 * xx - yy, -2.0 * x * y, 8.0 * x * z); }
    case 14u: { return SH_C3_5 * vec3<f32>(2.0 * x * z, -2.0 * y * z, xx - yy); }
    case 15u: { return SH_C3_6 * vec3<f32>(3.0 * xx - 3.0 * yy, -6.0 * x * y, 0.0); }
    default: { return vec3<f32>(0.0); }
  }
}

/**
 * A minimal safetensors reader/writer (https://github.com/huggingface/safetensors
 * format): 8-byte little-endian header length, a JSON header mapping each tensor
 * name to `{dtype, shape, data_offsets: [begin, end]}` (offsets relative to the
 * data section) plus an optional `__metadata__` string→string map, then the raw
 * little-endian data. The writer streams tensor data from files or memory so large
 * tensors never need to be held in memory at once.
 *
 * @module
 */

export type DType = "F32" | "U8" | "I32" | "F64";

const BYTES: Record<DType, number> = { F32: 4, U8: 1, I32: 4, F64: 8 };

/** A tensor to write: its bytes come from memory or from a raw file. */
export interface TensorSource {
  name: string;
  dtype: DType;
  shape: number[];
  /** Raw little-endian data in memory, or the path of a file holding exactly that. */
  data: Uint8Array | { path: string };
}

/** A tensor as read. */
export interface Tensor {
  dtype: DType;
  shape: number[];
  data: Float32Array | Uint8Array | Int32Array | Float64Array;
}

function byteLength(t: TensorSource): number {
  return t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
}

/** Write tensors (in the given order) and string metadata to `path`. */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorSource[],
  metadata: Record<string, string>,
): Promise<void> {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let off = 0;
  for (const t of tensors) {
    const n = byteLength(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await writeAll(file, prefix);
    await writeAll(file, headerBytes);
    for (const t of tensors) {
      const n = byteLength(t);
      if (t.data instanceof Uint8Array) {
        if (t.data.length !== n) {
          throw new RangeError(
            `Tensor "${t.name}" has ${t.data.length} bytes, its shape needs ${n}`,
          );
        }
        await writeAll(file, t.data);
      } else {
        const src = await Deno.open(t.data.path, { read: true });
        let copied = 0;
        try {
          const buf = new Uint8Array(1 << 20);
          for (;;) {
            const r = await src.read(buf);
            if (r === null) break;
            await writeAll(file, buf.subarray(0, r));
            copied += r;
          }
        } finally {
          src.close();
        }
        if (copied !== n) {
          throw new RangeError(`Tensor "${t.name}" file has ${copied} bytes, its shape needs ${n}`);
        }
      }
    }
  } finally {
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let o = 0;
  while (o < data.length) o += await file.write(data.subarray(o));
}

/** Read a whole safetensors file. */
export async function readSafetensors(
  path: string,
): Promise<{ tensors: Map<string, Tensor>; metadata: Record<string, string> }> {
  const bytes = await Deno.readFile(path);
  return parseSafetensors(bytes, path);
}

/** Parse safetensors bytes (`label` names the source in errors). */
export function parseSafetensors(
  bytes: Uint8Array,
  label = "buffer",
): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) {
    throw new Error(`Cannot read "${label}": not a safetensors file (too short)`);
  }
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.length) {
    throw new Error(`Cannot read "${label}": header length ${n} exceeds the file; it is truncated`);
  }
  let header: Record<
    string,
    { dtype: DType; shape: number[]; data_offsets: [number, number] } | Record<string, string>
  >;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch {
    throw new Error(
      `Cannot read "${label}": the safetensors header is not JSON; the file is corrupt`,
    );
  }
  const base = 8 + n;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = v as Record<string, string>;
      continue;
    }
    const t = v as { dtype: DType; shape: number[]; data_offsets: [number, number] };
    if (!(t.dtype in BYTES)) {
      throw new Error(
        `Cannot read "${label}": tensor "${name}" has unsupported dtype "${t.dtype}"`,
      );
    }
    const [b, e] = t.data_offsets;
    const count = t.shape.reduce((a, c) => a * c, 1);
    if (e - b !== count * BYTES[t.dtype] || base + e > bytes.length) {
      throw new Error(
        `Cannot read "${label}": tensor "${name}" data is out of range; the file is truncated or corrupt`,
      );
    }
    const slice = bytes.slice(base + b, base + e);
    const buf = slice.buffer;
    const data = t.dtype === "F32"
      ? new Float32Array(buf)
      : t.dtype === "F64"
      ? new Float64Array(buf)
      : t.dtype === "I32"
      ? new Int32Array(buf)
      : slice;
    tensors.set(name, { dtype: t.dtype, shape: t.shape, data });
  }
  return { tensors, metadata };
}

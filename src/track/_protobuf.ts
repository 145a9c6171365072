/**
 * A minimal protocol-buffers wire-format reader: enough to walk the fields of a
 * message and decode varints, fixed32 floats and packed repeated scalars. No
 * schema, no code generation.
 *
 * @module
 */

/** One field occurrence in a message. */
export interface ProtoField {
  /** Field number. */
  field: number;
  /** Wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32. */
  wireType: 0 | 1 | 2 | 5;
  /** Value of a varint field (wire type 0). */
  varint: bigint;
  /** Payload bytes for wire types 1, 2 and 5. */
  bytes: Uint8Array;
}

/** Read a varint at `pos`; returns the value and the position after it. */
export function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (pos >= buf.length) {
      throw new RangeError("Truncated protobuf varint; the data is corrupt");
    }
    const b = buf[pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [result, pos];
    shift += 7n;
  }
  throw new RangeError(
    "Protobuf varint longer than 10 bytes; the data is corrupt",
  );
}

/** All fields of one message, in wire order. */
export function readFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let pos = 0;
  const empty = new Uint8Array(0);
  while (pos < buf.length) {
    const [key, p1] = readVarint(buf, pos);
    pos = p1;
    const field = Number(key >> 3n);
    const wireType = Number(key & 7n);
    if (wireType === 0) {
      const [v, p2] = readVarint(buf, pos);
      pos = p2;
      out.push({ field, wireType, varint: v, bytes: empty });
    } else if (wireType === 1 || wireType === 5) {
      const n = wireType === 1 ? 8 : 4;
      if (pos + n > buf.length) {
        throw new RangeError(
          "Truncated protobuf fixed field; the data is corrupt",
        );
      }
      out.push({
        field,
        wireType,
        varint: 0n,
        bytes: buf.subarray(pos, pos + n),
      });
      pos += n;
    } else if (wireType === 2) {
      const [len, p2] = readVarint(buf, pos);
      pos = p2;
      const end = pos + Number(len);
      if (end > buf.length) {
        throw new RangeError(
          "Truncated protobuf length-delimited field; the data is corrupt",
        );
      }
      out.push({ field, wireType, varint: 0n, bytes: buf.subarray(pos, end) });
      pos = end;
    } else {
      throw new RangeError(
        `Unsupported protobuf wire type ${wireType}; the data is corrupt`,
      );
    }
  }
  return out;
}

/** Values of a repeated float field, packed or not. */
export function repeatedFloats(fields: ProtoField[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    const view = new DataView(
      f.bytes.buffer,
      f.bytes.byteOffset,
      f.bytes.byteLength,
    );
    if (f.wireType === 5) out.push(view.getFloat32(0, true));
    else if (f.wireType === 2) {
      for (let o = 0; o + 4 <= f.bytes.length; o += 4) {
        out.push(view.getFloat32(o, true));
      }
    }
  }
  return out;
}

/** Values of a repeated varint field (e.g. uint32), packed or not. */
export function repeatedVarints(fields: ProtoField[], field: number): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.field !== field) continue;
    if (f.wireType === 0) out.push(Number(f.varint));
    else if (f.wireType === 2) {
      let pos = 0;
      while (pos < f.bytes.length) {
        const [v, p] = readVarint(f.bytes, pos);
        out.push(Number(v));
        pos = p;
      }
    }
  }
  return out;
}

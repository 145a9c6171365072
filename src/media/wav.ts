/**
 * Minimal WAV (RIFF PCM) reader and writer in TypeScript: 16-bit PCM written,
 * 8/16/24/32-bit PCM and 32-bit float read. Used for audio handed between steps
 * and by the embedded backend, so no ffmpeg call is needed for plain WAV.
 *
 * @module
 */

/** Encode mono float32 samples `[T]` in [-1, 1] as a 16-bit PCM WAV file. */
export function encodeWav(
  samples: Float32Array,
  sampleRateHz: number,
): Uint8Array {
  if (!Number.isInteger(sampleRateHz) || sampleRateHz <= 0) {
    throw new RangeError(
      `Invalid sample rate ${sampleRateHz}; pass a positive integer in Hz`,
    );
  }
  const dataBytes = samples.length * 2;
  const buf = new ArrayBuffer(44 + dataBytes);
  const v = new DataView(buf);
  const ascii = (off: number, s: string) => {
    for (let i = 0; i < s.length; i++) v.setUint8(off + i, s.charCodeAt(i));
  };
  ascii(0, "RIFF");
  v.setUint32(4, 36 + dataBytes, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, sampleRateHz, true);
  v.setUint32(28, sampleRateHz * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  ascii(36, "data");
  v.setUint32(40, dataBytes, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]!));
    v.setInt16(44 + 2 * i, Math.round(s * 32767), true);
  }
  return new Uint8Array(buf);
}

export interface DecodedWav {
  sampleRateHz: number;
  channels: number;
  /** Mono mix-down `[T]`. */
  samples: Float32Array;
}

/** Decode a PCM/float WAV file to mono float32; throws a TypeError if it is not one. */
export function decodeWav(bytes: Uint8Array, name = "audio"): DecodedWav {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (off: number) => String.fromCharCode(...bytes.subarray(off, off + 4));
  if (bytes.length < 12 || tag(0) !== "RIFF" || tag(8) !== "WAVE") {
    throw new TypeError(`Cannot read "${name}": not a RIFF/WAVE file`);
  }
  let off = 12;
  let fmt:
    | { format: number; channels: number; rate: number; bits: number }
    | null = null;
  while (off + 8 <= bytes.length) {
    const id = tag(off);
    const size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === "fmt ") {
      let format = v.getUint16(body, true);
      if (format === 0xfffe && size >= 26) {
        format = v.getUint16(body + 24, true);
      }
      fmt = {
        format,
        channels: v.getUint16(body + 2, true),
        rate: v.getUint32(body + 4, true),
        bits: v.getUint16(body + 14, true),
      };
    } else if (id === "data") {
      if (!fmt) {
        throw new TypeError(
          `Cannot read "${name}": WAV data chunk before fmt chunk`,
        );
      }
      const { format, channels, rate, bits } = fmt;
      const bytesPer = bits / 8;
      const avail = Math.min(size, bytes.length - body);
      const frames = Math.floor(avail / (bytesPer * channels));
      const out = new Float32Array(frames);
      for (let i = 0; i < frames; i++) {
        let acc = 0;
        for (let c = 0; c < channels; c++) {
          const p = body + (i * channels + c) * bytesPer;
          let s: number;
          if (format === 3 && bits === 32) s = v.getFloat32(p, true);
          else if (format === 3 && bits === 64) s = v.getFloat64(p, true);
          else if (format === 1 && bits === 16) s = v.getInt16(p, true) / 32768;
          else if (format === 1 && bits === 8) s = (v.getUint8(p) - 128) / 128;
          else if (format === 1 && bits === 24) {
            const x = v.getUint8(p) | (v.getUint8(p + 1) << 8) |
              (v.getInt8(p + 2) << 16);
            s = x / 8388608;
          } else if (format === 1 && bits === 32) {
            s = v.getInt32(p, true) / 2147483648;
          } else {
            throw new TypeError(
              `Cannot read "${name}": unsupported WAV encoding (format ${format}, ${bits} bits)`,
            );
          }
          acc += s;
        }
        out[i] = acc / channels;
      }
      return { sampleRateHz: rate, channels, samples: out };
    }
    off = body + size + (size & 1);
  }
  throw new TypeError(`Cannot read "${name}": no data chunk in WAV file`);
}

/** A TensorRT version and where it was read. */
export interface TensorRtVersion {
  /** "10.3.0" from trtexec; only the major ("10") when read from a libnvinfer soname. */
  version: string;
  source: 'trtexec' | 'libnvinfer';
}

/**
 * Decodes trtexec's banner tag (`[TensorRT v100300]`, `[TensorRT v8601]`). TensorRT encodes
 * major * 10000 + minor * 100 + patch since 10.0 and major * 1000 + minor * 100 + patch before
 * (8.6.1 → 8601): six digits are the new scheme, four the old. A dotted tag (`v8.6.1`) is taken as is.
 */
export function decodeBannerTag(tag: string): string | null {
  if (/^\d+\.\d+(\.\d+)?$/.test(tag)) return tag;
  if (/^\d{6}$/.test(tag)) {
    const n = Number(tag);
    return `${Math.floor(n / 10000)}.${Math.floor((n % 10000) / 100)}.${n % 100}`;
  }
  if (/^\d{4}$/.test(tag)) {
    const n = Number(tag);
    return `${Math.floor(n / 1000)}.${Math.floor((n % 1000) / 100)}.${n % 100}`;
  }
  return null;
}

/**
 * TensorRT version from trtexec output: the `TensorRT version: x.y.z` line (printed after the device
 * information) wins, since it names the library actually loaded; the `&&&& RUNNING` banner tag is
 * the fallback. TensorRT 7 printed neither, so null means "trtexec too old to say".
 */
export function parseTrtexecVersion(output: string): string | null {
  const line = /TensorRT version:\s*(\d+\.\d+\.\d+)/.exec(output)?.[1];
  if (line) return line;
  const tag = /&&&& (?:RUNNING|PASSED|FAILED) TensorRT\.trtexec \[TensorRT v([0-9.]+)\]/.exec(output)?.[1];
  return tag ? decodeBannerTag(tag) : null;
}

/**
 * A library's version from `ldconfig -p` lines (`libnvinfer.so.10 (libc6,x86-64) => /usr/lib/...`).
 * The soname carries only the major version; a fully versioned name (`libnvinfer.so.10.3.0`) is
 * preferred when the cache lists one.
 */
export function parseLdconfigLibrary(output: string, library: string): string | null {
  const pattern = new RegExp(`\\blib${library}\\.so\\.(\\d+(?:\\.\\d+)*)\\s`, 'g');
  const versions = [...output.matchAll(pattern)].map((m) => m[1]!);
  if (versions.length === 0) return null;
  return versions.sort((a, b) => b.split('.').length - a.split('.').length)[0]!;
}

/** TensorRT from `ldconfig -p` when trtexec is not on PATH (a runtime-only install). */
export function parseLdconfigNvinfer(output: string): string | null {
  return parseLdconfigLibrary(output, 'nvinfer');
}

/** Major version of a dotted version string, or null. */
export function majorOf(version: string | null | undefined): number | null {
  const major = version ? Number.parseInt(version, 10) : Number.NaN;
  return Number.isFinite(major) ? major : null;
}

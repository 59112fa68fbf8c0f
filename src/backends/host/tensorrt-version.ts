/** A TensorRT version and where it was read. */
export interface TensorRtVersion {
  /**
   * "10.3.0" from the loaded libnvinfer's file name or trtexec; only the major ("10") when nothing
   * but a libnvinfer soname was found.
   */
  version: string;
  /**
   * libnvinfer: the library trtexec (or the dynamic linker) loads; trtexec: its banner, a
   * compile-time constant (NV_TENSORRT_VERSION), used only when the library cannot be read.
   */
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
 * The version trtexec was COMPILED against: both the `TensorRT version: x.y.z` line and the
 * `&&&& RUNNING` banner tag print the NV_TENSORRT_MAJOR/MINOR/PATCH macros (NVIDIA/TensorRT v8.6.1
 * and v10.16 samples/trtexec/trtexec.cpp), not the loaded libnvinfer; loadedLibraryVersion reads
 * that. TensorRT 7 printed neither, so null means "trtexec too old to say".
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

/**
 * The path `ldd <trtexec>` resolves libnvinfer to, from lines such as
 * `\tlibnvinfer.so.10 => /usr/lib/x86_64-linux-gnu/libnvinfer.so.10 (0x00007f...)` (glibc ldd's
 * format; `=> not found` yields null). ldd follows LD_LIBRARY_PATH as trtexec itself would.
 */
export function parseLddLibraryPath(output: string, library: string): string | null {
  const m = new RegExp(`^\\s*lib${library}\\.so(?:\\.\\d+)*\\s+=>\\s+(/\\S+)`, 'm').exec(output);
  return m?.[1] ?? null;
}

/** `libnvinfer.so.10.3.0` (a real file behind the soname symlinks) → '10.3.0'; anything else null. */
export function versionFromLibraryFile(file: string, library: string): string | null {
  const base = file.split('/').at(-1) ?? '';
  return new RegExp(`^lib${library}\\.so\\.(\\d+\\.\\d+\\.\\d+)$`).exec(base)?.[1] ?? null;
}

/**
 * A library's path from `ldconfig -p` (`libnvinfer.so.10 (libc6,x86-64) => /usr/lib/.../libnvinfer.so.10`),
 * the versioned soname preferred.
 */
export function parseLdconfigLibraryPath(output: string, library: string): string | null {
  const pattern = new RegExp(`\\blib${library}\\.so\\.\\d+(?:\\.\\d+)*\\s[^\\n]*=>\\s*(/\\S+)`);
  return pattern.exec(output)?.[1] ?? null;
}

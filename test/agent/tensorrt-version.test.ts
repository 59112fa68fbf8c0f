import { describe, expect, it } from 'vitest';
import {
  decodeBannerTag,
  parseLdconfigLibrary,
  parseLddLibraryPath,
  parseLdconfigLibraryPath,
  parseLdconfigNvinfer,
  parseTrtexecVersion,
  versionFromLibraryFile,
} from '../../src/backends/host/tensorrt-version.js';
import { trt } from './fixtures.js';

describe('trtexec version (real logs)', () => {
  it.each([
    ['trt10.3.0-orin-int8.log', '10.3.0'],
    ['trt10.16.2-orin-nx.head.log', '10.16.2'],
    ['trt10.2.0-windows.log', '10.2.0'],
    ['trt8.6.1-sam.log', '8.6.1'],
  ])('%s banner → %s', (file, version) => {
    expect(parseTrtexecVersion(trt(file))).toBe(version);
  });

  it('reads the "TensorRT version:" line (compile-time, like the banner) of the device information', () => {
    expect(parseTrtexecVersion(trt('trt10.16.2-orin-nx.device-info.log'))).toBe('10.16.2');
  });

  it('says nothing for TensorRT 7, whose banner carries no version', () => {
    expect(parseTrtexecVersion(trt('trt7-jetson-no-version.log'))).toBeNull();
    expect(parseTrtexecVersion('')).toBeNull();
  });

  it('decodes both banner encodings and dotted tags', () => {
    expect(decodeBannerTag('100300')).toBe('10.3.0');
    expect(decodeBannerTag('101602')).toBe('10.16.2');
    expect(decodeBannerTag('8601')).toBe('8.6.1');
    expect(decodeBannerTag('8.6.1')).toBe('8.6.1');
    expect(decodeBannerTag('12')).toBeNull();
  });
});

describe('ldconfig -p', () => {
  it('reads the libnvinfer major from the soname', () => {
    expect(parseLdconfigNvinfer(trt('derived.ldconfig-libnvinfer.txt'))).toBe('10');
  });

  it('prefers a fully versioned name and ignores other libraries', () => {
    const text =
      '\tlibnvinfer_plugin.so.8 (libc6,x86-64) => /x\n\tlibnvinfer.so.10.3.0 (libc6,x86-64) => /y\n';
    expect(parseLdconfigNvinfer(text)).toBe('10.3.0');
    expect(parseLdconfigLibrary('\tlibcudart.so.12 (libc6,x86-64) => /z\n', 'cudart')).toBe('12');
    expect(parseLdconfigNvinfer('garbage')).toBeNull();
  });
});

describe('the loaded libnvinfer', () => {
  it('ldd names the path the dynamic linker picks; a missing library is no path', () => {
    expect(parseLddLibraryPath(trt('derived.ldd-trtexec-tar.txt'), 'nvinfer')).toBe(
      '/opt/TensorRT-8.6.1.6/lib/libnvinfer.so.8',
    );
    expect(parseLddLibraryPath('\tlibnvinfer.so.10 => not found\n', 'nvinfer')).toBeNull();
  });

  it('the real file name carries major.minor.patch; a soname alone does not', () => {
    expect(versionFromLibraryFile('/opt/TensorRT-8.6.1.6/lib/libnvinfer.so.8.6.1', 'nvinfer')).toBe('8.6.1');
    expect(versionFromLibraryFile('/usr/lib/x86_64-linux-gnu/libnvinfer.so.10', 'nvinfer')).toBeNull();
    expect(versionFromLibraryFile('/x/libnvinfer_plugin.so.10.3.0', 'nvinfer')).toBeNull();
  });

  it('ldconfig -p gives the versioned soname path', () => {
    expect(parseLdconfigLibraryPath(trt('derived.ldconfig-libnvinfer.txt'), 'nvinfer')).toBe(
      '/usr/lib/x86_64-linux-gnu/libnvinfer.so.10',
    );
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileDurable } from './durable-file.ts';

describe('writeFileDurable', () => {
  const dirs: string[] = [];
  afterEach(() => {
    vi.restoreAllMocks();
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });
  function tmpDir(): string {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'hygrocast-durable-'));
    dirs.push(d);
    return d;
  }

  it('replaces the file and leaves no temporary file', () => {
    const file = path.join(tmpDir(), 'active.json');
    writeFileDurable(file, '{"v":1}');
    writeFileDurable(file, new Uint8Array([1, 2, 3]));
    expect([...fs.readFileSync(file)]).toEqual([1, 2, 3]);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['active.json']);
  });

  it('fsyncs the data before the rename and the folder after it', () => {
    const file = path.join(tmpDir(), 'm.onnx');
    const calls: string[] = [];
    const fsync = fs.fsyncSync;
    const rename = fs.renameSync;
    vi.spyOn(fs, 'fsyncSync').mockImplementation((fd) => {
      calls.push(fs.fstatSync(fd).isDirectory() ? 'fsync folder' : 'fsync file');
      fsync(fd);
    });
    vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      calls.push('rename');
      rename(from, to);
    });
    writeFileDurable(file, 'bytes');
    expect(calls).toEqual(['fsync file', 'rename', 'fsync folder']);
  });

  it('throws the filesystem error and keeps the old content when the write fails', () => {
    const file = path.join(tmpDir(), 'active.json');
    writeFileDurable(file, 'old');
    vi.spyOn(fs, 'renameSync').mockImplementation(() => {
      throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    });
    expect(() => writeFileDurable(file, 'new')).toThrow(/ENOSPC/);
    expect(fs.readFileSync(file, 'utf8')).toBe('old');
    expect(fs.readdirSync(path.dirname(file))).toEqual(['active.json']);
  });
});

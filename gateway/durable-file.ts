import fs from 'node:fs';
import path from 'node:path';

/**
 * Replaces `file` with `bytes` so that after a power cut it holds either the old content or the
 * new, never a torn or empty file: the bytes go to a temporary file in the same folder, which
 * is fsynced, renamed over `file`, and then the folder is fsynced so the rename itself is on disk.
 * (A rename alone orders nothing on ext4 for a new file: the name can reach the disk before the
 * data.) Throws the filesystem's error; the temporary file is removed on failure.
 */
export function writeFileDurable(file: string, bytes: Uint8Array | string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeFileSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncFolder(path.dirname(file));
}

/** fsync of a folder (its entries); a filesystem that cannot sync a folder (EINVAL, EISDIR on some) is left as it is. */
function syncFolder(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    fs.closeSync(fd);
  }
}

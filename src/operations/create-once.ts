// A file created once, by whichever process gets there first, and never seen
// half-written: the content goes to a temp file of this process's own, which is
// then hard-linked to the name. link() fails if the name exists, so two
// processes starting on the same DATA_DIR at once (a service and the CLI, two
// replicas on one volume) agree on one file, and neither reads an empty one
// the other has opened but not yet written.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The file's content, creating it with `content()` if it does not exist; `created` says whether this call did. */
export function readOrCreate(file: string, content: () => string, mode = 0o600): { text: string; created: boolean } {
  try {
    return { text: readFileSync(file, 'utf8'), created: false };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  // On disk before it has the name: a power cut must not leave the name on an empty file.
  const fd = openSync(temp, 'wx', mode);
  try {
    writeFileSync(fd, content());
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let created = true;
  try {
    linkSync(temp, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    created = false; // another process linked its own first: use theirs
  } finally {
    unlinkSync(temp);
  }
  if (created) syncDirectory(path.dirname(file));
  return { text: readFileSync(file, 'utf8'), created };
}

/** The new name itself on disk. */
function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

// The real file adapter (firstboot/run/adapters.ts) with every absolute path put under one folder:
// a node's disk in a temporary folder of its own, so tests and the simulation meet the races,
// renames and fsyncs of a real filesystem, which an in-memory double never shows.
import { join, relative } from 'node:path';
import { realFiles } from '../../firstboot/run/adapters.js';
import type { FileAccess } from '../../firstboot/run/types.js';

export function rootedFiles(root: string): FileAccess {
  const at = (path: string) => join(root, path);
  return {
    read: (path) => realFiles.read(at(path)),
    write: (path, content, mode) => realFiles.write(at(path), content, mode),
    append: (path, content, mode) => realFiles.append(at(path), content, mode),
    remove: (path) => realFiles.remove(at(path)),
    list: async (dir) => (await realFiles.list(at(dir))).map((p) => `/${relative(root, p)}`),
    readBytes: (path) => realFiles.readBytes(at(path)),
    overwrite: (path, content) => realFiles.overwrite(at(path), content),
  };
}

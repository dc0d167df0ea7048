// The real world, behind the narrow interfaces the steps use.
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { redact } from './redact.js';
import type { CommandRunner } from '../../builder/command-runner.js';
import type { Clock, FileAccess, Logger } from './types.js';


export const journalLogger = (write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Logger => ({
  info: (line) => write(line),
  warn: (line) => write(`warning: ${line}`),
});

export const realRunner = (log: Logger): CommandRunner => async (file, args, options = {}) => {
  const started = Date.now();
  const r = await execa(file, [...args], {
    reject: false, ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    ...(options.signal ? { cancelSignal: options.signal } : {}),
    env: { LC_ALL: 'C', NO_COLOR: '1' },
  });
  log.info(redact(`$ ${r.escapedCommand} -> exit ${r.exitCode ?? 'none'} (${((Date.now() - started) / 1000).toFixed(1)} s)`, options.secret));
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: redact(String(r.stderr), options.secret), timedOut: r.timedOut,
    ...(r.isCanceled ? { cancelled: true } : {}) };
};

export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) };

export const realFiles: FileAccess = {
  read: (path) => readFile(path, 'utf8').catch(() => undefined),
  async write(path, content, mode) {
    await mkdir(dirname(path), { recursive: true });
    // A name of its own per write: two writers of one file never share (and rename away) a partial file.
    const partial = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.partial`;
    try {
      const handle = await open(partial, 'wx', mode);
      try {
        await handle.writeFile(content);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(partial, path);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    }
  },
  async append(path, content, mode) {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(path, 'a', mode);
    try {
      await handle.write(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  remove: (path) => rm(path, { force: true }),
  async list(dir) {
    const info = await lstat(dir).catch(() => undefined);
    if (!info) return [];
    if (info.isFile()) return [dir];
    if (!info.isDirectory()) return [];
    const found: string[] = [];
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isFile()) found.push(path);
      else if (entry.isDirectory()) found.push(...await realFiles.list(path));
    }
    return found;
  },
  readBytes: (path) => readFile(path).catch(() => undefined),
  async overwrite(path, content) {
    // In place (r+): the file keeps its owner and mode, whoever made it. No truncate first: the
    // content is as long as before, so a power cut mid-write leaves no empty file for cloud-init.
    const handle = await open(path, 'r+');
    try {
      await handle.write(content, 0, content.length, 0);
      await handle.truncate(content.length);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
};

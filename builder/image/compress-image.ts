// Compressed outputs, streamed through xz or zstd (never held in memory). Fixed block size and
// no timestamps, so the same image gives the same compressed bytes whatever the thread count.
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { CommandFailed } from '../command-runner.js';

export type Compression = 'none' | 'xz' | 'zst';
export const COMPRESSIONS: readonly Compression[] = ['none', 'xz', 'zst'];
export const extensionOf = (c: Compression): string => (c === 'none' ? '' : `.${c}`);

const ARGS: Record<Exclude<Compression, 'none'>, [string, string[]]> = {
  xz: ['xz', ['--compress', '--stdout', '-6', '--threads=0', '--block-size=16MiB', '--check=crc64']],
  zst: ['zstd', ['--compress', '--stdout', '-3', '-T0', '--no-progress', '-q']],
};

export async function compressFile(from: string, to: string, compression: Exclude<Compression, 'none'>): Promise<void> {
  const [file, args] = ARGS[compression];
  const child = execa(file, args, { stdin: 'pipe', stdout: 'pipe', buffer: false, reject: false });
  try {
    await Promise.all([
      pipeline(createReadStream(from, { highWaterMark: 4 * 1024 * 1024 }), child.stdin!),
      pipeline(child.stdout!, createWriteStream(to, { mode: 0o600 })),
    ]);
    const result = await child;
    if (result.exitCode !== 0) throw new CommandFailed(file, result.exitCode, String(result.stderr ?? ''));
  } catch (error) {
    await rm(to, { force: true });
    throw error;
  }
}

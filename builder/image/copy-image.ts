// A cheap per-node copy of the raw base: a reflink where the filesystem shares blocks (btrfs,
// XFS), otherwise a copy that skips the image's holes (SEEK_HOLE) instead of reading them.
import { ensureOk, type CommandRunner } from '../command-runner.js';

export async function copyImage(run: CommandRunner, from: string, to: string): Promise<void> {
  ensureOk('cp', await run('cp', ['--reflink=auto', '--sparse=auto', '--', from, to]));
}

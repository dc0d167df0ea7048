// Step 8: done for good: the passphrase leaves the disk, the login message says where the node
// stands, and a marker stops any later boot from running the steps again.
import { deriveJoinKey } from '../join/join-auth.js';
import { JOIN_KEY_PATH } from '../join/join-key.js';
import type { FileAccess, Step } from '../run/types.js';
import { passphraseOf } from '../run/run-preseed.js';
import { scrubSecret } from '../run/scrub-secret.js';

export const DONE_MARKER = '/var/lib/microcloud-pi/done';
export const MOTD = '/etc/motd';

/**
 * Zeros over the preseed, synced, then unlinked: an unlinked file's blocks keep the passphrase
 * on the card until the filesystem reuses them.
 */
export async function dropPreseed(files: FileAccess, path: string): Promise<void> {
  const bytes = await files.readBytes(path);
  if (bytes?.length) await files.overwrite(path, Buffer.alloc(bytes.length));
  await files.remove(path);
}

export const finish: Step = {
  id: 'finish',
  isDone: async (ctx) => (await ctx.files.read(DONE_MARKER)) !== undefined
    && (await ctx.files.read(ctx.config.preseedPath)) === undefined,
  async run(ctx) {
    const { config } = ctx;
    const preseedText = await ctx.files.read(config.preseedPath);
    const secret = preseedText === undefined ? undefined : passphraseOf(preseedText);
    // The passphrase is only needed to join: keep only the key derived from it (a member checks
    // join requests with it), scrub it everywhere it was copied, then drop the preseed.
    if (secret) {
      const key = ctx.joinKey ?? await deriveJoinKey(secret, config.cluster);
      await ctx.files.write(JOIN_KEY_PATH, `${key.toString('hex')}\n`, 0o600);
      await scrubSecret(ctx.files, secret);
    }
    await dropPreseed(ctx.files, config.preseedPath);
    await ctx.files.write(MOTD, [
      `microcloud-pi: ${config.node} is a member of the MicroCloud "${config.cluster}"`,
      `  initiator ${config.initiator}, ${config.expect.members} member(s)${config.expect.ceph ? ', Ceph' : ''}${config.expect.ovn ? ', OVN' : ''}`,
      '  check it: lxc cluster list; microcloud status',
      `  first-boot status: http://${config.address}:${config.statusPort}/status`,
      '',
    ].join('\n'), 0o644);
    await ctx.files.write(DONE_MARKER, `${new Date(ctx.clock.now()).toISOString()}\n`, 0o644);
  },
};

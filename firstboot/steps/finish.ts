// Step 7: done for good: the passphrase leaves the disk, the login message says where the node
// stands, and a marker stops any later boot from running the steps again.
import { deriveJoinKey } from '../join/join-auth.js';
import { JOIN_KEY_PATH } from '../join/join-desk.js';
import type { Step } from '../run/types.js';
import { passphraseOf } from '../run/run-preseed.js';

export const DONE_MARKER = '/var/lib/microcloud-pi/done';
export const MOTD = '/etc/motd';
/** Copies of user-data, which carries the preseed: the FAT seed (readable by every user) and cloud-init's. */
export const USER_DATA_COPIES = ['/boot/firmware/user-data', '/var/lib/cloud/instance/user-data.txt'];
const SCRUBBED = 'removed-after-join';

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
      await ctx.files.write(JOIN_KEY_PATH, `${deriveJoinKey(secret, config.cluster).toString('hex')}\n`, 0o600);
      for (const path of USER_DATA_COPIES) {
        const text = await ctx.files.read(path);
        if (text?.includes(secret)) await ctx.files.write(path, text.split(secret).join(SCRUBBED), path.startsWith('/boot') ? 0o755 : 0o600);
      }
    }
    await ctx.files.remove(config.preseedPath);
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

// Step 2: the join passphrase leaves every copy but the root-only preseed, as soon as cloud-init
// has finished making them (wait-ready), on every boot: a node that later stops for a person
// leaves nothing on its world-readable boot partition, and the service keeps the passphrase only
// where it needs it until `finish` drops that too. The card's own key (node-identity.ts) travels
// the same way and stays in its root-only file for good: its copies go the same way.
import { NODE_KEY_PATH } from '../join/node-identity.js';
import { passphraseOf } from '../run/run-preseed.js';
import { scrubSecret } from '../run/scrub-secret.js';
import type { Step } from '../run/types.js';

export const scrubSecretStep: Step = {
  id: 'scrub-secret',
  everyBoot: true,
  isDone: async () => false, // cheap, and a copy may reappear (a user-data written onto the card again)
  async run(ctx) {
    const preseed = await ctx.files.read(ctx.config.preseedPath);
    const secrets = [
      { what: 'the join passphrase', secret: preseed === undefined ? undefined : passphraseOf(preseed) },
      { what: 'the card\'s own key', secret: (await ctx.files.read(NODE_KEY_PATH))?.trim() },
    ];
    for (const { what, secret } of secrets) {
      if (!secret) continue;
      const changed = await scrubSecret(ctx.files, secret);
      if (changed.length) ctx.log.info(`${what} was removed from ${changed.join(', ')}`);
    }
  },
};

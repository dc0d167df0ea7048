// Each simulated Pi's disk: a folder of its own on the real disk, reached through the real file
// adapter (rootedFiles), so the nonce ledger's appends, the journal's renames and the fsyncs meet
// a real filesystem; seeded as a booted Pi has it.
import { join } from 'node:path';
import type { FileAccess } from '../../firstboot/run/types.js';
import { JOIN_KEY_PATH } from '../../firstboot/join/join-key.js';
import { NODE_KEY_PATH } from '../../firstboot/join/node-identity.js';
import { FakeFiles } from '../doubles/fake-host.js';
import { rootedFiles } from '../helpers/rooted-files.js';

export interface NodeDisk {
  readonly files: FileAccess;
  /** The service's journal (firstboot/run/state.ts writes it with node:fs itself). */
  readonly journalPath: string;
}

/**
 * The kernel's files a Pi 5 shows (FakeFiles' first contents: memory, kernel release, modules),
 * the card's preseed (0600), the cluster's join key where a member keeps it (0600), and the card's own key (0600).
 *
 * The key is derived once by the harness and written here before the first start, so
 * loadJoinKey takes it instead of running scrypt: on a Pi each node derives it on its own CPU,
 * in the simulation fifty derivations would hold the one event loop's thread pool and count, times
 * the speedup, as model time.
 */
export async function seedNodeDisk(root: string, preseedPath: string, preseed: string, joinKey: Buffer, nodeKey?: string): Promise<NodeDisk> {
  const files = rootedFiles(root);
  for (const [path, { content, mode }] of new FakeFiles().files) await files.write(path, content, mode);
  await files.write(preseedPath, preseed, 0o600);
  await files.write(JOIN_KEY_PATH, `${joinKey.toString('hex')}\n`, 0o600);
  if (nodeKey) await files.write(NODE_KEY_PATH, `${nodeKey}\n`, 0o600); // what cloud-init wrote from user-data
  return { files, journalPath: join(root, 'var/lib/microcloud-pi/journal.json') };
}

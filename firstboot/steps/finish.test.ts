// The preseed leaves the disk overwritten, not only unlinked: real files in a scratch folder,
// through the real file adapter, with a second name (a hard link) for the preseed's inode to see
// what its blocks hold after the unlink.
import { link, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { planNodeConfig } from '../../builder/render/node-config.js';
import { cluster, quietLog } from '../../test/helpers/first-boot-rig.js';
import { tempDir } from '../../test/helpers/temp-dir.js';
import { realFiles } from '../run/adapters.js';
import type { FileAccess, StepContext } from '../run/types.js';
import { dropPreseed, finish } from './finish.js';

/** The real adapter with every absolute path taken under `root`, and each call written down. */
function under(root: string, calls: string[]): FileAccess {
  const at = (path: string) => join(root, path);
  const noted = (what: string, path: string) => calls.push(`${what} ${path}`);
  return {
    read: (path) => realFiles.read(at(path)),
    write: (path, content, mode) => { noted('write', path); return realFiles.write(at(path), content, mode); },
    append: (path, content, mode) => { noted('append', path); return realFiles.append(at(path), content, mode); },
    remove: (path) => { noted('remove', path); return realFiles.remove(at(path)); },
    list: async (dir) => (await realFiles.list(at(dir))).map((path) => path.slice(root.length)),
    readBytes: (path) => realFiles.readBytes(at(path)),
    overwrite: (path, content) => { noted('overwrite', path); return realFiles.overwrite(at(path), content); },
  };
}

const PASSPHRASE = 'Größe αβγ 中文口令 😀 session secret';
const preseedText = `lookup_timeout: 60\nsession_passphrase: ${JSON.stringify(PASSPHRASE)}\nsystems: []\n`;

async function preseedOnDisk(root: string, path: string): Promise<string> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), preseedText, { mode: 0o600 });
  const secondName = join(root, 'same-inode');
  await link(join(root, path), secondName);
  return secondName;
}

describe('dropping the preseed', () => {
  it('writes zeros over every byte (the adapter syncs them), then unlinks: the inode keeps its size and no passphrase', async () => {
    const root = await tempDir('mcpi-finish-');
    const calls: string[] = [];
    const secondName = await preseedOnDisk(root, '/etc/microcloud-pi/preseed.yaml');
    await dropPreseed(under(root, calls), '/etc/microcloud-pi/preseed.yaml');
    expect(calls).toEqual(['overwrite /etc/microcloud-pi/preseed.yaml', 'remove /etc/microcloud-pi/preseed.yaml']);
    expect(await realFiles.read(join(root, '/etc/microcloud-pi/preseed.yaml'))).toBeUndefined();
    expect(await readFile(secondName)).toEqual(Buffer.alloc(Buffer.byteLength(preseedText)));
  });

  it('does nothing but unlink a preseed already gone or empty', async () => {
    const root = await tempDir('mcpi-finish-');
    const calls: string[] = [];
    await dropPreseed(under(root, calls), '/nowhere/preseed.yaml');
    expect(calls).toEqual(['remove /nowhere/preseed.yaml']);
  });

  it('is how the finish step drops it, after keeping the join key', async () => {
    const root = await tempDir('mcpi-finish-');
    const calls: string[] = [];
    const config = planNodeConfig(cluster(1), 'pi1');
    const secondName = await preseedOnDisk(root, config.preseedPath);
    const ctx: StepContext = {
      config, files: under(root, calls), log: quietLog(), joinKey: Buffer.alloc(32, 7),
      clock: { now: () => 0, sleep: async () => undefined },
      run: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false }),
      readPeer: async () => undefined, sendJoin: async () => undefined, report: () => undefined, record: () => undefined,
    };
    await finish.run(ctx);
    expect(calls.filter((c) => c.endsWith(config.preseedPath))).toEqual([`overwrite ${config.preseedPath}`, `remove ${config.preseedPath}`]);
    expect((await readFile(secondName)).every((b) => b === 0)).toBe(true);
    expect(await finish.isDone(ctx)).toBe(true);
  });
});

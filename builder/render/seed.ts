// All of one node's seed files, by file name. Pure: same cluster, node and passphrase give the
// same bytes.
import type { Cluster, Secret } from '../config/types.js';
import { renderMetaData } from './meta-data.js';
import type { SeedOptions } from './node-config.js';
import { renderNetworkConfig } from './network-config.js';
import { nodeNamed } from './node-named.js';
import { renderPreseed } from './preseed.js';
import { renderUserData } from './user-data.js';

/** The three NoCloud files go to the FAT partition's root; the preseed travels inside user-data. */
export const SEED_FILES = ['user-data', 'meta-data', 'network-config'] as const;
export type SeedFileName = (typeof SEED_FILES)[number] | 'microcloud-preseed.yaml';
export type Seed = Readonly<Record<SeedFileName, string>>;

/** Files that carry the join passphrase and must be written root-only / 0600. */
export const SECRET_SEED_FILES: ReadonlySet<SeedFileName> = new Set(['user-data', 'microcloud-preseed.yaml']);

export function renderSeed(cluster: Cluster, nodeName: string, passphrase: Secret, options: SeedOptions = {}): Seed {
  nodeNamed(cluster, nodeName);
  const preseed = renderPreseed(cluster, passphrase);
  const userData = renderUserData(cluster, nodeName, preseed, options);
  const networkConfig = renderNetworkConfig(cluster, nodeName);
  return {
    'user-data': userData,
    'meta-data': renderMetaData(cluster, nodeName, [userData, networkConfig]),
    'network-config': networkConfig,
    'microcloud-preseed.yaml': preseed,
  };
}

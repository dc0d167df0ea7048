// node.json: what the first-boot service on one Pi needs to know about its cluster. No secret
// goes in here (it is world-readable); the passphrase stays in the root-only preseed.
import { usesCeph } from '../config/topology.js';
import type { Cluster, Discovery, SnapChannels } from '../config/types.js';
import { nodeNamed } from './node-named.js';
import { planPreflightNeeds, type PreflightNeeds } from './preflight-needs.js';

export const NODE_CONFIG_PATH = '/var/lib/microcloud-pi/node.json';
export const PRESEED_PATH = '/var/lib/microcloud-pi/preseed.yaml';

export interface NodeConfig {
  version: 1;
  cluster: string;
  node: string;
  address: string;
  intraInterface: string;
  initiator: string;
  isInitiator: boolean;
  discovery: Discovery;
  peers: { name: string; address: string }[];
  snaps: SnapChannels;
  lookupTimeoutSeconds: number;
  sessionTimeoutSeconds: number;
  statusPort: number;
  preseedPath: string;
  /** What verification must find once the cluster has formed. */
  expect: { members: number; ceph: boolean; ovn: boolean };
  /** What this Pi must have before the preseed runs. */
  preflight: PreflightNeeds;
}

export function planNodeConfig(cluster: Cluster, nodeName: string): NodeConfig {
  const node = nodeNamed(cluster, nodeName);
  const initiator = cluster.nodes.find((n) => n.initiator)!;
  return {
    version: 1,
    cluster: cluster.name,
    node: node.name,
    address: node.address,
    intraInterface: node.intraNic.name,
    initiator: initiator.name,
    isInitiator: node.initiator,
    discovery: cluster.microcloud.discovery,
    peers: cluster.nodes.filter((n) => n !== node).map((n) => ({ name: n.name, address: n.address })),
    snaps: cluster.microcloud.channels,
    lookupTimeoutSeconds: cluster.microcloud.lookupTimeoutSeconds,
    sessionTimeoutSeconds: cluster.microcloud.sessionTimeoutSeconds,
    statusPort: cluster.statusPort,
    preseedPath: PRESEED_PATH,
    expect: {
      members: cluster.nodes.length,
      ceph: usesCeph(cluster),
      ovn: cluster.nodes.some((n) => n.uplink) || !!cluster.microcloud.ovn.ipv4Gateway || !!cluster.microcloud.ovn.ipv6Gateway,
    },
    preflight: planPreflightNeeds(cluster, node),
  };
}

export const renderNodeConfig = (cluster: Cluster, nodeName: string): string =>
  `${JSON.stringify(planNodeConfig(cluster, nodeName), null, 2)}\n`;

// The few checks that need the file as written, before defaults hide what the user said.
import { problem, type Problem } from './problems.js';
import type { RawCluster } from './raw-cluster.js';

/** Exactly one initiator: the flagged node, or the first when none is flagged. */
export function initiatorFlags(raw: RawCluster): Problem[] {
  const flagged = raw.nodes.flatMap((node, index) => (node.initiator === true ? [index] : []));
  return flagged.slice(1).map((index) => problem(['nodes', index, 'initiator'],
    `is true, but nodes[${flagged[0]}] is already the initiator`, 'Set initiator: true on exactly one node.'));
}

export function uplinksIdentified(raw: RawCluster): Problem[] {
  return raw.nodes.flatMap((node, index) => node.uplink && !node.uplink.interface && !node.uplink.mac
    ? [problem(['nodes', index, 'uplink'], 'names no NIC',
      'Give the uplink NIC\'s interface name (e.g. eth1) or its mac.')]
    : []);
}

export function bridgeOnlyInBridgeMode(raw: RawCluster): Problem[] {
  return raw.nodes.flatMap((node, index) => node.uplink?.bridge !== undefined && node.uplink.mode !== 'bridge'
    ? [problem(['nodes', index, 'uplink', 'bridge'], 'is set but uplink.mode is not bridge',
      'Add mode: bridge, or remove the bridge name.')]
    : []);
}

/** A bundle needs the computer that serves it; the store needs none (a server there would be silently unused). */
export function snapServerMatchesSource(raw: RawCluster): Problem[] {
  const snaps = raw.microcloud?.snaps;
  if (!snaps) return [];
  if (snaps.source === 'bundle' && snaps.server === undefined)
    return [problem(['microcloud', 'snaps', 'server'], 'is missing but source is bundle',
      'Give the intra-cluster address of the computer that runs build-image serve, e.g. server: 10.0.0.5.')];
  if (snaps.source !== 'bundle' && snaps.server !== undefined)
    return [problem(['microcloud', 'snaps', 'server'], `is set but source is ${snaps.source ?? 'store (the default)'}`,
      'Add source: bundle to install from build-image serve, or remove the server.')];
  return [];
}

export const RAW_RULES = [initiatorFlags, uplinksIdentified, bridgeOnlyInBridgeMode, snapServerMatchesSource] as const;

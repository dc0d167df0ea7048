// The rules for microcloud.snaps a schema cannot express.
//
// The server must be a host address in network.subnet: the nodes fetch over their intra-cluster
// NIC, `build-image serve` listens on the intra network (as the status endpoint does), and an
// offline site, the reason for a bundle, often has no router that would carry the nodes to
// another subnet through network.gateway. The gateway itself is allowed (a laptop that routes).
import { BUNDLE_PORT } from '../../firstboot/bundle/bundle-sources.js';
import { problem } from './problems.js';
import { hostInSubnet, type Rule } from './rule-helpers.js';

const SERVER = ['microcloud', 'snaps', 'server'];

export const bundleServerOnIntraNetwork: Rule = (c) => {
  const source = c.microcloud.snapSource;
  if (source.kind !== 'bundle') return [];
  const { address, port } = source.server;
  const placed = hostInSubnet(SERVER, address, c.network.subnet, 'network.subnet');
  if (placed.length)
    return placed.map((p) => ({ ...p, hint: 'Give the address the computer running build-image serve has on the intra-cluster network.' }));
  const node = c.nodes.find((n) => n.address === address);
  if (node) return [problem(SERVER, `${address} is nodes[${node.index}].address (${node.name})`,
    'A node cannot serve the bundle before it has installed it: give the address of the computer that runs build-image serve.')];
  if (port < 1024) return [problem(SERVER, `port ${port} needs root to listen on`,
    `build-image serve runs without root: leave the port out (${BUNDLE_PORT}) or use one from 1024.`)];
  return [];
};

/** Every node serves the bundle to its peers on BUNDLE_PORT, beside its status endpoint. */
export const statusPortLeavesBundlePort: Rule = (c) =>
  c.microcloud.snapSource.kind === 'bundle' && c.statusPort === BUNDLE_PORT
    ? [problem(['microcloud', 'status_port'], `${BUNDLE_PORT} is the port every node serves the snap bundle on`,
      'Use another port for the status endpoint, e.g. 9180 (the default).')]
    : [];

export const SNAP_SOURCE_RULES: readonly Rule[] = [bundleServerOnIntraNetwork, statusPortLeavesBundlePort];

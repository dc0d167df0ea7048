// Where a node takes each file of a snap bundle from, and in which order. Pure.
//
// The rule: the peers that hold the whole bundle first, then the operator's computer last. The
// peers are taken in the cluster file's order rotated by this node's own place among the
// cluster's nodes, and rotated once more for each file, so fifty nodes spread their requests over every member
// that has the bundle instead of all asking the first, and the files of one node come from
// different members. The operator's computer (`build-image serve`, often a laptop on Wi-Fi) is
// asked only for what no peer gives: once a few nodes have the bundle, the rest take it from
// them. A source that fails, times out, answers busy or serves a file that fails its check is
// dropped for that file and the next one is tried (fetch-bundle.ts).
import type { NodeConfig } from '../../builder/render/node-config.js';

/** The TCP port every node serves its bundle on to its peers, and `build-image serve`'s default. */
export const BUNDLE_PORT = 8555;

export interface BundleSource {
  /** For logs and the status page: "server", the peer's name, or "USB stick". */
  readonly name: string;
  readonly address: string;
  readonly port: number;
  /** `stick`: a USB stick plugged into this node, served to itself (bundle-stick.ts). */
  readonly kind: 'server' | 'peer' | 'stick';
}

/** Every place this node may ask for the bundle: its peers (cluster file order) and the server. */
export function bundleSources(config: Pick<NodeConfig, 'peers' | 'snapSource'>): BundleSource[] {
  const peers = config.peers.map((p): BundleSource => ({ name: p.name, address: p.address, port: BUNDLE_PORT, kind: 'peer' }));
  const source = config.snapSource;
  return source?.kind === 'bundle'
    ? [...peers, { name: 'server', address: source.server.address, port: source.server.port, kind: 'server' }]
    : peers;
}

/**
 * The order to try `holders` (sources that answered with the bundle) for the file at `fileIndex`
 * of bundle.json: a USB stick in this node first, then peers rotated by this node's place in the
 * cluster file plus the file's index, then the server. `nodeIndex` is nodeIndexOf(config).
 */
export function sourceOrder(holders: readonly BundleSource[], nodeIndex: number, fileIndex: number): BundleSource[] {
  const sticks = holders.filter((s) => s.kind === 'stick'); // on this node: no network at all
  const peers = holders.filter((s) => s.kind === 'peer');
  const servers = holders.filter((s) => s.kind === 'server');
  const start = peers.length ? (nodeIndex + fileIndex) % peers.length : 0;
  return [...sticks, ...peers.slice(start), ...peers.slice(0, start), ...servers];
}

/**
 * This node's place among the cluster's node names, sorted: every node of a cluster file sees the
 * same list (its peers and itself), so each gets a different place, 0 to n-1, without node.json
 * having to carry one.
 */
export function nodeIndexOf(config: Pick<NodeConfig, 'node' | 'peers'>): number {
  return [config.node, ...config.peers.map((p) => p.name)].sort().indexOf(config.node);
}

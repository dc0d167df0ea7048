// Where `build-image serve` listens: where the nodes will ask. A cluster file with
// microcloud.snaps {source: bundle, server: ADDRESS[:PORT]} names it, and this computer must have
// that address; without one, this computer's address in the cluster's intra subnet. --listen and
// --port override both (and say so when the nodes will ask elsewhere). Pure over the interface
// list (os.networkInterfaces() in the command).
import type { NetworkInterfaceInfo } from 'node:os';
import { BUNDLE_PORT } from '../../firstboot/bundle/bundle-sources.js';
import { cidrContains } from '../config/ipv4.js';
import { formatCidr, type Cluster } from '../config/types.js';
import { ServeRefused } from './serve-refused.js';

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface ListenChoice {
  readonly address: string;
  readonly port: number;
  /** Worth saying: several candidates, an address the cluster file gives a node, nodes that will ask elsewhere. */
  readonly notes: readonly string[];
}

const ownAddresses = (interfaces: Interfaces) => Object.entries(interfaces).flatMap(([name, infos]) =>
  (infos ?? []).filter((i) => i.family === 'IPv4').map((i) => ({ name, address: i.address })));
const listed = (own: ReturnType<typeof ownAddresses>) => own.filter((i) => !i.address.startsWith('127.')).map((i) => `${i.address} (${i.name})`);

export function listenAt(cluster: Cluster, interfaces: Interfaces, config: string, given: { listen?: string; port?: number }): ListenChoice {
  const source = cluster.microcloud.snapSource;
  const server = source.kind === 'bundle' ? source.server : undefined;
  const port = given.port ?? server?.port ?? BUNDLE_PORT;
  const notes: string[] = [];
  if (!server) notes.push(`${config} takes the snaps from the store (microcloud.snaps): its nodes will not ask this server. `
    + 'Set microcloud.snaps to {source: bundle, server: ADDRESS} and build the cards again for them to.');
  else if ((given.listen ?? server.address) !== server.address || port !== server.port)
    notes.push(`the nodes ask ${server.address}:${server.port} (${config}: microcloud.snaps.server), not this server`);
  if (given.listen !== undefined) return { address: given.listen, port, notes };

  const own = ownAddresses(interfaces);
  if (server) {
    if (!own.some((i) => i.address === server.address))
      throw new ServeRefused(`the nodes ask ${server.address} for the bundle (${config}: microcloud.snaps.server), and this computer does not have `
        + `that address${listed(own).length ? `; it has ${listed(own).join(', ')}` : ''}. Give this computer ${server.address} on the cluster's network, `
        + 'or change microcloud.snaps.server and build the cards again (--listen serves elsewhere, where these cards do not look).');
    return { address: server.address, port, notes };
  }
  const subnet = formatCidr(cluster.network.subnet);
  const inSubnet = own.filter((i) => cidrContains(cluster.network.subnet, i.address));
  const [first] = inSubnet;
  if (!first) {
    throw new ServeRefused(`this computer has no address in the cluster's intra subnet ${subnet} (${config}: network.subnet)`
      + `${listed(own).length ? `; it has ${listed(own).join(', ')}` : ''}. Connect it to the cluster's network with an address in ${subnet} `
      + 'that no node uses, or give --listen ADDRESS (an address of this computer the nodes can reach).');
  }
  if (inSubnet.length > 1) notes.push(`this computer has ${inSubnet.map((i) => `${i.address} (${i.name})`).join(', ')} in ${subnet}; serving on the first (--listen picks another)`);
  const taken = cluster.nodes.find((n) => n.address === first.address);
  if (taken) notes.push(`${first.address} is ${taken.name}'s address in ${config}: that node cannot use it while this computer has it`);
  return { address: first.address, port, notes };
}

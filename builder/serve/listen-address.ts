// Where `build-image serve` listens: this computer's address in the cluster's intra subnet, where
// the nodes look for it. Pure over the interface list (os.networkInterfaces() in the command).
import type { NetworkInterfaceInfo } from 'node:os';
import { cidrContains } from '../config/ipv4.js';
import { formatCidr, type Cluster } from '../config/types.js';
import { UsageError } from '../cli/errors.js';

export type Interfaces = NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface ListenChoice {
  readonly address: string;
  /** Worth saying: several candidates, or an address the cluster file gives a node. */
  readonly notes: readonly string[];
}

export function listenAddress(cluster: Cluster, interfaces: Interfaces, config: string): ListenChoice {
  const subnet = formatCidr(cluster.network.subnet);
  const own = Object.entries(interfaces).flatMap(([name, infos]) =>
    (infos ?? []).filter((i) => i.family === 'IPv4').map((i) => ({ name, address: i.address })));
  const inSubnet = own.filter((i) => cidrContains(cluster.network.subnet, i.address));
  const [first] = inSubnet;
  if (!first) {
    const have = own.filter((i) => !i.address.startsWith('127.')).map((i) => `${i.address} (${i.name})`);
    throw new UsageError(`this computer has no address in the cluster's intra subnet ${subnet} (${config}: network.subnet)`
      + `${have.length ? `; it has ${have.join(', ')}` : ''}. Connect it to the cluster's network with an address in ${subnet} `
      + 'that no node uses, or give --listen ADDRESS (an address of this computer the nodes can reach).');
  }
  const notes: string[] = [];
  if (inSubnet.length > 1) notes.push(`this computer has ${inSubnet.map((i) => `${i.address} (${i.name})`).join(', ')} in ${subnet}; serving on the first (--listen picks another)`);
  const taken = cluster.nodes.find((n) => n.address === first.address);
  if (taken) notes.push(`${first.address} is ${taken.name}'s address in ${config}: that node cannot use it while this computer has it`);
  return { address: first.address, notes };
}

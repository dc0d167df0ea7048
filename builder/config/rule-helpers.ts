// Small helpers the rule modules share.
import { cidrContains, isReservedInSubnet } from './ipv4.js';
import { problem, type Problem } from './problems.js';
import { formatCidr, type Cidr, type Cluster, type ClusterNode } from './types.js';

export type Rule = (cluster: Cluster) => Problem[];

export const at = (node: ClusterNode, ...rest: (string | number)[]) => ['nodes', node.index, ...rest];

/** Reports each later duplicate of a key, naming where it was first seen. */
export function duplicates<T>(items: readonly T[], keyOf: (item: T) => string | undefined,
  report: (item: T, first: T) => Problem): Problem[] {
  const firstByKey = new Map<string, T>();
  const problems: Problem[] = [];
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const first = firstByKey.get(key);
    if (first === undefined) firstByKey.set(key, item);
    else problems.push(report(item, first));
  }
  return problems;
}

/** Checks that a host address lies inside a subnet and is usable there. */
export function hostInSubnet(path: (string | number)[], address: string, subnet: Cidr, subnetField: string): Problem[] {
  const subnetText = formatCidr(subnet);
  if (!cidrContains(subnet, address))
    return [problem(path, `${address} is outside ${subnetField} ${subnetText}`,
      'Use an address in that subnet or change the subnet.')];
  if (isReservedInSubnet(subnet, address))
    return [problem(path, `${address} is the network or broadcast address of ${subnetText}`,
      'Use a host address inside the subnet.')];
  return [];
}

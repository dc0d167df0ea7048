// IPv4 arithmetic for the semantic rules. Strict dotted-quad only: "010.0.0.1" or
// "10.0.1" are typos we want to catch, not forms we want to accept.
import { isIPv6 } from 'node:net';
import type { Cidr } from './types.js';

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

export const isIPv4 = (text: string): boolean => IPV4.test(text);

export function ipv4ToInt(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function intToIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses "a.b.c.d/n"; undefined when it is not one. */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([^/]+)\/(\d{1,2})$/.exec(text);
  if (!match || !isIPv4(match[1]!)) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  return { address: match[1]!, prefix };
}

/** Parses "a.b.c.d" or "a.b.c.d:port" (port 1-65535, no leading zero); undefined when it is neither. */
export function parseEndpoint(text: string, defaultPort = 0): { address: string; port: number } | undefined {
  const match = /^([^:]+)(?::([1-9]\d{0,4}))?$/.exec(text);
  if (!match || !isIPv4(match[1]!)) return undefined;
  const port = match[2] === undefined ? defaultPort : Number(match[2]);
  return port <= 65535 ? { address: match[1]!, port } : undefined;
}

export function isIPv6Cidr(text: string): boolean {
  const match = /^([^/]+)\/(\d{1,3})$/.exec(text);
  return !!match && isIPv6(match[1]!) && Number(match[2]) <= 128;
}

const blockSize = (prefix: number): number => 2 ** (32 - prefix);

export function networkAddress(cidr: Cidr): number {
  const size = blockSize(cidr.prefix);
  return Math.floor(ipv4ToInt(cidr.address) / size) * size;
}

export function broadcastAddress(cidr: Cidr): number {
  return networkAddress(cidr) + blockSize(cidr.prefix) - 1;
}

export function cidrContains(cidr: Cidr, address: string): boolean {
  const value = ipv4ToInt(address);
  return value >= networkAddress(cidr) && value <= broadcastAddress(cidr);
}

/** True when the host bits are zero, as MicroCloud wants for Ceph networks. */
export const isNetworkCidr = (cidr: Cidr): boolean => ipv4ToInt(cidr.address) === networkAddress(cidr);

/** The network and broadcast addresses cannot be given to a host (except in /31 and /32). */
export function isReservedInSubnet(cidr: Cidr, address: string): boolean {
  if (cidr.prefix >= 31) return false;
  const value = ipv4ToInt(address);
  return value === networkAddress(cidr) || value === broadcastAddress(cidr);
}

export const networkCidrText = (cidr: Cidr): string => `${intToIpv4(networkAddress(cidr))}/${cidr.prefix}`;

/** Parses "start-end" of two IPv4 addresses; order is the rules' business. */
export function parseRange(text: string): { start: string; end: string } | undefined {
  const parts = text.split('-');
  if (parts.length !== 2 || !isIPv4(parts[0]!) || !isIPv4(parts[1]!)) return undefined;
  return { start: parts[0]!, end: parts[1]! };
}

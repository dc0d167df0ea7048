// Asks a node's status endpoint; undefined when it does not answer (yet).
import type { NodeStatus } from '../run/types.js';

export async function readStatus(address: string, port: number, timeoutMs = 3000): Promise<NodeStatus | undefined> {
  try {
    const response = await fetch(`http://${address}:${port}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    const status = await response.json() as NodeStatus;
    return typeof status?.node === 'string' && typeof status.step === 'string' ? status : undefined;
  } catch {
    return undefined;
  }
}

// A network of the boot test's own: a network namespace holding two bridges (the cluster's
// switch and the uplink's) and one tap per guest NIC. Nothing in it routes anywhere else, so
// the guests and the host-side checks can only reach each other.
import { execa } from 'execa';

export interface PrivateNetwork {
  readonly name: string;
  /** A tap on the cluster bridge and one on the uplink bridge for guest `index`. */
  taps(index: number): { cluster: string; uplink: string };
  /** argv prefix that runs a command inside the namespace. */
  exec(command: string, args: readonly string[]): [string, string[]];
  destroy(): Promise<void>;
}

const ip = (args: readonly string[]) => execa('ip', [...args], { env: { PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });

/** Creates the namespace with `hostAddress` (CIDR) on the cluster bridge and `guests` tap pairs. */
export async function createPrivateNetwork(hostAddress: string, guests: number): Promise<PrivateNetwork> {
  const name = `mcpi-boot-${process.pid}`;
  await ip(['netns', 'add', name]);
  const inNs = (args: readonly string[]) => ip(['-n', name, ...args]);
  const network: PrivateNetwork = {
    name,
    taps: (index) => ({ cluster: `tc${index}`, uplink: `tu${index}` }),
    exec: (command, args) => ['ip', ['netns', 'exec', name, command, ...args]],
    destroy: async () => { await ip(['netns', 'del', name]).catch(() => undefined); },
  };
  try {
    await inNs(['link', 'set', 'lo', 'up']);
    for (const bridge of ['br-cluster', 'br-uplink']) {
      await inNs(['link', 'add', bridge, 'type', 'bridge']);
      await inNs(['link', 'set', bridge, 'up']);
    }
    await inNs(['addr', 'add', hostAddress, 'dev', 'br-cluster']);
    // The host's cable in the switch: a port with carrier, so the host's side is up (RUNNING) before any guest is. A
    // bridge whose only ports are taps no guest holds yet has no carrier, and Node (libuv) then lists none of its
    // addresses: build-image serve, which listens on the address it finds there, would say this computer lacks it.
    await inNs(['link', 'add', 'host-cable', 'type', 'veth', 'peer', 'name', 'host-cable-end']);
    await inNs(['link', 'set', 'host-cable', 'master', 'br-cluster']);
    for (const end of ['host-cable', 'host-cable-end']) await inNs(['link', 'set', end, 'up']);
    for (let i = 0; i < guests; i++) {
      const taps = network.taps(i);
      for (const [tap, bridge] of [[taps.cluster, 'br-cluster'], [taps.uplink, 'br-uplink']] as const) {
        await inNs(['tuntap', 'add', 'dev', tap, 'mode', 'tap']);
        await inNs(['link', 'set', tap, 'master', bridge]);
        await inNs(['link', 'set', tap, 'up']);
      }
    }
    return network;
  } catch (error) {
    await network.destroy();
    throw error;
  }
}

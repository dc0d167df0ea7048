// Every default of the cluster file, in one place (normalizeCluster applies them).
import { BUNDLE_PORT } from '../../firstboot/bundle/bundle-sources.js';

export const DEFAULTS = {
  timezone: 'Etc/UTC',
  intraInterface: 'eth0',
  uplinkInterfaceByMac: 'uplink0',
  uplinkMode: 'unconfigured',
  bridgeName: 'br-uplink',
  release: 2,
  discovery: 'multicast',
  // First-boot waits for every peer before the preseed, so the lookup window only has to cover
  // the spread of the last steps (snap start-up), which on a Pi can take minutes.
  lookupTimeoutSeconds: 600,
  sessionTimeoutSeconds: 3600,
  statusPort: 9180,
  grow: true,
  joinTicketDays: 28,
  snapSource: 'store',
  /** `build-image serve`'s port when microcloud.snaps.server names none (the nodes serve their peers on the same). */
  bundleServerPort: BUNDLE_PORT,
} as const;

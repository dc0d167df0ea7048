// Snap channels per MicroCloud release (MicroCloud docs, releases-snaps). All members must run
// byte-identical versions, so the builder pins these and first-boot holds refreshes.
import type { MicroCloudRelease, SnapChannels } from './types.js';

export const RELEASE_CHANNELS: Readonly<Record<MicroCloudRelease, SnapChannels>> = {
  2: { microcloud: '2/stable', lxd: '5.21/stable', microceph: 'squid/stable', microovn: '24.03/stable' },
  3: { microcloud: '3/stable', lxd: '6/stable', microceph: 'squid/stable', microovn: '24.03/stable' },
};

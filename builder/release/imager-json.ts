// A Raspberry Pi Imager repository file ("os_list") with one entry per node, so a user can
// point Imager at it (Custom repository) and pick "pi2". Pure.
import type { Manifest } from '../image/write/release-files.js';

export interface ImagerEntry {
  name: string;
  description: string;
  url: string;
  extract_size: number;
  extract_sha256: string;
  image_download_size: number;
  image_download_sha256: string;
  release_date: string;
  devices: string[];
  /** Imager customises only systemd/cloudinit images: "none" keeps it away from our seed. */
  init_format: 'none';
}

/** Imager's device tags for 64-bit Pis that run Ubuntu Server arm64. */
export const DEVICES = ['pi5-64bit', 'pi4-64bit', 'pi3-64bit'];

export function imagerRepository(manifest: Manifest, options: { urlBase: string; releaseDate: string }): { os_list: ImagerEntry[] } {
  return {
    os_list: Object.entries(manifest.nodes).map(([node, image]) => {
      if (!image.raw) throw new Error(`${node}: Imager needs compressed images (build with --compress xz)`);
      return {
        name: `${manifest.cluster}: ${node}`,
        description: `MicroCloud node ${node} of cluster ${manifest.cluster}, on ${manifest.base.file}. `
          + 'Flash with OS customisation off: the image configures itself.',
        url: `${options.urlBase}${image.file}`,
        extract_size: image.raw.bytes,
        extract_sha256: image.raw.sha256,
        image_download_size: image.bytes,
        image_download_sha256: image.sha256,
        release_date: options.releaseDate,
        devices: DEVICES,
        init_format: 'none',
      };
    }),
  };
}

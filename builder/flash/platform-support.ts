// Where `build-image flash` can write to a card. Building images needs Node alone on every OS;
// writing a raw device safely needs the OS's own view of it (removable? mounted? the system
// disk?), which we ask lsblk on Linux. Elsewhere we say so and point to the tools that do it.

/** Why flashing `target` cannot go ahead on `platform`, or undefined when it can. Pure. */
export function flashUnsupported(platform: NodeJS.Platform, targetIsRegularFile: boolean): string | undefined {
  if (platform === 'linux' || targetIsRegularFile) return undefined;
  return 'flash writes SD cards on Linux only (it asks lsblk whether the device is removable and unmounted). '
    + `On ${platform === 'darwin' ? 'macOS' : platform === 'win32' ? 'Windows' : platform}, write the image with Raspberry Pi Imager `
    + '(Choose OS, Use custom; OS customisation off) or balenaEtcher: both verify what they wrote. The image file is complete as it is.';
}

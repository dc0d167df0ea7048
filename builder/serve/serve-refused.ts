/**
 * serve will not start: a bundle the nodes could not install from, or an address this computer
 * cannot listen on. Says what is wrong and what to do; the CLI exits 2 (serve wrote nothing).
 */
export class ServeRefused extends Error {
  override name = 'ServeRefused';
}

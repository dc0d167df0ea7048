import { flashUnsupported } from './platform-support.js';

describe('flashUnsupported', () => {
  it('lets Linux write devices and every OS write a file', () => {
    expect(flashUnsupported('linux', false)).toBeUndefined();
    expect(flashUnsupported('darwin', true)).toBeUndefined();
    expect(flashUnsupported('win32', true)).toBeUndefined();
  });

  it('names the tools to use on macOS and Windows', () => {
    expect(flashUnsupported('darwin', false)).toMatch(/Linux only.*On macOS, write the image with Raspberry Pi Imager .*balenaEtcher/);
    expect(flashUnsupported('win32', false)).toMatch(/On Windows, write the image with Raspberry Pi Imager/);
  });
});

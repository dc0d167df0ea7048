// TEST DOUBLE of the site's NTP server for the boot test: answers SNTP (RFC 4330) requests with
// this machine's clock, as stratum 1, so the guests' systemd-timesyncd synchronises and the
// first-boot service's clock check passes. Runs inside the test's network namespace.
//   node ntp-server.mjs ADDRESS
import { createSocket } from 'node:dgram';

const NTP_EPOCH_OFFSET = 2_208_988_800; // seconds from 1900-01-01 to 1970-01-01

function writeTimestamp(buffer, offset, ms) {
  const seconds = Math.floor(ms / 1000);
  buffer.writeUInt32BE(seconds + NTP_EPOCH_OFFSET, offset);
  buffer.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32), offset + 4);
}

const address = process.argv[2];
if (!address) { console.error('usage: ntp-server.mjs ADDRESS'); process.exit(2); }
const socket = createSocket('udp4');
socket.on('message', (request, peer) => {
  if (request.length < 48 || (request[0] & 0x07) !== 3) return; // only client-mode requests
  const received = Date.now();
  const reply = Buffer.alloc(48);
  reply[0] = (0 << 6) | (4 << 3) | 4; // no leap warning, version 4, server mode
  reply[1] = 1; // stratum 1: a reference clock
  reply[2] = request[2]; // poll interval, echoed
  reply[3] = 0xec; // precision 2^-20 s
  reply.write('LOCL', 12, 'ascii'); // reference id
  writeTimestamp(reply, 16, received); // reference time
  request.copy(reply, 24, 40, 48); // originate = the client's transmit time
  writeTimestamp(reply, 32, received);
  writeTimestamp(reply, 40, Date.now());
  socket.send(reply, peer.port, peer.address);
});
socket.bind(123, address, () => console.log(`ntp-server: answering on ${address}:123`));

// The cluster hash slot of a key, as Valkey and Redis compute it: CRC16 (XMODEM) of the key's
// hash tag (the part between the first `{` and the next `}`, when not empty), modulo 16384.

const table = Array.from({ length: 256 }, (_, byte) => {
  let crc = byte << 8;
  for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : crc << 1;
  return crc & 0xffff;
});

function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const byte of bytes) crc = ((crc << 8) & 0xffff) ^ (table[((crc >> 8) ^ byte) & 0xff] ?? 0);
  return crc;
}

/** The slot of `key` (a server key such as `prefix:{tag}`), from 0 to 16383. */
export function clusterSlot(key: string): number {
  const bytes = Buffer.from(key, "utf8");
  const open = bytes.indexOf("{");
  if (open !== -1) {
    const close = bytes.indexOf("}", open + 1);
    if (close > open + 1) return crc16(bytes.subarray(open + 1, close)) % 16384;
  }
  return crc16(bytes) % 16384;
}

// XXH3-128 (seed 0, default secret) in portable JavaScript: 32-bit integer arithmetic only, no
// BigInt, no native code, no Node.js API, so it runs on any JavaScript runtime. It follows the
// reference implementation (xxhash.h 0.8, scalar path) branch for branch; 64-bit values are
// (high, low) pairs of unsigned 32-bit numbers. Checked against `xxhsum -H2` by the vectors in
// test/vectors/.

const secret = hexBytes(
  "b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671f" +
    "cb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c" +
    "3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8" +
    "a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364" +
    "eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e" +
    "2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e",
);
const secretView = new DataView(secret.buffer);
const secretSize = 192;

const P32_1 = 0x9e3779b1;
const P32_2 = 0x85ebca77;
const P32_3 = 0xc2b2ae3d;
const P64_1_HI = 0x9e3779b1;
const P64_1_LO = 0x85ebca87;
const P64_2_HI = 0xc2b2ae3d;
const P64_2_LO = 0x27d4eb4f;
const P64_3_HI = 0x165667b1;
const P64_3_LO = 0x9e3779f9;
const P64_4_HI = 0x85ebca77;
const P64_4_LO = 0xc2b2ae63;
const P64_5_HI = 0x27d4eb2f;
const P64_5_LO = 0x165667c5;
const MX1_HI = 0x16566791;
const MX1_LO = 0x9e3779f9;
const MX2_HI = 0x9fb21c65;
const MX2_LO = 0x1e98df25;
const TWO_32 = 4294967296;

function hexBytes(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) {
    bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  }
  return bytes;
}

// Results of the 64-bit helpers: (H, L) for a 64-bit value; (HH, HL, LH, LL) for 128 bits.
let H = 0;
let L = 0;
let HH = 0;
let HL = 0;
let LH = 0;
let LL = 0;

/** High 32 bits of the 64-bit product of two unsigned 32-bit numbers. */
function mulHi32(a: number, b: number): number {
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const middle = a1 * b0 + ((a0 * b0) >>> 16);
  const middle2 = a0 * b1 + (middle & 0xffff);
  return (a1 * b1 + (middle >>> 16) + (middle2 >>> 16)) >>> 0;
}

/** (H, L) = a × b mod 2^64. */
function mul64(ah: number, al: number, bh: number, bl: number): void {
  L = Math.imul(al, bl) >>> 0;
  H = (mulHi32(al, bl) + Math.imul(al, bh) + Math.imul(ah, bl)) >>> 0;
}

/** (HH, HL, LH, LL) = the 128-bit product a × b. */
function mul128(ah: number, al: number, bh: number, bl: number): void {
  const llHi = mulHi32(al, bl);
  const lhLo = Math.imul(al, bh) >>> 0;
  const hlLo = Math.imul(ah, bl) >>> 0;
  const cross = llHi + lhLo + hlLo;
  LL = Math.imul(al, bl) >>> 0;
  LH = cross >>> 0;
  const upper =
    (Math.imul(ah, bh) >>> 0) + mulHi32(al, bh) + mulHi32(ah, bl) + Math.floor(cross / TWO_32);
  HL = upper >>> 0;
  HH = (mulHi32(ah, bh) + Math.floor(upper / TWO_32)) >>> 0;
}

/** (H, L) = the low and high halves of a × b, xored. */
function mul128Fold64(ah: number, al: number, bh: number, bl: number): void {
  mul128(ah, al, bh, bl);
  H = (HH ^ LH) >>> 0;
  L = (HL ^ LL) >>> 0;
}

/** (H, L) = (h, l) + (bh, bl). */
function add64(h: number, l: number, bh: number, bl: number): void {
  const low = l + bl;
  L = low >>> 0;
  H = (h + bh + (low >= TWO_32 ? 1 : 0)) >>> 0;
}

/** XXH64's avalanche; sets (H, L). */
function xxh64Avalanche(h: number, l: number): void {
  l = (l ^ (h >>> 1)) >>> 0; // h ^= h >> 33
  mul64(h, l, P64_2_HI, P64_2_LO);
  h = H;
  l = (L ^ ((L >>> 29) | (H << 3))) >>> 0; // h ^= h >> 29
  h = (h ^ (h >>> 29)) >>> 0;
  mul64(h, l, P64_3_HI, P64_3_LO);
  L = (L ^ H) >>> 0; // h ^= h >> 32
}

/** XXH3's avalanche; sets (H, L). */
function xxh3Avalanche(h: number, l: number): void {
  l = (l ^ (h >>> 5)) >>> 0; // h ^= h >> 37
  mul64(h, l, MX1_HI, MX1_LO);
  L = (L ^ H) >>> 0; // h ^= h >> 32
}

function read32(view: DataView, offset: number): number {
  return view.getUint32(offset, true);
}

function swap32(x: number): number {
  return (
    (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | ((x >>> 24) & 0xff)) >>> 0
  );
}

/** XXH3_mix16B: mul128_fold64 of 16 input bytes xored with 16 secret bytes; sets (H, L). */
function mix16B(view: DataView, input: number, secretOffset: number): void {
  mul128Fold64(
    (read32(view, input + 4) ^ read32(secretView, secretOffset + 4)) >>> 0,
    (read32(view, input) ^ read32(secretView, secretOffset)) >>> 0,
    (read32(view, input + 12) ^ read32(secretView, secretOffset + 12)) >>> 0,
    (read32(view, input + 8) ^ read32(secretView, secretOffset + 8)) >>> 0,
  );
}

// The 128-bit accumulator of the 17-240 byte paths: (aLH, aLL) low, (aHH, aHL) high.
let aLH = 0;
let aLL = 0;
let aHH = 0;
let aHL = 0;

/** XXH128_mix32B (seed 0) on the accumulator. */
function mix32B(view: DataView, input1: number, input2: number, secretOffset: number): void {
  mix16B(view, input1, secretOffset);
  add64(aLH, aLL, H, L);
  const lowH = H;
  const lowL = L;
  add64(
    read32(view, input2 + 4),
    read32(view, input2),
    read32(view, input2 + 12),
    read32(view, input2 + 8),
  );
  aLH = (lowH ^ H) >>> 0;
  aLL = (lowL ^ L) >>> 0;
  mix16B(view, input2, secretOffset + 16);
  add64(aHH, aHL, H, L);
  const highH = H;
  const highL = L;
  add64(
    read32(view, input1 + 4),
    read32(view, input1),
    read32(view, input1 + 12),
    read32(view, input1 + 8),
  );
  aHH = (highH ^ H) >>> 0;
  aHL = (highL ^ L) >>> 0;
}

/** The 17-240 byte paths' ending: (HH, HL, LH, LL) from the accumulator. */
function finishMid(length: number): void {
  // low = avalanche(acc.low + acc.high)
  add64(aLH, aLL, aHH, aHL);
  xxh3Avalanche(H, L);
  const lowH = H;
  const lowL = L;
  // high = -avalanche(acc.low * P64_1 + acc.high * P64_4 + length * P64_2)
  mul64(aLH, aLL, P64_1_HI, P64_1_LO);
  const aH = H;
  const aL = L;
  mul64(aHH, aHL, P64_4_HI, P64_4_LO);
  add64(aH, aL, H, L);
  const bH = H;
  const bL = L;
  mul64(0, length, P64_2_HI, P64_2_LO);
  add64(bH, bL, H, L);
  xxh3Avalanche(H, L);
  negate64(H, L);
  HH = H;
  HL = L;
  LH = lowH;
  LL = lowL;
}

/** (H, L) = -(h, l) mod 2^64. */
function negate64(h: number, l: number): void {
  add64(~h >>> 0, ~l >>> 0, 0, 1);
}

function hash0to16(view: DataView, length: number): void {
  if (length > 8) {
    // XXH3_len_9to16_128b
    const flipLoH = (read32(secretView, 36) ^ read32(secretView, 44)) >>> 0;
    const flipLoL = (read32(secretView, 32) ^ read32(secretView, 40)) >>> 0;
    const flipHiH = (read32(secretView, 52) ^ read32(secretView, 60)) >>> 0;
    const flipHiL = (read32(secretView, 48) ^ read32(secretView, 56)) >>> 0;
    const inLoH = read32(view, 4);
    const inLoL = read32(view, 0);
    let inHiH = read32(view, length - 4);
    let inHiL = read32(view, length - 8);
    mul128((inLoH ^ inHiH ^ flipLoH) >>> 0, (inLoL ^ inHiL ^ flipLoL) >>> 0, P64_1_HI, P64_1_LO);
    let mHH = HH;
    let mHL = HL;
    // m128.low64 += (length - 1) << 54
    add64(LH, LL, ((length - 1) << 22) >>> 0, 0);
    let mLH = H;
    let mLL = L;
    inHiH = (inHiH ^ flipHiH) >>> 0;
    inHiL = (inHiL ^ flipHiL) >>> 0;
    // m128.high64 += input_hi + mult32to64((u32)input_hi, P32_2 - 1)
    add64(mHH, mHL, inHiH, inHiL);
    const sumH = H;
    const sumL = L;
    add64(sumH, sumL, mulHi32(inHiL, P32_2 - 1), Math.imul(inHiL, P32_2 - 1) >>> 0);
    mHH = H;
    mHL = L;
    // m128.low64 ^= swap64(m128.high64)
    mLH = (mLH ^ swap32(mHL)) >>> 0;
    mLL = (mLL ^ swap32(mHH)) >>> 0;
    // h128 = mult64to128(m128.low64, P64_2); h128.high64 += m128.high64 * P64_2
    mul128(mLH, mLL, P64_2_HI, P64_2_LO);
    const hLH = LH;
    const hLL = LL;
    const hHH = HH;
    const hHL = HL;
    mul64(mHH, mHL, P64_2_HI, P64_2_LO);
    add64(hHH, hHL, H, L);
    xxh3Avalanche(H, L);
    const highH = H;
    const highL = L;
    xxh3Avalanche(hLH, hLL);
    setResult(highH, highL, H, L);
    return;
  }
  if (length >= 4) {
    // XXH3_len_4to8_128b
    const inputLo = read32(view, 0);
    const inputHi = read32(view, length - 4);
    const flipH = (read32(secretView, 20) ^ read32(secretView, 28)) >>> 0;
    const flipL = (read32(secretView, 16) ^ read32(secretView, 24)) >>> 0;
    // m128 = mult64to128(input64 ^ bitflip, P64_1 + (length << 2))
    add64(P64_1_HI, P64_1_LO, 0, length << 2);
    mul128((inputHi ^ flipH) >>> 0, (inputLo ^ flipL) >>> 0, H, L);
    let mHH = HH;
    let mHL = HL;
    let mLH = LH;
    let mLL = LL;
    // m128.high64 += m128.low64 << 1
    add64(mHH, mHL, ((mLH << 1) | (mLL >>> 31)) >>> 0, (mLL << 1) >>> 0);
    mHH = H;
    mHL = L;
    // m128.low64 ^= m128.high64 >> 3
    mLL = (mLL ^ ((mHL >>> 3) | (mHH << 29))) >>> 0;
    mLH = (mLH ^ (mHH >>> 3)) >>> 0;
    // low = xorshift(low, 35); low *= MX2; low = xorshift(low, 28)
    mLL = (mLL ^ (mLH >>> 3)) >>> 0;
    mul64(mLH, mLL, MX2_HI, MX2_LO);
    mLL = (L ^ ((L >>> 28) | (H << 4))) >>> 0;
    mLH = (H ^ (H >>> 28)) >>> 0;
    xxh3Avalanche(mHH, mHL);
    setResult(H, L, mLH, mLL);
    return;
  }
  if (length > 0) {
    // XXH3_len_1to3_128b
    const c1 = view.getUint8(0);
    const c2 = view.getUint8(length >>> 1);
    const c3 = view.getUint8(length - 1);
    const combinedL = ((c1 << 16) | (c2 << 24) | c3 | (length << 8)) >>> 0;
    const swapped = swap32(combinedL);
    const combinedH = ((swapped << 13) | (swapped >>> 19)) >>> 0;
    const flipL = (read32(secretView, 0) ^ read32(secretView, 4)) >>> 0;
    const flipH = (read32(secretView, 8) ^ read32(secretView, 12)) >>> 0;
    xxh64Avalanche(0, (combinedH ^ flipH) >>> 0);
    const highH = H;
    const highL = L;
    xxh64Avalanche(0, (combinedL ^ flipL) >>> 0);
    setResult(highH, highL, H, L);
    return;
  }
  xxh64Avalanche(
    (read32(secretView, 84) ^ read32(secretView, 92)) >>> 0,
    (read32(secretView, 80) ^ read32(secretView, 88)) >>> 0,
  );
  const highH = H;
  const highL = L;
  xxh64Avalanche(
    (read32(secretView, 68) ^ read32(secretView, 76)) >>> 0,
    (read32(secretView, 64) ^ read32(secretView, 72)) >>> 0,
  );
  setResult(highH, highL, H, L);
}

function setResult(highH: number, highL: number, lowH: number, lowL: number): void {
  HH = highH;
  HL = highL;
  LH = lowH;
  LL = lowL;
}

function hash17to128(view: DataView, length: number): void {
  mul64(0, length, P64_1_HI, P64_1_LO);
  aLH = H;
  aLL = L;
  aHH = 0;
  aHL = 0;
  for (let index = (length - 1) >>> 5; index >= 0; index--) {
    mix32B(view, 16 * index, length - 16 * (index + 1), 32 * index);
  }
  finishMid(length);
}

function hash129to240(view: DataView, length: number): void {
  mul64(0, length, P64_1_HI, P64_1_LO);
  aLH = H;
  aLL = L;
  aHH = 0;
  aHL = 0;
  for (let index = 32; index < 160; index += 32) {
    mix32B(view, index - 32, index - 16, index - 32);
  }
  xxh3Avalanche(aLH, aLL);
  aLH = H;
  aLL = L;
  xxh3Avalanche(aHH, aHL);
  aHH = H;
  aHL = L;
  for (let index = 160; index <= length; index += 32) {
    mix32B(view, index - 32, index - 16, 3 + index - 160);
  }
  // The last 32 bytes, swapped, with the secret at 136 - 17 - 16 and seed -0.
  mix32B(view, length - 16, length - 32, 103);
  finishMid(length);
}

// The long path's eight 64-bit accumulators, high and low words.
const accH = new Uint32Array(8);
const accL = new Uint32Array(8);

/** XXH3_accumulate_512, scalar: one 64-byte stripe. */
function accumulate512(view: DataView, input: number, secretOffset: number): void {
  for (let lane = 0; lane < 8; lane++) {
    const offset = input + 8 * lane;
    const dataL = view.getUint32(offset, true);
    const dataH = view.getUint32(offset + 4, true);
    const keyL = (dataL ^ secretView.getUint32(secretOffset + 8 * lane, true)) >>> 0;
    const keyH = (dataH ^ secretView.getUint32(secretOffset + 8 * lane + 4, true)) >>> 0;
    // acc[lane ^ 1] += data
    const swap = lane ^ 1;
    const sum = (accL[swap] ?? 0) + dataL;
    accL[swap] = sum;
    accH[swap] = (accH[swap] ?? 0) + dataH + (sum >= TWO_32 ? 1 : 0);
    // acc[lane] += (key & 0xffffffff) * (key >> 32)
    const productL = Math.imul(keyL, keyH) >>> 0;
    const productH = mulHi32(keyL, keyH);
    const sum2 = (accL[lane] ?? 0) + productL;
    accL[lane] = sum2;
    accH[lane] = (accH[lane] ?? 0) + productH + (sum2 >= TWO_32 ? 1 : 0);
  }
}

/** XXH3_scrambleAcc, scalar, with the secret's last 64 bytes. */
function scramble(): void {
  const secretOffset = secretSize - 64;
  for (let lane = 0; lane < 8; lane++) {
    const h = accH[lane] ?? 0;
    const l =
      ((accL[lane] ?? 0) ^ (h >>> 15) ^ secretView.getUint32(secretOffset + 8 * lane, true)) >>> 0;
    const hKeyed = (h ^ secretView.getUint32(secretOffset + 8 * lane + 4, true)) >>> 0;
    accL[lane] = Math.imul(l, P32_1);
    accH[lane] = mulHi32(l, P32_1) + Math.imul(hKeyed, P32_1);
  }
}

/** XXH3_mergeAccs; sets (H, L). */
function mergeAccs(secretOffset: number, startH: number, startL: number): void {
  let resultH = startH;
  let resultL = startL;
  for (let pair = 0; pair < 4; pair++) {
    const at = secretOffset + 16 * pair;
    mul128Fold64(
      ((accH[2 * pair] ?? 0) ^ read32(secretView, at + 4)) >>> 0,
      ((accL[2 * pair] ?? 0) ^ read32(secretView, at)) >>> 0,
      ((accH[2 * pair + 1] ?? 0) ^ read32(secretView, at + 12)) >>> 0,
      ((accL[2 * pair + 1] ?? 0) ^ read32(secretView, at + 8)) >>> 0,
    );
    add64(resultH, resultL, H, L);
    resultH = H;
    resultL = L;
  }
  xxh3Avalanche(resultH, resultL);
}

const initialH = [0, P64_1_HI, P64_2_HI, P64_3_HI, P64_4_HI, 0, P64_5_HI, 0];
const initialL = [P32_3, P64_1_LO, P64_2_LO, P64_3_LO, P64_4_LO, P32_2, P64_5_LO, P32_1];

function hashLong(view: DataView, length: number): void {
  accH.set(initialH);
  accL.set(initialL);
  const stripesPerBlock = (secretSize - 64) / 8;
  const blockLength = 64 * stripesPerBlock;
  const blocks = Math.floor((length - 1) / blockLength);
  for (let block = 0; block < blocks; block++) {
    for (let stripe = 0; stripe < stripesPerBlock; stripe++) {
      accumulate512(view, block * blockLength + stripe * 64, stripe * 8);
    }
    scramble();
  }
  const stripes = Math.floor((length - 1 - blockLength * blocks) / 64);
  for (let stripe = 0; stripe < stripes; stripe++) {
    accumulate512(view, blocks * blockLength + stripe * 64, stripe * 8);
  }
  accumulate512(view, length - 64, secretSize - 64 - 7);
  // low = mergeAccs(secret + 11, length * P64_1); high = mergeAccs(secret + 192 - 64 - 11, ~(length * P64_2))
  mul64(Math.floor(length / TWO_32), length >>> 0, P64_1_HI, P64_1_LO);
  mergeAccs(11, H, L);
  const lowH = H;
  const lowL = L;
  mul64(Math.floor(length / TWO_32), length >>> 0, P64_2_HI, P64_2_LO);
  mergeAccs(secretSize - 64 - 11, ~H >>> 0, ~L >>> 0);
  setResult(H, L, lowH, lowL);
}

/**
 * XXH3-128 of `input` (seed 0, default secret) as 32 lower-case hex digits, high half first:
 * what `xxhsum -H2` prints.
 */
export function xxh3128Hex(input: Uint8Array): string {
  const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
  const length = input.byteLength;
  if (length <= 16) hash0to16(view, length);
  else if (length <= 128) hash17to128(view, length);
  else if (length <= 240) hash129to240(view, length);
  else hashLong(view, length);
  return (
    HH.toString(16).padStart(8, "0") +
    HL.toString(16).padStart(8, "0") +
    LH.toString(16).padStart(8, "0") +
    LL.toString(16).padStart(8, "0")
  );
}

#!/usr/bin/env node
// Draws resources/icon.png (512×512 RGBA) with no dependencies: a blue rounded square holding
// three message "pills" in a queue. Shapes are signed-distance fields, so edges are anti-aliased.
// Run: node scripts/make-icon.mjs
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const SIZE = 512;
const output = join(dirname(fileURLToPath(import.meta.url)), '..', 'resources', 'icon.png');

/** Signed distance from (x, y) to a rounded rectangle; negative inside. */
function roundedRect(x, y, left, top, width, height, radius) {
  const qx = Math.abs(x - (left + width / 2)) - (width / 2 - radius);
  const qy = Math.abs(y - (top + height / 2)) - (height / 2 - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
}

const coverage = (distance) => Math.min(Math.max(0.5 - distance, 0), 1);
const mix = (a, b, t) => a + (b - a) * t;

/** Source-over blend of `color` (r, g, b in 0..255) at `alpha` onto the premultiplied-free pixel. */
function blend(pixel, color, alpha) {
  const outA = alpha + pixel[3] * (1 - alpha);
  if (outA === 0) return;
  for (let i = 0; i < 3; i++) pixel[i] = (color[i] * alpha + pixel[i] * pixel[3] * (1 - alpha)) / outA;
  pixel[3] = outA;
}

const pills = [
  { top: 150, width: 272, opacity: 1 },
  { top: 232, width: 232, opacity: 0.85 },
  { top: 314, width: 192, opacity: 0.7 },
];

const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) {
  const row = y * (SIZE * 4 + 1);
  raw[row] = 0; // PNG filter: none
  for (let x = 0; x < SIZE; x++) {
    const px = x + 0.5;
    const py = y + 0.5;
    const pixel = [0, 0, 0, 0];
    const t = (px + py) / (2 * SIZE);
    const background = [mix(0x25, 0x08, t), mix(0x63, 0x91, t), mix(0xeb, 0xb2, t)];
    blend(pixel, background, coverage(roundedRect(px, py, 16, 16, 480, 480, 104)));
    for (const pill of pills) {
      blend(pixel, [255, 255, 255], pill.opacity * coverage(roundedRect(px, py, 92, pill.top, pill.width, 48, 24)));
      // A dot at the right end of each message: the queue's head.
      const dot = Math.hypot(px - (92 + pill.width + 40), py - (pill.top + 24)) - 18;
      blend(pixel, [255, 255, 255], pill.opacity * coverage(dot));
    }
    const offset = row + 1 + x * 4;
    raw[offset] = Math.round(pixel[0]);
    raw[offset + 1] = Math.round(pixel[1]);
    raw[offset + 2] = Math.round(pixel[2]);
    raw[offset + 3] = Math.round(pixel[3] * 255);
  }
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buffer) {
  let crc = 0xffffffff;
  for (const byte of buffer) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

const header = Buffer.alloc(13);
header.writeUInt32BE(SIZE, 0);
header.writeUInt32BE(SIZE, 4);
header.set([8, 6, 0, 0, 0], 8); // 8-bit depth, RGBA, deflate, no filter method, no interlace

mkdirSync(dirname(output), { recursive: true });
writeFileSync(
  output,
  Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]),
);
console.log(`wrote ${output}`);

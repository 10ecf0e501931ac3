import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../src/core/errors.js';
import { DEFAULT_PREPROCESS, isImageFile, parsePreprocess, readImage, type Preprocess } from '../src/store/image.js';

const dir = mkdtempSync(join(tmpdir(), 'qs-img-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A 2x2 RGB image: red, green / blue, white.
const PIXELS = [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255];
const png = join(dir, 'rgb.png');
const rgba = join(dir, 'rgba.png');
const flat = join(dir, 'flat.png');

beforeAll(async () => {
  await sharp(Buffer.from(PIXELS), { raw: { width: 2, height: 2, channels: 3 } })
    .png()
    .toFile(png);
  const alpha = Buffer.from([10, 20, 30, 0, 40, 50, 60, 128, 70, 80, 90, 255, 100, 110, 120, 7]);
  await sharp(alpha, { raw: { width: 2, height: 2, channels: 4 } })
    .png()
    .toFile(rgba);
  await sharp({ create: { width: 3, height: 5, channels: 3, background: { r: 200, g: 100, b: 50 } } })
    .png()
    .toFile(flat);
});

const pre = (over: Partial<Preprocess>): Preprocess => ({ ...DEFAULT_PREPROCESS, ...over });

describe('readImage', () => {
  it.each([
    ['defaults: NCHW RGB 0..255', pre({}), [1, 3, 2, 2], [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255]],
    ['BGR', pre({ channels: 'BGR' }), [1, 3, 2, 2], [0, 0, 255, 255, 0, 255, 0, 255, 255, 0, 0, 255]],
    ['NHWC', pre({ layout: 'NHWC' }), [1, 2, 2, 3], PIXELS],
    [
      'scale, mean, std per channel',
      pre({ scale: 1 / 255, mean: [0.5, 0, 1], std: [0.5, 1, 2] }),
      [1, 3, 2, 2],
      [1, -1, -1, 1, 0, 1, 0, 1, -0.5, -0.5, 0, 0],
    ],
  ])('%s', async (_what, p, dims, values) => {
    const t = await readImage(png, p);
    expect(t.dtype).toBe('float32');
    expect([...t.dims]).toEqual(dims);
    Array.from(t.data as Float32Array).forEach((v, i) => expect(v).toBeCloseTo(values[i], 5));
  });

  it('reads a 16-bit PNG as 0..255 values', async () => {
    // Built by hand: sharp's own 16-bit writer is not what is being tested.
    const chunk = (type: string, data: Buffer) => {
      const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(data.length);
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(zlib.crc32(body));
      return Buffer.concat([head, body, crc]);
    };
    const ihdr = Buffer.from([0, 0, 0, 2, 0, 0, 0, 1, 16, 2, 0, 0, 0]); // 2x1, 16-bit RGB
    const rows = Buffer.from([0, 0xff, 0xff, 0x80, 0x00, 0x00, 0x00, 0x03, 0xe8, 0xff, 0xff, 0x00, 0x00]);
    const file = join(dir, 'deep.png');
    writeFileSync(
      file,
      Buffer.concat([
        Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
        chunk('IHDR', ihdr),
        chunk('IDAT', zlib.deflateSync(rows)),
        chunk('IEND', Buffer.alloc(0)),
      ]),
    );
    const t = await readImage(file, pre({ layout: 'NHWC' }));
    expect(Array.from(t.data as Float32Array)).toEqual([255, 128, 0, 3, 255, 0]);
  });

  it('drops alpha', async () => {
    const t = await readImage(rgba, pre({ layout: 'NHWC' }));
    expect(Array.from(t.data as Float32Array)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120]);
  });

  it.each([
    ['fill', [4, 6]],
    ['cover', [4, 6]],
    ['contain', [4, 6]],
  ] as const)('resizes with %s to the target size', async (resize, size) => {
    const t = await readImage(flat, pre({ resize }), { size });
    expect([...t.dims]).toEqual([1, 3, 4, 6]);
    const data = t.data as Float32Array;
    if (resize !== 'contain') expect(data[0]).toBeCloseTo(200, 0);
    if (resize === 'contain') expect(Math.min(...data)).toBe(0); // padding is black
  });

  it('preprocess size wins over the target size', async () => {
    expect([...(await readImage(flat, pre({ size: [1, 2] }), { size: [4, 6] })).dims]).toEqual([1, 3, 1, 2]);
  });

  it('reads one grey channel when asked', async () => {
    const t = await readImage(flat, pre({}), { channels: 1 });
    expect([...t.dims]).toEqual([1, 1, 5, 3]);
    const v = (t.data as Float32Array)[0];
    expect(v).toBeGreaterThan(100);
    expect(v).toBeLessThan(150);
  });

  it.each([
    [
      'not an image',
      () => {
        writeFileSync(join(dir, 'bad.png'), 'hello');
        return readImage(join(dir, 'bad.png'));
      },
      /Image '.*bad\.png' cannot be decoded/,
    ],
    ['missing file', () => readImage(join(dir, 'missing.jpg')), /Image '.*missing\.jpg' cannot be decoded/],
    [
      'mean of 3 for a grey image',
      () => readImage(flat, pre({ mean: [1, 2, 3] }), { channels: 1 }),
      /mean has 3 values but image .* 1 channel/,
    ],
  ])('%s -> UserError naming the file', async (_what, fn, message) => {
    await expect(fn()).rejects.toThrow(UserError);
    await expect(fn()).rejects.toThrow(message);
  });
});

describe('parsePreprocess', () => {
  it.each([
    ['', {}],
    [
      'size=720x720,layout=NCHW,order=BGR,scale=0.00392,mean=0.485:0.456:0.406,std=0.229:0.224:0.225',
      { size: [720, 720], layout: 'NCHW', channels: 'BGR', scale: 0.00392, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    ],
    ['size=224', { size: [224, 224] }],
    ['size=480x640,layout=nhwc,channels=rgb,resize=cover', { size: [480, 640], layout: 'NHWC', channels: 'RGB', resize: 'cover' }],
    ['scale=1/255,mean=127.5,fit=contain', { scale: 1 / 255, mean: [127.5], resize: 'contain' }],
    ['imagenet', { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
    ['imagenet,order=BGR', { scale: 1 / 255, channels: 'BGR', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
    ['unit', { scale: 1 / 255 }],
  ])('%j', (text, expected) => {
    expect(parsePreprocess(text)).toMatchObject({ ...DEFAULT_PREPROCESS, ...expected });
  });

  it.each([
    ['size=abc', /size 'abc' is not HxW/],
    ['size=0x4', /at least 1x1/],
    ['layout=CHW', /layout 'CHW' is not NCHW or NHWC/],
    ['order=RGBA', /order 'RGBA' is not RGB or BGR/],
    ['scale=x', /scale 'x' is not a number/],
    ['scale=1/0', /scale '1\/0' is not a number/],
    ['mean=1:2', /mean needs 1 or 3 values/],
    ['std=0', /std must not be 0/],
    ['resize=stretch', /resize 'stretch' is not fill, cover or contain/],
    ['gamma=2', /unknown key 'gamma'/],
    ['bogus', /'bogus' is neither key=value nor a preset/],
  ])('rejects %j', (text, message) => {
    expect(() => parsePreprocess(text)).toThrow(UserError);
    expect(() => parsePreprocess(text)).toThrow(
      new RegExp(`Bad --preprocess value '${text.replace(/[/.*+?^${}()|[\]\\]/g, '\\$&')}': .*${message.source}`),
    );
  });

  it.each([
    ['a.PNG', true],
    ['a.jpeg', true],
    ['a.jpg', true],
    ['a.npy', false],
    ['png', false],
  ])('isImageFile(%s) = %s', (f, yes) => {
    expect(isImageFile(f)).toBe(yes);
  });
});

const SHARED = join(__dirname, '..', '..', 'shared', 'images');
if (!existsSync(SHARED)) console.log(`skipping photograph tests: ${SHARED} is absent`);

describe.skipIf(!existsSync(SHARED))('photographs from ../shared', () => {
  it('decodes fish_720.png at its own size and the RGBA kitten as RGB', async () => {
    const fish = await readImage(join(SHARED, 'fish_720.png'));
    expect([...fish.dims]).toEqual([1, 3, 720, 720]);
    const d = fish.data as Float32Array;
    let min = Infinity;
    let max = -Infinity;
    for (const v of d) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThanOrEqual(255);
    expect(max - min).toBeGreaterThan(100);
    const kitten = await readImage(join(SHARED, 'kitten_224.png'), parsePreprocess('imagenet'));
    expect([...kitten.dims]).toEqual([1, 3, 224, 224]);
  });

  it('resizes a JPEG to the model size', async () => {
    const cat = await readImage(join(SHARED, 'cat.jpg'), parsePreprocess('resize=cover,layout=NHWC'), { size: [64, 48] });
    expect([...cat.dims]).toEqual([1, 64, 48, 3]);
  });
});

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultEmitFile, emitPaths, stageEmitModel, type EmitManifest, type EmitQuantFile } from '../src/store/emit-files.js';

const quant = {
  schemaVersion: 1,
  model: 'm.onnx',
  profile: 'p',
  qdqDomain: '',
  calibrationId: 'c',
  tensors: [],
  nodes: [],
} as EmitQuantFile;
const manifest = {
  schemaVersion: 1,
  notes: [],
  evaluation: { snrDb: Infinity, psnrDb: -Infinity, cosine: NaN },
} as unknown as EmitManifest;

describe('emitPaths and defaultEmitFile', () => {
  it.each([
    ['out/udnie.int8.onnx', 'out/udnie.int8.quant.json', 'out/udnie.int8.manifest.json'],
    ['m.ONNX', 'm.quant.json', 'm.manifest.json'],
  ])('%s', (model, q, m) => {
    expect(emitPaths(model)).toEqual({ model, quant: q, manifest: m });
  });

  it.each(['out/udnie', 'model.onnx.json', ''])('refuses %j, which is not an .onnx file', (file) => {
    expect(() => emitPaths(file)).toThrow(/must name an \.onnx file/);
  });

  it.each([
    ['udnie', 'generic-int8', 'models/udnie.generic-int8.onnx'],
    ['udnie', 'mixed', 'models/udnie.mixed.onnx'],
    ['../../etc/x', 'my profile/1', 'models/__.._etc_x.my_profile_1.onnx'],
    ['.hidden', '..', 'models/_hidden._.onnx'],
  ])('%s tagged %s → %s', (name, tag, expected) => {
    expect(defaultEmitFile('models', name, tag)).toBe(expected);
  });
});

describe('stageEmitModel', () => {
  it('discard leaves nothing behind, not even an old file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qs-emit-files-'));
    const paths = emitPaths(join(dir, 'sub', 'm.onnx'));
    const staged = stageEmitModel(paths, Uint8Array.of(1, 2, 3));
    expect(readdirSync(join(dir, 'sub'))).toHaveLength(1);
    expect(readFileSync(staged.stagedModel)).toEqual(Buffer.from([1, 2, 3]));
    staged.discard();
    staged.commit(quant, manifest); // after discard: nothing happens
    expect(readdirSync(join(dir, 'sub'))).toEqual([]);
  });

  it('commit puts the three files in place and no temporary file remains', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qs-emit-files-'));
    const paths = emitPaths(join(dir, 'm.onnx'));
    writeFileSync(paths.model, 'old');
    const staged = stageEmitModel(paths, Uint8Array.of(7));
    expect(readFileSync(paths.model, 'utf8')).toBe('old');
    staged.commit(quant, manifest);
    staged.discard(); // after commit: nothing happens
    expect(readdirSync(dir).sort()).toEqual(['m.manifest.json', 'm.onnx', 'm.quant.json']);
    expect(readFileSync(paths.model)).toEqual(Buffer.from([7]));
    expect(JSON.parse(readFileSync(paths.quant, 'utf8'))).toEqual(quant);
    // JSON has no Infinity or NaN: they are written as strings.
    expect(JSON.parse(readFileSync(paths.manifest, 'utf8')).evaluation).toEqual({ snrDb: 'Infinity', psnrDb: '-Infinity', cosine: 'NaN' });
  });

  it('a directory that cannot be created is a UserError naming the file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'qs-emit-files-'));
    writeFileSync(join(dir, 'file'), '');
    expect(() => stageEmitModel(emitPaths(join(dir, 'file', 'm.onnx')), Uint8Array.of(1))).toThrow(/Cannot write '.*m\.onnx'/);
  });
});

import { describe, expect, it } from 'vitest';
import { firstFailing, rowPasses, type ComparisonReport, type ComparisonRow } from '../src/analysis/comparison.js';
import { computeMetrics } from '../src/analysis/metrics.js';
import { makeTensor } from '../src/core/tensor.js';
import { cutMiddle, wrapCell } from '../src/present/report-cells.js';
import { displayName } from '../src/core/closest.js';
import { csvField } from '../src/present/report-csv.js';
import { fitWidths, formatCsv, formatMarkdown, formatTable } from '../src/present/report-format.js';
import { formatJson, parseReportJson } from '../src/store/report-json.js';
import { markdownCode } from '../src/present/report-markdown.js';

const f32 = (values: number[]) => makeTensor('float32', [values.length], Float32Array.from(values));
const exact = computeMetrics(f32([1, 2, 3, 4]), f32([1, 2, 3, 4]));
const off = computeMetrics(f32([1, 2, 3, 4]), f32([1, 2, 3, 5]));
const nan = computeMetrics(f32([1, 2, 3, 4]), f32([1, 2, 3, Number.NaN]));

const HOSTILE = 'evil\x1b[31mred\x1b]0;title\x07';
const QUOTED = 'a,"b" c';

function row(tensor: string, index: number, metrics: ComparisonRow['metrics'], extra: Partial<ComparisonRow> = {}): ComparisonRow {
  return {
    tensor,
    node: `node_${index}`,
    opType: 'Conv',
    index,
    shape: [1, 4],
    dtype: 'float32',
    metrics,
    pass: rowPasses(metrics, 'cosine', 0.999),
    ...extra,
  };
}

function sample(): ComparisonReport {
  const rows = [
    row('input_0', 0, exact),
    row(HOSTILE, 1, exact, { node: HOSTILE }),
    row(QUOTED, 2, off, { own: exact, verdict: 'source' }),
    row('/model/a/very/long/path/to/some/deeply/nested/tensor/name_output_0', 3, nan, { verdict: 'follows' }),
    row('missing', 4, null, { error: 'missing in the quant run, "quant" side' }),
  ];
  return {
    schemaVersion: 1,
    model: 'm.onnx',
    profile: 'generic-int8',
    metric: 'cosine',
    threshold: 0.999,
    rows,
    firstFailing: firstFailing(rows),
    worstSource: QUOTED,
    outputs: ['missing'],
    perturbation: null,
  };
}

/** The values of one column of a cli-table3 table, a wrapped cell's lines joined (a row begins where its # cell is filled). */
function columnValues(table: string, header: string): string[] {
  const lines = table.split('\n').filter((l) => l.startsWith('│'));
  const cells = (l: string): string[] =>
    l
      .split('│')
      .slice(1, -1)
      .map((c) => c.trim());
  const column = cells(lines[0]).indexOf(header);
  const values: string[] = [];
  for (const l of lines.slice(1)) {
    const c = cells(l);
    if (c[0] !== '') values.push(c[column]);
    else values[values.length - 1] += c[column];
  }
  return values;
}

describe('formatTable', () => {
  it('never emits the escape sequences of a hostile name, and shows them escaped', () => {
    const text = formatTable(sample(), { color: false, width: 200 });
    expect(text).not.toContain('\x1b');
    expect(text).not.toContain('\x07');
    expect(text).toContain('evil\\x1b[31mred\\x1b]0;title\\x07');
  });

  it('colours pass green and FAIL red only when asked', () => {
    const plain = formatTable(sample(), { color: false });
    const colour = formatTable(sample(), { color: true });
    expect(colour).toContain('\x1b[32mpass\x1b[39m');
    expect(colour).toContain('\x1b[31mFAIL\x1b[39m');
    expect(plain).toMatch(/│ FAIL nan │/);
    expect(plain).toMatch(/\bpass\b/);
  });

  it('shows SNR +Inf as exact, verdicts, own cosine and the summary', () => {
    const text = formatTable(sample(), { color: false, width: 200 });
    const lines = text.split('\n');
    const inputLine = lines.find((l) => l.includes('input_0')) as string;
    expect(inputLine).toMatch(/1\.000000 │ +exact │/);
    expect(lines.find((l) => l.includes('a,"b" c'))).toMatch(/source/);
    expect(text).toContain('First failing tensor: a,"b" c (node node_2, Conv, #2).');
    expect(text).toContain('Worst source: a,"b" c.');
    expect(text).toContain('Not compared: missing: missing in the quant run');
  });

  it('counts the rows not compared apart, and never names one as the first failure', () => {
    const text = formatTable(sample(), { color: false, width: 200 });
    expect(text).toContain('4 of 5 tensors compared, 2 failing cosine >= 0.999; 1 not compared.');
    // Rows of dump directories compared without a model have no node or op type, and the row
    // that was not compared comes first.
    const rows = [row('gone', 0, null, { error: 'No file holds it in the test directory.' }), row('t', 1, off, { node: '', opType: '' })];
    const bare: ComparisonReport = { ...sample(), rows, firstFailing: firstFailing(rows), worstSource: null, outputs: [] };
    const lines = formatTable(bare, { color: false, width: 200 }).split('\n');
    expect(lines).toContain('First failing tensor: t (#1).');
    expect(formatMarkdown(bare)).toContain('- First failing tensor: `t` (#1).');
    const none = { ...bare, rows: [rows[0]], firstFailing: firstFailing([rows[0]]) };
    const noneText = formatTable(none, { color: false, width: 200 });
    expect(noneText).toContain('0 of 1 tensors compared, 0 failing cosine >= 0.999; 1 not compared.');
    expect(noneText).toContain('No tensor could be compared.');
    expect(noneText).not.toContain('First failing');
    const passing = { ...bare, rows: [rows[0], row('ok', 1, exact)], firstFailing: null };
    expect(formatTable(passing, { color: false, width: 200 })).toContain('No compared tensor fails.');
  });

  it.each([80, 100, 120, 160])('fits in %i columns by wrapping long names onto more lines, never cutting one', (width) => {
    const report = sample();
    const text = formatTable(report, { color: true, width });
    const tableLines = text.split('\n').filter((l) => /^[┌│├└]/.test(l));
    for (const l of tableLines) expect([...l.replace(/\x1b\[[0-9;]*m/g, '')].length).toBeLessThanOrEqual(width);
    expect(text).not.toContain('…');
    expect(columnValues(text.replace(/\x1b\[[0-9;]*m/g, ''), 'tensor')).toEqual(report.rows.map((r) => displayName(r.tensor, 4096)));
    expect(tableLines.length).toBeGreaterThan(report.rows.length + 3);
  });

  it('without a width (stdout is not a terminal) prints every name and shape whole, one line per row', () => {
    const long = `${'SpatialConvolution_'.repeat(20)}\x1b[2J`;
    const shape = [1, 3, 720, 720, 7, 11, 13, 17, 19, 23];
    const report = sample();
    const rows = [...report.rows, row(long, 5, off, { node: long, opType: 'InstanceNormalization', shape })];
    const text = formatTable({ ...report, rows }, { color: false });
    const body = text.split('\n').filter((l) => /^│ +\d/.test(l));
    expect(body).toHaveLength(rows.length);
    const last = body[body.length - 1];
    expect(last).toContain(
      `│ InstanceNormalization │ ${displayName(long, 4096)} │ ${displayName(long, 4096)} │ [1,3,720,720,7,11,13,17,19,23] │`,
    );
    expect(text).not.toContain('…');
    expect(text).not.toContain('\x1b[2J');
  });

  it('keeps the node column when there is room and drops it first when there is not', () => {
    expect(formatTable(sample(), { color: false, width: 200 })).toMatch(/│ node +│/);
    expect(formatTable(sample(), { color: false, width: 80 })).not.toMatch(/│ node +│/);
  });

  it.each([
    { natural: [10, 30], cuts: [{}, { minWidth: 8 }], total: 30, want: { widths: [10, 13], fits: true } },
    { natural: [10, 30], cuts: [{}, { minWidth: 8 }], total: 100, want: { widths: [10, 30], fits: true } },
    { natural: [10, 30], cuts: [{}, { minWidth: 8 }], total: 20, want: { widths: [10, 8], fits: false } },
    { natural: [20, 20], cuts: [{ minWidth: 8 }, { minWidth: 8 }], total: 37, want: { widths: [15, 15], fits: true } },
    { natural: [30, 20], cuts: [{ minWidth: 8 }, { minWidth: 8 }], total: 50, want: { widths: [23, 20], fits: true } },
    { natural: [30, 20], cuts: [{ minWidth: 8 }, { minWidth: 8 }], total: 40, want: { widths: [16, 17], fits: true } },
    { natural: [30, 20], cuts: [{ minWidth: 8 }, {}], total: 30, want: { widths: [8, 20], fits: false } },
  ])('fitWidths $natural in $total', ({ natural, cuts, total, want }) => {
    expect(fitWidths(natural, cuts, total)).toEqual(want);
  });

  it.each([
    { text: 'abcdefghij', max: 5, want: 'ab…ij' },
    { text: 'abcdefghij', max: 10, want: 'abcdefghij' },
    { text: 'abcdefghij', max: 4, want: 'ab…j' },
    { text: 'abc', max: 1, want: '…' },
  ])('cutMiddle($text, $max)', ({ text, max, want }) => {
    expect(cutMiddle(text, max)).toBe(want);
  });

  it.each([
    { text: 'short', width: 10, want: 'short' },
    { text: 'SpatialConvolution_4', width: 17, want: 'Spatial\nConvolution_4' },
    { text: 'InstanceNormalization', width: 13, want: 'Instance\nNormalization' },
    { text: '[1,16,800,800]', width: 10, want: '[1,16,800,\n800]' },
    { text: '/model/layer.0/conv/Conv_output_0', width: 12, want: '/model/\nlayer.0/\nconv/Conv_\noutput_0' },
    { text: 'abcdefghij', width: 4, want: 'abcd\nefgh\nij' },
  ])('wrapCell($text, $width)', ({ text, width, want }) => {
    const wrapped = wrapCell(text, width);
    expect(wrapped).toBe(want);
    expect(wrapped.replaceAll('\n', '')).toBe(text);
  });
});

/** A strict RFC 4180 reader for the test: quoted fields, doubled quotes, CRLF record ends. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (text[i] === '"' && text[i + 1] === '"') {
          field += '"';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else field += text[i++];
      }
    } else if (text[i] === ',') {
      record.push(field);
      field = '';
      i++;
    } else if (text.startsWith('\r\n', i)) {
      record.push(field);
      records.push(record);
      field = '';
      record = [];
      i += 2;
    } else field += text[i++];
  }
  expect(field).toBe('');
  return records;
}

describe('formatCsv', () => {
  it('quotes a name with a comma and a quote (RFC 4180) and ends records with CRLF', () => {
    const csv = formatCsv(sample());
    const records = csv.split('\r\n');
    expect(records[records.length - 1]).toBe('');
    expect(records).toHaveLength(sample().rows.length + 2);
    expect(records[3].startsWith('2,"a,""b"" c",node_2,Conv,"[1,4]",float32,false,source,,')).toBe(true);
    expect(records[0].startsWith('index,tensor,node,opType,shape,dtype,pass,verdict,error,cosine,snrDb,')).toBe(true);
  });

  it('writes non-finite numbers as Infinity/NaN and missing values as empty fields, and parses back', () => {
    const records = parseCsv(formatCsv(sample()));
    const header = records[0];
    const at = (r: number, column: string) => records[r][header.indexOf(column)];
    expect(records.every((r) => r.length === header.length)).toBe(true);
    expect(at(1, 'snrDb')).toBe('Infinity');
    expect(at(1, 'clipRatio')).toBe('');
    expect(at(2, 'tensor')).toBe(HOSTILE);
    expect(at(3, 'tensor')).toBe(QUOTED);
    expect(at(3, 'ownCosine')).toBe('1');
    expect(Number(at(3, 'cosine'))).toBe(off.cosine);
    expect(at(5, 'error')).toBe('missing in the quant run, "quant" side');
    expect(at(5, 'cosine')).toBe('');
  });

  it.each([
    { value: 'plain', want: 'plain' },
    { value: 'a,b', want: '"a,b"' },
    { value: 'say "hi"', want: '"say ""hi"""' },
    { value: 'two\nlines', want: '"two\nlines"' },
    { value: 'cr\r', want: '"cr\r"' },
    { value: -Infinity, want: '-Infinity' },
    { value: Number.NaN, want: 'NaN' },
    { value: 0.1, want: '0.1' },
    { value: null, want: '' },
    { value: false, want: 'false' },
  ])('csvField($value)', ({ value, want }) => {
    expect(csvField(value)).toBe(want);
  });
});

describe('formatJson and parseReportJson', () => {
  it('writes schemaVersion first and +Inf/NaN as strings, and reads them back', () => {
    const report = sample();
    const text = formatJson(report);
    expect(text.startsWith('{\n  "schemaVersion": 1,')).toBe(true);
    expect(text).toContain('"snrDb": "Infinity"');
    expect(() => JSON.parse(text)).not.toThrow();
    const back = parseReportJson(text);
    expect(back.rows[0].metrics?.snrDb).toBe(Infinity);
    expect(back.rows[0].metrics?.psnrDb).toBe(Infinity);
    expect(back.rows[3].metrics?.nanTest).toBe(1);
    expect(back.rows[1].tensor).toBe(HOSTILE);
    expect(back).toEqual(report);
  });

  it('keeps a tensor named "NaN" a string', () => {
    const report = { ...sample(), rows: [row('NaN', 0, exact)], outputs: ['Infinity'], firstFailing: null };
    const back = parseReportJson(formatJson(report));
    expect(back.rows[0].tensor).toBe('NaN');
    expect(back.outputs).toEqual(['Infinity']);
  });

  it.each([
    { text: 'not json', message: /r\.json is not valid JSON/ },
    { text: '{"rows": 3}', message: /not a quantscope comparison report/ },
    { text: '{"schemaVersion": 2, "rows": []}', message: /schema version 2/ },
  ])('rejects $text', ({ text, message }) => {
    expect(() => parseReportJson(text, 'r.json')).toThrow(message);
  });
});

describe('formatMarkdown', () => {
  it('writes a table and a summary naming the first failing tensor and the worst source', () => {
    const md = formatMarkdown(sample());
    const lines = md.split('\n');
    const header = lines.find((l) => l.startsWith('| #') || l.startsWith('| \\#')) as string;
    const columns = header.split(' | ').length;
    const tableLines = lines.filter((l) => l.startsWith('|'));
    expect(tableLines).toHaveLength(2 + sample().rows.length);
    for (const l of tableLines) expect(l.replace(/\\\|/g, '').split(' | ').length).toBe(columns);
    expect(md).toContain('- First failing tensor: `a,"b" c` (node `node_2`, `Conv`, #2).');
    expect(md).toContain('- Worst source: `a,"b" c`.');
    expect(md).not.toContain('\x1b');
  });

  it.each([
    { name: 'plain', want: '`plain`' },
    { name: 'a|b', want: '`a\\|b`' },
    { name: 'x`y', want: '``x`y``' },
    { name: '`start', want: '`` `start ``' },
    { name: 'esc\x1b[0m', want: '`esc\\x1b[0m`' },
  ])('markdownCode($name)', ({ name, want }) => {
    expect(markdownCode(name)).toBe(want);
  });
});

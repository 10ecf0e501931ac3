/**
 * Braille cells (U+2800..U+28FF) as 2x4 dot grids. Dot (column, row) of a cell, row 0 at the
 * top, sets one bit of the code point's offset from U+2800:
 *
 *     (0,0) 0x01   (1,0) 0x08
 *     (0,1) 0x02   (1,1) 0x10
 *     (0,2) 0x04   (1,2) 0x20
 *     (0,3) 0x40   (1,3) 0x80
 */
const BITS: readonly (readonly number[])[] = [
  [0x01, 0x02, 0x04, 0x40],
  [0x08, 0x10, 0x20, 0x80],
];

export const BRAILLE_BLANK = 0x2800;

/** The bit of dot (column 0..1, row 0..3) in a braille cell. */
export function brailleBit(column: number, row: number): number {
  return BITS[column][row];
}

/** The braille character of a cell's dot bits (0: the blank braille cell). */
export function brailleChar(bits: number): string {
  return String.fromCodePoint(BRAILLE_BLANK + (bits & 0xff));
}

/**
 * A grid of dots, `columns` x `rows` dots, drawn into braille cells of 2x4 dots each. Dots
 * outside the grid are ignored.
 */
export class DotGrid {
  private readonly bits: Uint8Array;
  readonly cellColumns: number;
  readonly cellRows: number;

  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    this.cellColumns = Math.ceil(columns / 2);
    this.cellRows = Math.ceil(rows / 4);
    this.bits = new Uint8Array(this.cellColumns * this.cellRows);
  }

  set(x: number, y: number): void {
    if (x < 0 || y < 0 || x >= this.columns || y >= this.rows) return;
    this.bits[Math.floor(y / 4) * this.cellColumns + Math.floor(x / 2)] |= brailleBit(x % 2, y % 4);
  }

  /** Sets every dot of column x from row y0 to y1 (either order). */
  span(x: number, y0: number, y1: number): void {
    for (let y = Math.min(y0, y1); y <= Math.max(y0, y1); y++) this.set(x, y);
  }

  /** The dot bits of cell (column, row). */
  cell(column: number, row: number): number {
    return this.bits[row * this.cellColumns + column];
  }
}

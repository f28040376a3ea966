import 'reflect-metadata';
import { formatScale, scaleDom0 } from './scale.js';

// 2-level runs out at 4096 ports; FIFO is stopped at 1500 guests to keep the run short.
process.stdout.write(formatScale([scaleDom0('2level', 1500), scaleDom0('fifo', 1500)]));

import 'reflect-metadata';
import { formatXenarm, runXenarm } from './xenarm.js';

process.stdout.write(formatXenarm(runXenarm()));

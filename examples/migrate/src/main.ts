import { formatDemo, runMigrationDemo } from './migrate.js';

console.log(formatDemo(runMigrationDemo()));

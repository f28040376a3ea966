import { describe, expect, it } from 'vitest';
import { ConfigError } from '../platform/config-error.js';
import { parseDuration, parsePlatformConfig, validatePlatformConfig } from './load.js';

function problems(text: string, source = 'c.yaml'): readonly string[] {
  try {
    parsePlatformConfig(text, source);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}

describe('parsePlatformConfig', () => {
  it('accepts a full configuration and keeps its values', () => {
    const cfg = parsePlatformConfig(
      `arch: { name: x86, pcpus: 4, ioApics: [{ pins: 24 }], dynIrqPolicy: encroach }
abis: [2level, fifo]
guest: { name: linux, fifo: true }
domains:
  - { id: 0, vcpus: 2 }
  - { id: 1, vcpus: 2, pirqs: [20] }
workloads:
  - { type: interdomain, frontend: 1, backend: 0, rate: 1000, priority: 3 }
  - { type: timer, domain: 1, hz: 250 }
  - { type: ipi, domain: 1, from: 0, to: 1, rate: 50 }
  - { type: pirq, gsi: 20, rate: 100, domains: [1] }
run: { duration: 20ms, seed: 7 }
`,
    );
    expect(cfg.domains[1]!.pirqs).toEqual([20]);
    expect(cfg.workloads).toHaveLength(4);
    expect(cfg.run).toEqual({ duration: '20ms', seed: 7 });
  });

  it('reports every problem with its path, value and what is allowed', () => {
    const issues = problems(`arch: { name: x86, pcpus: 0, upcall: irq }
domains: [{ id: 0, vcpus: -1, colour: red }]
`);
    expect(issues).toEqual(
      expect.arrayContaining([
        'arch.pcpus: must be >= 1, got 0',
        'arch.upcall: "irq" is not allowed; allowed: "callback-vector", "gsi", "pv"',
        'domains[0].vcpus: must be >= 1, got -1',
        expect.stringMatching(/^domains\[0\]: unknown key "colour"; allowed: id, name, vcpus/),
      ]),
    );
    expect(issues).toHaveLength(4);
  });

  it('reports workload keys that do not belong to the workload type', () => {
    expect(problems('arch: {name: x86}\ndomains: [{id: 0}]\nworkloads: [{ type: timer, domain: 0, hz: 10, rate: 5 }]\n')).toEqual([
      'workloads[0]: unknown key "rate"; allowed: type, domain, hz, vcpus',
    ]);
  });

  it('names the line and column of a YAML syntax error', () => {
    expect(problems('arch: [x86\ndomains: 3\n')[0]).toMatch(/^c\.yaml:\d+:\d+: YAML syntax error/);
  });

  it('reads JSON files as JSON', () => {
    expect(parsePlatformConfig('{"arch":{"name":"arm"},"domains":[{"id":0}]}', 'x.json').arch.name).toBe('arm');
    expect(() => parsePlatformConfig('{"arch":', 'x.json')).toThrow(/x\.json: JSON syntax error/);
  });

  it('checks references between workloads and domains', () => {
    expect(
      problems(`arch: { name: arm }
domains: [{ id: 0, vcpus: 2 }]
workloads:
  - { type: interdomain, frontend: 0, backend: 0, rate: 1 }
  - { type: vtimer, domain: 4, periodUs: 100 }
  - { type: pirq, msi: true, rate: 1, domains: [0] }
`),
    ).toEqual([
      'workloads[0]: frontend and backend are both domain 0; a device pair joins two domains',
      'workloads[1].domain: domain 4 is not defined; defined: 0',
      'workloads[2].type: "pirq" needs arch x86 (ARM has no pirqs); use "spi"',
    ]);
  });
});

describe('parseDuration', () => {
  it('converts units to ns and rejects the rest', () => {
    expect(parseDuration('500us')).toBe(500_000);
    expect(parseDuration('1.5ms')).toBe(1_500_000);
    expect(parseDuration('2s')).toBe(2e9);
    expect(parseDuration(42)).toBe(42);
    expect(() => parseDuration('2 minutes', 'run.duration')).toThrow(/run\.duration: "2 minutes" is not a duration/);
    expect(() => parseDuration('0ms')).toThrow(/longer than 0/);
  });
});

describe('one validation pass', () => {
  function error(text: string, source = 'c.yaml', options = {}): ConfigError {
    try {
      parsePlatformConfig(text, source, options);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  it('reports schema and cross-reference problems together', () => {
    const issues = problems('arch: { name: x86, pcpus: 0 }\ndomains: [{ id: 0 }]\nworkloads: [{ type: timer, domain: 3, hz: 10 }]\n');
    expect(issues).toEqual(['arch.pcpus: must be >= 1, got 0', 'workloads[0].domain: domain 3 is not defined; defined: 0']);
  });

  it('rejects more bindings than maxEvtchnPort allows, naming what binds them', () => {
    const pairs = [1, 2, 3, 4].map(() => '  - { type: interdomain, frontend: 1, backend: 0, rate: 10 }').join('\n');
    const issues = problems(`arch: { name: x86 }\ndomains: [{ id: 0 }, { id: 1, maxEvtchnPort: 3 }]\nworkloads:\n${pairs}\n`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^domains\[1\]\.maxEvtchnPort: 3 is too small: the workloads bind 4 event channel\(s\) in domain 1 .*give at least 4$/);
    // Exactly enough is fine.
    expect(() => parsePlatformConfig(`arch: { name: x86 }\ndomains: [{ id: 0 }, { id: 1, maxEvtchnPort: 4 }]\nworkloads:\n${pairs}\n`, 'c.yaml')).not.toThrow();
  });

  it('gives the line and column of each problem from the YAML nodes', () => {
    const e = error('arch: { name: x86 }\ndomains:\n  - id: 0\n    vcpus: 0\n  - { id: 1, colour: red }\n');
    expect(e.problems).toEqual([
      { message: 'domains[0].vcpus: must be >= 1, got 0', path: 'domains[0].vcpus', line: 4, column: 12 },
      expect.objectContaining({ path: 'domains[1].colour', line: 5, column: 14 }),
    ]);
    expect(e.message).toContain('c.yaml:4:12: domains[0].vcpus: must be >= 1, got 0');
  });

  it('suggests the nearest name for a misspelt key or value', () => {
    const issues = problems('arch: { name: x86, upcall: callback-vectr }\ndomains: [{ id: 0, vcpu: 2 }]\n');
    expect(issues).toEqual([
      expect.stringMatching(/^arch\.upcall: "callback-vectr" is not allowed \(did you mean "callback-vector"\?\)/),
      expect.stringMatching(/^domains\[0\]: unknown key "vcpu" \(did you mean "vcpus"\?\)/),
    ]);
  });

  it('rejects duplicate keys in JSON as in YAML, with their position', () => {
    expect(problems('{"arch": {"name": "x86"}, "domains": [{"id": 0, "id": 1}]}', 'x.json')[0]).toMatch(/^x\.json:1:\d+: duplicate key/);
    expect(problems('arch: { name: x86 }\narch: { name: arm }\ndomains: [{ id: 0 }]\n')[0]).toMatch(/^c\.yaml:2:1: duplicate key/);
  });

  it('allows YAML merge keys', () => {
    const cfg = parsePlatformConfig(`arch: { name: x86 }
domains:
  - &dom { id: 0, vcpus: 2 }
  - { <<: *dom, id: 1 }
`);
    expect(cfg.domains[1]).toEqual({ id: 1, vcpus: 2 });
  });

  it('refuses a file nested too deeply with a ConfigError, not a stack overflow', () => {
    const deep = `{"arch": ${'['.repeat(200_000)}${']'.repeat(200_000)}, "domains": [{"id": 0}]}`;
    expect(() => parsePlatformConfig(deep, 'deep.json')).toThrow(/deep\.json:1:\d+: nested more than 64 levels deep/);
    expect(() => parsePlatformConfig(`arch: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`, 'deep.yaml')).toThrow(ConfigError);
    expect(() => validatePlatformConfig(JSON.parse(deep))).toThrow(/nested more than 64 levels deep/);
  });

  it('checks plugin options against the schema the hook gives, in the same pass', () => {
    const schemas = ({ kind, name }: { kind: string; name?: string }) =>
      kind === 'arch' && name === 'x86' ? { type: 'object', additionalProperties: false, properties: { nrPcpus: { type: 'integer', minimum: 1 } } } : undefined;
    const e = error('arch: { name: x86, options: { nrPcpus: -5, msy: true } }\ndomains: [{ id: 0, vcpus: 0 }]\n', 'c.yaml', { pluginOptions: schemas });
    expect(e.issues).toEqual([
      'arch.options.nrPcpus: must be >= 1, got -5',
      'arch.options: unknown key "msy"; allowed: nrPcpus',
      'domains[0].vcpus: must be >= 1, got 0',
    ]);
    expect(e.problems[0]).toMatchObject({ line: 1, column: 40 });
  });
});

describe('bindings the model makes once', () => {
  it('a vCPU ticks for one timer workload, a domain has one ipi workload', () => {
    expect(
      problems(`arch: { name: x86 }
domains: [{ id: 0, vcpus: 2 }]
workloads:
  - { type: timer, domain: 0, hz: 100 }
  - { type: timer, domain: 0, hz: 10, vcpus: [1] }
  - { type: ipi, domain: 0, from: 0, to: 1, rate: 1 }
  - { type: ipi, domain: 0, from: 1, to: 0, rate: 1 }
`),
    ).toEqual([
      'workloads[1]: vCPU 1 of domain 0 already ticks for workloads[0]; VIRQ_TIMER is bound once per vCPU (list the vCPUs with "vcpus")',
      'workloads[3]: domain 0 already has an ipi workload (workloads[2]); its IPI is bound once per vCPU, so a domain has one',
    ]);
  });
});

import { container, inject, injectable } from 'tsyringe';
import { describe, expect, it } from 'vitest';

const Dep = Symbol('Dep');

@injectable()
class NeedsDep {
  constructor(@inject(Dep) readonly dep: { v: number }) {}
}

describe('tsyringe under vitest', () => {
  it('resolves explicit @inject tokens in a child container', () => {
    const child = container.createChildContainer();
    child.register(Dep, { useValue: { v: 42 } });
    expect(child.resolve(NeedsDep).dep.v).toBe(42);
  });
});

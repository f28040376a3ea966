import 'reflect-metadata';
import { createPlatform, archNull } from '@evtchn/core';
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';

const platform = createPlatform({
  arch: archNull(),
  abis: [abi2Level(), abiFifo()],
  domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 1 }],
});
const xen = platform.hypervisor;
const port = xen.evtchn(1).allocUnbound(1, 0); // domU offers a port to dom0
const local = xen.evtchn(0).bindInterdomain(1, port); // dom0 connects to it
xen.evtchn(0).send(local); // and notifies domU
console.log(xen.query(1, port)); // { rc: 0, pending: true, masked: false }

import 'reflect-metadata';
import { abi2Level } from '@evtchn/abi-2level';
import { abiFifo } from '@evtchn/abi-fifo';
import { archX86 } from '@evtchn/arch-x86';
import { createPlatform } from '@evtchn/core';
import { IRQ_HANDLED, guestLinux, type LinuxGuest } from '@evtchn/guest-linux';

const platform = createPlatform({
  arch: archX86({ nrPcpus: 2 }),
  abis: [abi2Level(), abiFifo()],
  guest: guestLinux({ fifo: true }),
  domains: [{ id: 0, vcpus: 2 }, { id: 1, vcpus: 2 }],
});
const [dom0, domU] = [0, 1].map((id) => platform.domain(id).guest as LinuxGuest);
const port = platform.hypervisor.evtchn(1).allocUnbound(1, 0); // domU offers a port to dom0
domU.bindEvtchnToIrqhandler(port, (irq) => (console.log(`domU: IRQ ${irq} ran on port ${port}`), IRQ_HANDLED), 0, 'demo', null);
const irq = dom0.bindInterdomainEvtchnToIrq(1, port); // dom0 connects to it
dom0.notifyRemoteViaIrq(irq); // send → FIFO queue → callback vector in domU's vLAPIC; returns at once
platform.run(10_000); // 10 µs of virtual time: the vCPU takes the vector → upcall → handler
console.log(domU.procInterrupts());

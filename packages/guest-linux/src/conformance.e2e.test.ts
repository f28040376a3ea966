// The Linux guest layer runs the guest-layer conformance suite on itself. The 2007-era kernel
// knows only the 2-level ABI, so it cannot boot on a platform offering FIFO alone.
import { describeGuestOsConformance } from '@evtchn/conformance/testing';
import { guestLinux } from './index.js';

describeGuestOsConformance(() => guestLinux());
describeGuestOsConformance(() => guestLinux({ era: '2007' }), { skip: ['guest.boot.any-abi'] });

// The 2-level ABI runs the plugin-author conformance suite on itself, for both word sizes,
// with the reference delivery vectors replayed through the real guest layer.
import { fileURLToPath } from 'node:url';
import { runDeliveryReplay } from '@evtchn/conformance';
import { describeEventAbiConformance } from '@evtchn/core/testing';
import { abi2Level } from './index.js';

const vectors = fileURLToPath(new URL('../../../conformance/delivery', import.meta.url));

describeEventAbiConformance(() => abi2Level(), { replay: runDeliveryReplay, vectors });
describeEventAbiConformance(() => abi2Level(), { wordBits: 32 });

// The FIFO ABI runs the plugin-author conformance suite on itself, with the reference delivery
// vectors replayed through the real guest layer.
import { fileURLToPath } from 'node:url';
import { runDeliveryReplay } from '@evtchn/conformance';
import { describeEventAbiConformance } from '@evtchn/core/testing';
import { abiFifo } from './index.js';

const vectors = fileURLToPath(new URL('../../../conformance/delivery', import.meta.url));

describeEventAbiConformance(() => abiFifo(), { replay: runDeliveryReplay, vectors });

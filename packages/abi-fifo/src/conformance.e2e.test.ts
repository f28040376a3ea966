// The FIFO ABI runs the plugin-author conformance suite on itself, with the packaged reference
// delivery vectors replayed on it through the real guest layer.
import { describeEventAbiConformance } from '@evtchn/conformance/testing';
import { abiFifo } from './index.js';

describeEventAbiConformance(() => abiFifo());

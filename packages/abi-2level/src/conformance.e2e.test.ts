// The 2-level ABI runs the plugin-author conformance suite on itself, for both word sizes,
// with the packaged reference delivery vectors replayed on it through the real guest layer.
import { describeEventAbiConformance } from '@evtchn/conformance/testing';
import { abi2Level } from './index.js';

describeEventAbiConformance(() => abi2Level());
describeEventAbiConformance(() => abi2Level(), { wordBits: 32, vectors: [] });

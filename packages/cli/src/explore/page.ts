/*
 * The explorer page: one self-contained HTML file (its script, style and every step's state
 * inline; it loads nothing), so it opens from disk, offline, and can be kept beside a failing
 * conformance vector. The script is `assets/explorer.js`, shipped with the package.
 */
import { readFileSync } from 'node:fs';
import type { ExploreData } from './capture.js';

/** JSON that is safe inside a `<script>` element (no `</script>`, no `<!--`). */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** The page script, read from the package's `assets/` (beside `dist/` and `src/`). */
function explorerScript(): string {
  return readFileSync(new URL('../../assets/explorer.js', import.meta.url), 'utf8');
}

const STYLE = `
* { box-sizing: border-box; }
body { font: 13px/1.4 system-ui, sans-serif; margin: 0; color: #222; }
header { position: sticky; top: 0; background: #fff; border-bottom: 1px solid #ddd; padding: 8px 16px; z-index: 2; }
h1 { font-size: 17px; margin: 0 0 6px; } h2 { font-size: 14px; margin: 14px 0 6px; } h4 { margin: 8px 0 4px; }
button { font: inherit; padding: 2px 10px; margin-right: 4px; } input { width: 6em; font: inherit; }
#pos { margin: 0 8px; font-variant-numeric: tabular-nums; } #first-diff { background: #fde2e1; border: 1px solid #d33; }
main { display: grid; grid-template-columns: 280px 1fr; gap: 0; height: calc(100vh - 70px); }
#steps { margin: 0; padding: 0; overflow-y: auto; border-right: 1px solid #ddd; font: 12px/18px ui-monospace, monospace; }
#steps .chunk { contain-intrinsic-size: auto 1800px; }
#steps .step { height: 18px; padding: 0 8px; cursor: pointer; white-space: nowrap; overflow: hidden; } #steps .step:hover { background: #f2f2f2; }
#steps .step.current { background: #dbe9ff; } #steps .step.differs { color: #b00; font-weight: 600; }
.chunk { content-visibility: auto; }
#ports .chunk { contain-intrinsic-size: auto 2200px; }
table.ports { table-layout: fixed; width: max-content; }
table.ports td, table.ports th { overflow: hidden; white-space: nowrap; height: 22px; }
#steps .idx { display: inline-block; width: 3.5em; color: #888; text-align: right; margin-right: 6px; }
#view { overflow-y: auto; padding: 4px 16px 24px; }
.line { font: 12px ui-monospace, monospace; background: #f6f6f6; padding: 3px 6px; margin: 2px 0; white-space: pre-wrap; word-break: break-all; }
.line.differs { background: #fde2e1; outline: 1px solid #d33; } mark.diff { background: #f7a8a3; color: #600; font-weight: 700; }
.sbs { display: flex; gap: 12px; } .sbs > div { flex: 1; min-width: 0; }
.verdict.bad { color: #b00; font-weight: 600; } .verdict.good { color: #080; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; } th, td { border: 1px solid #ddd; padding: 1px 6px; text-align: left; }
td.num { text-align: right; } td.b { text-align: center; } .mono { font-family: ui-monospace, monospace; } .muted { color: #888; }
tr.changed td { background: #fff4c2; }
.bit { display: inline-block; width: 10px; height: 10px; border: 1px solid #bbb; margin: 0 1px 0 0; vertical-align: middle; background: #fff; }
.bit.on { background: #2d6cdf; border-color: #2d6cdf; } .bit.chg { outline: 2px solid #f0a000; }
.grid { white-space: nowrap; margin: 2px 0; } .glabel { display: inline-block; width: 13em; color: #555; }
.pair { display: flex; gap: 24px; flex-wrap: wrap; }
.queue { font: 12px ui-monospace, monospace; margin: 2px 0; } .queue.changed { background: #fff4c2; } .qlabel { display: inline-block; width: 5em; color: #555; }
.chip { display: inline-block; border: 1px solid #2d6cdf; border-radius: 8px; padding: 0 6px; }
.vcpu { margin-right: 18px; } .vectors .grid { display: inline-block; } .vectors .bit { width: 3px; height: 12px; margin: 0; border-width: 0 0 0 1px; } .archv h4 { margin: 6px 0 2px; } .chip.changed { background: #fff4c2; } span.changed { background: #fff4c2; } #domain { margin-left: 12px; } dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; } dt { font-weight: 600; }
`;

function legend(data: ExploreData): string {
  const common: Array<[string, string]> = [
    ['P (pending)', 'the port has an event waiting: the hypervisor set it on EVTCHNOP_send and the guest clears it when it handles the event'],
    ['M (masked)', 'the guest does not want upcalls for it (Linux masks a port while it is not requested, disabled, or being handled with a late EOI)'],
    ['L (linked)', 'FIFO: the event sits on a queue (LINKED); the hypervisor will not link it again until the guest unlinks it'],
    ['state', "Xen's channel state (ECS_*): unbound, interdomain, pirq, virq, ipi"],
    ['vCPU', 'the vCPU the hypervisor notifies for this port'],
    ['IRQ, IRQ CPU', 'the Linux IRQ the port is bound to and the CPU of its irq_info'],
    ['mask reasons', "Linux's MASK_REASON_* bits: explicit (disable_irq / not requested), temporary (while handled), eoi-pending (late EOI outstanding)"],
    ['upcall pending / masked', 'evtchn_upcall_pending / evtchn_upcall_mask of the vCPU: an upcall is owed / the vCPU has events disabled'],
    ['orange outline / yellow row', 'changed by this step'],
  ];
  const fifo: Array<[string, string]> = [
    ['event word', 'P M L B flags of the FIFO event word (B: busy, the guest is unlinking it) and its LINK field (the next port on the queue, 0 = end)'],
    ['READY', 'bit q of the control block: queue q (priority q, 0 highest) is not empty'],
    ['HEAD → …', 'the queue from the control block HEAD, following each event word LINK; the hypervisor keeps the tail'],
  ];
  const twoLevel: Array<[string, string]> = [
    ['evtchn_pending_sel', 'per vCPU: bit w says word w of evtchn_pending may have a pending, unmasked port for this vCPU'],
    ['pending / mask words', 'the shared-info bitmaps: bit b of word w is port w × word size + b'],
  ];
  const arch: Array<[string, string]> =
    data.arch === 'x86'
      ? [['IRR / ISR', "the vCPU's vLAPIC: vectors requested (IRR) and in service (ISR), bit v = vector v; the event callback vector is Xen's upcall"]]
      : data.arch === 'arm'
        ? [['LRn', 'the vGIC list registers of the vCPU: the virtual IRQ each holds, pending/active, its priority']]
        : [];
  const sched: Array<[string, string]> = data.kind === 'run' ? [['running on pCPU', 'where the scheduler has the vCPU now (runs with a scheduler)']] : [];
  const abis = new Set(data.domains.map((d) => d.abi));
  const rows = [...common, ...(abis.has('fifo') ? fifo : []), ...(abis.has('fifo') && abis.size === 1 ? [] : twoLevel), ...arch, ...sched];
  return `<dl>${rows.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(v)}</dd>`).join('')}</dl>`;
}

function subtitle(data: ExploreData): string {
  const steps = `${data.steps.length} steps`;
  if (data.kind === 'replay') return `${data.abi}, ${data.vcpus} vCPU${data.vcpus === 1 ? '' : 's'}, ${steps}`;
  return `${data.arch}, ${data.domains.length} domains, ${steps}: one per clock instant`;
}

/** The explorer page for `data`. */
export function explorerHtml(data: ExploreData): string {
  const abiTitle = data.abi === 'fifo' ? 'FIFO: control blocks and queues' : '2-level: selector, pending and mask words';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>evtchn explore: ${esc(data.title)}</title><style>${STYLE}</style></head>
<body data-step="0">
<header>
<h1>evtchn explore: ${esc(data.title)} <span class="muted">(${esc(subtitle(data))})</span></h1>
<button id="first" title="first step (Home)">|◀</button><button id="prev" title="previous step (←)">◀</button><button id="play" title="play / pause (space)">▶ play</button><button id="next" title="next step (→)">▶</button><button id="last" title="last step (End)">▶|</button>
<span id="pos"></span> go to step <input id="jump" type="number" min="0" max="${Math.max(0, data.steps.length - 1)}" aria-label="step">
<button id="first-diff" hidden>first difference: step ${data.firstMismatch}</button>
<select id="domain" hidden aria-label="domain shown"></select>
</header>
<main>
<div id="steps" role="list" aria-label="steps"></div>
<div id="view">
<h2>Step</h2>
<div id="op" class="line"></div>
<div class="sbs"><div><span class="muted">output</span><div id="actual" class="line"></div></div>
<div id="expected-row" hidden><span class="muted">expected</span> <span id="verdict" class="verdict"></span><div id="expected" class="line"></div></div></div>
<p id="handlers"></p>
<h2>vCPUs: upcall flags</h2>
<div id="upcalls"></div>
<h2>Architecture (${esc(data.arch)})</h2>
<div id="arch"></div>
<h2 id="abi-title">${esc(abiTitle)}</h2>
<div id="abi-state"></div>
<h2>Ports: hypervisor and guest</h2>
<div id="ports"></div>
<h2>Legend</h2>
${legend(data)}
</div>
</main>
<script id="explore-data" type="application/json">${scriptJson(data)}</script>
<script>${explorerScript()}</script>
</body></html>
`;
}

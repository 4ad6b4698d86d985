// The connectivity check (user menu > Connection check): gathers ICE candidates with the
// server's STUN/TURN servers from this device, shows which types work, the path a live
// camera actually uses and its round trip, and one sentence about what to change. The
// reasoning is in connectivity.js (pure, unit-tested).

import { advice, parseCandidate, summarize } from '/connectivity.js';
import { rtcConfiguration } from '/whep.js';

const GATHER_TIMEOUT_MS = 6000;

/**
 * @param {HTMLDialogElement} dialog
 * @param {object} options
 * @param {() => object|null} options.currentPath  the path of a live tile (describePath)
 */
export function initNetcheck(dialog, { currentPath }) {
  const $ = (selector) => dialog.querySelector(selector);
  const run = $('.netcheck-run');
  const open = document.getElementById('netcheck-open');
  open?.addEventListener('click', () => {
    open.closest('details')?.removeAttribute('open');
    dialog.showModal();
    start();
  });
  $('.netcheck-close').addEventListener('click', () => dialog.close());
  run.addEventListener('click', start);

  async function start() {
    run.disabled = true;
    dialog.dataset.state = 'running';
    $('.netcheck-advice').textContent = 'Checking…';
    try {
      const result = await check(currentPath());
      render(result);
      dialog.dataset.state = 'done';
    } catch (err) {
      $('.netcheck-advice').textContent = `The check failed: ${err?.message ?? err}`;
      dialog.dataset.state = 'failed';
    } finally {
      run.disabled = false;
    }
  }

  function render({ summary, path }) {
    const yesNo = (value) => (value ? 'works' : 'not found');
    set('host', yesNo(summary.host));
    set('srflx', summary.servers ? yesNo(summary.srflx) : 'no STUN server configured');
    set('relay', summary.turnConfigured ? yesNo(summary.relay) : 'no TURN server configured');
    set('udp', summary.udpBlocked ? 'looks blocked' : 'not blocked as far as seen');
    set(
      'path',
      path
        ? `${path.kind === 'relayed' ? 'relayed' : 'direct'} (${path.local} → ${path.remote ?? '?'}${path.protocol ? `, ${path.protocol}` : ''})`
        : 'no camera playing',
    );
    set('rtt', path?.rttMs == null ? '—' : `${path.rttMs} ms`);
    $('.netcheck-advice').textContent = advice(summary, path);
    window.sentrycam && (window.sentrycam.netcheck = { summary, path });
  }

  function set(key, text) {
    const cell = dialog.querySelector(`[data-netcheck="${key}"]`);
    if (cell) cell.textContent = text;
  }
}

/** Gather candidates from this device with the server's ICE servers. */
async function check(path) {
  const config = await rtcConfiguration();
  const urls = config.iceServers.flatMap((server) => server.urls ?? []);
  const pc = new RTCPeerConnection(config);
  const lines = [];
  try {
    pc.createDataChannel('netcheck');
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
      pc.addEventListener('icecandidate', (event) => {
        if (event.candidate) lines.push(event.candidate.candidate);
        else {
          clearTimeout(timer);
          resolve();
        }
      });
      pc.createOffer()
        .then((offer) => pc.setLocalDescription(offer))
        .catch(reject);
    });
  } finally {
    pc.close();
  }
  return { summary: summarize(lines.map(parseCandidate), urls), path };
}
